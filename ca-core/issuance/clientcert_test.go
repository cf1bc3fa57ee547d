package issuance_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/store"
)

func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if fe := fault.As(err); fe == nil || fe.Rule != rule {
		t.Fatalf("got %v, want rule %s", err, rule)
	}
}

// TestClientCertificateAuthentication: an endpoint that authenticates
// clients by certificate takes only certificates its CA issued, that are
// in force, and a renewal keeps the renewed certificate's identity.
func TestClientCertificateAuthentication(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		f := newFixture(t, e, 0, 0)
		f.endpoint(t, &store.Endpoint{ID: "estc", Protocol: "est", DefaultProfile: "est-client-auth", AuthMethod: "client_certificate"})
		f.endpoint(t, &store.Endpoint{ID: "boot", Protocol: "est", DefaultProfile: "est-client-auth", AuthMethod: "none"})
		frontend := func(r *issuance.Request) *issuance.Request {
			r.Actor, r.Frontend, r.Tenant = "frontend:est", "est", "t1"
			return r
		}
		first, err := f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "boot", CSR: csrFor(t, "dev1", "dev1.example.com"), EndEntity: "dev1"}))
		if err != nil {
			t.Fatal(err)
		}

		_, err = f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev1")}))
		wantRule(t, err, "client_certificate.required")

		res, err := f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev1", "dev1.example.com"), ClientCertificate: first.Certificate.DER, Renewal: true}))
		if err != nil {
			t.Fatalf("renewal with the certificate in force: %v", err)
		}
		if res.Certificate.EndEntity != "dev1" {
			t.Errorf("renewal's end-entity %q, want the renewed certificate's dev1", res.Certificate.EndEntity)
		}
		_, err = f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev2", "dev1.example.com"), ClientCertificate: first.Certificate.DER, Renewal: true}))
		wantRule(t, err, "renewal.identity")
		_, err = f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev1"), ClientCertificate: first.Certificate.DER, Renewal: true}))
		wantRule(t, err, "renewal.identity")

		// A certificate certgate never issued, even under the same serial
		// number as one it did.
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		serial, _ := new(big.Int).SetString(first.Certificate.Serial, 16)
		tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "dev1"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		forged, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		_, err = f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev1"), ClientCertificate: forged}))
		wantRule(t, err, "client_certificate")

		if _, err := f.store.ChangeStatus(ctx, &store.StatusChange{Tenant: "t1", Serial: first.Certificate.Serial, To: store.CertRevoked, Reason: 1},
			&audit.Event{Tenant: "t1", Actor: "test", Action: "certificate.revoke", Target: first.Certificate.Serial}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Issue(ctx, frontend(&issuance.Request{Endpoint: "estc", CSR: csrFor(t, "dev1", "dev1.example.com"), ClientCertificate: first.Certificate.DER}))
		wantRule(t, err, "client_certificate")
	})
}

func TestApprovalEndpointRefusesDirectIssuance(t *testing.T) {
	f := newFixture(t, store.SQLite, 0, 0)
	f.endpoint(t, &store.Endpoint{ID: "held", Protocol: "est", DefaultProfile: "est-client-auth", AuthMethod: "none",
		Settings: store.EndpointSettings{RequireApproval: true}})
	_, err := f.svc.Issue(context.Background(), &issuance.Request{Actor: "frontend:est", Frontend: "est", Tenant: "t1", Endpoint: "held", CSR: csrFor(t, "x")})
	wantRule(t, err, "endpoint.require_approval")
	// An administrator (approving the pending request) may.
	if _, err := f.svc.Issue(context.Background(), &issuance.Request{Actor: "admin:ops", Tenant: "t1", Endpoint: "held", CSR: csrFor(t, "x")}); err != nil {
		t.Fatal(err)
	}
}

func TestIssueWithGeneratedKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		ctx := context.Background()
		f := newFixture(t, e, 0, 0)
		f.endpoint(t, &store.Endpoint{ID: "keygen", Protocol: "est", DefaultProfile: "est-client-auth", AuthMethod: "none"})
		req := func() *issuance.Request {
			return &issuance.Request{Actor: "frontend:est", Frontend: "est", Tenant: "t1", Endpoint: "keygen", CSR: csrFor(t, "gen1", "gen1.example.com")}
		}
		for name, tc := range map[string]struct {
			kt   keys.Type
			want keys.Type
		}{
			"the CSR's key type": {"", keys.P256},
			"asked for":          {keys.RSA2048, keys.RSA2048},
		} {
			t.Run(name, func(t *testing.T) {
				res, pkcs8, err := f.svc.IssueWithGeneratedKey(ctx, req(), tc.kt)
				if err != nil {
					t.Fatal(err)
				}
				leaf := f.verify(t, res)
				key, err := x509.ParsePKCS8PrivateKey(pkcs8)
				if err != nil {
					t.Fatal(err)
				}
				if !key.(interface{ Public() crypto.PublicKey }).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(leaf.PublicKey) {
					t.Fatal("the returned key is not the certificate's")
				}
				if kt, _ := keys.Of(leaf.PublicKey); kt != tc.want || leaf.Subject.CommonName != "gen1" || leaf.DNSNames[0] != "gen1.example.com" {
					t.Errorf("key %s subject %v SANs %v", kt, leaf.Subject, leaf.DNSNames)
				}
			})
		}
		_, _, err := f.svc.IssueWithGeneratedKey(ctx, req(), keys.Type("rsa1024"))
		wantRule(t, err, "profile.key_type")

		// A request key cannot hand the same key out twice.
		r := req()
		r.RequestKey = "k1"
		if _, _, err := f.svc.IssueWithGeneratedKey(ctx, r, ""); err != nil {
			t.Fatal(err)
		}
		r = req()
		r.RequestKey = "k1"
		if _, _, err := f.svc.IssueWithGeneratedKey(ctx, r, ""); err == nil {
			t.Error("a repeated request key handed out a key again")
		}
	})
}

func TestServerKeygenProfilesTakeOnlyGeneratedKeys(t *testing.T) {
	f := newFixture(t, store.SQLite, 0, 0)
	ctx := context.Background()
	r := &issuance.Request{Actor: "admin:ops", Tenant: "t1", Profile: "mdmws-p12-key-encipherment", CSR: csrFor(t, "p12")}
	if _, err := f.auth.SetProfiles(ctx, "test", "t1", "issuing", append(mustCA(t, f).Profiles, "mdmws-p12-key-encipherment")); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Issue(ctx, r)
	wantRule(t, err, "profile.server_side_keygen")
	if _, _, err := f.svc.IssueWithGeneratedKey(ctx, r, ""); err != nil {
		t.Fatalf("generated key under a PKCS#12 profile: %v", err)
	}
}

func mustCA(t *testing.T, f *fixture) *store.CA {
	c, err := f.store.GetCA(context.Background(), "t1", "issuing")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
