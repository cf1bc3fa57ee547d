package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

func newAuthority(t *testing.T) (*ca.Authority, *store.Store) {
	t.Helper()
	st := storetest.Open(t, store.SQLite, store.Options{})
	set, err := profile.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := soft.New([]byte("ca test operator secret"), nil)
	a, err := ca.New(ca.Deps{Store: st, Profiles: profile.NewResolver(set, st), Backends: map[string]signer.Backend{"soft": sb}, DefaultBackend: "soft"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(context.Background(), &store.Tenant{ID: "t1"}, &audit.Event{Tenant: "t1", Actor: "test", Action: audit.ActionTenantCreate}); err != nil {
		t.Fatal(err)
	}
	return a, st
}

func parse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHierarchy(t *testing.T) {
	ctx := context.Background()
	a, _ := newAuthority(t)
	root, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "root", Type: profile.Root, KeyType: keys.RSA3072, RSAPSS: true, Subject: "CN=Root,O=Example", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rc := parse(t, root.Cert)
	if err := rc.CheckSignatureFrom(rc); err != nil || rc.SignatureAlgorithm != x509.SHA256WithRSAPSS {
		t.Fatalf("root: %v, %v", err, rc.SignatureAlgorithm)
	}
	if years := rc.NotAfter.Sub(rc.NotBefore).Hours() / 24 / 365; years < 19.9 || years > 20.1 {
		t.Errorf("root validity %.1f years, want 20", years)
	}
	ski, _ := keys.SubjectKeyID(rc.PublicKey)
	if string(rc.SubjectKeyId) != string(ski) || len(rc.SerialNumber.Bytes()) != 20 {
		t.Errorf("SKI %x (want RFC 7093 %x), serial of %d bytes", rc.SubjectKeyId, ski, len(rc.SerialNumber.Bytes()))
	}
	inter, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "inter", Type: profile.Intermediate, Parent: "root", KeyType: keys.P384, Subject: "CN=Inter", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	issuing, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "inter", KeyType: keys.P256, Subject: "CN=Issuing", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ic := parse(t, issuing.Cert)
	if !ic.MaxPathLenZero || ic.MaxPathLen != 0 || string(ic.AuthorityKeyId) != string(parse(t, inter.Cert).SubjectKeyId) {
		t.Errorf("issuing CA: pathLen %d (zero=%v), AKI %x", ic.MaxPathLen, ic.MaxPathLenZero, ic.AuthorityKeyId)
	}
	if years := ic.NotAfter.Sub(ic.NotBefore).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("issuing validity %.1f years, want 10", years)
	}
	iss, err := a.Issuer(ctx, "t1", "issuing")
	if err != nil || len(iss.Chain) != 3 {
		t.Fatalf("issuer chain %d, %v", len(iss.Chain), err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(rc)
	inters := x509.NewCertPool()
	inters.AddCert(parse(t, inter.Cert))
	if _, err := ic.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters}); err != nil {
		t.Fatalf("chain does not verify: %v", err)
	}
	if len(issuing.Profiles) == 0 || slicesContains(issuing.Profiles, "basic-ca-subord") {
		t.Errorf("issuing CA default profiles %v: want subscriber profiles only", issuing.Profiles)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestCreateRefusals(t *testing.T) {
	ctx := context.Background()
	a, _ := newAuthority(t)
	if _, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "root", Type: profile.Root, KeyType: keys.P256, Subject: "CN=Root", NotAfter: time.Now().AddDate(5, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=I"}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		req    ca.CreateRequest
		reason fault.Reason
		rule   string
	}{
		"fail/bad-id":           {ca.CreateRequest{ID: "Bad ID", Type: profile.Root, KeyType: keys.P256, Subject: "CN=x"}, fault.BadRequest, ""},
		"fail/long-id":          {ca.CreateRequest{ID: "abcdefghijklmnopqrs", Type: profile.Root, KeyType: keys.P256, Subject: "CN=x"}, fault.BadRequest, ""},
		"fail/no-cn":            {ca.CreateRequest{ID: "r2", Type: profile.Root, KeyType: keys.P256, Subject: "O=x"}, fault.BadRequest, ""},
		"fail/pss-on-ec":        {ca.CreateRequest{ID: "r2", Type: profile.Root, KeyType: keys.P256, RSAPSS: true, Subject: "CN=x"}, fault.BadRequest, ""},
		"fail/duplicate":        {ca.CreateRequest{ID: "root", Type: profile.Root, KeyType: keys.P256, Subject: "CN=x"}, fault.AlreadyExists, ""},
		"fail/unknown-parent":   {ca.CreateRequest{ID: "i2", Type: profile.Issuing, Parent: "nope", KeyType: keys.P256, Subject: "CN=x"}, fault.NotFound, ""},
		"fail/issuing-parent":   {ca.CreateRequest{ID: "i2", Type: profile.Issuing, Parent: "issuing", KeyType: keys.P256, Subject: "CN=x"}, fault.PolicyRejected, "ca.parent_type"},
		"fail/outlives-parent":  {ca.CreateRequest{ID: "i2", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=x", NotAfter: time.Now().AddDate(6, 0, 0)}, fault.PolicyRejected, "ca.outlives_parent"},
		"fail/subord-too-long":  {ca.CreateRequest{ID: "r3", Type: profile.Root, KeyType: keys.P256, Subject: "CN=x", NotAfter: time.Now().AddDate(40, 0, 0)}, fault.PolicyRejected, "ca.validity"},
		"fail/unknown-profile":  {ca.CreateRequest{ID: "i2", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=x", Profiles: []string{"nope"}}, fault.NotFound, ""},
		"fail/ca-profile-on-ee": {ca.CreateRequest{ID: "i2", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=x", Profiles: []string{"basic-ca-root"}}, fault.PolicyRejected, "ca.profile_type"},
		"fail/backend":          {ca.CreateRequest{ID: "r2", Type: profile.Root, KeyType: keys.P256, Subject: "CN=x", KeyBackend: "hsm9"}, fault.BadRequest, ""},
	} {
		t.Run(name, func(t *testing.T) {
			tc.req.Tenant = "t1"
			_, err := a.Create(ctx, &tc.req)
			fe := fault.As(err)
			if fe == nil || fe.Reason != tc.reason || (tc.rule != "" && fe.Rule != tc.rule) {
				t.Fatalf("got %v, want %v %s", err, tc.reason, tc.rule)
			}
		})
	}
}

// externalRoot is a root whose key certgate never sees.
type externalRoot struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newExternalRoot(t *testing.T, cn string) *externalRoot {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().AddDate(15, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &externalRoot{cert: parse(t, der), key: key}
}

// sign plays the offline signing ceremony for a CSR.
func (r *externalRoot) sign(t *testing.T, csrDER []byte, mutate func(*x509.Certificate)) []byte {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("certgate's CSR is not valid: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), RawSubject: csr.RawSubject, NotBefore: time.Now().Add(-time.Minute),
		NotAfter: time.Now().AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.cert, csr.PublicKey, r.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestExternalRootRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, _ := newAuthority(t)
	ext := newExternalRoot(t, "Offline Root")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ext.cert.Raw})
	if _, err := a.ImportExternalRoot(ctx, "test", "t1", "offline", "Offline root", pemCert); err != nil {
		t.Fatal(err)
	}
	pending, err := a.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "offline", KeyType: keys.P256, Subject: "CN=Issuing under offline root"})
	if err != nil {
		t.Fatal(err)
	}
	if pending.Status != store.CAPendingCertificate {
		t.Fatalf("status %s, want pending_certificate", pending.Status)
	}
	if _, err := a.Issuer(ctx, "t1", "issuing"); fault.ReasonOf(err) != fault.Conflict {
		t.Fatalf("a pending CA signed: %v", err)
	}
	csr, err := a.CSR(ctx, "t1", "issuing")
	if err != nil {
		t.Fatal(err)
	}
	impostor := newExternalRoot(t, "Offline Root")
	other := newExternalRoot(t, "Other Root")
	otherCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, other.key)
	for name, tc := range map[string]struct {
		cert []byte
		rule string
	}{
		"fail/other-key":           {ext.sign(t, otherCSR, nil), "ca.import.key_mismatch"},
		"fail/other-issuer":        {other.sign(t, csr, nil), "ca.import.issuer"},
		"fail/same-name-other-key": {impostor.sign(t, csr, nil), "ca.import.signature"},
		"fail/not-ca": {ext.sign(t, csr, func(c *x509.Certificate) {
			c.IsCA = false
			c.MaxPathLenZero = false
			c.KeyUsage = x509.KeyUsageDigitalSignature
		}), "ca.import.not_ca"},
		"fail/no-cert-sign":  {ext.sign(t, csr, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }), "ca.import.key_usage"},
		"fail/outlives-root": {ext.sign(t, csr, func(c *x509.Certificate) { c.NotAfter = time.Now().AddDate(20, 0, 0) }), "ca.import.outlives_parent"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.ImportCertificate(ctx, "test", "t1", "issuing", tc.cert)
			if fe := fault.As(err); fe == nil || fe.Rule != tc.rule {
				t.Fatalf("got %v, want rule %s", err, tc.rule)
			}
		})
	}
	if _, err := a.ImportCertificate(ctx, "test", "t1", "issuing", ext.sign(t, csr, nil)); err != nil {
		t.Fatal(err)
	}
	iss, err := a.Issuer(ctx, "t1", "issuing")
	if err != nil {
		t.Fatal(err)
	}
	if len(iss.Chain) != 2 || string(iss.Chain[1]) != string(ext.cert.Raw) {
		t.Fatalf("chain of %d certificates does not end at the external root", len(iss.Chain))
	}
	if _, err := a.ImportCertificate(ctx, "test", "t1", "issuing", ext.sign(t, csr, nil)); fault.ReasonOf(err) != fault.Conflict {
		t.Fatalf("second import: %v", err)
	}
}
