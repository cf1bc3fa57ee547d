package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/acme"
	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// acme.Service on a real store, with the issuance pipeline and the
// revoker replaced by recorders: what is checked here is the service's own
// part of RFC 8555 (identifiers, CSR against order, who may revoke) and of
// RFC 9773 (renewal window, replaces).

const (
	tenant   = "t1"
	endpoint = "acme"
	// eabEndpoint requires external account binding and agreeing to terms.
	eabEndpoint = "acme-eab"
	terms       = "https://example.com/terms"
)

type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

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

// issuer records issuance requests and answers with err, or with a
// certificate of a fresh serial.
type issuer struct {
	mu   sync.Mutex // guards reqs and err
	reqs []*issuance.Request
	err  error
}

func (i *issuer) Issue(_ context.Context, r *issuance.Request) (*issuance.Result, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.reqs = append(i.reqs, r)
	if i.err != nil {
		return nil, i.err
	}
	return &issuance.Result{Certificate: &store.Certificate{Serial: fmt.Sprintf("%02x", len(i.reqs)), Tenant: r.Tenant}}, nil
}

func (i *issuer) calls() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.reqs)
}

func (i *issuer) last() *issuance.Request {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.reqs[len(i.reqs)-1]
}

func (i *issuer) fail(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.err = err
}

// revoker records revocations and answers with err.
type revoker struct {
	mu      sync.Mutex // guards serials and err
	serials []string
	err     error
}

func (r *revoker) Revoke(_ context.Context, _, _, serial string, reason int, _ time.Time, _ bool) (*store.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	r.serials = append(r.serials, fmt.Sprintf("%s/%d", serial, reason))
	return &store.Certificate{Serial: serial, Status: store.CertRevoked}, nil
}

func (r *revoker) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *revoker) revoked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.serials)
}

// chains hands out empty chains.
type chains struct{}

func (chains) Chain(context.Context, string, string) ([][]byte, error) { return nil, nil }

type fixture struct {
	t   *testing.T
	st  *store.Store
	clk *clock
	svc *acme.Service
	iss *issuer
	rev *revoker
}

// forEachEngine runs fn on a service over each store engine.
func forEachEngine(t *testing.T, fn func(f *fixture)) {
	for _, e := range storetest.Engines {
		t.Run(string(e), func(t *testing.T) { fn(newFixture(t, e)) })
	}
}

func newFixture(t *testing.T, e store.Engine) *fixture {
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	st := storetest.Open(t, e, store.Options{Now: clk.Now})
	ctx := t.Context()
	if err := st.CreateTenant(ctx, &store.Tenant{ID: tenant, DisplayName: tenant}, adminEvent(audit.ActionTenantCreate)); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*store.Endpoint{
		{Tenant: tenant, ID: endpoint, Protocol: "acme", CA: "issuing", DefaultProfile: "acme-tls", AllowedProfiles: []string{"acme-short"}},
		{Tenant: tenant, ID: eabEndpoint, Protocol: "acme", CA: "issuing", DefaultProfile: "acme-tls", AuthMethod: "external_account_binding",
			Settings: store.EndpointSettings{ACME: &store.ACMESettings{TermsOfService: terms}}},
	} {
		if err := st.CreateEndpoint(ctx, ep, adminEvent("endpoint.create")); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, st: st, clk: clk, iss: &issuer{}, rev: &revoker{}}
	f.svc = acme.New(st, f.iss, chains{}, f.rev, clk.Now)
	return f
}

func adminEvent(action string) *audit.Event {
	return &audit.Event{Tenant: tenant, Actor: "admin:test", Action: action}
}

// in rebinds the fixture to a subtest.
func (f *fixture) in(t *testing.T) *fixture {
	c := *f
	c.t = t
	return &c
}

func (f *fixture) ctx() context.Context { return f.t.Context() }

func (f *fixture) nonceOf(ep string) string {
	f.t.Helper()
	n, err := f.svc.Nonces(f.ctx(), tenant, ep, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	return n[0]
}

func (f *fixture) nonce() string { return f.nonceOf(endpoint) }

func (f *fixture) req(acct *store.AcmeAccount) *store.AcmeReq {
	f.t.Helper()
	return &store.AcmeReq{Tenant: tenant, Endpoint: acct.Endpoint, Nonce: f.nonceOf(acct.Endpoint), AccountID: acct.ID, KeyThumbprint: acct.KeyThumbprint}
}

func randomString() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// freshName returns a DNS name no order has named, so that its order
// reuses no valid authorization.
func freshName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("n%x.example", b)
}

func (f *fixture) newAccountRequest() *acme.NewAccountRequest {
	return &acme.NewAccountRequest{Actor: "frontend:acme", Tenant: tenant, Endpoint: endpoint, Nonce: f.nonce(), JWK: []byte(`{"kty":"EC"}`),
		Thumbprint: randomString(), Contact: []string{"mailto:ops@example.com"}}
}

func (f *fixture) account() *store.AcmeAccount {
	f.t.Helper()
	acct, created, err := f.svc.NewAccount(f.ctx(), f.newAccountRequest())
	if err != nil || !created {
		f.t.Fatalf("new account: created=%v, %v", created, err)
	}
	return acct
}

func dns(names ...string) []acme.Identifier {
	out := make([]acme.Identifier, len(names))
	for i, n := range names {
		out[i] = acme.Identifier{Type: "dns", Value: n}
	}
	return out
}

func (f *fixture) newOrder(acct *store.AcmeAccount, idents []acme.Identifier) (*store.AcmeOrder, error) {
	f.t.Helper()
	return f.svc.NewOrder(f.ctx(), &acme.NewOrderRequest{Actor: "frontend:acme", Req: f.req(acct), Identifiers: idents})
}

func (f *fixture) order(acct *store.AcmeAccount, idents []acme.Identifier) *store.AcmeOrder {
	f.t.Helper()
	o, err := f.newOrder(acct, idents)
	if err != nil {
		f.t.Fatalf("new order: %v", err)
	}
	return o
}

func (f *fixture) authz(acct *store.AcmeAccount, id string) *store.AcmeAuthz {
	f.t.Helper()
	z, err := f.svc.Authorization(f.ctx(), f.req(acct), id, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return z
}

// validate passes the first challenge of each of o's authorizations that
// is not valid already (reused), as the front-end does after checking it.
func (f *fixture) validate(acct *store.AcmeAccount, o *store.AcmeOrder) {
	f.t.Helper()
	for _, id := range o.AuthzIDs {
		z := f.authz(acct, id)
		if z.Status == store.AcmeValid {
			continue
		}
		ch := z.Challenges[0].ID
		if _, _, start, err := f.svc.StartChallenge(f.ctx(), f.req(acct), ch); err != nil || !start {
			f.t.Fatalf("start challenge: start=%v, %v", start, err)
		}
		if _, err := f.svc.CompleteChallenge(f.ctx(), tenant, endpoint, ch, true, nil); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) orderStatus(acct *store.AcmeAccount, id string) *store.AcmeOrder {
	f.t.Helper()
	o, err := f.svc.Order(f.ctx(), f.req(acct), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

// cert is a certificate in the store, as the pipeline would have issued
// it for an ACME order.
type cert struct {
	der    []byte
	serial string
	ariID  string
	key    *ecdsa.PrivateKey
}

var testAKI = []byte{0x69, 0x88, 0x5b, 0x6b, 0x87, 0x46, 0x40, 0x41, 0xe1, 0xb3, 0x7b, 0x84, 0x7b, 0xa0, 0xae, 0x2c, 0xde, 0x01, 0xc8, 0xd4}

// issue stores a certificate of acct (an account of ep) valid for life.
func (f *fixture) issue(ep, accountID string, life time.Duration) *cert {
	f.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	var b [16]byte
	rand.Read(b[:])
	b[0] = b[0]&0x7f | 0x01 // positive, and its DER content is these bytes
	sn := new(big.Int).SetBytes(b[:])
	nb := f.clk.Now().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "a.example"}, DNSNames: []string{"a.example"},
		NotBefore: nb, NotAfter: nb.Add(life), AuthorityKeyId: testAKI}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.t.Fatal(err)
	}
	c := &cert{der: der, serial: ca.SerialHex(sn), key: key,
		ariID: base64.RawURLEncoding.EncodeToString(testAKI) + "." + base64.RawURLEncoding.EncodeToString(b[:])}
	rec := &store.Certificate{Serial: c.serial, Tenant: tenant, CA: "issuing", Profile: "acme-tls", Endpoint: ep, EndEntity: accountID,
		Subject: "CN=a.example", KeyType: keys.P256, NotBefore: nb, NotAfter: nb.Add(life), Requester: "frontend:acme", CountsQuota: true}
	if _, err := f.st.Reserve(f.ctx(), &store.Reservation{Cert: rec}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.Finalize(f.ctx(), &store.Finalization{Serial: c.serial, DER: der, SHA256: "00", NotBefore: nb, NotAfter: nb.Add(life),
		Tenant: tenant, Endpoint: ep}, adminEvent(audit.ActionCertIssue)); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func wantRule(t *testing.T, err error, reason fault.Reason, rule string) *fault.Error {
	t.Helper()
	fe := fault.As(err)
	if fe == nil || fe.Rule != rule || fe.Reason != reason {
		t.Fatalf("got %v, want %s [%s]", err, reason, rule)
	}
	return fe
}

func TestNewOrderNormalizesIdentifiers(t *testing.T) {
	type authz struct {
		ident      acme.Identifier
		wildcard   bool
		challenges []string
	}
	all := []string{"dns-01", "http-01", "tls-alpn-01"}
	cases := []struct {
		name      string
		in        []acme.Identifier
		wantOrder []acme.Identifier
		wantAuthz []authz
	}{
		{"DNS names are lower-cased without the trailing dot", dns("WWW.Example.COM."),
			dns("www.example.com"), []authz{{dns("www.example.com")[0], false, all}}},
		{"wildcards keep the label on the order, the flag on the authorization", dns("*.Example.com"),
			dns("*.example.com"), []authz{{dns("example.com")[0], true, []string{"dns-01"}}}},
		{"IPv6 takes its canonical form", []acme.Identifier{{Type: "ip", Value: "2001:DB8:0:0:0:0:0:1"}},
			[]acme.Identifier{{Type: "ip", Value: "2001:db8::1"}},
			[]authz{{acme.Identifier{Type: "ip", Value: "2001:db8::1"}, false, []string{"http-01", "tls-alpn-01"}}}},
		{"IPv4-mapped addresses are IPv4", []acme.Identifier{{Type: "ip", Value: "::ffff:192.0.2.10"}},
			[]acme.Identifier{{Type: "ip", Value: "192.0.2.10"}},
			[]authz{{acme.Identifier{Type: "ip", Value: "192.0.2.10"}, false, []string{"http-01", "tls-alpn-01"}}}},
		{"names equal after normalization count once", dns("example.com", "EXAMPLE.com.", "example.COM"),
			dns("example.com"), []authz{{dns("example.com")[0], false, all}}},
		{"addresses equal after normalization count once", []acme.Identifier{{Type: "ip", Value: "2001:db8::1"}, {Type: "ip", Value: "2001:DB8:0::1"}},
			[]acme.Identifier{{Type: "ip", Value: "2001:db8::1"}},
			[]authz{{acme.Identifier{Type: "ip", Value: "2001:db8::1"}, false, []string{"http-01", "tls-alpn-01"}}}},
		{"a name and its wildcard are two identifiers", dns("example.com", "*.example.com"),
			dns("example.com", "*.example.com"),
			[]authz{{dns("example.com")[0], false, all}, {dns("example.com")[0], true, []string{"dns-01"}}}},
	}
	forEachEngine(t, func(f *fixture) {
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				acct := f.account()
				o := f.order(acct, c.in)
				if !slices.Equal(o.Identifiers, c.wantOrder) {
					t.Errorf("order identifiers %v, want %v", o.Identifiers, c.wantOrder)
				}
				if len(o.AuthzIDs) != len(c.wantAuthz) {
					t.Fatalf("%d authorizations, want %d", len(o.AuthzIDs), len(c.wantAuthz))
				}
				for i, id := range o.AuthzIDs {
					z := f.authz(acct, id)
					var types []string
					for _, ch := range z.Challenges {
						types = append(types, ch.Type)
					}
					w := c.wantAuthz[i]
					if z.Identifier != w.ident || z.Wildcard != w.wildcard || !slices.Equal(types, w.challenges) {
						t.Errorf("authorization %d: %v wildcard=%v challenges %v; want %v wildcard=%v challenges %v",
							i, z.Identifier, z.Wildcard, types, w.ident, w.wildcard, w.challenges)
					}
				}
			})
		}
	})
}

func TestNewOrderLifetimes(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		now := f.clk.Now()
		o := f.order(acct, dns("a.example"))
		if !o.Expires.Equal(now.Add(acme.OrderLifetime)) || o.Status != store.AcmePending || o.Profile != "acme-tls" {
			f.t.Fatalf("order %+v", o)
		}
		if z := f.authz(acct, o.AuthzIDs[0]); !z.Expires.Equal(now.Add(acme.PendingAuthzLifetime)) || z.Status != store.AcmePending {
			f.t.Fatalf("authorization %+v", z)
		}
		// The store and the service agree on when the order ends.
		f.clk.Add(acme.OrderLifetime)
		if got := f.orderStatus(acct, o.ID).Status; got != store.AcmeInvalid {
			f.t.Fatalf("order at its expiry reads %s", got)
		}
	})
}

func TestNewOrderRefusesBadIdentifiers(t *testing.T) {
	ip := func(v string) acme.Identifier { return acme.Identifier{Type: "ip", Value: v} }
	cases := []struct {
		name string
		in   []acme.Identifier
		rule string
		// bad lists the identifiers with a subproblem, as they were sent.
		bad []acme.Identifier
	}{
		{"not a fully qualified name", dns("localhost"), "acme.rejectedIdentifier", dns("localhost")},
		{"underscore", dns("under_score.example"), "acme.rejectedIdentifier", dns("under_score.example")},
		{"empty label", dns("a..example"), "acme.rejectedIdentifier", dns("a..example")},
		{"label ending in a hyphen", dns("a-.example"), "acme.rejectedIdentifier", dns("a-.example")},
		{"wildcard of a top-level domain", dns("*.com"), "acme.rejectedIdentifier", dns("*.com")},
		{"wildcard below a wildcard", dns("*.*.example.com"), "acme.rejectedIdentifier", dns("*.*.example.com")},
		{"address as a DNS name", dns("192.0.2.1"), "acme.malformed", dns("192.0.2.1")},
		{"name as an address", []acme.Identifier{ip("example.com")}, "acme.malformed", []acme.Identifier{ip("example.com")}},
		{"address with a zone", []acme.Identifier{ip("fe80::1%eth0")}, "acme.malformed", []acme.Identifier{ip("fe80::1%eth0")}},
		{"unknown type", []acme.Identifier{{Type: "email", Value: "a@example.com"}}, "acme.unsupportedIdentifier",
			[]acme.Identifier{{Type: "email", Value: "a@example.com"}}},
		{"several bad among good ones",
			[]acme.Identifier{dns("ok.example")[0], dns("localhost")[0], ip("300.1.1.1"), {Type: "email", Value: "a@example.com"}, ip("192.0.2.1")},
			"acme.compound", []acme.Identifier{dns("localhost")[0], ip("300.1.1.1"), {Type: "email", Value: "a@example.com"}}},
	}
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				_, err := f.newOrder(acct, c.in)
				fe := wantRule(t, err, fault.BadRequest, c.rule)
				var sub []acme.Problem
				if err := json.Unmarshal([]byte(fe.Meta["subproblems"]), &sub); err != nil {
					t.Fatalf("subproblems %q: %v", fe.Meta["subproblems"], err)
				}
				if len(sub) != len(c.bad) {
					t.Fatalf("%d subproblems, want %d: %+v", len(sub), len(c.bad), sub)
				}
				for i, p := range sub {
					if p.Identifier == nil || *p.Identifier != c.bad[i] || !strings.HasPrefix(p.Type, "urn:ietf:params:acme:error:") || p.Detail == "" {
						t.Errorf("subproblem %d: %+v, want one about %v", i, p, c.bad[i])
					}
				}
				// With a single bad identifier the top-level type is its own.
				if len(sub) == 1 && "acme."+strings.TrimPrefix(sub[0].Type, "urn:ietf:params:acme:error:") != c.rule {
					t.Errorf("top-level %s, subproblem %s", c.rule, sub[0].Type)
				}
			})
		}
		ids, err := f.svc.Orders(f.t.Context(), f.req(acct))
		if err != nil || len(ids) != 0 {
			f.t.Fatalf("refused orders were stored: %v, %v", ids, err)
		}
	})
}

func TestNewOrderRefusals(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		now := f.clk.Now()
		many := make([]acme.Identifier, acme.MaxIdentifiers+1)
		for i := range many {
			many[i] = dns(fmt.Sprintf("n%d.example", i))[0]
		}
		cases := []struct {
			name string
			r    acme.NewOrderRequest
			rule string
		}{
			{"no identifiers", acme.NewOrderRequest{}, "acme.malformed"},
			{"too many identifiers", acme.NewOrderRequest{Identifiers: many}, "acme.malformed"},
			{"profile not offered", acme.NewOrderRequest{Identifiers: dns("a.example"), Profile: "secret"}, "acme.invalidProfile"},
			{"notAfter in the past", acme.NewOrderRequest{Identifiers: dns("a.example"), NotAfter: now.Add(-time.Second)}, "acme.malformed"},
			{"notAfter before notBefore", acme.NewOrderRequest{Identifiers: dns("a.example"), NotBefore: now.Add(2 * time.Hour), NotAfter: now.Add(time.Hour)},
				"acme.malformed"},
		}
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				c.r.Req = f.req(acct)
				_, err := f.svc.NewOrder(f.ctx(), &c.r)
				wantRule(t, err, fault.BadRequest, c.rule)
			})
		}
		f.t.Run("profile offered", func(t *testing.T) {
			f := f.in(t)
			o, err := f.svc.NewOrder(f.ctx(), &acme.NewOrderRequest{Req: f.req(acct), Identifiers: dns("a.example"), Profile: "acme-short"})
			if err != nil || o.Profile != "acme-short" {
				t.Fatalf("%+v, %v", o, err)
			}
		})
	})
}

// TestAuthorizationReuse: a name validated once is not validated again
// for every order while its authorization is good (doc.go: the service
// decides "when valid authorizations are reused").
func TestAuthorizationReuse(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		first := f.order(acct, dns("a.example"))
		f.validate(acct, first)
		f.clk.Add(time.Hour)
		second := f.order(acct, dns("a.example"))
		if second.Status != store.AcmeReady || second.AuthzIDs[0] != first.AuthzIDs[0] {
			z := f.authz(acct, first.AuthzIDs[0])
			f.t.Fatalf("second order is %s with authorization %v; want ready reusing %s (valid, expires %s, order expires %s)",
				second.Status, second.AuthzIDs, first.AuthzIDs[0], z.Expires, second.Expires)
		}
	})
}

func csr(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestFinalizeChecksTheCSRAgainstTheOrder(t *testing.T) {
	refused := []struct {
		name string
		csr  x509.CertificateRequest
	}{
		{"a name missing", x509.CertificateRequest{DNSNames: []string{"example.com"}}},
		{"a name too many", x509.CertificateRequest{DNSNames: []string{"example.com", "www.example.com", "extra.example.com"}}},
		{"CN outside the order", x509.CertificateRequest{Subject: pkix.Name{CommonName: "other.example"}, DNSNames: []string{"example.com", "www.example.com"}}},
		{"an address the order lacks", x509.CertificateRequest{DNSNames: []string{"example.com", "www.example.com"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}}},
		{"an e-mail SAN", x509.CertificateRequest{DNSNames: []string{"example.com", "www.example.com"}, EmailAddresses: []string{"a@example.com"}}},
		{"a URI SAN", x509.CertificateRequest{DNSNames: []string{"example.com", "www.example.com"}, URIs: []*url.URL{{Scheme: "https", Host: "example.com"}}}},
	}
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		o := f.order(acct, dns("example.com", "www.example.com"))
		f.validate(acct, o)

		// A CSR the order cannot accept leaves the order ready for a
		// better one (RFC 8555 §7.4 badCSR), and nothing is issued.
		for _, c := range refused {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", f.req(acct), o.ID, csr(t, &c.csr))
				wantRule(t, err, fault.BadCSR, "acme.badCSR")
				if got := f.orderStatus(acct, o.ID).Status; got != store.AcmeReady {
					t.Fatalf("order is %s after a refused CSR, want ready", got)
				}
			})
		}
		f.t.Run("unparseable CSR", func(t *testing.T) {
			f := f.in(t)
			_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", f.req(acct), o.ID, []byte("not a CSR"))
			wantRule(t, err, fault.BadCSR, "acme.badCSR")
			if got := f.orderStatus(acct, o.ID).Status; got != store.AcmeReady {
				t.Fatalf("order is %s, want ready", got)
			}
		})
		if n := f.iss.calls(); n != 0 {
			f.t.Fatalf("%d issuance requests for refused CSRs", n)
		}

		f.t.Run("same names in another spelling", func(t *testing.T) {
			f := f.in(t)
			der := csr(t, &x509.CertificateRequest{DNSNames: []string{"WWW.example.com", "Example.COM."}})
			got, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", f.req(acct), o.ID, der)
			if err != nil || got.Status != store.AcmeValid || got.CertSerial == "" {
				t.Fatalf("finalize: %+v, %v", got, err)
			}
			r := f.iss.last()
			wantSANs := []string{"dns:example.com", "dns:www.example.com"}
			var sans []string
			for _, s := range r.SANs {
				sans = append(sans, string(s.Type)+":"+s.Value)
			}
			slices.Sort(sans)
			if !slices.Equal(sans, wantSANs) || r.Subject != "CN=example.com" || r.EndEntity != acct.ID || r.Endpoint != endpoint ||
				r.Profile != "acme-tls" || r.RequestKey != "acme-order:"+endpoint+":"+o.ID {
				t.Fatalf("issuance request: SANs %v subject %q end-entity %q endpoint %q profile %q key %q", sans, r.Subject, r.EndEntity, r.Endpoint, r.Profile, r.RequestKey)
			}
			if st := f.orderStatus(acct, o.ID); st.Status != store.AcmeValid || st.CertSerial != got.CertSerial {
				t.Fatalf("stored order %+v", st)
			}
		})
	})
}

func TestFinalizeIPOrder(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		o := f.order(acct, []acme.Identifier{{Type: "ip", Value: "2001:db8::1"}, {Type: "ip", Value: "192.0.2.7"}})
		f.validate(acct, o)
		der := csr(f.t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "192.0.2.7"},
			IPAddresses: []net.IP{net.ParseIP("2001:DB8:0::1"), net.ParseIP("192.0.2.7").To16()}})
		if _, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", f.req(acct), o.ID, der); err != nil {
			f.t.Fatal(err)
		}
		r := f.iss.last()
		if r.Subject != "CN=192.0.2.7" || len(r.SANs) != 2 || r.SANs[0].Type != profile.SANIP {
			f.t.Fatalf("issuance request: subject %q SANs %v", r.Subject, r.SANs)
		}
	})
}

func TestFinalizeWhenIssuanceFails(t *testing.T) {
	cases := []struct {
		name string
		err  error
		// want is the order's status afterwards.
		want string
	}{
		// The profile refuses this CSR: the order cannot succeed.
		{"policy refusal", fault.Policy("profile.key.size", "RSA keys must have at least 2048 bits"), store.AcmeInvalid},
		{"bad CSR", &fault.Error{Reason: fault.BadCSR, Rule: "csr.signature", Detail: "no proof of possession"}, store.AcmeInvalid},
		// A passing failure: the client may finalize again.
		{"store busy", &fault.Error{Reason: fault.Unavailable, Detail: "retry", RetryAfter: time.Second}, store.AcmeReady},
		{"rate limited", &fault.Error{Reason: fault.RateLimited, Rule: "rate.tenant", RetryAfter: time.Minute}, store.AcmeReady},
	}
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				o := f.order(acct, dns("a.example"))
				f.validate(acct, o)
				f.iss.fail(c.err)
				defer f.iss.fail(nil)
				_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", f.req(acct), o.ID, csr(t, &x509.CertificateRequest{DNSNames: []string{"a.example"}}))
				if fault.ReasonOf(err) != fault.ReasonOf(c.err) {
					t.Fatalf("got %v, want the pipeline's %v", err, c.err)
				}
				got := f.orderStatus(acct, o.ID)
				if got.Status != c.want {
					t.Fatalf("order is %s, want %s", got.Status, c.want)
				}
				if c.want == store.AcmeInvalid {
					var p acme.Problem
					if json.Unmarshal(got.Error, &p) != nil || p.Type != "urn:ietf:params:acme:error:badCSR" || p.Detail == "" {
						t.Fatalf("order error %s, want a badCSR problem", got.Error)
					}
				}
			})
		}
	})
}

func TestRenewalInfo(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		const life = 90 * 24 * time.Hour
		c := f.issue(endpoint, acct.ID, life)
		nb := f.clk.Now().Truncate(time.Second)
		na := nb.Add(life)

		w, err := f.svc.RenewalInfo(f.ctx(), tenant, endpoint, c.ariID)
		if err != nil {
			f.t.Fatal(err)
		}
		// RFC 9773 §4.2: end after start; a window inside the validity,
		// late enough not to waste the certificate.
		if !w.End.After(w.Start) || !w.Start.After(nb.Add(life/2)) || !w.End.Before(na) {
			f.t.Errorf("window %s – %s for a certificate valid %s – %s", w.Start, w.End, nb, na)
		}
		// The doc comment and the README promise the last third.
		if w.Start.Before(nb.Add(life * 2 / 3)) {
			f.t.Errorf("window starts %s, %.0f%% into the lifetime; documented: inside the last third (from %s)",
				w.Start, 100*float64(w.Start.Sub(nb))/float64(life), nb.Add(life*2/3))
		}

		f.t.Run("revoked: renew now", func(t *testing.T) {
			f := f.in(t)
			f.clk.Add(24 * time.Hour)
			if _, err := f.st.ChangeStatus(f.ctx(), &store.StatusChange{Tenant: tenant, Serial: c.serial, To: store.CertRevoked, Reason: 1},
				adminEvent("certificate.revoke")); err != nil {
				t.Fatal(err)
			}
			w, err := f.svc.RenewalInfo(f.ctx(), tenant, endpoint, c.ariID)
			if err != nil || !w.End.After(w.Start) || w.End.After(f.clk.Now()) {
				t.Fatalf("window %s – %s at %s, %v; want one that has begun", w.Start, w.End, f.clk.Now(), err)
			}
		})

		f.t.Run("unknown certificates", func(t *testing.T) {
			f := f.in(t)
			other := f.issue(eabEndpoint, "someone", life)
			aki, serial, _ := strings.Cut(c.ariID, ".")
			for _, tc := range []struct {
				name, id string
				reason   fault.Reason
			}{
				{"not ARI syntax", "no-dot", fault.BadRequest},
				{"bad base64", "!!." + serial, fault.BadRequest},
				{"another endpoint's", other.ariID, fault.NotFound},
				{"another issuer's key id", base64.RawURLEncoding.EncodeToString([]byte("other")) + "." + serial, fault.NotFound},
				{"unknown serial", aki + "." + base64.RawURLEncoding.EncodeToString([]byte{0x7f, 0x01}), fault.NotFound},
			} {
				_, err := f.svc.RenewalInfo(f.ctx(), tenant, endpoint, tc.id)
				if fe := fault.As(err); fe == nil || fe.Rule != "acme.malformed" || fe.Reason != tc.reason {
					t.Errorf("%s: got %v, want %s [acme.malformed]", tc.name, err, tc.reason)
				}
			}
		})
	})
}

func TestReplacementOrder(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct, other := f.account(), f.account()
		c := f.issue(endpoint, acct.ID, 90*24*time.Hour)
		replace := func(f *fixture, a *store.AcmeAccount, id string) (*store.AcmeOrder, error) {
			return f.svc.NewOrder(f.ctx(), &acme.NewOrderRequest{Req: f.req(a), Identifiers: dns("a.example"), Replaces: id})
		}

		_, err := replace(f, other, c.ariID)
		wantRule(f.t, err, fault.BadRequest, "acme.malformed")
		_, err = replace(f, acct, "bm9wZQ.AQ")
		wantRule(f.t, err, fault.NotFound, "acme.malformed")

		o, err := replace(f, acct, c.ariID)
		if err != nil || o.Replaces != c.ariID {
			f.t.Fatalf("replacement order: %+v, %v", o, err)
		}
		if got := f.orderStatus(acct, o.ID); got.Replaces != c.ariID {
			f.t.Fatalf("stored order replaces %q", got.Replaces)
		}
		_, err = replace(f, acct, c.ariID)
		wantRule(f.t, err, fault.Conflict, "acme.alreadyReplaced")
	})
}

func TestRevokeAuthorization(t *testing.T) {
	const life = 30 * 24 * time.Hour
	spki := func(f *fixture, c *cert) []byte {
		b, err := x509.MarshalPKIXPublicKey(&c.key.PublicKey)
		if err != nil {
			f.t.Fatal(err)
		}
		return b
	}
	byAccount := func(f *fixture, a *store.AcmeAccount, c *cert, reason int) *acme.RevokeRequest {
		return &acme.RevokeRequest{Actor: "frontend:acme", Tenant: tenant, Endpoint: endpoint, Nonce: f.nonce(), AccountID: a.ID,
			Thumbprint: a.KeyThumbprint, CertDER: c.der, Reason: reason}
	}
	byKey := func(f *fixture, c *cert, key []byte) *acme.RevokeRequest {
		return &acme.RevokeRequest{Actor: "frontend:acme", Tenant: tenant, Endpoint: endpoint, Nonce: f.nonce(), CertKeySPKI: key, CertDER: c.der}
	}
	forEachEngine(t, func(f *fixture) {
		owner, other := f.account(), f.account()
		cases := []struct {
			name string
			// req asks to revoke c, a certificate of owner.
			req    func(f *fixture, c *cert) *acme.RevokeRequest
			reason fault.Reason
			rule   string // empty: revoked
		}{
			{"the ordering account", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, owner, c, 4) }, 0, ""},
			{"the certificate's key", func(f *fixture, c *cert) *acme.RevokeRequest { return byKey(f, c, spki(f, c)) }, 0, ""},
			// RFC 8555 §7.6 lets an account holding authorizations for every
			// name revoke too; certgate keeps to the two above.
			{"another account", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, other, c, 4) },
				fault.PermissionDenied, "acme.unauthorized"},
			{"another certificate's key", func(f *fixture, c *cert) *acme.RevokeRequest {
				return byKey(f, c, spki(f, f.issue(endpoint, owner.ID, life)))
			}, fault.PermissionDenied, "acme.unauthorized"},
			{"the owner's id with another account's key", func(f *fixture, c *cert) *acme.RevokeRequest {
				r := byAccount(f, owner, c, 4)
				r.Thumbprint = other.KeyThumbprint
				return r
			}, fault.Unauthenticated, "acme.unauthorized"},
			// RFC 5280 §5.3.1: 7 is unused, 6 (certificateHold) is not a
			// revocation; RFC 8555 §7.6 leaves the allowed set to the server.
			{"reason 7", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, owner, c, 7) }, fault.BadRequest, "acme.badRevocationReason"},
			{"reason 6", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, owner, c, 6) }, fault.BadRequest, "acme.badRevocationReason"},
			{"reason 11", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, owner, c, 11) }, fault.BadRequest, "acme.badRevocationReason"},
			{"negative reason", func(f *fixture, c *cert) *acme.RevokeRequest { return byAccount(f, owner, c, -1) }, fault.BadRequest, "acme.badRevocationReason"},
			{"a certificate of another endpoint", func(f *fixture, _ *cert) *acme.RevokeRequest {
				return byAccount(f, owner, f.issue(eabEndpoint, owner.ID, life), 0)
			}, fault.NotFound, "acme.malformed"},
			{"a certificate it did not issue, with a known serial", func(f *fixture, c *cert) *acme.RevokeRequest {
				r := byAccount(f, owner, c, 0)
				r.CertDER = f.selfSigned(c)
				return r
			}, fault.NotFound, "acme.malformed"},
		}
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				crt := f.issue(endpoint, owner.ID, life)
				err := f.svc.Revoke(f.ctx(), c.req(f, crt))
				revoked := slices.ContainsFunc(f.rev.revoked(), func(s string) bool { return strings.HasPrefix(s, crt.serial+"/") })
				if c.rule == "" {
					if err != nil || !revoked {
						t.Fatalf("revoke: %v (revoked=%v)", err, revoked)
					}
					return
				}
				wantRule(t, err, c.reason, c.rule)
				if revoked {
					t.Fatal("the certificate was revoked")
				}
			})
		}

		f.t.Run("already revoked", func(t *testing.T) {
			f := f.in(t)
			crt := f.issue(endpoint, owner.ID, life)
			if _, err := f.st.ChangeStatus(f.ctx(), &store.StatusChange{Tenant: tenant, Serial: crt.serial, To: store.CertRevoked, Reason: 1},
				adminEvent("certificate.revoke")); err != nil {
				t.Fatal(err)
			}
			wantRule(t, f.svc.Revoke(f.ctx(), byAccount(f, owner, crt, 1)), fault.Conflict, "acme.alreadyRevoked")
		})

		f.t.Run("revoked meanwhile", func(t *testing.T) {
			f := f.in(t)
			crt := f.issue(endpoint, owner.ID, life)
			f.rev.fail(fault.Conflictf("revocation.transition", "certificate is revoked; it cannot become revoked"))
			defer f.rev.fail(nil)
			wantRule(t, f.svc.Revoke(f.ctx(), byAccount(f, owner, crt, 1)), fault.Conflict, "acme.alreadyRevoked")
		})

		f.t.Run("deactivated account", func(t *testing.T) {
			f := f.in(t)
			gone := f.account()
			crt := f.issue(endpoint, gone.ID, life)
			if _, err := f.svc.UpdateAccount(f.ctx(), "frontend:acme", f.req(gone), false, nil, true); err != nil {
				t.Fatal(err)
			}
			wantRule(t, f.svc.Revoke(f.ctx(), byAccount(f, gone, crt, 1)), fault.Unauthenticated, "acme.unauthorized")
		})
	})
}

// selfSigned returns a certificate with c's serial and names that the
// store does not hold.
func (f *fixture) selfSigned(c *cert) []byte {
	f.t.Helper()
	parsed, err := x509.ParseCertificate(c.der)
	if err != nil {
		f.t.Fatal(err)
	}
	tmpl := *parsed
	tmpl.NotAfter = parsed.NotAfter.Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &c.key.PublicKey, c.key)
	if err != nil {
		f.t.Fatal(err)
	}
	return der
}

func TestNewAccount(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		eabKey, err := f.svc.CreateEABKey(f.ctx(), "admin:test", tenant, eabEndpoint, "ci")
		if err != nil {
			f.t.Fatal(err)
		}
		// eab signs the binding the way RFC 8555 §7.3.4 does: a JWS over the
		// account key, MACed with the EAB key.
		eab := func(kid string, key []byte, alg string) *acme.EAB {
			input := []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"`+kid+`"}`)) + "." +
				base64.RawURLEncoding.EncodeToString([]byte(`{"kty":"EC"}`)))
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return &acme.EAB{KID: kid, Alg: alg, SigningInput: input, Signature: m.Sum(nil)}
		}
		eabReq := func(f *fixture, e *acme.EAB) *acme.NewAccountRequest {
			r := f.newAccountRequest()
			r.Endpoint, r.Nonce, r.TermsAgreed, r.EAB = eabEndpoint, f.nonceOf(eabEndpoint), true, e
			return r
		}

		cases := []struct {
			name   string
			req    func(f *fixture) *acme.NewAccountRequest
			reason fault.Reason
			rule   string
		}{
			{"terms not agreed", func(f *fixture) *acme.NewAccountRequest {
				r := eabReq(f, eab(eabKey.KID, eabKey.HMACKey, "HS256"))
				r.TermsAgreed = false
				return r
			}, fault.BadRequest, "acme.malformed"},
			{"no binding", func(f *fixture) *acme.NewAccountRequest { return eabReq(f, nil) }, fault.Unauthenticated, "acme.externalAccountRequired"},
			{"wrong MAC key", func(f *fixture) *acme.NewAccountRequest {
				return eabReq(f, eab(eabKey.KID, []byte("not the key"), "HS256"))
			}, fault.Unauthenticated, "acme.unauthorized"},
			{"MAC algorithm not offered", func(f *fixture) *acme.NewAccountRequest {
				return eabReq(f, eab(eabKey.KID, eabKey.HMACKey, "none"))
			}, fault.Unauthenticated, "acme.unauthorized"},
			{"unknown key id", func(f *fixture) *acme.NewAccountRequest {
				return eabReq(f, eab("unknown", eabKey.HMACKey, "HS256"))
			}, fault.Unauthenticated, "acme.unauthorized"},
			{"contact that is not mailto", func(f *fixture) *acme.NewAccountRequest {
				r := f.newAccountRequest()
				r.Contact = []string{"tel:+15551234567"}
				return r
			}, fault.BadRequest, "acme.unsupportedContact"},
			{"malformed e-mail contact", func(f *fixture) *acme.NewAccountRequest {
				r := f.newAccountRequest()
				r.Contact = []string{"mailto:ops@exa_mple.com"}
				return r
			}, fault.BadRequest, "acme.invalidContact"},
			{"contact with headers", func(f *fixture) *acme.NewAccountRequest {
				r := f.newAccountRequest()
				r.Contact = []string{"mailto:ops@example.com?subject=hi"}
				return r
			}, fault.BadRequest, "acme.invalidContact"},
		}
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				_, _, err := f.svc.NewAccount(f.ctx(), c.req(f))
				wantRule(t, err, c.reason, c.rule)
			})
		}

		f.t.Run("binding once", func(t *testing.T) {
			f := f.in(t)
			r := eabReq(f, eab(eabKey.KID, eabKey.HMACKey, "HS256"))
			acct, created, err := f.svc.NewAccount(f.ctx(), r)
			if err != nil || !created || acct.EABKID != eabKey.KID {
				t.Fatalf("bound account: %+v created=%v, %v", acct, created, err)
			}
			// The same key again finds the account without a new binding.
			again := *r
			again.Nonce, again.EAB = f.nonceOf(eabEndpoint), nil
			if got, created, err := f.svc.NewAccount(f.ctx(), &again); err != nil || created || got.ID != acct.ID {
				t.Fatalf("existing account: %+v created=%v, %v", got, created, err)
			}
			// A second account cannot reuse the binding.
			_, _, err = f.svc.NewAccount(f.ctx(), eabReq(f, eab(eabKey.KID, eabKey.HMACKey, "HS256")))
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
		})

		f.t.Run("existing account spends the nonce", func(t *testing.T) {
			f := f.in(t)
			r := f.newAccountRequest()
			if _, _, err := f.svc.NewAccount(f.ctx(), r); err != nil {
				t.Fatal(err)
			}
			r.Nonce = f.nonce()
			if _, created, err := f.svc.NewAccount(f.ctx(), r); err != nil || created {
				t.Fatalf("lookup by newAccount: created=%v, %v", created, err)
			}
			_, _, err := f.svc.NewAccount(f.ctx(), r)
			wantRule(t, err, fault.BadRequest, "acme.badNonce")
		})
	})
}

// TestRefusedRequestsSpendTheirNonce: RFC 8555 §6.5, "Once a nonce value
// has appeared in an ACME request, the server MUST consider it invalid".
// The front-end leaves redemption to ca-core, so requests the service
// refuses before reaching the store must redeem it too.
func TestRefusedRequestsSpendTheirNonce(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		ready := f.order(acct, dns("a.example"))
		f.validate(acct, ready)
		pending := f.order(acct, dns(freshName()))
		crt := f.issue(endpoint, acct.ID, 24*time.Hour)
		goodCSR := csr(f.t, &x509.CertificateRequest{DNSNames: []string{"a.example"}})
		// reqWith is a request of acct with nonce n.
		reqWith := func(n string) *store.AcmeReq {
			return &store.AcmeReq{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: acct.ID, KeyThumbprint: acct.KeyThumbprint}
		}
		newOrder := func(f *fixture, r acme.NewOrderRequest) error {
			_, err := f.svc.NewOrder(f.ctx(), &r)
			return err
		}
		cases := []struct {
			name string
			call func(f *fixture, nonce string) error
		}{
			// Refused by the store.
			{"a key the account does not hold", func(f *fixture, n string) error {
				r := reqWith(n)
				r.KeyThumbprint = "stolen"
				_, err := f.svc.Orders(f.ctx(), r)
				return err
			}},
			{"unknown order", func(f *fixture, n string) error {
				_, err := f.svc.Order(f.ctx(), reqWith(n), "no-such-order")
				return err
			}},
			{"finalize of an order not ready", func(f *fixture, n string) error {
				_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", reqWith(n), pending.ID, goodCSR)
				return err
			}},
			{"onlyReturnExisting without an account", func(f *fixture, n string) error {
				r := f.newAccountRequest()
				r.Nonce, r.OnlyReturnExisting = n, true
				_, _, err := f.svc.NewAccount(f.ctx(), r)
				return err
			}},
			// Refused by the service before the store.
			{"newOrder with a profile not offered", func(f *fixture, n string) error {
				return newOrder(f, acme.NewOrderRequest{Req: reqWith(n), Identifiers: dns("a.example"), Profile: "secret"})
			}},
			{"newOrder with notAfter in the past", func(f *fixture, n string) error {
				return newOrder(f, acme.NewOrderRequest{Req: reqWith(n), Identifiers: dns("a.example"), NotAfter: f.clk.Now().Add(-time.Hour)})
			}},
			{"newOrder replacing an unknown certificate", func(f *fixture, n string) error {
				return newOrder(f, acme.NewOrderRequest{Req: reqWith(n), Identifiers: dns("a.example"), Replaces: "bm9wZQ.AQ"})
			}},
			{"account update with a bad contact", func(f *fixture, n string) error {
				_, err := f.svc.UpdateAccount(f.ctx(), "frontend:acme", reqWith(n), true, []string{"tel:1"}, false)
				return err
			}},
			{"revokeCert of a certificate that does not parse", func(f *fixture, n string) error {
				return f.svc.Revoke(f.ctx(), &acme.RevokeRequest{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: acct.ID,
					Thumbprint: acct.KeyThumbprint, CertDER: []byte("junk"), Reason: 1})
			}},
			{"revokeCert signed by another key", func(f *fixture, n string) error {
				return f.svc.Revoke(f.ctx(), &acme.RevokeRequest{Tenant: tenant, Endpoint: endpoint, Nonce: n, CertKeySPKI: []byte("other"), CertDER: crt.der})
			}},
			{"newOrder with a bad identifier", func(f *fixture, n string) error {
				r := f.req(acct)
				r.Nonce = n
				_, err := f.svc.NewOrder(f.ctx(), &acme.NewOrderRequest{Req: r, Identifiers: dns("localhost")})
				return err
			}},
			{"finalize with an unparseable CSR", func(f *fixture, n string) error {
				r := f.req(acct)
				r.Nonce = n
				_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", r, ready.ID, []byte("junk"))
				return err
			}},
			{"revokeCert with a bad reason", func(f *fixture, n string) error {
				return f.svc.Revoke(f.ctx(), &acme.RevokeRequest{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: acct.ID,
					Thumbprint: acct.KeyThumbprint, CertDER: crt.der, Reason: 7})
			}},
			{"newAccount with a bad contact", func(f *fixture, n string) error {
				r := f.newAccountRequest()
				r.Nonce, r.Contact = n, []string{"tel:1"}
				_, _, err := f.svc.NewAccount(f.ctx(), r)
				return err
			}},
		}
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				n := f.nonce()
				if err := c.call(f, n); err == nil {
					t.Fatal("the request succeeded")
				}
				if err := f.st.UseAcmeNonce(f.ctx(), tenant, endpoint, n); fault.As(err) == nil || fault.As(err).Rule != "acme.badNonce" {
					t.Fatalf("the refused request's nonce is still good (%v)", err)
				}
			})
		}
	})
}

// TestNonces: RFC 8555 §6.5, a nonce is good once, for requests to the
// endpoint and tenant it was minted for, until it expires.
func TestNonces(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		// orders serves a request of acct with nonce n.
		orders := func(f *fixture, n string) error {
			_, err := f.svc.Orders(f.ctx(), &store.AcmeReq{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: acct.ID, KeyThumbprint: acct.KeyThumbprint})
			return err
		}
		refusals := []struct {
			name string
			// try mints a nonce and redeems it in a way that must fail.
			try func(f *fixture) error
		}{
			{"used twice", func(f *fixture) error {
				n := f.nonce()
				if err := orders(f, n); err != nil {
					f.t.Fatalf("first use: %v", err)
				}
				return orders(f, n)
			}},
			{"expired", func(f *fixture) error {
				n := f.nonce()
				f.clk.Add(acme.NonceLifetime)
				return orders(f, n)
			}},
			{"another endpoint's", func(f *fixture) error { return orders(f, f.nonceOf(eabEndpoint)) }},
			{"another tenant's", func(f *fixture) error {
				n, err := f.svc.Nonces(f.ctx(), "t2", endpoint, 1)
				if err != nil {
					f.t.Fatal(err)
				}
				return orders(f, n[0])
			}},
			{"never issued", func(f *fixture) error { return orders(f, "never-issued") }},
		}
		for _, c := range refusals {
			f.t.Run(c.name, func(t *testing.T) {
				wantRule(t, c.try(f.in(t)), fault.BadRequest, "acme.badNonce")
			})
		}

		f.t.Run("good until just before expiry", func(t *testing.T) {
			f := f.in(t)
			n := f.nonce()
			f.clk.Add(acme.NonceLifetime - time.Millisecond)
			if err := orders(f, n); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestEveryRequestSpendsItsNonce: each method serving a signed request
// spends its nonce, first: the same request again is refused as badNonce
// before anything else is looked at.
func TestEveryRequestSpendsItsNonce(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		acct := f.account()
		reqWith := func(a *store.AcmeAccount, n string) *store.AcmeReq {
			return &store.AcmeReq{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: a.ID, KeyThumbprint: a.KeyThumbprint}
		}
		readyOrder := func(f *fixture) *store.AcmeOrder {
			o := f.order(acct, dns(freshName()))
			f.validate(acct, o)
			return o
		}
		cases := []struct {
			name string
			// prepare returns a call serving a request with nonce n that
			// succeeds once.
			prepare func(f *fixture) func(n string) error
		}{
			{"NewAccount", func(f *fixture) func(string) error {
				r := f.newAccountRequest()
				return func(n string) error {
					r.Nonce = n
					_, _, err := f.svc.NewAccount(f.ctx(), r)
					return err
				}
			}},
			{"UpdateAccount", func(f *fixture) func(string) error {
				return func(n string) error {
					_, err := f.svc.UpdateAccount(f.ctx(), "frontend:acme", reqWith(acct, n), true, []string{"mailto:new@example.com"}, false)
					return err
				}
			}},
			{"ChangeKey", func(f *fixture) func(string) error {
				owner := f.account()
				return func(n string) error {
					_, err := f.svc.ChangeKey(f.ctx(), "frontend:acme", reqWith(owner, n), []byte(`{"kty":"EC"}`), randomString())
					return err
				}
			}},
			{"Orders", func(f *fixture) func(string) error {
				return func(n string) error { _, err := f.svc.Orders(f.ctx(), reqWith(acct, n)); return err }
			}},
			{"NewOrder", func(f *fixture) func(string) error {
				return func(n string) error {
					_, err := f.svc.NewOrder(f.ctx(), &acme.NewOrderRequest{Req: reqWith(acct, n), Identifiers: dns(freshName())})
					return err
				}
			}},
			{"Order", func(f *fixture) func(string) error {
				o := f.order(acct, dns(freshName()))
				return func(n string) error { _, err := f.svc.Order(f.ctx(), reqWith(acct, n), o.ID); return err }
			}},
			{"Authorization", func(f *fixture) func(string) error {
				o := f.order(acct, dns(freshName()))
				return func(n string) error {
					_, err := f.svc.Authorization(f.ctx(), reqWith(acct, n), o.AuthzIDs[0], false)
					return err
				}
			}},
			{"Authorization deactivated", func(f *fixture) func(string) error {
				o := f.order(acct, dns(freshName()))
				return func(n string) error {
					_, err := f.svc.Authorization(f.ctx(), reqWith(acct, n), o.AuthzIDs[0], true)
					return err
				}
			}},
			{"StartChallenge", func(f *fixture) func(string) error {
				o := f.order(acct, dns(freshName()))
				ch := f.authz(acct, o.AuthzIDs[0]).Challenges[0].ID
				return func(n string) error { _, _, _, err := f.svc.StartChallenge(f.ctx(), reqWith(acct, n), ch); return err }
			}},
			{"Finalize", func(f *fixture) func(string) error {
				o := readyOrder(f)
				der := csr(f.t, &x509.CertificateRequest{DNSNames: []string{o.Identifiers[0].Value}})
				return func(n string) error {
					_, err := f.svc.Finalize(f.ctx(), "frontend:acme", "acme", reqWith(acct, n), o.ID, der)
					return err
				}
			}},
			{"OrderCertificate", func(f *fixture) func(string) error {
				o := readyOrder(f)
				crt := f.issue(endpoint, acct.ID, 24*time.Hour)
				if _, err := f.st.BeginAcmeFinalize(f.ctx(), reqWith(acct, ""), o.ID, time.Minute); err != nil {
					f.t.Fatal(err)
				}
				if err := f.st.EndAcmeFinalize(f.ctx(), tenant, endpoint, o.ID, store.AcmeValid, crt.serial, nil); err != nil {
					f.t.Fatal(err)
				}
				return func(n string) error {
					_, _, err := f.svc.OrderCertificate(f.ctx(), reqWith(acct, n), crt.serial)
					return err
				}
			}},
			{"Revoke by the account", func(f *fixture) func(string) error {
				crt := f.issue(endpoint, acct.ID, 24*time.Hour)
				return func(n string) error {
					return f.svc.Revoke(f.ctx(), &acme.RevokeRequest{Tenant: tenant, Endpoint: endpoint, Nonce: n, AccountID: acct.ID,
						Thumbprint: acct.KeyThumbprint, CertDER: crt.der, Reason: 1})
				}
			}},
			{"Revoke by the certificate key", func(f *fixture) func(string) error {
				crt := f.issue(endpoint, acct.ID, 24*time.Hour)
				spki, err := x509.MarshalPKIXPublicKey(&crt.key.PublicKey)
				if err != nil {
					f.t.Fatal(err)
				}
				return func(n string) error {
					return f.svc.Revoke(f.ctx(), &acme.RevokeRequest{Tenant: tenant, Endpoint: endpoint, Nonce: n, CertKeySPKI: spki, CertDER: crt.der})
				}
			}},
		}
		for _, c := range cases {
			f.t.Run(c.name, func(t *testing.T) {
				f := f.in(t)
				call := c.prepare(f)
				n := f.nonce()
				if err := call(n); err != nil {
					t.Fatalf("first request: %v", err)
				}
				wantRule(t, call(n), fault.BadRequest, "acme.badNonce")
			})
		}
	})
}
