package frontend

import (
	"sync"
	"time"
)

// Cache keeps values for a short time: endpoint settings, account keys,
// verified credentials — what every request would otherwise fetch from
// ca-core. Entries expire after the TTL the cache was made with, so a
// change made through ca-core reaches every replica within it.
type Cache[V any] struct {
	ttl time.Duration

	mu      sync.Mutex // guards entries
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

// maxCacheEntries bounds memory; a full cache starts over.
const maxCacheEntries = 100_000

// NewCache returns an empty cache whose entries live for ttl.
func NewCache[V any](ttl time.Duration) *Cache[V] {
	return &Cache[V]{ttl: ttl, entries: map[string]cacheEntry[V]{}}
}

// Get returns the value under k unless it expired.
func (c *Cache[V]) Get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under k.
func (c *Cache[V]) Put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCacheEntries {
		clear(c.entries)
	}
	c.entries[k] = cacheEntry[V]{v: v, expires: time.Now().Add(c.ttl)}
}

// Drop forgets k.
func (c *Cache[V]) Drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}
