package profile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
)

// CustomStore is what a Resolver needs from the store: a tenant's custom
// profile documents.
type CustomStore interface {
	// CustomProfile returns the stored document and its creation time, or a
	// fault.NotFound error.
	CustomProfile(ctx context.Context, tenant, id string) (doc []byte, created time.Time, err error)
	// CustomProfileIDs lists a tenant's custom profile ids.
	CustomProfileIDs(ctx context.Context, tenant string) ([]string, error)
}

// Resolver finds the profile a tenant means by an id: a global one (built-in
// or configured) or one of the tenant's custom profiles. Custom profiles are
// parsed once per (tenant, id, creation time) and cached; a profile deleted
// and re-created under the same id gets a new creation time and is parsed
// again, so replicas never serve a stale definition.
type Resolver struct {
	global *Set
	store  CustomStore

	mu    sync.Mutex // guards cache
	cache map[cacheKey]*Profile
}

type cacheKey struct {
	tenant, id string
	created    int64
}

// NewResolver returns a resolver over the global set and the store.
func NewResolver(global *Set, store CustomStore) *Resolver {
	return &Resolver{global: global, store: store, cache: map[cacheKey]*Profile{}}
}

// Global returns the global profile set.
func (r *Resolver) Global() *Set { return r.global }

// Resolve returns the profile id as tenant sees it, or fault.NotFound.
func (r *Resolver) Resolve(ctx context.Context, tenant, id string) (*Profile, error) {
	if p, ok := r.global.Get(id); ok {
		return p, nil
	}
	doc, created, err := r.store.CustomProfile(ctx, tenant, id)
	if err != nil {
		if fault.ReasonOf(err) == fault.NotFound {
			return nil, fault.NotFoundf("profile %q does not exist", id)
		}
		return nil, err
	}
	key := cacheKey{tenant, id, created.UnixMicro()}
	r.mu.Lock()
	p, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err = ParseStored(tenant, doc)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.cache[key] = p
	r.mu.Unlock()
	return p, nil
}

// List returns the global profiles followed by the tenant's custom ones.
func (r *Resolver) List(ctx context.Context, tenant string) ([]*Profile, error) {
	out := append([]*Profile(nil), r.global.All()...)
	ids, err := r.store.CustomProfileIDs(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p, err := r.Resolve(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseStored rebuilds a custom profile from its stored document (the
// complete form written by Profile.Marshal).
func ParseStored(tenant string, doc []byte) (*Profile, error) {
	docs, err := ParseDocuments(doc)
	if err != nil || len(docs) != 1 {
		return nil, fmt.Errorf("profile: stored document of tenant %q does not parse: %v", tenant, err)
	}
	cloned := docs[0].CloneFrom
	docs[0].CloneFrom = ""
	p, err := Build(docs[0], func(string) (*Profile, bool) { return nil, false })
	if err != nil {
		return nil, fmt.Errorf("profile: stored document of tenant %q: %w", tenant, err)
	}
	p.Tenant, p.ClonedFrom = tenant, cloned
	return p, nil
}
