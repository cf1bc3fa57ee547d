package scep

import (
	"context"
	"crypto/x509"

	"github.com/certgate/certgate/services/frontend"
)

// raOf returns t's RA, from the cache when fresh: devices fetch
// GetCACert before every enrollment.
func (s *Server) raOf(ctx context.Context, t *target) (*frontend.RA, error) {
	// A new next CA must not wait for the entry to expire.
	key := t.tenant + "/" + t.ep.GetId() + "/" + t.ep.GetScep().GetNextCa()
	if ra, ok := s.ras.Get(key); ok {
		return ra, nil
	}
	ra, err := frontend.FetchRA(ctx, s.scep, t.tenant, t.ep.GetId())
	if err != nil {
		return nil, err
	}
	s.ras.Put(key, ra)
	return ra, nil
}

func (s *Server) keyOf(ctx context.Context, t *target, cert *x509.Certificate) *frontend.RAKey {
	return frontend.NewRAKey(ctx, s.scep, t.tenant, t.ep.GetId(), cert)
}
