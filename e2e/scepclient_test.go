package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"

	"github.com/certgate/certgate/services/cms"
)

// scepClientBinary is micromdm's scepclient as `make tools` builds it from
// the version tools/go.mod pins (e2e tests run in e2e/).
const scepClientBinary = "../bin/scepclient"

// scepClientPath finds scepclient; `make test` builds it first, so a
// missing one is a broken checkout, not a reason to skip.
func scepClientPath(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(scepClientBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("scepclient is missing (%v): run make tools", err)
	}
	return bin
}

// scepWire sits between scepclient and the SCEP service and keeps every
// exchange, so that tests can read what the client sent: scepclient logs
// neither its cipher nor its digest.
type scepWire struct {
	target *url.URL // scheme and host of the SCEP service
	srv    *httptest.Server

	mu  sync.Mutex // guards ops
	ops []scepExchange
}

type scepExchange struct {
	method, path, operation string
	request, response       []byte
}

func newSCEPWire(t *testing.T, service string) *scepWire {
	t.Helper()
	u, err := url.Parse(service)
	if err != nil || u.Host == "" {
		t.Fatalf("endpoints.json has no usable SCEP URL %q: %v", service, err)
	}
	w := &scepWire{target: &url.URL{Scheme: u.Scheme, Host: u.Host}}
	w.srv = httptest.NewServer(w)
	t.Cleanup(w.srv.Close)
	return w
}

// url is service's address through the recorder.
func (w *scepWire) url(t *testing.T, service string) string {
	t.Helper()
	u, err := url.Parse(service)
	if err != nil {
		t.Fatal(err)
	}
	return w.srv.URL + u.Path
}

func (w *scepWire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, w.target.String()+r.URL.RequestURI(), bytes.NewReader(reqBody))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	w.mu.Lock()
	w.ops = append(w.ops, scepExchange{method: r.Method, path: r.URL.Path, operation: r.URL.Query().Get("operation"), request: reqBody, response: respBody})
	w.mu.Unlock()
	maps.Copy(rw.Header(), resp.Header)
	rw.WriteHeader(resp.StatusCode)
	rw.Write(respBody)
}

// take returns the exchanges since the last call.
func (w *scepWire) take() []scepExchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	ops := w.ops
	w.ops = nil
	return ops
}

// pkiOperation returns the one PKIOperation among ops; scepclient sends
// it by POST since GetCACaps offers POSTPKIOperation.
func pkiOperation(t *testing.T, ops []scepExchange) scepExchange {
	t.Helper()
	var found []scepExchange
	for _, op := range ops {
		if op.operation == "PKIOperation" {
			found = append(found, op)
		}
	}
	if len(found) != 1 || found[0].method != http.MethodPost {
		t.Fatalf("want one PKIOperation by POST, got %d: %+v", len(found), found)
	}
	return found[0]
}

// scepCLI runs scepclient as one device: its key, CSR, throw-away
// certificate and issued certificate are files in dir, and a second run
// with the certificate present renews it.
type scepCLI struct {
	bin string
	dir string
}

func (c *scepCLI) file(name string) string { return filepath.Join(c.dir, name) }

// run enrolls through server. The key-encipherment selector encrypts to
// the RA only: by default scepclient encrypts to every certificate
// GetCACert returns, and its pkcs7 cannot encrypt to the dev CAs' P-256
// keys ("pkcs7: only RSA keys are supported").
func (c *scepCLI) run(server string, args ...string) (string, error) {
	common := []string{"-server-url", server, "-private-key", c.file("device.key"), "-certificate", c.file("device.pem"),
		"-key-encipherment-selector"}
	return runClient(nil, c.bin, slices.Concat(common, args)...)
}

func (c *scepCLI) mustRun(t *testing.T, server string, args ...string) {
	t.Helper()
	if out, err := c.run(server, args...); err != nil {
		t.Fatalf("scepclient %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cert reads the certificate scepclient wrote.
func (c *scepCLI) cert(t *testing.T) *x509.Certificate {
	t.Helper()
	got := certs(t, readFile(t, c.file("device.pem")))
	if len(got) != 1 {
		t.Fatalf("device.pem holds %d certificates, want 1", len(got))
	}
	return got[0]
}

// keyMatches reports whether cert is for the PKCS#1 key scepclient made.
func (c *scepCLI) keyMatches(t *testing.T, cert *x509.Certificate) bool {
	t.Helper()
	b, _ := pem.Decode([]byte(readFile(t, c.file("device.key"))))
	if b == nil || b.Type != "RSA PRIVATE KEY" {
		t.Fatal("device.key is not a PEM PKCS#1 RSA key")
	}
	key, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key.PublicKey.Equal(cert.PublicKey)
}

// scepRequest is what the wire says about a pkiMessage.
type scepRequest struct {
	msgType scep.MessageType
	signer  *x509.Certificate
	cipher  asn1.ObjectIdentifier // content encryption of the pkcsPKIEnvelope
	digest  asn1.ObjectIdentifier // of the signerInfo
}

func readSCEPRequest(t *testing.T, raw []byte) scepRequest {
	t.Helper()
	msg, err := scep.ParsePKIMessage(raw)
	if err != nil {
		t.Fatalf("pkiMessage does not parse: %v", err)
	}
	p7, err := pkcs7.Parse(raw)
	if err != nil || len(p7.Signers) != 1 {
		t.Fatalf("pkiMessage has no single signer: %v", err)
	}
	return scepRequest{msgType: msg.MessageType, signer: p7.GetOnlySigner(), cipher: envelopeCipher(t, raw),
		digest: p7.Signers[0].DigestAlgorithm.Algorithm}
}

// cipherName names a content-encryption OID for logs.
func cipherName(oid asn1.ObjectIdentifier) string {
	if c, ok := cms.CipherOf(oid); ok {
		return c.String()
	}
	return oid.String()
}

// TestSCEPClient enrolls with micromdm's scepclient against `certgate
// dev`: its only code in common with the service is an older version of
// smallstep's scep and pkcs7 codec. It is the legacy path: scepclient v2.3.0
// reads GetCACaps only to choose POST, and encrypts with pkcs7's default
// single DES-CBC and signs with SHA-1 whatever the capabilities say (it
// never asks for DES3 or AES).
func TestSCEPClient(t *testing.T) {
	bin := scepClientPath(t)
	s := startDev(t, t.TempDir())
	wire := newSCEPWire(t, s.ep.SCEP.URL)
	server := wire.url(t, s.ep.SCEP.URL)
	challenge := s.ep.SCEP.Challenge

	// The issuing CA, as GetCACert gives it, chains the issued
	// certificates to the trust bundle.
	ca := &scepDevice{t: t, url: s.ep.SCEP.URL}
	ca.fetchCA()

	device := &scepCLI{bin: bin, dir: t.TempDir()}
	const name = "scep-cli-1.certgate.test"
	var issued *x509.Certificate
	t.Run("ok/PKCSReq with the static challenge", func(t *testing.T) {
		wire.take()
		device.mustRun(t, server, "-challenge", challenge, "-cn", name, "-dnsname", name, "-organization", "certgate e2e")
		issued = device.cert(t)
		verifyESTCert(t, issued, ca.ca, s.ep.TrustBundle)
		if issued.Subject.CommonName != name || !slices.Equal(issued.DNSNames, []string{name}) {
			t.Errorf("issued subject %v, DNS names %v; requested CN and DNS %s", issued.Subject, issued.DNSNames, name)
		}
		if !device.keyMatches(t, issued) {
			t.Error("the certificate is not for scepclient's key")
		}
		if _, err := os.Stat(device.file("self.pem")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("scepclient kept its throw-away certificate: %v", err)
		}

		op := pkiOperation(t, wire.take())
		req := readSCEPRequest(t, op.request)
		answer := envelopeCipher(t, op.response)
		t.Logf("scepclient sent %s with %s, signed with %s; the CertRep came back with %s",
			req.msgType, cipherName(req.cipher), req.digest, cipherName(answer))
		self := bytes.Equal(req.signer.RawIssuer, req.signer.RawSubject) &&
			req.signer.CheckSignature(req.signer.SignatureAlgorithm, req.signer.RawTBSCertificate, req.signer.Signature) == nil
		if req.msgType != scep.PKCSReq || !self {
			t.Errorf("scepclient sent %s signed by %v, want a PKCSReq signed by its throw-away certificate", req.msgType, req.signer.Subject)
		}
		// The legacy path: single DES and SHA-1 in, answered in kind.
		if !req.cipher.Equal(cms.OIDDESCBC) || !req.digest.Equal(pkcs7.OIDDigestAlgorithmSHA1) {
			t.Errorf("scepclient sent %s signed with %s, the legacy DES-CBC with SHA-1 this test is for", cipherName(req.cipher), req.digest)
		}
		if !answer.Equal(cms.OIDDESCBC) {
			t.Errorf("the CertRep is encrypted with %s, want DES-CBC, which scepclient decrypted", cipherName(answer))
		}
	})
	if issued == nil {
		t.FailNow()
	}

	t.Run("ok/RenewalReq signed with the issued certificate", func(t *testing.T) {
		// Running again with the certificate present renews it: the same
		// key, and the CSR scepclient kept from the first run. scepclient
		// derives the transactionID from the public key, so the
		// transaction ID is the first enrollment's too.
		wire.take()
		device.mustRun(t, server, "-cn", name, "-dnsname", name, "-organization", "certgate e2e")
		op := pkiOperation(t, wire.take())
		if req := readSCEPRequest(t, op.request); req.msgType != scep.RenewalReq || !req.signer.Equal(issued) {
			t.Errorf("scepclient sent %s signed by %v, want a RenewalReq signed with the issued certificate", req.msgType, req.signer.Subject)
		}
		renewed := device.cert(t)
		verifyESTCert(t, renewed, ca.ca, s.ep.TrustBundle)
		if renewed.SerialNumber.Cmp(issued.SerialNumber) == 0 {
			// scepclient's RenewalReq repeats its PKCSReq's transactionID
			// and CSR; only the message type and the signer differ.
			t.Fatalf("the renewal returned the certificate it was to renew (serial %x)", issued.SerialNumber)
		}
		if !bytes.Equal(renewed.RawSubject, issued.RawSubject) || !slices.Equal(renewed.DNSNames, issued.DNSNames) {
			t.Errorf("renewed %v %v, was %v %v", renewed.Subject, renewed.DNSNames, issued.Subject, issued.DNSNames)
		}
		if !device.keyMatches(t, renewed) {
			t.Error("the renewed certificate is not for scepclient's key")
		}
	})

	t.Run("fail/wrong challenge", func(t *testing.T) {
		const intruder = "scep-cli-intruder.certgate.test"
		d := &scepCLI{bin: bin, dir: t.TempDir()}
		out, err := d.run(server, "-challenge", "not-the-challenge", "-cn", intruder)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("scepclient with a wrong challenge: %v, want a non-zero exit\n%s", err, out)
		}
		// RFC 8894 §3.3.2.2: a FAILURE CertRep with failInfo badRequest.
		if !strings.Contains(out, "PKCSReq (19) request failed, failInfo: badRequest") {
			t.Errorf("scepclient does not report the refusal:\n%s", out)
		}
		if _, err := os.Stat(d.file("device.pem")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("scepclient wrote a certificate after a refusal: %v", err)
		}
		if list := s.admin("certs", "list", "--endpoint", "scep", "--limit", "0"); strings.Contains(list, intruder) {
			t.Errorf("a certificate was issued for the wrong challenge:\n%s", list)
		}
	})

	t.Run("ok/NDES URL", func(t *testing.T) {
		const ndesName = "scep-cli-ndes.certgate.test"
		d := &scepCLI{bin: bin, dir: t.TempDir()}
		ndesWire := newSCEPWire(t, s.ep.SCEP.NDESURL)
		d.mustRun(t, ndesWire.url(t, s.ep.SCEP.NDESURL), "-challenge", challenge, "-cn", ndesName, "-dnsname", ndesName)
		cert := d.cert(t)
		verifyESTCert(t, cert, ca.ca, s.ep.TrustBundle)
		if cert.Subject.CommonName != ndesName || !slices.Equal(cert.DNSNames, []string{ndesName}) {
			t.Errorf("issued subject %v, DNS names %v; requested %s", cert.Subject, cert.DNSNames, ndesName)
		}
		if !d.keyMatches(t, cert) {
			t.Error("the certificate is not for scepclient's key")
		}
		ndes, _ := url.Parse(s.ep.SCEP.NDESURL)
		ops := ndesWire.take()
		pkiOperation(t, ops)
		for _, op := range ops {
			if op.path != ndes.Path {
				t.Errorf("scepclient sent %s to %s, not to the NDES path %s", op.operation, op.path, ndes.Path)
			}
		}
	})
}
