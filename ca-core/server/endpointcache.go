package server

import (
	"context"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/store"
)

// endpointTTL is how long front-end calls reuse an endpoint read from the
// store. Front-ends name their endpoint on every call (an ACME enrollment
// makes about ten), and the read was a tenth of ca-core's work; an
// administrator's change reaches them within this time. Issuance itself
// always reads the endpoint afresh, so disabling one stops issuance at once.
const endpointTTL = 2 * time.Second

type endpointCache struct {
	mu      sync.Mutex // guards entries
	entries map[[2]string]cachedEndpoint
}

type cachedEndpoint struct {
	e       *store.Endpoint
	expires time.Time
}

func (c *endpointCache) get(ctx context.Context, st *store.Store, now time.Time, tenant, id string) (*store.Endpoint, error) {
	k := [2]string{tenant, id}
	c.mu.Lock()
	ce, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(ce.expires) {
		return ce.e, nil
	}
	e, err := st.GetEndpoint(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 10000 {
		c.entries = map[[2]string]cachedEndpoint{}
	}
	c.entries[k] = cachedEndpoint{e, now.Add(endpointTTL)}
	c.mu.Unlock()
	return e, nil
}
