package issuance_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

type fixture struct {
	store *store.Store
	auth  *ca.Authority
	svc   *issuance.Service
	roots *x509.CertPool
}

func newFixture(t *testing.T, engine store.Engine, maxActive, rate int64) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, engine, store.Options{})
	set, err := profile.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	res := profile.NewResolver(set, st)
	sb, err := soft.New([]byte("test operator secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ca.New(ca.Deps{Store: st, Profiles: res, Backends: map[string]signer.Backend{"soft": sb}, DefaultBackend: "soft"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, &store.Tenant{ID: "t1", DisplayName: "T1", MaxActive: maxActive, RatePerWindow: rate}, &audit.Event{Tenant: "t1", Actor: "test", Action: audit.ActionTenantCreate}); err != nil {
		t.Fatal(err)
	}
	root, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "root", Type: profile.Root, KeyType: keys.P256, Subject: "CN=Test Root", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=Test Issuing", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	svc, err := issuance.New(issuance.Deps{Store: st, Issuers: auth, Profiles: res})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	rc, _ := x509.ParseCertificate(root.Cert)
	roots.AddCert(rc)
	return &fixture{store: st, auth: auth, svc: svc, roots: roots}
}

func (f *fixture) endpoint(t *testing.T, e *store.Endpoint) {
	t.Helper()
	e.Tenant, e.CA = "t1", "issuing"
	if e.Protocol == "" {
		e.Protocol = "scep"
	}
	e.Frontend = e.Protocol
	if err := f.store.CreateEndpoint(context.Background(), e, &audit.Event{Tenant: "t1", Actor: "test", Action: audit.ActionEndpointCreate}); err != nil {
		t.Fatal(err)
	}
}

var subjectKey = func() crypto.Signer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k
}()

func csrFor(t testing.TB, cn string, dns ...string) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, subjectKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (f *fixture) verify(t *testing.T, res *issuance.Result) *x509.Certificate {
	t.Helper()
	leaf, err := x509.ParseCertificate(res.Certificate.DER)
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	for _, c := range res.Chain[:len(res.Chain)-1] {
		cc, _ := x509.ParseCertificate(c)
		inter.AddCert(cc)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: f.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("issued certificate does not chain to the root: %v", err)
	}
	return leaf
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e store.Engine)) {
	for _, e := range storetest.Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}

func TestAdministratorIssuesFromTheOnlyIssuingCA(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		f := newFixture(t, e, 0, 0)
		res, err := f.svc.Issue(context.Background(), &issuance.Request{Actor: "admin:ops", Tenant: "t1", Profile: "privatessl-tls-server",
			CSR: csrFor(t, "www.example.com", "www.example.com")})
		if err != nil {
			t.Fatal(err)
		}
		leaf := f.verify(t, res)
		if len(leaf.SerialNumber.Bytes()) != 20 || leaf.DNSNames[0] != "www.example.com" || res.Certificate.CA != "issuing" {
			t.Errorf("serial %x, SANs %v, CA %s", leaf.SerialNumber, leaf.DNSNames, res.Certificate.CA)
		}
		stored, err := f.store.GetCertificate(context.Background(), "t1", res.Certificate.Serial)
		if err != nil || stored.Status != store.CertIssued || string(stored.DER) != string(res.Certificate.DER) {
			t.Fatalf("stored %+v, %v", stored, err)
		}
	})
}

func TestRefusalsLeaveNothingBehind(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, 0, 0)
	f.endpoint(t, &store.Endpoint{ID: "ep", DefaultProfile: "scep-client-auth", AuthMethod: "one_time_challenge"})
	f.endpoint(t, &store.Endpoint{ID: "off", DefaultProfile: "scep-client-auth", Disabled: true})
	good := csrFor(t, "dev1")
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-3] ^= 0xff
	for name, tc := range map[string]struct {
		req    issuance.Request
		reason fault.Reason
		rule   string
	}{
		"fail/bad-signature":                {issuance.Request{Tenant: "t1", Profile: "scep-client-auth", CSR: tampered}, fault.BadCSR, "csr.signature"},
		"fail/not-a-csr":                    {issuance.Request{Tenant: "t1", Profile: "scep-client-auth", CSR: []byte("junk")}, fault.BadCSR, "csr.malformed"},
		"fail/unknown-tenant":               {issuance.Request{Tenant: "nope", Profile: "scep-client-auth", CSR: good}, fault.NotFound, ""},
		"fail/unknown-profile":              {issuance.Request{Tenant: "t1", Profile: "nope", CSR: good}, fault.PolicyRejected, "ca.profile_not_enabled"},
		"fail/ca-profile":                   {issuance.Request{Tenant: "t1", CA: "root", Profile: "scep-client-auth", CSR: good}, fault.PolicyRejected, "ca.type"},
		"fail/disabled-endpoint":            {issuance.Request{Tenant: "t1", Endpoint: "off", CSR: good}, fault.Conflict, "endpoint.disabled"},
		"fail/missing-challenge":            {issuance.Request{Tenant: "t1", Endpoint: "ep", CSR: good, Frontend: "scep"}, fault.Unauthenticated, "challenge.required"},
		"fail/wrong-challenge":              {issuance.Request{Tenant: "t1", Endpoint: "ep", CSR: good, Frontend: "scep", Challenge: "guess"}, fault.Unauthenticated, "challenge.invalid"},
		"fail/endpoint-profile":             {issuance.Request{Tenant: "t1", Endpoint: "ep", Profile: "acme-tls-server", CSR: good}, fault.PolicyRejected, "endpoint.profile"},
		"fail/endpoint-of-another-frontend": {issuance.Request{Tenant: "t1", Endpoint: "ep", CSR: good, Frontend: "acme"}, fault.NotFound, ""},
		"fail/frontend-needs-endpoint":      {issuance.Request{Tenant: "t1", Profile: "scep-client-auth", CSR: good, Frontend: "scep"}, fault.BadRequest, ""},
		"fail/san-type":                     {issuance.Request{Tenant: "t1", Profile: "acme-tls-server", CSR: good, SANs: []policy.SAN{{Type: profile.SANEmail, Value: "a@b.example"}}}, fault.PolicyRejected, "profile.san.types"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.req.Actor = "test"
			_, err := f.svc.Issue(ctx, &tc.req)
			fe := fault.As(err)
			if fe == nil || fe.Reason != tc.reason || (tc.rule != "" && fe.Rule != tc.rule) {
				t.Fatalf("got %v, want %v [%s]", err, tc.reason, tc.rule)
			}
		})
	}
	certs, _, err := f.store.ListCertificates(ctx, store.CertFilter{Tenant: "t1", Profile: "scep-client-auth"})
	if err != nil || len(certs) != 0 {
		t.Fatalf("%d certificates after refusals, %v", len(certs), err)
	}
	u, _ := f.store.QuotaUsage(ctx, "t1")
	if u.Active != 0 {
		t.Fatalf("refusals consumed %d licences", u.Active)
	}
	failures, _, _ := f.store.ListAudit(ctx, store.AuditFilter{Tenant: "t1", Result: audit.Failure, PageSize: 100})
	if len(failures) != 11 { // the unknown tenant's refusal is not in t1's chain
		t.Errorf("%d failure events, want 11", len(failures))
	}
}

func TestRequestKeyReplaysUnderConcurrency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		f := newFixture(t, e, 0, 0)
		csr := csrFor(t, "h", "h.example.com")
		var wg sync.WaitGroup
		serials := make([]string, 8)
		var replays atomic.Int64
		for i := range serials {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				res, err := f.svc.Issue(ctx, &issuance.Request{Actor: "test", Tenant: "t1", Profile: "privatessl-tls-server", CSR: csr, RequestKey: "order-42"})
				if err != nil {
					t.Error(err)
					return
				}
				serials[i] = res.Certificate.Serial
				if res.Replayed {
					replays.Add(1)
				}
			}(i)
		}
		wg.Wait()
		for _, s := range serials {
			if s != serials[0] {
				t.Fatalf("one request key produced serials %v", serials)
			}
		}
		if replays.Load() != 7 {
			t.Errorf("%d replays, want 7", replays.Load())
		}
		u, _ := f.store.QuotaUsage(ctx, "t1")
		if u.Active != 1 {
			t.Errorf("%d licences used, want 1", u.Active)
		}
		_, err := f.svc.Issue(ctx, &issuance.Request{Actor: "test", Tenant: "t1", Profile: "privatessl-tls-server", CSR: csrFor(t, "other", "o.example.com"), RequestKey: "order-42"})
		if fault.ReasonOf(err) != fault.Conflict {
			t.Fatalf("key reused for another CSR: got %v, want CONFLICT", err)
		}
	})
}

func TestQuotaAndRateUnderConcurrency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		f := newFixture(t, e, 5, 0)
		var ok, quota atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := f.svc.Issue(ctx, &issuance.Request{Actor: "test", Tenant: "t1", Profile: "privatessl-tls-server", CSR: csrFor(t, "h", fmt.Sprintf("h%d.example.com", i))})
				switch fault.ReasonOf(err) {
				case fault.QuotaExceeded:
					quota.Add(1)
				default:
					if err != nil {
						t.Error(err)
						return
					}
					ok.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != 5 || quota.Load() != 11 {
			t.Fatalf("%d issued, %d refused; want 5 and 11", ok.Load(), quota.Load())
		}
	})
}

func TestEndpointEnrollmentTracksEndEntities(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, 0, 0)
	f.endpoint(t, &store.Endpoint{ID: "ep", DefaultProfile: "scep-client-auth", AuthMethod: "one_time_challenge"})
	challenge := "0123456789abcdef0123456789abcdef"
	if err := f.store.CreateChallenge(ctx, &store.Challenge{ID: "c1", Tenant: "t1", Endpoint: "ep", ValueHash: issuance.ChallengeHash("t1", "ep", challenge),
		EndEntity: "dev1", ExpiresAt: time.Now().Add(time.Hour)}, &audit.Event{Tenant: "t1", Actor: "test", Action: audit.ActionChallengeCreate}); err != nil {
		t.Fatal(err)
	}
	req := &issuance.Request{Actor: "frontend:scep", Frontend: "scep", Tenant: "t1", Endpoint: "ep", CSR: csrFor(t, "dev1"), EndEntity: "dev1", Challenge: challenge}
	res, err := f.svc.Issue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f.verify(t, res)
	ee, err := f.store.GetEndEntity(ctx, "t1", "ep", "dev1")
	if err != nil || ee.Status != store.EntityActive || ee.LastEnrolledAt.IsZero() {
		t.Fatalf("end-entity %+v, %v", ee, err)
	}
	if _, err := f.svc.Issue(ctx, req); fault.ReasonOf(err) != fault.Unauthenticated {
		t.Fatalf("challenge reuse: got %v, want UNAUTHENTICATED", err)
	}
}

// failingIssuers wraps the real authority with a signer that fails, like an
// HSM going away mid-request.
type failingIssuers struct{ auth *ca.Authority }

func (f failingIssuers) Issuer(ctx context.Context, tenant, id string) (*ca.Issuer, error) {
	iss, err := f.auth.Issuer(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	c := *iss
	c.Signer = brokenSigner{iss.Signer}
	return &c, nil
}

type brokenSigner struct{ crypto.Signer }

func (brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("CKR_DEVICE_REMOVED")
}

func TestSignerFailureReleasesTheReservation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, 1, 1)
	set, _ := profile.NewSet()
	svc, _ := issuance.New(issuance.Deps{Store: f.store, Issuers: failingIssuers{f.auth}, Profiles: profile.NewResolver(set, f.store)})
	_, err := svc.Issue(ctx, &issuance.Request{Actor: "test", Tenant: "t1", Profile: "privatessl-tls-server", CSR: csrFor(t, "h", "h.example.com")})
	if fe := fault.As(err); fe == nil || fe.Reason != fault.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE", err)
	}
	// The licence and the rate slot are free again.
	if _, err := f.svc.Issue(ctx, &issuance.Request{Actor: "test", Tenant: "t1", Profile: "privatessl-tls-server", CSR: csrFor(t, "h", "h.example.com")}); err != nil {
		t.Fatalf("after the signer failure: %v", err)
	}
}
