package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

func change(s *store.Store, serial string, to store.CertStatus, reason int) (*store.Certificate, error) {
	return s.ChangeStatus(context.Background(), &store.StatusChange{Tenant: "t1", Serial: serial, To: to, Reason: reason}, ev("t1", "certificate.change"))
}

func TestStatusTransitionsAndLicences(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 1, 0)
		r := reservation("t1", time.Now(), time.Hour)
		if err := issue(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		serial := r.Cert.Serial
		steps := []struct {
			to     store.CertStatus
			reason int
			ok     bool
		}{
			{store.CertOnHold, store.ReasonCertificateHold, true},
			{store.CertOnHold, store.ReasonCertificateHold, false},
			{store.CertIssued, -1, true},
			{store.CertIssued, -1, false},
			{store.CertRevoked, 1, true},
			{store.CertRevoked, 1, false},
			{store.CertIssued, -1, false},
			{store.CertOnHold, store.ReasonCertificateHold, false},
		}
		for i, st := range steps {
			c, err := change(s, serial, st.to, st.reason)
			if st.ok {
				if err != nil || c.Status != st.to {
					t.Fatalf("step %d to %s: %v", i, st.to, err)
				}
				continue
			}
			if fault.ReasonOf(err) != fault.Conflict {
				t.Fatalf("step %d to %s: got %v, want CONFLICT", i, st.to, err)
			}
		}
		c, _ := s.GetCertificate(ctx, "t1", serial)
		if c.RevocationReason != 1 || c.RevokedAt.IsZero() {
			t.Fatalf("revoked certificate: reason %d at %v", c.RevocationReason, c.RevokedAt)
		}
		// The revocation returned the only licence.
		if err := issue(ctx, s, reservation("t1", time.Now(), time.Hour)); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		if _, err := change(s, "00ff", store.CertRevoked, 0); fault.ReasonOf(err) != fault.NotFound {
			t.Fatalf("unknown serial: %v", err)
		}
		crl, err := s.GetCRL(ctx, "t1", "issuing")
		if err != nil || crl.DirtySince.IsZero() {
			t.Fatalf("CRL not due after changes: %+v, %v", crl, err)
		}
		var entries []store.RevokedEntry
		s.RevokedEntries(ctx, "t1", "issuing", func(e store.RevokedEntry) error { entries = append(entries, e); return nil })
		if len(entries) != 1 || entries[0].Serial != serial {
			t.Fatalf("revoked entries %v", entries)
		}
	})
}

func TestConcurrentRevocationsAreExact(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		dsn := storetest.DSN(t, e)
		replicas := []*store.Store{storetest.OpenDSN(t, e, dsn, store.Options{}), storetest.OpenDSN(t, e, dsn, store.Options{})}
		mkTenant(t, replicas[0], "t1", 10, 0)
		var serials []string
		for i := 0; i < 10; i++ {
			r := reservation("t1", time.Now(), time.Hour)
			if err := issue(ctx, replicas[0], r); err != nil {
				t.Fatal(err)
			}
			serials = append(serials, r.Cert.Serial)
		}
		// Every certificate revoked by four racing callers: exactly one wins.
		var wins atomic.Int64
		var wg sync.WaitGroup
		for _, serial := range serials {
			for k := 0; k < 4; k++ {
				wg.Add(1)
				go func(serial string, k int) {
					defer wg.Done()
					_, err := replicas[k%2].ChangeStatus(ctx, &store.StatusChange{Tenant: "t1", Serial: serial, To: store.CertRevoked, Reason: 4}, ev("t1", "certificate.revoke"))
					if err == nil {
						wins.Add(1)
					} else if fault.ReasonOf(err) != fault.Conflict {
						t.Error(err)
					}
				}(serial, k)
			}
		}
		wg.Wait()
		if wins.Load() != 10 {
			t.Fatalf("%d revocations won, want 10", wins.Load())
		}
		u, _ := replicas[1].QuotaUsage(ctx, "t1")
		if u.Active != 0 {
			t.Fatalf("%d licences still taken after revoking everything", u.Active)
		}
		if n, err := replicas[1].VerifyAudit(ctx, "t1"); err != nil {
			t.Fatalf("audit after concurrent revocations (%d events): %v", n, err)
		}
	})
}

func TestCRLNumbersNeverGoBackwards(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 0, 0)
		publish := func(prev, next int64) error {
			return s.PublishCRL(ctx, &store.CRL{Tenant: "t1", CA: "issuing", Number: next, ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
				DER: []byte{0x30}, GeneratedBy: "test"}, prev, time.Now(), &audit.Event{Tenant: "t1", Actor: "system", Action: "crl.publish"})
		}
		if err := publish(0, 1); err != nil {
			t.Fatal(err)
		}
		if err := publish(1, 2); err != nil {
			t.Fatal(err)
		}
		if err := publish(1, 2); fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("a generator that started from CRL 1 published after CRL 2: %v", err)
		}
		if err := publish(0, 1); fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("a second first CRL was accepted: %v", err)
		}
		c, _ := s.GetCRL(ctx, "t1", "issuing")
		if c.Number != 2 {
			t.Fatalf("CRL number %d, want 2", c.Number)
		}
	})
}

func TestLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		clk := newClock()
		s := storetest.Open(t, e, store.Options{Now: clk.Now})
		got := func(holder string) bool {
			ok, err := s.AcquireLease(ctx, "crl:t1/issuing", holder, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !got("a") || got("b") || !got("a") {
			t.Fatal("a lease was not exclusive or not renewable by its holder")
		}
		clk.Add(2 * time.Minute)
		if !got("b") || got("a") {
			t.Fatal("an expired lease was not taken over")
		}
		s.ReleaseLease(ctx, "crl:t1/issuing", "b")
		if !got("a") {
			t.Fatal("a released lease was not free")
		}
	})
}
