package envelope

import "container/list"

// lru holds unwrapped keys (as ready ciphers or MAC keys) by wrapped blob, evicting the least recently
// used beyond its size. Not safe for concurrent use: its owner's mutex guards it.
type lru[V any] struct {
	max   int
	order *list.List // front = most recently used; values are *lruEntry[V]
	byKey map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), byKey: make(map[string]*list.Element, max)}
}

func (c *lru[V]) get(wrapped []byte) (V, bool) {
	el, ok := c.byKey[string(wrapped)] // the compiler does not allocate for this conversion
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[V]).value, true
}

func (c *lru[V]) add(key string, value V) {
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		el.Value.(*lruEntry[V]).value = value
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		// Dropping the last reference is all Go allows here: see "Key material in memory".
		delete(c.byKey, oldest.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int { return c.order.Len() }
