package e2e

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// estClientBinary is globalsign's estclient as `make tools` builds it from
// the version tools/go.mod pins (e2e tests run in e2e/).
const estClientBinary = "../bin/estclient"

// estCLI runs estclient against the dev EST service; the files it reads
// and writes live in dir.
type estCLI struct {
	s      *suite
	bin    string
	server string // host:port
	label  string // the endpoint's additional path segment
	dir    string
}

// estClientPath finds estclient; `make test` builds it first, so a
// missing one is a broken checkout, not a reason to skip.
func estClientPath(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(estClientBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("estclient is missing (%v): run make tools", err)
	}
	return bin
}

func newESTCLI(t *testing.T, s *suite, bin string) *estCLI {
	t.Helper()
	u, err := url.Parse(s.ep.EST.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("endpoints.json has no usable EST URL %q: %v", s.ep.EST.URL, err)
	}
	return &estCLI{s: s, bin: bin, server: u.Host, label: path.Base(u.Path), dir: t.TempDir()}
}

func (c *estCLI) file(name string) string { return filepath.Join(c.dir, name) }

// basic is the dev endpoint's HTTP Basic credentials as estclient flags.
func (c *estCLI) basic() []string {
	return []string{"-user", c.s.ep.EST.Username, "-pass", c.s.ep.EST.Password}
}

// run runs an estclient command that trusts only the dev bundle; label ""
// uses the server's default endpoint.
func (c *estCLI) run(t *testing.T, command, label string, args ...string) string {
	t.Helper()
	common := []string{command, "-server", c.server, "-explicit", c.s.ep.TrustBundle, "-timeout", "30s"}
	if label != "" {
		common = append(common, "-aps", label)
	}
	out, err := runClient(nil, c.bin, slices.Concat(common, args)...)
	if err != nil {
		t.Fatalf("estclient %s %s: %v\n%s", command, strings.Join(args, " "), err, out)
	}
	return out
}

// leaf reads the one certificate estclient wrote to name.
func (c *estCLI) leaf(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	got := certs(t, readFile(t, c.file(name)))
	if len(got) != 1 {
		t.Fatalf("%s holds %d certificates, want 1", name, len(got))
	}
	return got[0]
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verifyESTCert checks that cert chains through cas (what /cacerts gave)
// to a root of the trust bundle, for TLS client authentication: the
// dev endpoint's profiles all allow it.
func verifyESTCert(t *testing.T, cert *x509.Certificate, cas []*x509.Certificate, bundle string) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, ca := range cas {
		inter.AddCert(ca)
	}
	opts := x509.VerifyOptions{Roots: trustPool(t, bundle), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cert.Verify(opts); err != nil {
		t.Fatalf("certificate %v does not chain to the dev root: %v", cert.Subject, err)
	}
}

// verifyDevChain checks what /cacerts gave: the dev issuing CA and its
// root, both chaining to the trust bundle.
func verifyDevChain(t *testing.T, cas []*x509.Certificate, bundle string) {
	t.Helper()
	if len(cas) != 2 || !cas[0].IsCA || cas[1].CheckSignatureFrom(cas[1]) != nil {
		t.Fatalf("cacerts gave %d certificates, want the issuing CA and the self-signed root", len(cas))
	}
	roots := trustPool(t, bundle)
	for _, ca := range cas {
		if _, err := ca.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%v from cacerts does not chain to the dev root: %v", ca.Subject, err)
		}
	}
}

// keyMatches reports whether a PEM PKCS#8 private key belongs to cert.
func keyMatches(t *testing.T, keyPEM string, cert *x509.Certificate) bool {
	t.Helper()
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("not a PEM PKCS#8 private key:\n%s", keyPEM)
	}
	return pkcs8Matches(t, b.Bytes, cert)
}

func pkcs8Matches(t *testing.T, der []byte, cert *x509.Certificate) bool {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatalf("private key is not PKCS#8: %v", err)
	}
	pub, ok := key.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// TestESTClient enrolls with globalsign's estclient, an EST client that
// shares no code with the server's handlers, against `certgate dev`.
func TestESTClient(t *testing.T) {
	bin := estClientPath(t)
	s := startDev(t, t.TempDir())
	c := newESTCLI(t, s, bin)

	var cas []*x509.Certificate
	t.Run("cacerts", func(t *testing.T) {
		c.run(t, "cacerts", c.label, "-out", c.file("cacerts.pem"))
		got := certs(t, readFile(t, c.file("cacerts.pem")))
		verifyDevChain(t, got, s.ep.TrustBundle)
		cas = got
		// The unlabelled path serves the default endpoint, this one.
		c.run(t, "cacerts", "", "-out", c.file("default-cacerts.pem"))
		if readFile(t, c.file("default-cacerts.pem")) != readFile(t, c.file("cacerts.pem")) {
			t.Error("/.well-known/est/cacerts differs from the default endpoint's")
		}
	})
	if cas == nil {
		t.FailNow()
	}

	t.Run("csrattrs", func(t *testing.T) {
		got := strings.Join(strings.Fields(c.run(t, "csrattrs", c.label)), " ")
		// est-client-auth requires a CN and lists RSA-2048 first, to be
		// signed with sha256WithRSAEncryption.
		for _, want := range []string{"OID : 2.5.4.3", "OID : 1.2.840.113549.1.1.11", "Type : 1.2.840.113549.1.1.1 Value : 2048"} {
			if !strings.Contains(got, want) {
				t.Errorf("csrattrs lack %q: %s", want, got)
			}
		}
	})

	// An RSA-2048 key, as csrattrs ask.
	key := c.file("device.key")
	run(t, c.dir, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
	const name = "est-device-1.certgate.test"
	var device *x509.Certificate
	t.Run("enroll", func(t *testing.T) {
		c.run(t, "enroll", c.label, slices.Concat(c.basic(), []string{"-key", key, "-cn", name, "-dnsnames", name, "-out", c.file("device.pem")})...)
		device = c.leaf(t, "device.pem")
		verifyESTCert(t, device, cas, s.ep.TrustBundle)
		if device.Subject.CommonName != name || !slices.Equal(device.DNSNames, []string{name}) {
			t.Errorf("issued subject %v, DNS names %v; requested CN and DNS %s", device.Subject, device.DNSNames, name)
		}
		if !keyMatches(t, readFile(t, key), device) {
			t.Error("the certificate is not for the CSR's key")
		}
	})
	if device == nil {
		t.FailNow()
	}

	t.Run("reenroll", func(t *testing.T) {
		// No Basic credentials: the certificate being renewed, presented
		// as TLS client certificate, is the authentication (RFC 7030
		// §4.2.2). estclient copies its subject and SANs into the CSR.
		c.run(t, "reenroll", c.label, "-certs", c.file("device.pem"), "-key", key, "-out", c.file("renewed.pem"))
		renewed := c.leaf(t, "renewed.pem")
		verifyESTCert(t, renewed, cas, s.ep.TrustBundle)
		if !bytes.Equal(renewed.RawSubject, device.RawSubject) || !slices.Equal(renewed.DNSNames, device.DNSNames) {
			t.Errorf("renewed %v %v, was %v %v", renewed.Subject, renewed.DNSNames, device.Subject, device.DNSNames)
		}
		if renewed.SerialNumber.Cmp(device.SerialNumber) == 0 {
			t.Error("reenroll returned the certificate it was to renew")
		}
		if !keyMatches(t, readFile(t, key), renewed) {
			t.Error("the renewed certificate is not for the CSR's key")
		}
	})

	t.Run("serverkeygen", func(t *testing.T) {
		const keyless = "est-keyless-1.certgate.test"
		c.run(t, "serverkeygen", c.label, slices.Concat(c.basic(), []string{"-cn", keyless, "-dnsnames", keyless,
			"-out", c.file("keyless.pem"), "-keyout", c.file("keyless.key")})...)
		cert := c.leaf(t, "keyless.pem")
		verifyESTCert(t, cert, cas, s.ep.TrustBundle)
		if cert.Subject.CommonName != keyless || !slices.Equal(cert.DNSNames, []string{keyless}) {
			t.Errorf("issued subject %v, DNS names %v; requested %s", cert.Subject, cert.DNSNames, keyless)
		}
		if !keyMatches(t, readFile(t, c.file("keyless.key")), cert) {
			t.Error("the server-generated key does not match the certificate")
		}
	})
}

// estWire sends hand-made EST requests with curl and reads the answers
// with openssl, to check the bytes on the wire rather than what a client
// library makes of them.
type estWire struct {
	s     *suite
	root  string // https://host:port/.well-known/est/
	label string
	dir   string
}

// curlReply is an answer as curl received it.
type curlReply struct {
	status int
	header textproto.MIMEHeader
	body   []byte
}

func (r curlReply) String() string {
	return strconv.Itoa(r.status) + " " + r.header.Get("Content-Type") + " " + strings.TrimSpace(string(r.body[:min(len(r.body), 200)]))
}

// curl requests root+rel with extra curl options.
func (w *estWire) curl(t *testing.T, rel string, opts ...string) curlReply {
	t.Helper()
	head, body := filepath.Join(w.dir, "head"), filepath.Join(w.dir, "body")
	// "Expect:" keeps curl from waiting for 100 Continue on big bodies.
	args := []string{"--silent", "--show-error", "--max-time", "30", "--cacert", w.s.ep.TrustBundle, "-H", "Expect:",
		"--dump-header", head, "--output", body}
	// curl creates no output file for an empty body: clear the last one.
	os.Remove(body)
	run(t, w.dir, "curl", slices.Concat(args, opts, []string{w.root + rel})...)
	b, err := os.ReadFile(body)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	r := curlReply{body: b}
	// The last header block is the final answer.
	blocks := strings.Split(strings.TrimSpace(readFile(t, head)), "\r\n\r\n")
	status, fields, _ := strings.Cut(blocks[len(blocks)-1], "\r\n")
	if f := strings.Fields(status); len(f) >= 2 {
		r.status, _ = strconv.Atoi(f[1])
	}
	if r.status == 0 {
		t.Fatalf("curl %s: no status line in %q", rel, status)
	}
	if r.header, err = textproto.NewReader(bufio.NewReader(strings.NewReader(fields + "\r\n\r\n"))).ReadMIMEHeader(); err != nil {
		t.Fatalf("curl %s: headers: %v", rel, err)
	}
	return r
}

// post sends the file body as contentType to the dev endpoint's op.
func (w *estWire) post(t *testing.T, op, contentType, body string, opts ...string) curlReply {
	t.Helper()
	return w.curl(t, w.label+"/"+op, slices.Concat([]string{"-H", "Content-Type: " + contentType, "--data-binary", "@" + body}, opts)...)
}

func (w *estWire) basic() []string {
	return []string{"--user", w.s.ep.EST.Username + ":" + w.s.ep.EST.Password}
}

// csr makes a PKCS#10 request for cn with openssl and returns the name of
// a file holding it as RFC 7030 §4.2.1 sends it: base64 of the DER.
func (w *estWire) csr(t *testing.T, cn string) string {
	t.Helper()
	run(t, w.dir, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", cn+".key", "-subj", "/CN="+cn, "-outform", "DER", "-out", cn+".der")
	run(t, w.dir, "openssl", "base64", "-in", cn+".der", "-out", cn+".b64")
	return filepath.Join(w.dir, cn+".b64")
}

// write puts b in a file of w.dir and returns its name.
func (w *estWire) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// certsOnly checks the framing of a certs-only answer (RFC 7030 §4.1.3,
// §4.2.3) and decodes it with openssl. For /cacerts the smime-type
// parameter may be absent; enrollment answers must carry it.
func (w *estWire) certsOnly(t *testing.T, h textproto.MIMEHeader, body []byte, needSMIMEType bool) []*x509.Certificate {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if st, ok := params["smime-type"]; err != nil || mt != "application/pkcs7-mime" || (ok || needSMIMEType) && st != "certs-only" {
		t.Errorf("Content-Type %q, want application/pkcs7-mime; smime-type=certs-only", h.Get("Content-Type"))
	}
	// RFC 7030 §4.1.3 and §4.2.3 send it; clients from before RFC 8951
	// (estclient v1.0.6 among them) refuse answers without it.
	if cte := h.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "base64") {
		t.Errorf("Content-Transfer-Encoding %q, want base64", cte)
	}
	w.write(t, "p7.b64", body)
	run(t, w.dir, "openssl", "base64", "-d", "-in", "p7.b64", "-out", "p7.der")
	return certs(t, run(t, w.dir, "openssl", "pkcs7", "-inform", "DER", "-in", "p7.der", "-print_certs"))
}

// issued counts the certificates issued through the dev endpoint.
func (w *estWire) issued(t *testing.T) int {
	t.Helper()
	var list struct {
		Certificates []struct{ Serial string }
	}
	out := w.s.admin("--json", "certs", "list", "--endpoint", w.label, "--limit", "0")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("certs list --json: %v\n%s", err, out)
	}
	return len(list.Certificates)
}

// TestESTWire checks the RFC 7030 framing of the EST service's answers,
// and that requests it refuses issue nothing.
func TestESTWire(t *testing.T) {
	tool(t, "curl")
	tool(t, "openssl")
	s := startDev(t, t.TempDir())
	u, err := url.Parse(s.ep.EST.URL)
	if err != nil {
		t.Fatal(err)
	}
	label := path.Base(u.Path)
	u.Path = path.Dir(u.Path) + "/"
	w := &estWire{s: s, root: u.String(), label: label, dir: t.TempDir()}

	var cas []*x509.Certificate
	t.Run("cacerts", func(t *testing.T) {
		r := w.curl(t, label+"/cacerts")
		if r.status != http.StatusOK {
			t.Fatalf("GET cacerts: %v", r)
		}
		got := w.certsOnly(t, r.header, r.body, false)
		verifyDevChain(t, got, s.ep.TrustBundle)
		cas = got
	})
	if cas == nil {
		t.FailNow()
	}

	t.Run("simpleenroll", func(t *testing.T) {
		before := w.issued(t)
		r := w.post(t, "simpleenroll", "application/pkcs10", w.csr(t, "wire-1"), w.basic()...)
		if r.status != http.StatusOK {
			t.Fatalf("simpleenroll: %v", r)
		}
		got := w.certsOnly(t, r.header, r.body, true)
		if len(got) != 1 || got[0].Subject.CommonName != "wire-1" {
			t.Fatalf("simpleenroll answered %d certificates (%v), want the one for CN=wire-1", len(got), got)
		}
		verifyESTCert(t, got[0], cas, s.ep.TrustBundle)
		if after := w.issued(t); after != before+1 {
			t.Errorf("%d certificates issued, want 1", after-before)
		}
	})

	// Refused requests carry a CSR nothing was issued for: ca-core answers
	// a repeated CSR with the first certificate, which the count would not
	// show.
	csr := w.csr(t, "wire-refused")
	refused := func(t *testing.T, r curlReply, want ...int) {
		t.Helper()
		if !slices.Contains(want, r.status) {
			t.Errorf("got %v, want status %v", r, want)
		}
	}
	notBase64 := w.write(t, "garbage", []byte("this is not base64 !!!\n"))
	notCSR := w.write(t, "not-a-csr.b64", []byte(base64.StdEncoding.EncodeToString([]byte("not a certification request"))+"\n"))
	// Valid base64 beyond the router's 64 KiB limit.
	big := w.write(t, "big.b64", []byte(base64.StdEncoding.EncodeToString(make([]byte, 80<<10))))
	for _, tc := range []struct {
		name string
		send func(t *testing.T) curlReply
		want []int
	}{
		{"wrong password", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/pkcs10", csr, "--user", s.ep.EST.Username+":wrong")
		}, []int{http.StatusUnauthorized}},
		{"no credentials", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/pkcs10", csr)
		}, []int{http.StatusUnauthorized}},
		{"serverkeygen without credentials", func(t *testing.T) curlReply {
			return w.post(t, "serverkeygen", "application/pkcs10", csr)
		}, []int{http.StatusUnauthorized}},
		{"not base64", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/pkcs10", notBase64, w.basic()...)
		}, []int{http.StatusBadRequest}},
		{"base64 of something else", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/pkcs10", notCSR, w.basic()...)
		}, []int{http.StatusBadRequest}},
		{"wrong content type", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/json", csr, w.basic()...)
		}, []int{http.StatusUnsupportedMediaType}},
		{"fullcmc", func(t *testing.T) curlReply {
			return w.post(t, "fullcmc", "application/pkcs7-mime", csr, w.basic()...)
		}, []int{http.StatusNotImplemented}},
		{"unknown label", func(t *testing.T) curlReply {
			refused(t, w.curl(t, "nope/cacerts"), http.StatusNotFound)
			return w.curl(t, "nope/simpleenroll", slices.Concat([]string{"-H", "Content-Type: application/pkcs10", "--data-binary", "@" + csr}, w.basic())...)
		}, []int{http.StatusNotFound}},
		{"oversized body", func(t *testing.T) curlReply {
			return w.post(t, "simpleenroll", "application/pkcs10", big, w.basic()...)
		}, []int{http.StatusRequestEntityTooLarge, http.StatusBadRequest}},
		{"simplereenroll without a client certificate", func(t *testing.T) curlReply {
			return w.post(t, "simplereenroll", "application/pkcs10", csr, w.basic()...)
		}, []int{http.StatusUnauthorized, http.StatusForbidden}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.issued(t)
			r := tc.send(t)
			refused(t, r, tc.want...)
			if r.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge (RFC 7030 §3.2.3)", r.header.Get("WWW-Authenticate"))
			}
			if after := w.issued(t); after != before {
				t.Errorf("a refused request issued %d certificates", after-before)
			}
		})
	}

	t.Run("GET on simpleenroll", func(t *testing.T) {
		// RFC 9110 §15.5.6: a 405 names the methods that are allowed.
		r := w.curl(t, label+"/simpleenroll", w.basic()...)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
			t.Errorf("GET simpleenroll: status %d, Allow %q; want 405 with Allow: POST", r.status, r.header.Get("Allow"))
		}
	})

	t.Run("serverkeygen", func(t *testing.T) {
		before := w.issued(t)
		r := w.post(t, "serverkeygen", "application/pkcs10", w.csr(t, "wire-keyless"), w.basic()...)
		if r.status != http.StatusOK {
			t.Fatalf("serverkeygen: %v", r)
		}
		key, cert := w.keyAndCert(t, r)
		verifyESTCert(t, cert, cas, s.ep.TrustBundle)
		if cert.Subject.CommonName != "wire-keyless" {
			t.Errorf("serverkeygen issued %v, want CN=wire-keyless", cert.Subject)
		}
		if !pkcs8Matches(t, key, cert) {
			t.Error("the server-generated key does not match the certificate")
		}
		if after := w.issued(t); after != before+1 {
			t.Errorf("%d certificates issued, want 1", after-before)
		}
	})
}

// keyAndCert reads a serverkeygen answer (RFC 7030 §4.4.2): multipart/mixed
// with the key as an application/pkcs8 part and the certificate as a
// certs-only part, both base64.
func (w *estWire) keyAndCert(t *testing.T, r curlReply) ([]byte, *x509.Certificate) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		t.Fatalf("serverkeygen Content-Type %q, want multipart/mixed with a boundary", r.header.Get("Content-Type"))
	}
	var key []byte
	var cert []*x509.Certificate
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("serverkeygen body: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.Header.Get("Content-Type"); ct == "application/pkcs8" {
			if cte := p.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "base64") {
				t.Errorf("pkcs8 part has Content-Transfer-Encoding %q, want base64", cte)
			}
			if key, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
				t.Fatalf("pkcs8 part: %v", err)
			}
		} else {
			cert = w.certsOnly(t, p.Header, b, true)
		}
	}
	if key == nil || len(cert) != 1 {
		t.Fatalf("serverkeygen answered a key of %d bytes and %d certificates, want one of each", len(key), len(cert))
	}
	return key, cert[0]
}
