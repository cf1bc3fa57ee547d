package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
)

// nonceBook keeps the ACME nonces handed out and not yet used. Every ACME
// request consumes one before anything else, and for good: RFC 8555 §6.5
// makes a nonce invalid once it has appeared in a request, whether or not
// the request succeeds.
type nonceBook interface {
	add(ctx context.Context, tenant, endpoint string, nonces []string, expires time.Time) error
	use(ctx context.Context, tenant, endpoint, nonce string, now time.Time) error
	prune(ctx context.Context, now time.Time) error
}

var errBadNonce = acmeFault(fault.BadRequest, "badNonce", "the nonce is unknown, expired or already used")

// rowNonces keeps nonces in the database, shared by every ca-core replica
// on it (PostgreSQL): a nonce one replica's front-end handed out is good
// once anywhere.
type rowNonces struct{ s *Store }

func (n rowNonces) add(ctx context.Context, tenant, endpoint string, nonces []string, expires time.Time) error {
	q := `INSERT INTO acme_nonces (nonce, tenant_id, endpoint_id, expires_at) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(nonces)), ", ")
	args := make([]any, 0, 4*len(nonces))
	for _, v := range nonces {
		args = append(args, v, tenant, endpoint, micros(expires))
	}
	_, err := n.s.exec(ctx, q, args...)
	return err
}

// use commits on its own, so that the request's later failure cannot
// bring the nonce back; losing that commit to a power failure is harmless.
func (n rowNonces) use(ctx context.Context, tenant, endpoint, nonce string, now time.Time) error {
	return n.s.inVolatileTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `DELETE FROM acme_nonces WHERE nonce = ? AND tenant_id = ? AND endpoint_id = ? AND expires_at > ?`, nonce, tenant, endpoint, micros(now))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errBadNonce
		}
		return nil
	})
}

func (n rowNonces) prune(ctx context.Context, now time.Time) error {
	_, err := n.s.exec(ctx, `DELETE FROM acme_nonces WHERE expires_at < ?`, micros(now))
	return err
}

// memNonces keeps nonces in memory, for SQLite, where one ca-core process
// owns the database (DESIGN.md §4). Writing each nonce's use to SQLite's
// single writer was a fifth of an ACME enrollment's serialized work; a
// restart forgets the nonces, and clients retry badNonce as RFC 8555 §6.5
// requires.
type memNonces struct {
	mu      sync.Mutex // guards entries
	entries map[string]memNonce
}

type memNonce struct {
	tenant, endpoint string
	expires          time.Time
}

// maxMemNonces bounds memory against clients that fetch nonces and never
// use them: about 100 MB.
const maxMemNonces = 1 << 20

func (n *memNonces) add(_ context.Context, tenant, endpoint string, nonces []string, expires time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.entries)+len(nonces) > maxMemNonces {
		return &fault.Error{Reason: fault.Unavailable, Rule: "acme.nonces_exhausted", Detail: "too many unused nonces are outstanding; retry later",
			RetryAfter: time.Minute}
	}
	for _, v := range nonces {
		n.entries[v] = memNonce{tenant, endpoint, expires}
	}
	return nil
}

func (n *memNonces) use(_ context.Context, tenant, endpoint, nonce string, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.entries[nonce]
	if !ok || e.tenant != tenant || e.endpoint != endpoint || !now.Before(e.expires) {
		return errBadNonce
	}
	delete(n.entries, nonce)
	return nil
}

func (n *memNonces) prune(_ context.Context, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, e := range n.entries {
		if !now.Before(e.expires) {
			delete(n.entries, k)
		}
	}
	return nil
}
