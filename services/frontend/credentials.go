package frontend

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"
)

// CredentialCache remembers credentials ca-core verified, by a keyed hash,
// so that the secrets themselves are never kept: the check is memory-hard
// on purpose, and devices enroll in bursts.
type CredentialCache struct {
	mac   [32]byte
	cache *Cache[bool]
}

// NewCredentialCache returns a cache whose entries live for ttl.
func NewCredentialCache(ttl time.Duration) *CredentialCache {
	c := &CredentialCache{cache: NewCache[bool](ttl)}
	rand.Read(c.mac[:])
	return c
}

// Key derives the cache key of a credential and what it is for.
func (c *CredentialCache) Key(parts ...string) string {
	h := hmac.New(sha256.New, c.mac[:])
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return string(h.Sum(nil))
}

// OK reports a credential verified within the TTL.
func (c *CredentialCache) OK(key string) bool { v, _ := c.cache.Get(key); return v }

// Remember records a verified credential.
func (c *CredentialCache) Remember(key string) { c.cache.Put(key, true) }
