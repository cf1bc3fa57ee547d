package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 1, 12, 0, 1, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e store.Engine)) {
	for _, e := range storetest.Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}

func ev(tenant, action string) *audit.Event {
	return &audit.Event{Tenant: tenant, Actor: "admin:test", Action: action}
}

func serial() string {
	var b [20]byte
	rand.Read(b[:])
	b[0] = b[0]&0x7f | 0x01
	return hex.EncodeToString(b[:])
}

func mkTenant(t *testing.T, s *store.Store, id string, maxActive, rate int64) {
	t.Helper()
	if err := s.CreateTenant(context.Background(), &store.Tenant{ID: id, DisplayName: id, MaxActive: maxActive, RatePerWindow: rate}, ev(id, audit.ActionTenantCreate)); err != nil {
		t.Fatal(err)
	}
}

func reservation(tenant string, now time.Time, validity time.Duration) *store.Reservation {
	return &store.Reservation{Cert: &store.Certificate{
		Serial: serial(), Tenant: tenant, CA: "issuing", Profile: "p", Subject: "CN=x", KeyType: keys.P256,
		NotBefore: now, NotAfter: now.Add(validity), Requester: "admin:test", CountsQuota: true,
	}}
}

// issue reserves and finalizes one certificate.
func issue(ctx context.Context, s *store.Store, r *store.Reservation) error {
	if _, err := s.Reserve(ctx, r); err != nil {
		return err
	}
	c := r.Cert
	return s.Finalize(ctx, &store.Finalization{Serial: c.Serial, DER: []byte{0x30}, SHA256: "00", NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Tenant: c.Tenant, Endpoint: c.Endpoint, EndEntity: r.EndEntity, ChallengeHash: r.ChallengeHash}, ev(c.Tenant, audit.ActionCertIssue))
}

func TestOpenTwiceKeepsSchema(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		dsn := storetest.DSN(t, e)
		s1 := storetest.OpenDSN(t, e, dsn, store.Options{})
		mkTenant(t, s1, "t1", 0, 0)
		s2 := storetest.OpenDSN(t, e, dsn, store.Options{})
		if _, err := s2.GetTenant(context.Background(), "t1"); err != nil {
			t.Fatalf("second open lost data: %v", err)
		}
	})
}

func TestTenants(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 10, 5)
		err := s.CreateTenant(ctx, &store.Tenant{ID: "t1"}, ev("t1", audit.ActionTenantCreate))
		if fault.ReasonOf(err) != fault.AlreadyExists {
			t.Fatalf("duplicate tenant: got %v, want ALREADY_EXISTS", err)
		}
		if _, err := s.GetTenant(ctx, "nope"); fault.ReasonOf(err) != fault.NotFound {
			t.Fatalf("missing tenant: got %v", err)
		}
		got, err := s.GetTenant(ctx, "t1")
		if err != nil || got.MaxActive != 10 || got.RatePerWindow != 5 {
			t.Fatalf("got %+v, %v", got, err)
		}
		// The failed duplicate left no audit event behind.
		if n, err := s.VerifyAudit(ctx, "t1"); err != nil || n != 1 {
			t.Fatalf("audit chain: %d events, %v; want 1", n, err)
		}
	})
}

func TestQuotaIsExactUnderConcurrency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		dsn := storetest.DSN(t, e)
		// Two handles stand for two ca-core replicas sharing the database.
		replicas := []*store.Store{storetest.OpenDSN(t, e, dsn, store.Options{}), storetest.OpenDSN(t, e, dsn, store.Options{})}
		const limit = 7
		mkTenant(t, replicas[0], "t1", limit, 0)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s := replicas[i%2]
				err := issue(ctx, s, reservation("t1", time.Now(), time.Hour))
				switch fault.ReasonOf(err) {
				case fault.Internal:
					if err == nil {
						ok.Add(1)
						return
					}
					t.Errorf("unexpected error: %v", err)
				case fault.QuotaExceeded:
					refused.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != limit || refused.Load() != 24-limit {
			t.Fatalf("issued %d and refused %d, want %d and %d", ok.Load(), refused.Load(), limit, 24-limit)
		}
		u, err := replicas[1].QuotaUsage(ctx, "t1")
		if err != nil || u.Active != limit {
			t.Fatalf("usage %+v, %v; want %d active", u, err, limit)
		}
	})
}

func TestExpiredCertificateFreesItsLicence(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		clk := newClock()
		s := storetest.Open(t, e, store.Options{Now: clk.Now})
		mkTenant(t, s, "t1", 1, 0)
		if err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour)); err != nil {
			t.Fatal(err)
		}
		err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour))
		if fe := fault.As(err); fe == nil || fe.Reason != fault.QuotaExceeded || fe.Rule != "quota.active_certificates" {
			t.Fatalf("second certificate: got %v, want QUOTA_EXCEEDED [quota.active_certificates]", err)
		}
		clk.Add(time.Hour)
		if err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour)); err != nil {
			t.Fatalf("after the first certificate expired: %v", err)
		}
		expired, _, err := s.ListCertificates(ctx, store.CertFilter{Tenant: "t1", Status: store.CertExpired})
		if err != nil || len(expired) != 1 {
			t.Fatalf("expired certificates: %d, %v; want 1", len(expired), err)
		}
	})
}

func TestRateWindow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		clk := newClock()
		s := storetest.Open(t, e, store.Options{Now: clk.Now})
		mkTenant(t, s, "t1", 0, 5)
		var ok, limited atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour))
				if err == nil {
					ok.Add(1)
					return
				}
				fe := fault.As(err)
				if fe == nil || fe.Reason != fault.RateLimited || fe.RetryAfter <= 0 || fe.RetryAfter > store.RateWindow {
					t.Errorf("got %v, want RATE_LIMITED with a retry delay inside the window", err)
					return
				}
				limited.Add(1)
			}()
		}
		wg.Wait()
		if ok.Load() != 5 || limited.Load() != 7 {
			t.Fatalf("%d accepted, %d limited; want 5 and 7", ok.Load(), limited.Load())
		}
		clk.Add(store.RateWindow)
		if err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour)); err != nil {
			t.Fatalf("next window: %v", err)
		}
		// An endpoint limit applies on top of the tenant's.
		r1 := reservation("t1", clk.Now(), time.Hour)
		r1.Cert.Endpoint, r1.EndpointRate = "ep", 1
		if err := issue(ctx, s, r1); err != nil {
			t.Fatal(err)
		}
		r2 := reservation("t1", clk.Now(), time.Hour)
		r2.Cert.Endpoint, r2.EndpointRate = "ep", 1
		if fe := fault.As(issue(ctx, s, r2)); fe == nil || fe.Rule != "rate.endpoint" {
			t.Fatalf("second request on the endpoint: got %v, want rate.endpoint", fe)
		}
	})
}

func TestReleaseLeavesNothingBehind(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		clk := newClock()
		s := storetest.Open(t, e, store.Options{Now: clk.Now})
		mkTenant(t, s, "t1", 1, 1)
		r := reservation("t1", clk.Now(), time.Hour)
		if _, err := s.Reserve(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCertificate(ctx, "t1", r.Cert.Serial); fault.ReasonOf(err) != fault.NotFound {
			t.Fatalf("a reservation is visible: %v", err)
		}
		if err := s.Release(ctx, r.Cert.Serial, &audit.Event{Tenant: "t1", Actor: "admin:test", Action: audit.ActionCertIssue, Result: audit.Failure}); err != nil {
			t.Fatal(err)
		}
		u, err := s.QuotaUsage(ctx, "t1")
		if err != nil || u.Active != 0 || u.WindowRequests != 0 {
			t.Fatalf("after release: %+v, %v; want nothing used", u, err)
		}
		// Both the licence and the rate slot are usable again.
		if err := issue(ctx, s, reservation("t1", clk.Now(), time.Hour)); err != nil {
			t.Fatalf("after release: %v", err)
		}
	})
}

func TestRequestKeyIdempotency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 0, 0)
		r := reservation("t1", time.Now(), time.Hour)
		r.Cert.RequestKey, r.Cert.RequestHash = "k1", "h1"
		if err := issue(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		again := reservation("t1", time.Now(), time.Hour)
		again.Cert.RequestKey, again.Cert.RequestHash = "k1", "h1"
		got, err := s.Reserve(ctx, again)
		if err != nil || got == nil || got.Serial != r.Cert.Serial {
			t.Fatalf("replay: got %v, %v; want serial %s", got, err, r.Cert.Serial)
		}
		other := reservation("t1", time.Now(), time.Hour)
		other.Cert.RequestKey, other.Cert.RequestHash = "k1", "h2"
		if _, err := s.Reserve(ctx, other); fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("reused key: got %v, want CONFLICT", err)
		}
		u, _ := s.QuotaUsage(ctx, "t1")
		if u.Active != 1 {
			t.Fatalf("%d active, want 1", u.Active)
		}
	})
}

func TestEndEntityAdmission(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 0, 0)
		withEntity := func(id string, create bool) *store.Reservation {
			r := reservation("t1", time.Now(), time.Hour)
			r.Cert.Endpoint, r.EndEntity, r.CreateEndEntity, r.Protocol = "ep", id, create, "scep"
			return r
		}
		if err := issue(ctx, s, withEntity("dev1", true)); err != nil {
			t.Fatalf("auto-registration: %v", err)
		}
		if fe := fault.As(issue(ctx, s, withEntity("dev2", false))); fe == nil || fe.Rule != "end_entity.unregistered" {
			t.Fatalf("unregistered: got %v", fe)
		}
		if _, err := s.SetEndEntityStatus(ctx, "t1", "ep", "dev1", store.EntityDeactivated, ev("t1", audit.ActionEndEntityDeact)); err != nil {
			t.Fatal(err)
		}
		if fe := fault.As(issue(ctx, s, withEntity("dev1", true))); fe == nil || fe.Rule != "end_entity.deactivated" {
			t.Fatalf("deactivated: got %v", fe)
		}
		if _, err := s.SetEndEntityStatus(ctx, "t1", "ep", "dev1", store.EntityActive, ev("t1", audit.ActionEndEntityActivate)); err != nil {
			t.Fatal(err)
		}
		if err := issue(ctx, s, withEntity("dev1", true)); err != nil {
			t.Fatalf("re-activated: %v", err)
		}
		if _, err := s.SetEndEntityStatus(ctx, "t1", "ep", "dev1", store.EntityDecommissioned, ev("t1", audit.ActionEndEntityDecom)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetEndEntityStatus(ctx, "t1", "ep", "dev1", store.EntityActive, ev("t1", audit.ActionEndEntityActivate)); fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("re-activating a decommissioned entity: got %v, want CONFLICT", err)
		}
		// A reservation that raced with a deactivation cannot be finalized.
		if err := s.CreateEndEntity(ctx, &store.EndEntity{Tenant: "t1", Endpoint: "ep", ID: "dev3", Protocol: "scep"}, ev("t1", audit.ActionEndEntityCreate)); err != nil {
			t.Fatal(err)
		}
		r := withEntity("dev3", false)
		if _, err := s.Reserve(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetEndEntityStatus(ctx, "t1", "ep", "dev3", store.EntityDeactivated, ev("t1", audit.ActionEndEntityDeact)); err != nil {
			t.Fatal(err)
		}
		err := s.Finalize(ctx, &store.Finalization{Serial: r.Cert.Serial, DER: []byte{0x30}, Tenant: "t1", Endpoint: "ep", EndEntity: "dev3",
			NotBefore: r.Cert.NotBefore, NotAfter: r.Cert.NotAfter}, ev("t1", audit.ActionCertIssue))
		if fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("finalize after deactivation: got %v, want CONFLICT", err)
		}
		if _, err := s.GetCertificate(ctx, "t1", r.Cert.Serial); fault.ReasonOf(err) != fault.NotFound {
			t.Fatalf("the failed finalization left a certificate: %v", err)
		}
	})
}

func TestChallengeIsSingleUse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		clk := newClock()
		s := storetest.Open(t, e, store.Options{Now: clk.Now})
		mkTenant(t, s, "t1", 0, 0)
		for i, h := range []string{"h1", "h2"} {
			c := &store.Challenge{ID: fmt.Sprint("c", i), Tenant: "t1", Endpoint: "ep", ValueHash: h, ExpiresAt: clk.Now().Add(time.Hour)}
			if err := s.CreateChallenge(ctx, c, ev("t1", audit.ActionChallengeCreate)); err != nil {
				t.Fatal(err)
			}
		}
		withChallenge := func(h string) *store.Reservation {
			r := reservation("t1", clk.Now(), time.Hour)
			r.Cert.Endpoint, r.ChallengeHash = "ep", h
			return r
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := withChallenge("h1")
				err := issue(ctx, s, r)
				if err == nil {
					ok.Add(1)
					return
				}
				if fault.ReasonOf(err) != fault.Unauthenticated {
					t.Errorf("got %v, want UNAUTHENTICATED", err)
				}
				refused.Add(1)
				s.Release(ctx, r.Cert.Serial, ev("t1", audit.ActionCertIssue))
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("challenge used %d times", ok.Load())
		}
		if _, err := s.ConsumeChallenge(ctx, "t1", "other", "h2", "", ev("t1", audit.ActionChallengeConsume)); fault.ReasonOf(err) != fault.Unauthenticated {
			t.Fatalf("challenge of another endpoint: got %v", err)
		}
		clk.Add(2 * time.Hour)
		if _, err := s.ConsumeChallenge(ctx, "t1", "ep", "h2", "", ev("t1", audit.ActionChallengeConsume)); fault.ReasonOf(err) != fault.Unauthenticated {
			t.Fatalf("expired challenge: got %v", err)
		}
	})
}

func TestAuditChainDetectsTampering(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 0, 0)
		for i := 0; i < 5; i++ {
			if err := issue(ctx, s, reservation("t1", time.Now(), time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.VerifyAudit(ctx, "t1")
		if err != nil || n != 6 {
			t.Fatalf("verify: %d, %v; want 6 events", n, err)
		}
		events, next, err := s.ListAudit(ctx, store.AuditFilter{Tenant: "t1", PageSize: 4})
		if err != nil || len(events) != 4 || next == "" || events[0].Seq != 6 {
			t.Fatalf("first page: %d events, token %q, %v", len(events), next, err)
		}
		rest, next, err := s.ListAudit(ctx, store.AuditFilter{Tenant: "t1", PageSize: 4, PageToken: next})
		if err != nil || len(rest) != 2 || next != "" {
			t.Fatalf("second page: %d events, token %q, %v", len(rest), next, err)
		}
		if err := s.TamperForTest(ctx, "t1", 3, "detail", "edited"); err != nil {
			t.Fatal(err)
		}
		_, err = s.VerifyAudit(ctx, "t1")
		var b *audit.Break
		if !errors.As(err, &b) || b.Seq != 3 {
			t.Fatalf("after tampering with event 3: got %v", err)
		}
	})
}

func TestPendingCreateIsIdempotent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		s := storetest.Open(t, e, store.Options{})
		mkTenant(t, s, "t1", 0, 0)
		p := &store.PendingRequest{ID: "p1", Tenant: "t1", Endpoint: "ep", TransactionID: "tx", CSR: []byte{1}}
		if _, created, err := s.CreatePending(ctx, p, ev("t1", audit.ActionPendingCreate)); err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		got, created, err := s.CreatePending(ctx, &store.PendingRequest{ID: "p2", Tenant: "t1", Endpoint: "ep", TransactionID: "tx", CSR: []byte{2}}, ev("t1", audit.ActionPendingCreate))
		if err != nil || created || got.ID != "p1" {
			t.Fatalf("repeat: %+v %v %v", got, created, err)
		}
		if err := s.DecidePending(ctx, "t1", "p1", store.PendingRejected, "", "no", "admin:x", ev("t1", audit.ActionPendingReject)); err != nil {
			t.Fatal(err)
		}
		if err := s.DecidePending(ctx, "t1", "p1", store.PendingIssued, "ab", "", "admin:x", ev("t1", audit.ActionPendingApprove)); fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("second decision: got %v, want CONFLICT", err)
		}
	})
}
