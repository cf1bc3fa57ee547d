package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/est"
	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep/x509util"
)

// estSuite is a dev suite with EST clients for its endpoints.
type estSuite struct {
	*suite
	host string
}

func (e *estSuite) client(t *testing.T, label, user, pass string) *est.Client {
	t.Helper()
	return &est.Client{Host: e.host, AdditionalPathSegment: label, ExplicitAnchor: trustPool(t, e.ep.TrustBundle), Username: user, Password: pass}
}

// withCert makes c authenticate with a TLS client certificate.
func withCert(c *est.Client, cert *x509.Certificate, key crypto.Signer) *est.Client {
	c.Certificates, c.PrivateKey = []*x509.Certificate{cert}, key
	return c
}

func estCSR(t *testing.T, key crypto.Signer, cn string, dns ...string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// wantStatus requires err to be an EST answer with the given HTTP status.
func wantStatus(t *testing.T, err error, status int) est.Error {
	t.Helper()
	var e est.Error
	if !errors.As(err, &e) || e.StatusCode() != status {
		t.Fatalf("got %v, want HTTP %d", err, status)
	}
	return e
}

func (e *estSuite) verify(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	chain, err := e.client(t, "est", "", "").CACerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	inter.AddCert(chain[0])
	if _, err := cert.Verify(x509.VerifyOptions{Roots: trustPool(t, e.ep.TrustBundle), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
}

func TestEST(t *testing.T) {
	s := startDev(t, t.TempDir())
	u, err := url.Parse(s.ep.EST.URL)
	if err != nil {
		t.Fatal(err)
	}
	e := &estSuite{suite: s, host: u.Host}
	ctx := context.Background()
	basic := func(t *testing.T) *est.Client { return e.client(t, "est", s.ep.EST.Username, s.ep.EST.Password) }

	t.Run("cacerts", func(t *testing.T) {
		for _, label := range []string{"est", ""} { // "" is the default endpoint
			certs, err := e.client(t, label, "", "").CACerts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 2 || !certs[0].IsCA || certs[1].CheckSignatureFrom(certs[1]) != nil {
				t.Errorf("label %q: cacerts gave %d certificates, want the issuing CA and the self-signed root", label, len(certs))
			}
		}
		_, err := e.client(t, "nope", "", "").CACerts(ctx)
		wantStatus(t, err, http.StatusNotFound)
	})

	t.Run("csrattrs", func(t *testing.T) {
		attrs, err := e.client(t, "est", "", "").CSRAttrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// est-client-auth requires CN and prefers RSA-2048.
		var cn, rsaKey bool
		for _, oid := range attrs.OIDs {
			cn = cn || oid.Equal(asn1.ObjectIdentifier{2, 5, 4, 3})
		}
		for _, a := range attrs.Attributes {
			rsaKey = rsaKey || a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1})
		}
		if !cn || !rsaKey {
			t.Errorf("csrattrs %+v lack commonName or the RSA key attribute", attrs)
		}
	})

	var first *x509.Certificate
	firstKey := newKey(t)
	t.Run("simpleenroll with HTTP Basic", func(t *testing.T) {
		first, err = basic(t).Enroll(ctx, estCSR(t, firstKey, "dev1", "dev1.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		e.verify(t, first)
		if first.Subject.CommonName != "dev1" || first.DNSNames[0] != "dev1.certgate.test" {
			t.Errorf("subject %v SANs %v", first.Subject, first.DNSNames)
		}
		_, err := e.client(t, "est", s.ep.EST.Username, "wrong").Enroll(ctx, estCSR(t, newKey(t), "dev1"))
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = e.client(t, "est", "", "").Enroll(ctx, estCSR(t, newKey(t), "dev1"))
		wantStatus(t, err, http.StatusUnauthorized)
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("simplereenroll", func(t *testing.T) {
		c := withCert(e.client(t, "est", "", ""), first, firstKey)
		renewed, err := c.Reenroll(ctx, estCSR(t, newKey(t), "dev1", "dev1.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		e.verify(t, renewed)
		if renewed.Subject.String() != first.Subject.String() || renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Errorf("renewed %v serial %x from %v serial %x", renewed.Subject, renewed.SerialNumber, first.Subject, first.SerialNumber)
		}
		_, err = c.Reenroll(ctx, estCSR(t, newKey(t), "someone-else", "dev1.certgate.test"))
		if err == nil {
			t.Error("reenroll changed the subject")
		}
		_, err = e.client(t, "est", "", "").Reenroll(ctx, estCSR(t, newKey(t), "dev1", "dev1.certgate.test"))
		if err == nil {
			t.Error("reenroll without a client certificate succeeded")
		}
	})

	t.Run("one-time passwords", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "est-otp", "--protocol", "est", "--ca", "issuing", "--profile", "est-client-auth", "--auth", "one_time_challenge")
		attrs, err := e.client(t, "est-otp", "", "").CSRAttrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var cp bool
		for _, oid := range attrs.OIDs {
			cp = cp || oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7})
		}
		if !cp {
			t.Error("csrattrs of a one-time-password endpoint do not ask for challengePassword")
		}
		otp := strings.TrimSpace(s.admin("challenges", "create", "--endpoint", "est-otp"))
		if _, err := e.client(t, "est-otp", "device-7", otp).Enroll(ctx, estCSR(t, newKey(t), "device-7")); err != nil {
			t.Fatalf("enroll with a one-time password: %v", err)
		}
		_, err = e.client(t, "est-otp", "device-7", otp).Enroll(ctx, estCSR(t, newKey(t), "device-7"))
		wantStatus(t, err, http.StatusUnauthorized)

		// RFC 7030 §4.5: the password may travel in the CSR instead.
		otp = strings.TrimSpace(s.admin("challenges", "create", "--endpoint", "est-otp"))
		key := newKey(t)
		der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
			CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-8"}}, ChallengePassword: otp}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(der)
		if _, err := e.client(t, "est-otp", "", "").Enroll(ctx, csr); err != nil {
			t.Fatalf("enroll with challengePassword in the CSR: %v", err)
		}
	})

	t.Run("client certificate authentication", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "est-cert", "--protocol", "est", "--ca", "issuing", "--profile", "est-client-auth", "--auth", "client_certificate")
		if _, err := withCert(e.client(t, "est-cert", "", ""), first, firstKey).Enroll(ctx, estCSR(t, newKey(t), "dev1-second")); err != nil {
			t.Fatalf("enroll with the CA's certificate: %v", err)
		}
		_, err := e.client(t, "est-cert", "", "").Enroll(ctx, estCSR(t, newKey(t), "anon"))
		wantStatus(t, err, http.StatusUnauthorized)
		// Revoked certificates no longer open the door, nor renew.
		s.admin("certs", "revoke", "--serial", first.SerialNumber.Text(16), "--reason", "keyCompromise")
		_, err = withCert(e.client(t, "est-cert", "", ""), first, firstKey).Enroll(ctx, estCSR(t, newKey(t), "dev1-third"))
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = withCert(e.client(t, "est", "", ""), first, firstKey).Reenroll(ctx, estCSR(t, newKey(t), "dev1", "dev1.certgate.test"))
		wantStatus(t, err, http.StatusUnauthorized)
	})

	t.Run("approval", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "est-held", "--protocol", "est", "--ca", "issuing", "--profile", "est-client-auth", "--auth", "none", "--require-approval")
		csr := estCSR(t, newKey(t), "held-1")
		c := e.client(t, "est-held", "", "")
		_, err := c.Enroll(ctx, csr)
		if we := wantStatus(t, err, http.StatusAccepted); we.RetryAfter() <= 0 {
			t.Errorf("202 without Retry-After")
		}
		_, err = c.Enroll(ctx, csr)
		wantStatus(t, err, http.StatusAccepted)
		var id string
		for _, line := range strings.Split(s.admin("pending", "list", "--endpoint", "est-held"), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 0 {
				id = f[0]
			}
		}
		if id == "" {
			t.Fatal("no pending request listed")
		}
		s.admin("pending", "approve", id)
		cert, err := c.Enroll(ctx, csr)
		if err != nil || cert.Subject.CommonName != "held-1" {
			t.Fatalf("retry after approval: %v", err)
		}
		_, _, err = c.ServerKeyGen(ctx, estCSR(t, newKey(t), "held-2"))
		wantStatus(t, err, http.StatusForbidden)
	})

	t.Run("refusals are audited", func(t *testing.T) {
		hc := s.httpClient(t)
		resp, err := hc.Post(s.ep.EST.URL+"/simpleenroll", "application/pkcs10", strings.NewReader("%% not base64 %%"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("garbage body: %d", resp.StatusCode)
		}
		// The service reports it in the background.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := s.admin("audit", "list", "--action", "request.refuse", "--endpoint", "est")
			if strings.Contains(out, "simpleenroll") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no request.refuse event for the garbage body:\n%s", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if out := s.admin("audit", "list", "--action", "endpoint.credential.verify", "--result", "failure"); !strings.Contains(out, "est-dev") {
			t.Errorf("the wrong password earlier is not in the audit trail:\n%s", out)
		}
	})

	t.Run("serverkeygen", func(t *testing.T) {
		cert, keyDER, err := basic(t).ServerKeyGen(ctx, estCSR(t, newKey(t), "keyless-1", "keyless-1.certgate.test"))
		if err != nil {
			t.Fatal(err)
		}
		e.verify(t, cert)
		key, err := x509.ParsePKCS8PrivateKey(keyDER)
		if err != nil {
			t.Fatalf("server-generated key is not PKCS#8: %v", err)
		}
		if !key.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Error("server-generated key does not match the certificate")
		}
	})

	t.Run("serverkeygen encrypted to the client", func(t *testing.T) {
		rsaKey := newRSAKey(t)
		rsaCert, err := basic(t).Enroll(ctx, estCSR(t, rsaKey, "rsa-device"))
		if err != nil {
			t.Fatal(err)
		}
		// AsymmetricDecryptKeyIdentifier (RFC 7030 §4.4.1.2) asks for the
		// key encrypted to the TLS client certificate.
		tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "keyless-2"},
			//lint:ignore SA1019 crypto/x509 puts arbitrary CSR attributes only from this field
			Attributes: []pkix.AttributeTypeAndValueSET{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 54},
				Value: [][]pkix.AttributeTypeAndValue{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "client"}}}}}}
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(der)
		c := withCert(e.client(t, "est", s.ep.EST.Username, s.ep.EST.Password), rsaCert, rsaKey)
		cert, wrapped, err := c.ServerKeyGen(ctx, csr)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := pkcs7.Parse(wrapped)
		if err != nil {
			t.Fatalf("encrypted key is not CMS: %v", err)
		}
		if err := signed.Verify(); err != nil {
			t.Errorf("SignedData around the key does not verify: %v", err)
		}
		env, err := pkcs7.Parse(signed.Content)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := env.Decrypt(rsaCert, rsaKey.(*rsa.PrivateKey))
		if err != nil {
			t.Fatalf("decrypting the key with the client's key: %v", err)
		}
		key, err := x509.ParsePKCS8PrivateKey(keyDER)
		if err != nil || !key.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Errorf("decrypted key %v does not match the certificate", err)
		}
	})
}
