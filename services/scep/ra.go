package scep

import (
	"context"
	"crypto/x509"

	"github.com/certgate/certgate/services/frontend"
)

// raOf returns t's RA, from the cache when fresh: devices fetch
// GetCACert before every enrollment.
func (s *Server) raOf(ctx context.Context, t *target) (*frontend.RA, error) {
	return s.ras.Get(ctx, s.raKey(t), t.tenant, t.ep.GetId())
}

// raKey is t's entry in the RA cache; a new next CA must not wait for the
// entry to expire.
func (s *Server) raKey(t *target) string {
	return t.tenant + "/" + t.ep.GetId() + "/" + t.ep.GetScep().GetNextCa()
}

func (s *Server) keyOf(ctx context.Context, t *target, cert *x509.Certificate) *frontend.RAKey {
	return frontend.NewRAKey(ctx, s.scep, t.tenant, t.ep.GetId(), cert)
}
