package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"

	"github.com/certgate/certgate/services/cms"
	"github.com/certgate/certgate/services/scep/sceptest"
)

// scepDevice is a SCEP client with its key and throw-away certificate.
type scepDevice struct {
	t    *testing.T
	url  string
	key  *rsa.PrivateKey
	cert *x509.Certificate // self-signed, or the issued one for renewals
	ra   *x509.Certificate
	ca   []*x509.Certificate
}

func newSCEPDevice(t *testing.T, url string) *scepDevice {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d := &scepDevice{t: t, url: url, key: key}
	d.cert = selfSigned(t, key, "scep device")
	d.fetchCA()
	return d
}

func selfSigned(t *testing.T, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func (d *scepDevice) get(op string, query ...string) (*http.Response, []byte) {
	d.t.Helper()
	u := d.url + "?operation=" + op
	for i := 0; i+1 < len(query); i += 2 {
		u += "&" + query[i] + "=" + url.QueryEscape(query[i+1])
	}
	resp, err := http.Get(u)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// fetchCA reads GetCACert: the RA is the certificate that may encrypt.
func (d *scepDevice) fetchCA() {
	resp, body := d.get("GetCACert")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-x509-ca-ra-cert" {
		d.t.Fatalf("GetCACert: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	certs, err := scep.CACerts(body)
	if err != nil {
		d.t.Fatal(err)
	}
	d.ca = nil
	for _, c := range certs {
		if c.KeyUsage&x509.KeyUsageKeyEncipherment != 0 && !c.IsCA {
			d.ra = c
		} else {
			d.ca = append(d.ca, c)
		}
	}
	if d.ra == nil || len(d.ca) == 0 {
		d.t.Fatalf("GetCACert holds no RA or no CA: %d certificates", len(certs))
	}
}

func (d *scepDevice) csr(cn, challenge string, dns ...string) []byte {
	d.t.Helper()
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, ChallengePassword: challenge}, d.key)
	if err != nil {
		d.t.Fatal(err)
	}
	return der
}

// message builds a pkiMessage of type typ with content encrypted to the
// RA with cipher (a cms one, or an AES-GCM pkcs7 constant).
func (d *scepDevice) message(typ, tid string, content []byte, cipher any) []byte {
	d.t.Helper()
	der, err := sceptest.Build(sceptest.Request{Type: typ, TransactionID: tid, Content: content, Recipient: d.ra, Cipher: cipher,
		Signer: d.cert, SignerKey: d.key})
	if err != nil {
		d.t.Fatal(err)
	}
	return der
}

// post sends a pkiMessage and parses the CertRep; on SUCCESS it decrypts
// the envelope with the device's key.
func (d *scepDevice) post(msg []byte) *scep.PKIMessage {
	d.t.Helper()
	resp, err := http.Post(d.url+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(msg))
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return d.certRep(resp, body)
}

func (d *scepDevice) certRep(resp *http.Response, body []byte) *scep.PKIMessage {
	d.t.Helper()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pki-message" {
		d.t.Fatalf("PKIOperation: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rep, err := scep.ParsePKIMessage(body)
	if err != nil {
		d.t.Fatalf("CertRep does not parse: %v", err)
	}
	if rep.MessageType != scep.CertRep {
		d.t.Fatalf("answer is a %v", rep.MessageType)
	}
	if rep.PKIStatus == scep.SUCCESS {
		if err := rep.DecryptPKIEnvelope(d.cert, d.key); err != nil {
			d.t.Fatalf("CertRep envelope: %v", err)
		}
	}
	return rep
}

func (d *scepDevice) enroll(typ, tid string, csr []byte) *scep.PKIMessage {
	return d.post(d.message(typ, tid, csr, cms.AES256CBC))
}

func wantSCEPFailure(t *testing.T, rep *scep.PKIMessage, info scep.FailInfo) {
	t.Helper()
	if rep.PKIStatus != scep.FAILURE || rep.FailInfo != info {
		t.Fatalf("got pkiStatus %q failInfo %q, want FAILURE %q", string(rep.PKIStatus), string(rep.FailInfo), string(info))
	}
}

func wantSCEPSuccess(t *testing.T, rep *scep.PKIMessage) *x509.Certificate {
	t.Helper()
	if rep.PKIStatus != scep.SUCCESS {
		t.Fatalf("got pkiStatus %q failInfo %q, want SUCCESS", string(rep.PKIStatus), string(rep.FailInfo))
	}
	return rep.CertRepMessage.Certificate
}

// envelopeCipher reads the content cipher of a CertRep's envelope.
func envelopeCipher(t *testing.T, certRep []byte) asn1.ObjectIdentifier {
	t.Helper()
	p7, err := pkcs7.Parse(certRep)
	if err != nil {
		t.Fatal(err)
	}
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(p7.Content, &ci); err != nil {
		t.Fatal(err)
	}
	var ed struct {
		Version int
		Recips  asn1.RawValue
		ECI     struct {
			ContentType asn1.ObjectIdentifier
			Alg         pkix.AlgorithmIdentifier
		}
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
		t.Fatal(err)
	}
	return ed.ECI.Alg.Algorithm
}

func TestSCEP(t *testing.T) {
	s := startDev(t, t.TempDir())
	base := s.ep.SCEP.URL
	challenge := s.ep.SCEP.Challenge

	t.Run("GetCACaps", func(t *testing.T) {
		d := &scepDevice{t: t, url: base}
		resp, body := d.get("GetCACaps")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" || resp.ContentLength != int64(len(body)) {
			t.Fatalf("%d %q length %d: %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, body)
		}
		for _, c := range []string{"AES", "DES3", "POSTPKIOperation", "Renewal", "SCEPStandard", "SHA-256", "SHA-512"} {
			if !strings.Contains("\n"+string(body), "\n"+c+"\n") {
				t.Errorf("GetCACaps lacks %s: %q", c, body)
			}
		}
		if strings.Contains(string(body), "GetNextCACert") {
			t.Error("GetNextCACert offered without a pending rollover")
		}
	})

	var issued *x509.Certificate
	var device *scepDevice
	t.Run("PKCSReq AES-256 static challenge", func(t *testing.T) {
		device = newSCEPDevice(t, base)
		csr := device.csr("device-1", challenge, "device-1.example.com")
		rep := device.enroll("19", "tx-first", csr)
		issued = wantSCEPSuccess(t, rep)
		if issued.Subject.CommonName != "device-1" || issued.DNSNames[0] != "device-1.example.com" {
			t.Fatalf("issued %v %v", issued.Subject, issued.DNSNames)
		}
		pool := x509.NewCertPool()
		for _, c := range device.ca[:1] {
			pool.AddCert(c)
		}
		if _, err := issued.Verify(x509.VerifyOptions{Roots: trustPool(t, s.ep.TrustBundle), Intermediates: pool,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatal(err)
		}
		if got := envelopeCipher(t, rep.Raw); !got.Equal(cms.OIDAES256CBC) {
			t.Errorf("answer cipher %v, want AES-256-CBC", got)
		}
		// A retry of the same transaction gets the same certificate.
		if again := wantSCEPSuccess(t, device.enroll("19", "tx-first", csr)); !again.Equal(issued) {
			t.Fatal("a retried transaction got a second certificate")
		}
	})

	t.Run("ciphers answered in kind", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			cipher any
			want   asn1.ObjectIdentifier
		}{
			{"AES-128-CBC", cms.AES128CBC, cms.OIDAES128CBC},
			{"3DES", cms.DES3CBC, cms.OIDDES3CBC},
			{"DES", cms.DESCBC, cms.OIDDESCBC},
			{"AES-128-GCM", pkcs7.EncryptionAlgorithmAES128GCM, cms.OIDAES128CBC},
			{"AES-256-GCM", pkcs7.EncryptionAlgorithmAES256GCM, cms.OIDAES256CBC},
		} {
			d := newSCEPDevice(t, base)
			raw := d.message("19", "tx-"+tc.name, d.csr("cipher-"+tc.name, challenge), tc.cipher)
			rep := d.post(raw)
			wantSCEPSuccess(t, rep)
			if got := envelopeCipher(t, rep.Raw); !got.Equal(tc.want) {
				t.Errorf("%s: answer cipher %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("PKIOperation over GET and at the NDES path", func(t *testing.T) {
		d := newSCEPDevice(t, s.ep.SCEP.NDESURL)
		msg := d.message("19", "tx-get", d.csr("get-device", challenge), cms.AES256CBC)
		resp, body := d.get("PKIOperation", "message", base64.StdEncoding.EncodeToString(msg))
		wantSCEPSuccess(t, d.certRep(resp, body))
	})

	t.Run("wrong challenge", func(t *testing.T) {
		d := newSCEPDevice(t, base)
		wantSCEPFailure(t, d.enroll("19", "tx-wrong", d.csr("intruder", "not-the-challenge")), scep.BadRequest)
		wantSCEPFailure(t, d.enroll("19", "tx-none", d.csr("intruder", "")), scep.BadRequest)
	})

	t.Run("RenewalReq signed with the issued certificate", func(t *testing.T) {
		renewer := &scepDevice{t: t, url: base, key: device.key, cert: issued}
		renewer.fetchCA()
		renewed := wantSCEPSuccess(t, renewer.enroll("17", "tx-renew", renewer.csr("device-1", "", "device-1.example.com")))
		if renewed.SerialNumber.Cmp(issued.SerialNumber) == 0 || renewed.Subject.CommonName != "device-1" {
			t.Fatalf("renewal returned %v %v", renewed.SerialNumber, renewed.Subject)
		}
		// A renewal may not change the identity.
		wantSCEPFailure(t, renewer.enroll("17", "tx-renew-other", renewer.csr("someone-else", "")), scep.BadRequest)
		// Nor may a self-signed certificate renew.
		self := newSCEPDevice(t, base)
		wantSCEPFailure(t, self.enroll("17", "tx-renew-self", self.csr("device-1", "")), scep.BadRequest)
		// A revoked certificate renews nothing.
		s.admin("certs", "revoke", "--serial", renewed.SerialNumber.Text(16), "--reason", "keyCompromise")
		revoked := &scepDevice{t: t, url: base, key: device.key, cert: renewed}
		revoked.fetchCA()
		wantSCEPFailure(t, revoked.enroll("17", "tx-renew-revoked", revoked.csr("device-1", "", "device-1.example.com")), scep.BadRequest)
	})

	t.Run("GetCert and GetCRL", func(t *testing.T) {
		ias, err := asn1.Marshal(struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}{asn1.RawValue{FullBytes: issued.RawIssuer}, issued.SerialNumber})
		if err != nil {
			t.Fatal(err)
		}
		got := wantSCEPSuccess(t, device.post(device.message("21", "tx-getcert", ias, cms.AES256CBC)))
		if !got.Equal(issued) {
			t.Fatal("GetCert returned another certificate")
		}
		// The smallstep client reads certificates only; read the CRL here.
		resp, err := http.Post(base+"?operation=PKIOperation", "application/x-pki-message",
			bytes.NewReader(device.message("22", "tx-getcrl", ias, cms.AES256CBC)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rep, err := scep.ParsePKIMessage(body)
		if err != nil || rep.PKIStatus != scep.SUCCESS {
			t.Fatalf("GetCRL: %v %+v", err, rep)
		}
		p7, err := pkcs7.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		inner, err := pkcs7.Parse(p7.Content)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := inner.Decrypt(device.cert, device.key)
		if err != nil {
			t.Fatal(err)
		}
		crls, err := pkcs7.Parse(plain)
		if err != nil || len(crls.CRLs) != 1 {
			t.Fatalf("GetCRL answer holds no CRL: %v", err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for name, body := range map[string][]byte{"garbage": []byte("\x30\x03garbage"), "empty": nil,
			"truncated": device.message("19", "tx-trunc", device.csr("x", challenge), cms.AES256CBC)[:200]} {
			resp, err := http.Post(base+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: HTTP %d, want 400", name, resp.StatusCode)
			}
		}
		// Encrypted to someone else: the RA cannot read it.
		other := newSCEPDevice(t, base)
		other.ra = selfSigned(t, other.key, "not the RA")
		wantSCEPFailure(t, other.post(other.message("19", "tx-elsewhere", other.csr("x", challenge), cms.AES256CBC)), scep.BadMessageCheck)
		// Unknown operations and endpoints.
		resp, _ := device.get("Frobnicate")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("unknown operation: HTTP %d", resp.StatusCode)
		}
		nobody := &scepDevice{t: t, url: strings.Replace(base, "/scep/default/scep", "/scep/default/nope", 1)}
		if resp, _ := nobody.get("GetCACaps"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown endpoint: HTTP %d", resp.StatusCode)
		}
		if out := s.admin("audit", "list", "--action", "request.refuse", "--endpoint", "scep"); !strings.Contains(out, "tx-elsewhere") {
			t.Errorf("refusal not audited:\n%s", out)
		}
	})

	t.Run("one-time challenges", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "scep-otp", "--protocol", "scep", "--ca", "issuing", "--profile", "scep-client-auth", "--auth", "one_time_challenge")
		d := newSCEPDevice(t, strings.Replace(base, "/scep/default/scep", "/scep/default/scep-otp", 1))
		otp := strings.TrimSpace(s.admin("challenges", "create", "--endpoint", "scep-otp"))
		wantSCEPSuccess(t, d.enroll("19", "tx-otp-1", d.csr("otp-device", otp)))
		d2 := newSCEPDevice(t, d.url)
		wantSCEPFailure(t, d2.enroll("19", "tx-otp-2", d2.csr("otp-device-2", otp)), scep.BadRequest)
		// A challenge bound to a subject issues that subject only.
		bound := strings.TrimSpace(s.admin("challenges", "create", "--endpoint", "scep-otp", "--subject", "CN=bound-device", "--san", "dns:bound.example.com"))
		d3 := newSCEPDevice(t, d.url)
		wantSCEPFailure(t, d3.enroll("19", "tx-bound-wrong", d3.csr("other-device", bound, "bound.example.com")), scep.BadRequest)
		wantSCEPSuccess(t, d3.enroll("19", "tx-bound", d3.csr("bound-device", bound, "bound.example.com")))
	})

	t.Run("manual approval: PENDING, CertPoll, decision", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "scep-held", "--protocol", "scep", "--ca", "issuing", "--profile", "scep-client-auth", "--auth", "none", "--require-approval")
		d := newSCEPDevice(t, strings.Replace(base, "/scep/default/scep", "/scep/default/scep-held", 1))
		csr := d.csr("held-device", "")
		if rep := d.enroll("19", "tx-held", csr); rep.PKIStatus != scep.PENDING {
			t.Fatalf("got %v, want PENDING", rep.PKIStatus)
		}
		ias, _ := asn1.Marshal(struct{ Issuer, Subject asn1.RawValue }{asn1.RawValue{FullBytes: d.ca[0].RawSubject}, asn1.RawValue{FullBytes: d.cert.RawSubject}})
		if rep := d.post(d.message("20", "tx-held", ias, cms.AES256CBC)); rep.PKIStatus != scep.PENDING {
			t.Fatalf("CertPoll before approval: %v", rep.PKIStatus)
		}
		// Only the requester may poll.
		stranger := newSCEPDevice(t, d.url)
		wantSCEPFailure(t, stranger.post(stranger.message("20", "tx-held", ias, cms.AES256CBC)), scep.BadCertID)
		s.admin("pending", "approve", pendingID(t, s, "scep-held", "tx-held"))
		cert := wantSCEPSuccess(t, d.post(d.message("20", "tx-held", ias, cms.AES256CBC)))
		if cert.Subject.CommonName != "held-device" {
			t.Fatalf("issued %v", cert.Subject)
		}
		r := newSCEPDevice(t, d.url)
		if rep := r.enroll("19", "tx-rejected", r.csr("rejected-device", "")); rep.PKIStatus != scep.PENDING {
			t.Fatalf("got %v", rep.PKIStatus)
		}
		s.admin("pending", "reject", pendingID(t, s, "scep-held", "tx-rejected"), "--reason", "not ours")
		wantSCEPFailure(t, r.post(r.message("20", "tx-rejected", ias, cms.AES256CBC)), scep.BadRequest)
	})

	t.Run("webhook decides", func(t *testing.T) {
		var calls atomic.Int32
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			var req map[string]any
			json.NewDecoder(r.Body).Decode(&req)
			allow := req["challenge_password"] == "let-me-in" && req["transaction_id"] != ""
			json.NewEncoder(w).Encode(map[string]any{"allow": allow, "reason": "challenge unknown"})
		}))
		defer hook.Close()
		s.admin("endpoints", "create", "--id", "scep-hook", "--protocol", "scep", "--ca", "issuing", "--profile", "scep-client-auth",
			"--auth", "webhook", "--webhook-url", hook.URL)
		d := newSCEPDevice(t, strings.Replace(base, "/scep/default/scep", "/scep/default/scep-hook", 1))
		wantSCEPSuccess(t, d.enroll("19", "tx-hook-ok", d.csr("hooked", "let-me-in")))
		wantSCEPFailure(t, d.enroll("19", "tx-hook-no", d.csr("hooked", "wrong")), scep.BadRequest)
		if calls.Load() != 2 {
			t.Errorf("webhook called %d times, want 2", calls.Load())
		}
	})

	t.Run("GetNextCACert during a rollover", func(t *testing.T) {
		s.admin("cas", "create", "--id", "issuing2", "--type", "issuing", "--parent", "root", "--subject", "CN=certgate dev issuing 2")
		s.admin("endpoints", "update", "scep", "--next-ca", "issuing2")
		d := &scepDevice{t: t, url: base}
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, caps := d.get("GetCACaps")
			if strings.Contains(string(caps), "GetNextCACert") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GetNextCACert never offered: %s", caps)
			}
			time.Sleep(500 * time.Millisecond)
		}
		resp, body := d.get("GetNextCACert")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-x509-next-ca-cert" {
			t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		p7, err := pkcs7.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := p7.Verify(); err != nil {
			t.Fatalf("GetNextCACert signature: %v", err)
		}
		next, err := scep.CACerts(p7.Content)
		if err != nil {
			t.Fatal(err)
		}
		if next[0].Subject.CommonName != "certgate dev issuing 2" {
			t.Fatalf("next CA is %v", next[0].Subject)
		}
	})
}

// pendingID finds a pending request's id by its transaction id.
func pendingID(t *testing.T, s *suite, endpoint, tid string) string {
	t.Helper()
	out := s.admin("pending", "list", "--endpoint", endpoint, "--json")
	var list struct {
		Requests []struct {
			ID            string `json:"id"`
			TransactionID string `json:"transactionId"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, r := range list.Requests {
		if r.TransactionID == tid {
			return r.ID
		}
	}
	t.Fatalf("no pending request %s in %s", tid, out)
	return ""
}
