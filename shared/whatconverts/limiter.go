package whatconverts

import (
	"context"
	"sync"
)

// MaxInFlight is WhatConverts' limit of concurrent requests per API key.
const MaxInFlight = 20

// Limiter bounds the requests in flight per key. One Limiter must be shared by every client that uses the
// same keys, or the bound is per client instead of per key: clients built without WithLimiter share the
// process-wide one.
type Limiter struct {
	perKey int
	mu     sync.Mutex
	slots  map[string]chan struct{}
}

// NewLimiter returns a Limiter allowing perKey requests in flight per key (at least 1).
func NewLimiter(perKey int) *Limiter {
	return &Limiter{perKey: max(perKey, 1), slots: map[string]chan struct{}{}}
}

// sharedLimiter is the process-wide limiter: a Lambda instance may build several clients.
var sharedLimiter = NewLimiter(MaxInFlight)

// Acquire waits for a slot of keyID, or for ctx to end. The returned release frees the slot; call it once.
func (l *Limiter) Acquire(ctx context.Context, keyID string) (release func(), err error) {
	l.mu.Lock()
	ch, ok := l.slots[keyID]
	if !ok {
		ch = make(chan struct{}, l.perKey)
		l.slots[keyID] = ch
	}
	l.mu.Unlock()
	// Fail fast on a dead context even when a slot is free: select picks randomly among ready cases.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case ch <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-ch }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
