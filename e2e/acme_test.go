package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eggsampler/acme/v3"
)

// acmeSuite is a running dev suite with an ACME client pointed at it.
type acmeSuite struct {
	*suite
	env    *acmeEnv
	client acme.Client
}

func startACME(t *testing.T) *acmeSuite {
	t.Helper()
	env := newACMEEnv(t)
	s := startDev(t, t.TempDir(), env.devArgs()...)
	return &acmeSuite{suite: s, env: env, client: s.acmeClient(t)}
}

func (s *suite) acmeClient(t *testing.T) acme.Client {
	t.Helper()
	return s.acmeClientFor(t, "acme")
}

// acmeClientFor is a client of another ACME endpoint of the dev tenant.
func (s *suite) acmeClientFor(t *testing.T, endpoint string) acme.Client {
	t.Helper()
	dir := strings.Replace(s.ep.ACME.Directory, "/acme/directory", "/"+endpoint+"/directory", 1)
	c, err := acme.NewClient(dir, acme.WithRootCerts(trustPool(t, s.ep.TrustBundle)))
	if err != nil {
		t.Fatalf("ACME directory: %v", err)
	}
	c.PollInterval, c.PollTimeout = 100*time.Millisecond, 30*time.Second
	return c
}

// account registers a new account with a fresh key.
func (a *acmeSuite) account(t *testing.T) acme.Account {
	t.Helper()
	acct, err := a.client.NewAccount(newKey(t), false, true, "mailto:ops@certgate.test")
	if err != nil {
		t.Fatalf("new account: %v", err)
	}
	return acct
}

// solve answers every authorization of order with challengeType and
// returns the order once it is ready.
func (a *acmeSuite) solve(t *testing.T, acct acme.Account, order acme.Order, challengeType string) acme.Order {
	t.Helper()
	for _, u := range order.Authorizations {
		authz, err := a.client.FetchAuthorization(acct, u)
		if err != nil {
			t.Fatalf("fetch authorization: %v", err)
		}
		if authz.Status == "valid" {
			continue
		}
		ch, ok := authz.ChallengeMap[challengeType]
		if !ok {
			t.Fatalf("authorization for %s offers %v, not %s", authz.Identifier.Value, authz.ChallengeTypes, challengeType)
		}
		a.env.serve(challengeType, authz.Identifier.Value, ch.Token, ch.KeyAuthorization)
		if ch, err = a.client.UpdateChallenge(acct, ch); err != nil {
			t.Fatalf("%s for %s: %v", challengeType, authz.Identifier.Value, err)
		}
		if ch.Status != "valid" {
			t.Fatalf("%s for %s is %s", challengeType, authz.Identifier.Value, ch.Status)
		}
	}
	order, err := a.client.FetchOrder(acct, order.URL)
	if err != nil {
		t.Fatal(err)
	}
	if order.Status != "ready" {
		t.Fatalf("order is %q after all challenges, want ready", order.Status)
	}
	return order
}

// finalize sends a CSR for the order's identifiers and downloads the chain.
func (a *acmeSuite) finalize(t *testing.T, acct acme.Account, order acme.Order) ([]*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := newKey(t)
	order, err := a.client.FinalizeOrder(acct, order, csrFor(t, key, order.Identifiers))
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if order.Status != "valid" || order.Certificate == "" {
		t.Fatalf("finalized order is %q with certificate %q", order.Status, order.Certificate)
	}
	chain, err := a.client.FetchCertificates(acct, order.Certificate)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	return chain, key
}

// issue runs a whole order for ids with challengeType.
func (a *acmeSuite) issue(t *testing.T, acct acme.Account, challengeType string, ids ...acme.Identifier) []*x509.Certificate {
	t.Helper()
	order, err := a.client.NewOrder(acct, ids)
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	chain, _ := a.finalize(t, acct, a.solve(t, acct, order, challengeType))
	return chain
}

func dnsIDs(names ...string) []acme.Identifier {
	ids := make([]acme.Identifier, len(names))
	for i, n := range names {
		ids[i] = acme.Identifier{Type: "dns", Value: n}
	}
	return ids
}

func csrFor(t *testing.T, key crypto.Signer, ids []acme.Identifier) *x509.CertificateRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{}
	for _, id := range ids {
		if id.Type == "ip" {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(id.Value))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, id.Value)
		}
	}
	if len(tmpl.DNSNames) > 0 {
		tmpl.Subject = pkix.Name{CommonName: tmpl.DNSNames[0]}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// verifyTLSServer checks a downloaded chain against the dev root for name.
func (a *acmeSuite) verifyTLSServer(t *testing.T, chain []*x509.Certificate, name string) {
	t.Helper()
	if len(chain) < 2 {
		t.Fatalf("chain has %d certificates, want leaf and issuing CA", len(chain))
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: name, Roots: trustPool(t, a.ep.TrustBundle), Intermediates: inter}); err != nil {
		t.Fatalf("certificate for %s does not verify: %v", name, err)
	}
}

// wantProblem requires err to be an ACME problem of the given type.
func wantProblem(t *testing.T, err error, typ string) acme.Problem {
	t.Helper()
	var p acme.Problem
	if !errors.As(err, &p) {
		t.Fatalf("got %v, want problem %s", err, typ)
	}
	if p.Type != "urn:ietf:params:acme:error:"+typ {
		t.Fatalf("got problem %s (%s), want %s", p.Type, p.Detail, typ)
	}
	return p
}

func TestACME(t *testing.T) {
	a := startACME(t)

	t.Run("directory", func(t *testing.T) {
		d := a.client.Directory()
		for name, u := range map[string]string{"newNonce": d.NewNonce, "newAccount": d.NewAccount, "newOrder": d.NewOrder,
			"revokeCert": d.RevokeCert, "keyChange": d.KeyChange, "renewalInfo": d.RenewalInfo} {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("directory %s = %q", name, u)
			}
		}
		if d.Meta.ExternalAccountRequired {
			t.Error("the dev endpoint does not require EAB, yet the directory says it does")
		}
		for _, p := range []string{"acme-tls-server", "acme-tls-client-server"} {
			if d.Meta.Profiles[p] == "" {
				t.Errorf("profile %s missing from meta.profiles %v", p, d.Meta.Profiles)
			}
		}
	})

	t.Run("http-01 for names and an IP address", func(t *testing.T) {
		acct := a.account(t)
		ids := append(dnsIDs("www.certgate.test", "api.certgate.test"), acme.Identifier{Type: "ip", Value: "127.0.0.1"})
		chain := a.issue(t, acct, acme.ChallengeTypeHTTP01, ids...)
		a.verifyTLSServer(t, chain, "api.certgate.test")
		leaf := chain[0]
		if !slices.Equal(leaf.DNSNames, []string{"www.certgate.test", "api.certgate.test"}) || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("leaf names %v %v", leaf.DNSNames, leaf.IPAddresses)
		}
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
			t.Errorf("default profile gave EKUs %v, want serverAuth", leaf.ExtKeyUsage)
		}
		list, err := a.client.FetchOrderList(acct)
		if err != nil || len(list.Orders) != 1 {
			t.Errorf("order list %v, %v; want the one order", list.Orders, err)
		}
	})

	t.Run("chains", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("chains.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		order = a.solve(t, acct, order, acme.ChallengeTypeHTTP01)
		if order, err = a.client.FinalizeOrder(acct, order, csrFor(t, newKey(t), order.Identifiers)); err != nil {
			t.Fatal(err)
		}
		all, err := a.client.FetchAllCertificates(acct, order.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		def, alt := all[order.Certificate], all[order.Certificate+"/1"]
		if len(all) != 2 || len(def) != 2 || len(alt) != 3 {
			t.Fatalf("got chains %d (default %d certificates, alternate %d), want the default without the root and an alternate with it", len(all), len(def), len(alt))
		}
		root := alt[2]
		if root.CheckSignatureFrom(root) != nil || !def[1].Equal(alt[1]) || def[1].CheckSignatureFrom(def[1]) == nil {
			t.Error("alternate chain does not end in the self-signed root, or the default one does")
		}
	})

	t.Run("dns-01 wildcard", func(t *testing.T) {
		acct := a.account(t)
		chain := a.issue(t, acct, acme.ChallengeTypeDNS01, dnsIDs("*.wild.certgate.test", "wild.certgate.test")...)
		a.verifyTLSServer(t, chain, "anything.wild.certgate.test")
		a.verifyTLSServer(t, chain, "wild.certgate.test")
	})

	t.Run("wildcard offers only dns-01", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("*.only.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		authz, err := a.client.FetchAuthorization(acct, order.Authorizations[0])
		if err != nil {
			t.Fatal(err)
		}
		if !authz.Wildcard || authz.Identifier.Value != "only.certgate.test" || !slices.Equal(authz.ChallengeTypes, []string{"dns-01"}) {
			t.Errorf("wildcard authorization: wildcard=%v identifier=%q challenges=%v", authz.Wildcard, authz.Identifier.Value, authz.ChallengeTypes)
		}
	})

	t.Run("deactivated authorization", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("deact.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		authz, err := a.client.DeactivateAuthorization(acct, order.Authorizations[0])
		if err != nil || authz.Status != "deactivated" {
			t.Fatalf("deactivate: %q, %v", authz.Status, err)
		}
		if order, err = a.client.FetchOrder(acct, order.URL); err != nil || order.Status != "invalid" {
			t.Errorf("order with a deactivated authorization: %q, %v; want invalid", order.Status, err)
		}
		_, err = a.client.DeactivateAuthorization(acct, order.Authorizations[0])
		wantProblem(t, err, "malformed")
	})

	t.Run("tls-alpn-01", func(t *testing.T) {
		acct := a.account(t)
		chain := a.issue(t, acct, acme.ChallengeTypeTLSALPN01, dnsIDs("alpn.certgate.test")...)
		a.verifyTLSServer(t, chain, "alpn.certgate.test")
	})

	t.Run("profile chosen by the order", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrderExtension(acct, dnsIDs("mtls.certgate.test"), acme.OrderExtension{Profile: "acme-tls-client-server"})
		if err != nil {
			t.Fatal(err)
		}
		chain, _ := a.finalize(t, acct, a.solve(t, acct, order, acme.ChallengeTypeHTTP01))
		if !slices.Contains(chain[0].ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
			t.Errorf("profile acme-tls-client-server gave EKUs %v", chain[0].ExtKeyUsage)
		}
	})

	t.Run("failed validation invalidates the order", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("nobody-home.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		authz, err := a.client.FetchAuthorization(acct, order.Authorizations[0])
		if err != nil {
			t.Fatal(err)
		}
		// Nothing is served for this token: the responder answers 404.
		_, err = a.client.UpdateChallenge(acct, authz.ChallengeMap[acme.ChallengeTypeHTTP01])
		wantProblem(t, err, "unauthorized")
		order, err = a.client.FetchOrder(acct, order.URL)
		if err != nil || order.Status != "invalid" {
			t.Errorf("order after a failed challenge: %q, %v; want invalid", order.Status, err)
		}
	})

	t.Run("finalize refusals", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("early.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.client.FinalizeOrder(acct, order, csrFor(t, newKey(t), order.Identifiers))
		wantProblem(t, err, "orderNotReady")
		order = a.solve(t, acct, order, acme.ChallengeTypeHTTP01)
		_, err = a.client.FinalizeOrder(acct, order, csrFor(t, newKey(t), dnsIDs("early.certgate.test", "other.certgate.test")))
		wantProblem(t, err, "badCSR")
		// A refused CSR leaves the order ready for a correct one.
		chain, _ := a.finalize(t, acct, order)
		a.verifyTLSServer(t, chain, "early.certgate.test")
	})

	t.Run("identifier refusals", func(t *testing.T) {
		acct := a.account(t)
		for _, tc := range []struct {
			ids  []acme.Identifier
			want string
		}{
			{[]acme.Identifier{{Type: "email", Value: "a@certgate.test"}}, "unsupportedIdentifier"},
			{dnsIDs("bad_name.certgate.test"), "rejectedIdentifier"},
			{[]acme.Identifier{{Type: "ip", Value: "127.000.0.1"}}, "malformed"},
		} {
			_, err := a.client.NewOrder(acct, tc.ids)
			wantProblem(t, err, tc.want)
		}
		// Each refused identifier is named in its own subproblem.
		_, err := a.client.NewOrder(acct, append(dnsIDs("ok.certgate.test", "bad_one.certgate.test", "*.*.certgate.test"), acme.Identifier{Type: "ip", Value: "::g"}))
		p := wantProblem(t, err, "compound")
		var got []string
		for _, sp := range p.SubProblems {
			got = append(got, sp.Identifier.Value)
		}
		if !slices.Equal(got, []string{"bad_one.certgate.test", "*.*.certgate.test", "::g"}) {
			t.Errorf("subproblems %+v", p.SubProblems)
		}
	})

	t.Run("accounts", func(t *testing.T) {
		key := newKey(t)
		acct, err := a.client.NewAccount(key, false, true, "mailto:a@certgate.test")
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.client.NewAccount(key, false, true)
		if err != nil || again.URL != acct.URL {
			t.Errorf("registering the same key again gave %q (%v), want the existing %q", again.URL, err, acct.URL)
		}
		existing, err := a.client.NewAccountOptions(key, acme.NewAcctOptOnlyReturnExisting())
		if err != nil || existing.URL != acct.URL {
			t.Errorf("onlyReturnExisting gave %q (%v)", existing.URL, err)
		}
		_, err = a.client.NewAccountOptions(newKey(t), acme.NewAcctOptOnlyReturnExisting())
		wantProblem(t, err, "accountDoesNotExist")
		_, err = a.client.NewAccount(newKey(t), false, true, "tel:+15555550100")
		wantProblem(t, err, "unsupportedContact")
		_, err = a.client.NewAccount(newKey(t), false, true, "mailto:not-an-address")
		wantProblem(t, err, "invalidContact")

		updated, err := a.client.UpdateAccount(acct, "mailto:b@certgate.test", "mailto:c@certgate.test")
		if err != nil || !slices.Equal(updated.Contact, []string{"mailto:b@certgate.test", "mailto:c@certgate.test"}) {
			t.Errorf("update contacts: %v, %v", updated.Contact, err)
		}

		// Key roll-over: the old key stops working, the new one finds the account.
		newK := newKey(t)
		rolled, err := a.client.AccountKeyChange(acct, newK)
		if err != nil {
			t.Fatalf("key change: %v", err)
		}
		if _, err := a.client.NewAccountOptions(key, acme.NewAcctOptOnlyReturnExisting()); err == nil {
			t.Error("the old account key still finds the account after a key change")
		}
		found, err := a.client.NewAccountOptions(newK, acme.NewAcctOptOnlyReturnExisting())
		if err != nil || found.URL != acct.URL {
			t.Errorf("new key finds %q (%v), want %q", found.URL, err, acct.URL)
		}
		// A key already bound to another account cannot be rolled to.
		other := a.account(t)
		_, err = a.client.AccountKeyChange(rolled, other.PrivateKey)
		wantProblem(t, err, "conflict")

		deact, err := a.client.DeactivateAccount(rolled)
		if err != nil || deact.Status != "deactivated" {
			t.Fatalf("deactivate: %q, %v", deact.Status, err)
		}
		_, err = a.client.NewOrder(rolled, dnsIDs("gone.certgate.test"))
		wantProblem(t, err, "unauthorized")
	})

	t.Run("external account binding", func(t *testing.T) {
		bind := func(kid, hmacKey string) (acme.Account, error) {
			return a.client.NewAccountOptions(newKey(t), acme.NewAcctOptAgreeTOS(),
				acme.NewAcctOptExternalAccountBinding(acme.ExternalAccountBinding{KeyIdentifier: kid, MacKey: hmacKey, Algorithm: "HS256", HashFunc: crypto.SHA256}))
		}
		if _, err := bind(a.ep.ACME.EABKID, a.ep.ACME.EABHMACKey); err != nil {
			t.Fatalf("binding with the dev EAB key: %v", err)
		}
		_, err := bind(a.ep.ACME.EABKID, a.ep.ACME.EABHMACKey)
		wantProblem(t, err, "unauthorized")
		kid, key := a.newEABKey(t, "acme")
		_, err = bind(kid, a.ep.ACME.EABHMACKey)
		wantProblem(t, err, "unauthorized")
		_, err = bind("no-such-kid", key)
		wantProblem(t, err, "unauthorized")
		if _, err := bind(kid, key); err != nil {
			t.Errorf("binding with a fresh key: %v", err)
		}
	})

	t.Run("renewal information and replacement", func(t *testing.T) {
		acct := a.account(t)
		old := a.issue(t, acct, acme.ChallengeTypeHTTP01, dnsIDs("renew.certgate.test")...)[0]
		ri, err := a.client.GetRenewalInfo(old)
		if err != nil {
			t.Fatalf("renewal info: %v", err)
		}
		life := old.NotAfter.Sub(old.NotBefore)
		if !ri.SuggestedWindow.Start.After(old.NotBefore.Add(life/2)) || !ri.SuggestedWindow.End.Before(old.NotAfter) ||
			!ri.SuggestedWindow.Start.Before(ri.SuggestedWindow.End) {
			t.Errorf("suggested window %v – %v for a certificate valid %v – %v", ri.SuggestedWindow.Start, ri.SuggestedWindow.End, old.NotBefore, old.NotAfter)
		}
		order, err := a.client.ReplacementOrder(acct, old, dnsIDs("renew.certgate.test"))
		if err != nil {
			t.Fatalf("replacement order: %v", err)
		}
		a.finalize(t, acct, a.solve(t, acct, order, acme.ChallengeTypeHTTP01))
		_, err = a.client.ReplacementOrder(acct, old, dnsIDs("renew.certgate.test"))
		wantProblem(t, err, "alreadyReplaced")
		// Another account may not claim to replace this account's certificate.
		_, err = a.client.ReplacementOrder(a.account(t), old, dnsIDs("renew.certgate.test"))
		if err == nil {
			t.Error("another account replaced the certificate")
		}
	})

	t.Run("revocation", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, dnsIDs("revoke.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		chain, certKey := a.finalize(t, acct, a.solve(t, acct, order, acme.ChallengeTypeHTTP01))
		// Neither another account nor a key that is not the certificate's may revoke.
		err = a.client.RevokeCertificate(a.account(t), chain[0], a.account(t).PrivateKey, acme.ReasonKeyCompromise)
		wantProblem(t, err, "unauthorized")
		if err := a.client.RevokeCertificate(acct, chain[0], certKey, acme.ReasonKeyCompromise); err != nil {
			t.Fatalf("revoke with the certificate key: %v", err)
		}
		err = a.client.RevokeCertificate(acct, chain[0], acct.PrivateKey, acme.ReasonSuperseded)
		wantProblem(t, err, "alreadyRevoked")
		out := a.admin("certs", "show", chain[0].SerialNumber.Text(16))
		if !strings.Contains(out, "revoked") || !strings.Contains(strings.ToLower(out), "keycompromise") {
			t.Errorf("certs show after ACME revocation:\n%s", out)
		}

		// The ordering account may revoke with its own key; reason 6
		// (certificateHold) is not allowed over ACME.
		chain2 := a.issue(t, acct, acme.ChallengeTypeHTTP01, dnsIDs("revoke2.certgate.test")...)
		err = a.client.RevokeCertificate(acct, chain2[0], acct.PrivateKey, acme.ReasonCertificateHold)
		wantProblem(t, err, "badRevocationReason")
		if err := a.client.RevokeCertificate(acct, chain2[0], acct.PrivateKey, acme.ReasonCessationOfOperation); err != nil {
			t.Errorf("revoke with the account key: %v", err)
		}
	})

	t.Run("terms of service", func(t *testing.T) {
		a.admin("endpoints", "create", "--id", "acme-tos", "--protocol", "acme", "--ca", "issuing", "--profile", "acme-tls-server",
			"--auth", "none", "--terms-of-service", "https://certgate.test/tos", "--website", "https://certgate.test")
		c := a.acmeClientFor(t, "acme-tos")
		if c.Directory().Meta.TermsOfService != "https://certgate.test/tos" || c.Directory().Meta.Website != "https://certgate.test" {
			t.Errorf("directory meta %+v", c.Directory().Meta)
		}
		_, err := c.NewAccount(newKey(t), false, false)
		if p := wantProblem(t, err, "malformed"); !strings.Contains(p.Detail, "https://certgate.test/tos") {
			t.Errorf("refusal does not point at the terms: %s", p.Detail)
		}
		if _, err := c.NewAccount(newKey(t), false, true); err != nil {
			t.Errorf("agreeing to the terms: %v", err)
		}
	})

	t.Run("external account required", func(t *testing.T) {
		a.admin("endpoints", "create", "--id", "acme-eab", "--protocol", "acme", "--ca", "issuing", "--profile", "acme-tls-server", "--auth", "external_account_binding")
		c := a.acmeClientFor(t, "acme-eab")
		if !c.Directory().Meta.ExternalAccountRequired {
			t.Error("directory of an EAB endpoint does not say externalAccountRequired")
		}
		_, err := c.NewAccount(newKey(t), false, true)
		wantProblem(t, err, "externalAccountRequired")
		// A key made for the other endpoint does not bind here.
		kid, key := a.newEABKey(t, "acme")
		_, err = c.NewAccountOptions(newKey(t), acme.NewAcctOptAgreeTOS(),
			acme.NewAcctOptExternalAccountBinding(acme.ExternalAccountBinding{KeyIdentifier: kid, MacKey: key, Algorithm: "HS256", HashFunc: crypto.SHA256}))
		wantProblem(t, err, "unauthorized")
		kid, key = a.newEABKey(t, "acme-eab")
		if _, err := c.NewAccountOptions(newKey(t), acme.NewAcctOptAgreeTOS(),
			acme.NewAcctOptExternalAccountBinding(acme.ExternalAccountBinding{KeyIdentifier: kid, MacKey: key, Algorithm: "HS256", HashFunc: crypto.SHA256})); err != nil {
			t.Errorf("binding on the EAB endpoint: %v", err)
		}
		if out := a.admin("eab", "list", "--endpoint", "acme-eab"); !strings.Contains(out, kid) || strings.Contains(out, key) {
			t.Errorf("eab list shows the key's KID and never its secret:\n%s", out)
		}
	})

	t.Run("RSA and P-384 account keys", func(t *testing.T) {
		for name, key := range map[string]crypto.Signer{"RSA-2048": newRSAKey(t), "P-384": newP384Key(t)} {
			acct, err := a.client.NewAccount(key, false, true)
			if err != nil {
				t.Fatalf("%s account: %v", name, err)
			}
			a.issue(t, acct, acme.ChallengeTypeHTTP01, dnsIDs(strings.ToLower(name)+".certgate.test")...)
		}
	})

	t.Run("issuance rate limit", func(t *testing.T) {
		a.admin("endpoints", "create", "--id", "acme-slow", "--protocol", "acme", "--ca", "issuing", "--profile", "acme-tls-server", "--auth", "none", "--rate", "1")
		slow := &acmeSuite{suite: a.suite, env: a.env, client: a.acmeClientFor(t, "acme-slow")}
		acct := slow.account(t)
		var ready []acme.Order
		for i := range 3 {
			order, err := slow.client.NewOrder(acct, dnsIDs(fmt.Sprintf("slow%d.certgate.test", i)))
			if err != nil {
				t.Fatal(err)
			}
			ready = append(ready, slow.solve(t, acct, order, acme.ChallengeTypeHTTP01))
		}
		// One issuance per 10-second window: three finalizations in a row
		// span at most two windows, so at least one is refused.
		signer := jwsSigner{key: acct.PrivateKey.(*ecdsa.PrivateKey), kid: acct.URL}
		hc := a.httpClient(t)
		limited := 0
		for _, order := range ready {
			csr := csrFor(t, newKey(t), order.Identifiers)
			body, _ := json.Marshal(map[string]string{"csr": b64(csr.Raw)})
			r := post(t, hc, order.Finalize, "application/jose+json", signer.sign(t, slow.nonce(t, hc), order.Finalize, body, nil))
			if r.status == http.StatusOK {
				continue
			}
			limited++
			if r.status != http.StatusTooManyRequests || r.Type != "urn:ietf:params:acme:error:rateLimited" || r.header.Get("Retry-After") == "" {
				t.Errorf("refused finalization: %d %s %q, Retry-After %q", r.status, r.Type, r.Detail, r.header.Get("Retry-After"))
			}
		}
		if limited == 0 {
			t.Error("three finalizations at a rate of one per 10 s were all accepted")
		}
	})

	t.Run("wire-level refusals", func(t *testing.T) {
		testACMEWire(t, a)
	})

	t.Run("unknown endpoint", func(t *testing.T) {
		resp, err := a.httpClient(t).Get(strings.Replace(a.ep.ACME.Directory, "/acme/directory", "/nope/directory", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("unknown endpoint: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// newEABKey creates an EAB key for endpoint with the admin CLI.
func (s *suite) newEABKey(t *testing.T, endpoint string) (kid, hmacKey string) {
	t.Helper()
	out := s.admin("eab", "create", "--endpoint", endpoint, "--label", t.Name())
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(k) {
		case "KID":
			kid = strings.TrimSpace(v)
		case "HMAC key":
			hmacKey = strings.TrimSpace(v)
		}
	}
	if kid == "" || hmacKey == "" {
		t.Fatalf("eab create printed:\n%s", out)
	}
	return kid, hmacKey
}

func (s *suite) httpClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: trustPool(t, s.ep.TrustBundle)}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
