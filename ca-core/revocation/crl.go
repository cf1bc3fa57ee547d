package revocation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

// leaseTTL bounds how long a crashed replica blocks a CA's CRL or
// responder upkeep.
const leaseTTL = 2 * time.Minute

// crlDue reports whether a CA's CRL must be (re)generated now.
func (s *Service) crlDue(c *store.CRL, now time.Time) bool {
	cfg := s.d.Config
	switch {
	case c == nil || c.Number == 0 || len(c.DER) == 0:
		return true
	case c.PublishRequested:
		return true
	case !c.DirtySince.IsZero() && now.Sub(c.DirtySince) >= cfg.CRLDelay:
		return true
	case now.Sub(c.ThisUpdate) >= cfg.CRLRefresh:
		return true
	}
	return !now.Before(c.NextUpdate.Add(-cfg.CRLValidity / 2))
}

// GenerateCRL builds, signs and publishes a CA's next CRL, if this replica
// wins the CA's lease. It returns the published CRL, or nil when another
// replica holds the lease.
func (s *Service) GenerateCRL(ctx context.Context, tenant, caID string) (*store.CRL, error) {
	lease := "crl:" + tenant + "/" + caID
	ok, err := s.d.Store.AcquireLease(ctx, lease, s.d.Holder, leaseTTL)
	if err != nil || !ok {
		return nil, err
	}
	defer s.d.Store.ReleaseLease(context.WithoutCancel(ctx), lease, s.d.Holder)

	started := s.d.Now()
	prev, err := s.d.Store.GetCRL(ctx, tenant, caID)
	if err != nil && fault.ReasonOf(err) != fault.NotFound {
		return nil, err
	}
	var prevNumber int64
	if prev != nil {
		prevNumber = prev.Number
	}
	iss, err := s.d.Issuers.Issuer(ctx, tenant, caID)
	if err != nil {
		return nil, err
	}
	var entries []x509.RevocationListEntry
	err = s.d.Store.RevokedEntries(ctx, tenant, caID, func(e store.RevokedEntry) error {
		serial, ok := new(big.Int).SetString(e.Serial, 16)
		if !ok {
			return fmt.Errorf("revocation: stored serial %q is not hex", e.Serial)
		}
		entry := x509.RevocationListEntry{SerialNumber: serial, RevocationTime: e.RevokedAt, ReasonCode: e.Reason}
		if e.Reason < 0 {
			entry.ReasonCode = Unspecified
		}
		if !e.InvalidityDate.IsZero() {
			v, err := asn1.MarshalWithParams(e.InvalidityDate.UTC(), "generalized")
			if err != nil {
				return err
			}
			entry.ExtraExtensions = []pkix.Extension{{Id: oidInvalidityDate, Value: v}}
		}
		entries = append(entries, entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := started.UTC().Truncate(time.Second)
	next := now.Add(s.d.Config.CRLValidity)
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        iss.SigAlg,
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(prevNumber + 1),
		ThisUpdate:                now,
		NextUpdate:                next,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, iss.Cert, iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("revocation: signing the CRL of %s/%s: %w", tenant, caID, err)
	}
	crl := &store.CRL{Tenant: tenant, CA: caID, Number: prevNumber + 1, ThisUpdate: now, NextUpdate: next, DER: der,
		Entries: int64(len(entries)), GeneratedBy: s.d.Holder}
	ev := &audit.Event{Tenant: tenant, Actor: "system", Action: "crl.publish", Target: caID,
		Detail: fmt.Sprintf("number=%d entries=%d next_update=%s", crl.Number, crl.Entries, next.Format(time.RFC3339))}
	if err := s.d.Store.PublishCRL(ctx, crl, prevNumber, started, ev); err != nil {
		return nil, err
	}
	s.d.Logger.Info("published CRL", "tenant", tenant, "ca", caID, "number", crl.Number, "entries", crl.Entries,
		"duration", time.Since(started))
	return crl, nil
}

// Run keeps every CA's CRL and OCSP responder current and works through
// bulk revocation jobs until ctx ends. Every replica runs it; leases make
// one replica do each piece of work. Bulk jobs have their own loop so that a
// long job never delays a CRL.
func (s *Service) Run(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return s.every(ctx, s.maintain) })
	eg.Go(func() error { return s.every(ctx, s.runBulk) })
	return eg.Wait()
}

func (s *Service) every(ctx context.Context, fn func(context.Context)) error {
	t := time.NewTicker(s.d.Config.Tick)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) maintain(ctx context.Context) {
	targets, err := s.d.Store.RevocationTargets(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.d.Logger.Warn("revocation: listing CAs", "err", err)
		}
		return
	}
	now := s.d.Now()
	for _, t := range targets {
		if ctx.Err() != nil {
			return
		}
		// The responder first: once a new CA's first CRL exists, its OCSP
		// answers too (certgate dev waits for the CRL).
		if t.CA.OCSPEnabled {
			if err := s.ensureResponder(ctx, t.CA); err != nil && ctx.Err() == nil {
				s.d.Logger.Warn("revocation: renewing the OCSP responder", "tenant", t.CA.Tenant, "ca", t.CA.ID, "err", err)
			}
		}
		if t.CA.CRLEnabled && s.crlDue(t.CRL, now) {
			if _, err := s.GenerateCRL(ctx, t.CA.Tenant, t.CA.ID); err != nil && ctx.Err() == nil {
				s.d.Logger.Warn("revocation: generating a CRL", "tenant", t.CA.Tenant, "ca", t.CA.ID, "err", err)
			}
		}
	}
}
