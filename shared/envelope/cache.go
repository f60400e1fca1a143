package envelope

import (
	"container/list"
	"crypto/cipher"
)

// lru holds unwrapped data keys (as ready ciphers) by wrapped blob, evicting the least recently used
// beyond its size. Not safe for concurrent use: the Encryptor's mutex guards it.
type lru struct {
	max   int
	order *list.List // front = most recently used; values are *lruEntry
	byKey map[string]*list.Element
}

type lruEntry struct {
	key  string
	aead cipher.AEAD
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), byKey: make(map[string]*list.Element, max)}
}

func (c *lru) get(wrapped []byte) (cipher.AEAD, bool) {
	el, ok := c.byKey[string(wrapped)] // the compiler does not allocate for this conversion
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).aead, true
}

func (c *lru) add(key string, aead cipher.AEAD) {
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		el.Value.(*lruEntry).aead = aead
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry{key: key, aead: aead})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		// Dropping the last reference is all Go allows here: see "Key material in memory".
		delete(c.byKey, oldest.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int { return c.order.Len() }
