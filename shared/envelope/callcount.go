package envelope

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts the KMS operations a client made, by operation name ("GenerateDataKey",
// "Decrypt", ...). Tests and benchmarks use it to measure KMS calls per 10,000 records (docs/performance.md,
// P2). Safe for concurrent use.
type CallCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// CountCalls returns a KMS client option that counts every operation the client invokes, and the
// counter it counts into. It is a smithy middleware on the real SDK client, so what it counts is what
// the client sent, whatever code called it:
//
//	opt, calls := envelope.CountCalls()
//	client := kms.NewFromConfig(cfg, opt)
//	... calls.Count("GenerateDataKey")
//
// It counts operations, not HTTP attempts: an operation the SDK retried counts once.
func CountCalls() (func(*kms.Options), *CallCounter) {
	c := &CallCounter{n: make(map[string]int)}
	count := middleware.InitializeMiddlewareFunc("wcbridge/envelope.CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			c.add(middleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		})
	opt := func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(count, middleware.Before)
		})
	}
	return opt, c
}

func (c *CallCounter) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// Count returns how many times the operation was called.
func (c *CallCounter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Total returns how many operations were called, all names together.
func (c *CallCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, v := range c.n {
		t += v
	}
	return t
}

// Counts returns a copy of the counts by operation name.
func (c *CallCounter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

// Reset sets every count to zero.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	clear(c.n)
	c.mu.Unlock()
}
