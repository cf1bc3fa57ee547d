package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/profile"
)

var (
	now     = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	issuer  = Issuer{NotAfter: now.AddDate(10, 0, 0)}
	ecKey   = mustEC()
	rsaKey  = mustRSA()
	catalog = mustCatalog()
)

func mustEC() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustRSA() crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustCatalog() *profile.Set {
	s, err := profile.NewSet()
	if err != nil {
		panic(err)
	}
	return s
}

func prof(t testing.TB, id string) *profile.Profile {
	p, ok := catalog.Get(id)
	if !ok {
		t.Fatalf("no profile %s", id)
	}
	return p
}

// csr builds a signed CSR; mutate adjusts the template.
func csr(t testing.TB, key crypto.Signer, mutate func(*x509.CertificateRequest)) *x509.CertificateRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "host.example.com"}, DNSNames: []string{"host.example.com"}}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func upnExtension(t testing.TB, upn string) pkix.Extension {
	v, err := marshalSANs([]SAN{{profile.SANUPN, upn}, {profile.SANDNS, "pc1.corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidSAN, Value: v}
}

func TestApply(t *testing.T) {
	ekuClient, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 2}})
	templateName, _ := asn1.Marshal("User")
	for name, tc := range map[string]struct {
		profile string
		key     crypto.Signer
		csr     func(*x509.CertificateRequest)
		req     func(*Request)
		rule    string // expected failing rule; empty = success
		check   func(t *testing.T, d *Decision)
		mutate  func(*profile.Profile)
	}{
		"ok/tls-server-from-csr": {
			profile: "privatessl-tls-server",
			check: func(t *testing.T, d *Decision) {
				if d.Subject != "CN=host.example.com" || len(d.SANs) != 1 || d.SANs[0].Value != "host.example.com" {
					t.Errorf("subject %q SANs %v", d.Subject, d.SANs)
				}
				if d.Template.KeyUsage != x509.KeyUsageDigitalSignature {
					t.Errorf("EC key kept keyEncipherment: %v", d.Template.KeyUsage)
				}
				if !d.Template.NotAfter.Equal(now.AddDate(1, 0, 0).Add(-time.Second)) {
					t.Errorf("notAfter %s, want one year minus a second", d.Template.NotAfter)
				}
				if len(d.Template.SubjectKeyId) != 20 {
					t.Errorf("SKI of %d bytes", len(d.Template.SubjectKeyId))
				}
			},
		},
		"ok/rsa-keeps-key-encipherment": {
			profile: "privatessl-tls-server", key: rsaKey,
			check: func(t *testing.T, d *Decision) {
				if d.Template.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
					t.Errorf("key usage %v", d.Template.KeyUsage)
				}
			},
		},
		"ok/supply-san-copies-cn": {
			profile: "privatessl-tls-server-supply-san",
			csr:     func(c *x509.CertificateRequest) { c.DNSNames = nil; c.Subject.CommonName = "Web.Example.com" },
			check: func(t *testing.T, d *Decision) {
				if len(d.SANs) != 1 || d.SANs[0] != (SAN{profile.SANDNS, "web.example.com"}) {
					t.Errorf("SANs %v", d.SANs)
				}
			},
		},
		"ok/overrides-replace-csr": {
			profile: "privatessl-tls-server",
			req: func(r *Request) {
				r.Subject = "CN=api.example.com,O=Example,C=US"
				r.SANs = []SAN{{profile.SANDNS, "api.example.com"}, {profile.SANIP, "10.0.0.1"}}
			},
			check: func(t *testing.T, d *Decision) {
				if d.Subject != "CN=api.example.com,O=Example,C=US" || len(d.SANs) != 2 {
					t.Errorf("subject %q SANs %v", d.Subject, d.SANs)
				}
			},
		},
		"ok/validity-clamped-to-profile-max": {
			profile: "acme-tls-server",
			req:     func(r *Request) { r.Validity = 5 * 365 * 24 * time.Hour },
			check: func(t *testing.T, d *Decision) {
				if !d.Template.NotAfter.Equal(now.AddDate(1, 0, 0).Add(-time.Second)) {
					t.Errorf("notAfter %s, want the profile max of one year", d.Template.NotAfter)
				}
			},
		},
		"ok/validity-clamped-to-issuer": {
			profile: "privatessl-tls-server",
			req:     func(r *Request) { r.Validity = 300 * 24 * time.Hour },
			check: func(t *testing.T, d *Decision) {
				if !d.Template.NotAfter.Equal(now.Add(48 * time.Hour)) {
					t.Errorf("notAfter %s outlives the issuer", d.Template.NotAfter)
				}
			},
		},
		"ok/wstep-copies-template-extensions": {
			profile: "wstep-digital-signature", key: rsaKey,
			csr: func(c *x509.CertificateRequest) {
				c.ExtraExtensions = []pkix.Extension{
					{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: ekuClient},
					{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}, Value: templateName},
					{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: templateName},
				}
			},
			check: func(t *testing.T, d *Decision) {
				var ids []string
				for _, e := range d.Template.ExtraExtensions {
					ids = append(ids, e.Id.String())
				}
				if !slices.Contains(ids, "2.5.29.37") || !slices.Contains(ids, "1.3.6.1.4.1.311.20.2") || slices.Contains(ids, "1.2.3.4") {
					t.Errorf("extensions %v: want EKU and template name, not 1.2.3.4", ids)
				}
			},
		},
		"ok/upn-san": {
			profile: "wstep-digital-signature", key: rsaKey,
			csr: func(c *x509.CertificateRequest) {
				c.DNSNames = nil
				c.ExtraExtensions = []pkix.Extension{upnExtension(t, "alice@corp.example")}
			},
			check: func(t *testing.T, d *Decision) {
				if len(d.SANs) != 2 || d.SANs[0] != (SAN{profile.SANUPN, "alice@corp.example"}) {
					t.Errorf("SANs %v", d.SANs)
				}
			},
		},
		"ok/empty-subject-makes-san-critical": {
			profile: "acme-tls-server",
			csr:     func(c *x509.CertificateRequest) { c.Subject = pkix.Name{} },
			check: func(t *testing.T, d *Decision) {
				if !d.Template.ExtraExtensions[0].Critical {
					t.Error("SAN not critical with an empty subject")
				}
			},
		},
		"fail/key-type":           {profile: "acme-tls-server", key: mustP224(), rule: "profile.key_type"},
		"fail/ec-key-for-ke-only": {profile: "wstep-key-encipherment", rule: "profile.key_type"},
		"fail/san-type":           {profile: "privatessl-tls-server", csr: func(c *x509.CertificateRequest) { c.EmailAddresses = []string{"a@b.example"} }, rule: "profile.san.types"},
		"fail/uri-san-type": {profile: "privatessl-tls-server", csr: func(c *x509.CertificateRequest) {
			c.URIs = []*url.URL{{Scheme: "spiffe", Host: "x"}}
		}, rule: "profile.san.types"},
		"fail/san-required":      {profile: "privatessl-tls-server", csr: func(c *x509.CertificateRequest) { c.DNSNames = nil }, rule: "profile.san.required"},
		"fail/san-syntax":        {profile: "privatessl-tls-server", req: func(r *Request) { r.SANs = []SAN{{profile.SANDNS, "bad_name.example"}} }, rule: "profile.san.syntax"},
		"fail/subject-required":  {profile: "scep-client-auth", csr: func(c *x509.CertificateRequest) { c.Subject = pkix.Name{Organization: []string{"X"}} }, rule: "profile.subject.required"},
		"fail/subject-attribute": {profile: "acme-tls-server", csr: func(c *x509.CertificateRequest) { c.Subject.Organization = []string{"Evil"} }, rule: "profile.subject.attribute"},
		"fail/subject-override": {profile: "privatessl-tls-client", req: func(r *Request) { r.Subject = "CN=x" },
			mutate: func(p *profile.Profile) { p.Subject.AllowOverride = false }, rule: "profile.subject.override"},
		"fail/san-override": {profile: "privatessl-tls-client", req: func(r *Request) { r.SANs = []SAN{{profile.SANDNS, "x.example"}} },
			mutate: func(p *profile.Profile) { p.SAN.AllowOverride = false }, rule: "profile.san.override"},
		"fail/san-max": {profile: "privatessl-tls-server", csr: func(c *x509.CertificateRequest) {
			for i := 0; i < 101; i++ {
				c.DNSNames = append(c.DNSNames, "h"+strings.Repeat("x", i%5)+itoa(i)+".example.com")
			}
		}, rule: "profile.san.max"},
		"fail/unknown-extension-rejected": {profile: "wstep-digital-signature", key: rsaKey, req: func(r *Request) {
			r.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: templateName}}
		}, mutate: func(p *profile.Profile) { p.Extensions.RejectUnknown = true }, rule: "profile.extensions.unknown"},
		"fail/server-side-keygen-profile": {profile: "mdmws-p12-digital-signature", rule: "profile.server_side_keygen"},
		"fail/authority-profile":          {profile: "basic-ca-subord", rule: "profile.kind"},
		"fail/issuer-expired":             {profile: "privatessl-tls-server", req: func(r *Request) { r.NotBefore = now.Add(72 * time.Hour) }, rule: "ca.expired"},
		"fail/ip-override-syntax": {profile: "privatessl-tls-server", req: func(r *Request) {
			r.SANs = []SAN{{profile.SANIP, "300.1.1.1"}}
		}, rule: "profile.san.syntax"},
	} {
		t.Run(name, func(t *testing.T) {
			key := tc.key
			if key == nil {
				key = ecKey
			}
			req := &Request{CSR: csr(t, key, tc.csr)}
			if tc.req != nil {
				tc.req(req)
			}
			iss := issuer
			if strings.Contains(name, "issuer") {
				iss = Issuer{NotAfter: now.Add(48 * time.Hour)}
			}
			p := prof(t, tc.profile)
			if tc.mutate != nil {
				c := *p
				tc.mutate(&c)
				p = &c
			}
			d, err := Apply(p, req, iss, now)
			if tc.rule != "" {
				fe := fault.As(err)
				if fe == nil || fe.Rule != tc.rule {
					t.Fatalf("got %v, want rule %s", err, tc.rule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			signable(t, d, req.CSR.PublicKey)
		})
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// mustP224 returns a key of a type certgate does not accept.
func mustP224() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// signable checks that a decision yields a certificate Go accepts.
func signable(t testing.TB, d *Decision, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	caKey := ecKey
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: now.Add(-time.Hour), NotAfter: issuer.NotAfter, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tmpl := *d.Template
	tmpl.SerialNumber = big.NewInt(2)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca, pub, caKey)
	if err != nil {
		t.Fatalf("template does not sign: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certificate does not parse: %v", err)
	}
	return cert
}

func TestParseCSRRejects(t *testing.T) {
	good := csr(t, ecKey, nil).Raw
	tampered := slices.Clone(good)
	tampered[len(tampered)-5] ^= 0xff
	for name, tc := range map[string]struct {
		in   []byte
		rule string
	}{
		"fail/empty":     {nil, "csr.missing"},
		"fail/garbage":   {[]byte("hello"), "csr.malformed"},
		"fail/too-large": {make([]byte, MaxCSRSize+1), "csr.too_large"},
		"fail/signature": {tampered, "csr.signature"},
		"fail/pem-cert":  {[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "csr.malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCSR(tc.in)
			fe := fault.As(err)
			if fe == nil || fe.Reason != fault.BadCSR || fe.Rule != tc.rule {
				t.Fatalf("got %v, want BAD_CSR %s", err, tc.rule)
			}
		})
	}
}

func TestSANRoundTrip(t *testing.T) {
	in := []SAN{{profile.SANDNS, "a.example"}, {profile.SANIP, "2001:db8::1"}, {profile.SANIP, "192.0.2.1"},
		{profile.SANEmail, "a@b.example"}, {profile.SANURI, "https://x.example/p"}, {profile.SANUPN, "ü@corp.example"}}
	der, err := marshalSANs(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseSANExtension(der)
	if err != nil || !slices.Equal(in, out) {
		t.Fatalf("got %v, %v", out, err)
	}
	// Go's parser agrees with our encoding.
	cert := signable(t, &Decision{Template: &x509.Certificate{ExtraExtensions: []pkix.Extension{{Id: oidSAN, Value: der}},
		NotBefore: now, NotAfter: now.Add(time.Hour)}}, ecKey.Public())
	if len(cert.DNSNames) != 1 || len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(net.ParseIP("2001:db8::1")) || len(cert.EmailAddresses) != 1 || len(cert.URIs) != 1 {
		t.Fatalf("Go parsed %v %v %v %v", cert.DNSNames, cert.IPAddresses, cert.EmailAddresses, cert.URIs)
	}
}

// FuzzApply feeds arbitrary bytes through the CSR parser and the policy of
// a few profiles: nothing may panic, and every accepted request must yield a
// certificate that signs and parses.
func FuzzApply(f *testing.F) {
	f.Add(csr(f, ecKey, nil).Raw, "")
	f.Add(csr(f, rsaKey, func(c *x509.CertificateRequest) { c.ExtraExtensions = []pkix.Extension{upnExtension(f, "u@x.example")} }).Raw, "CN=x,O=y")
	f.Add(csr(f, ecKey, func(c *x509.CertificateRequest) { c.Subject = pkix.Name{} }).Raw, "")
	ids := []string{"privatessl-tls-server-supply-san", "wstep-digital-signature", "acme-tls-server", "scep-client-auth"}
	f.Fuzz(func(t *testing.T, der []byte, subject string) {
		c, err := ParseCSR(der)
		if err != nil {
			if fault.ReasonOf(err) != fault.BadCSR {
				t.Fatalf("ParseCSR failed with %v", err)
			}
			return
		}
		for _, id := range ids {
			d, err := Apply(prof(t, id), &Request{CSR: c, Subject: subject}, issuer, now)
			if err != nil {
				if fault.ReasonOf(err) == fault.Internal {
					t.Fatalf("%s: internal error %v", id, err)
				}
				continue
			}
			signable(t, d, c.PublicKey)
		}
	})
}
