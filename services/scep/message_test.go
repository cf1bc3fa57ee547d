package scep

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"

	"github.com/certgate/certgate/services/cms"
	"github.com/certgate/certgate/services/scep/sceptest"
)

type party struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newParty(t testing.TB, cn string, ku x509.KeyUsage) party {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, KeyUsage: ku,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return party{key, cert}
}

func csrDER(t testing.TB, key *rsa.PrivateKey, cn string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func build(t testing.TB, device, ra party, typ, tid string, content []byte, cipher any) []byte {
	t.Helper()
	der, err := sceptest.Build(sceptest.Request{Type: typ, TransactionID: tid, Content: content, Recipient: ra.cert, Cipher: cipher,
		Signer: device.cert, SignerKey: device.key})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// A request reads back as sent, for every cipher a client may use, and
// the RA decrypts it.
func TestParseAndDecrypt(t *testing.T) {
	device, ra := newParty(t, "device", 0), newParty(t, "ra", x509.KeyUsageKeyEncipherment)
	csr := csrDER(t, device.key, "device")
	for _, tc := range []struct {
		cipher any
		want   cms.Cipher
	}{
		{cms.AES256CBC, cms.AES256CBC}, {cms.AES128CBC, cms.AES128CBC}, {cms.DES3CBC, cms.DES3CBC}, {cms.DESCBC, cms.DESCBC},
		{pkcs7.EncryptionAlgorithmAES128GCM, cms.AES128CBC}, {pkcs7.EncryptionAlgorithmAES256GCM, cms.AES256CBC},
	} {
		m, err := parseMessage(build(t, device, ra, typePKCSReq, "tid-1", csr, tc.cipher))
		if err != nil {
			t.Fatalf("%v: %v", tc.cipher, err)
		}
		if m.Type != typePKCSReq || m.TransactionID != "tid-1" || len(m.SenderNonce) != 16 || !m.Signer.Equal(device.cert) ||
			m.Cipher != tc.want || m.RecipientSerial.Cmp(ra.cert.SerialNumber) != 0 {
			t.Fatalf("%v: parsed %+v", tc.cipher, m)
		}
		if err := m.decrypt(ra.cert, ra.key); err != nil {
			t.Fatalf("%v: decrypt: %v", tc.cipher, err)
		}
		if string(m.CSR.Raw) != string(csr) {
			t.Fatalf("%v: another CSR came out", tc.cipher)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	device, ra := newParty(t, "device", 0), newParty(t, "ra", x509.KeyUsageKeyEncipherment)
	other := newParty(t, "other", x509.KeyUsageKeyEncipherment)
	good := build(t, device, ra, typePKCSReq, "tid", csrDER(t, device.key, "device"), cms.AES256CBC)
	for name, der := range map[string][]byte{"empty": nil, "garbage": []byte("\x30\x03abc"), "truncated": good[:len(good)/2]} {
		var pe *parseError
		if _, err := parseMessage(der); !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want a parse error", name, err)
		}
	}
	// Tampering breaks the signature.
	bad := append([]byte(nil), good...)
	bad[len(bad)-10] ^= 0xff
	var pe *parseError
	if _, err := parseMessage(bad); !errors.As(err, &pe) {
		t.Errorf("tampered: got %v", err)
	}
	// Encrypted to someone else: parsed, but the RA cannot open it.
	m, err := parseMessage(build(t, device, other, typePKCSReq, "tid", csrDER(t, device.key, "device"), cms.AES256CBC))
	if err != nil {
		t.Fatal(err)
	}
	var re *refusal
	if err := m.decrypt(ra.cert, ra.key); !errors.As(err, &re) || re.failInfo != failBadMessageCheck {
		t.Fatalf("wrong recipient: got %v", err)
	}
	// A CSR whose signature does not verify is refused after decryption.
	csr := csrDER(t, device.key, "device")
	csr[len(csr)-5] ^= 0xff
	m, err = parseMessage(build(t, device, ra, typePKCSReq, "tid", csr, cms.AES256CBC))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.decrypt(ra.cert, ra.key); !errors.As(err, &re) {
		t.Fatalf("bad CSR: got %v", err)
	}
}

// CertReps read back with the smallstep client, encrypted in the
// request's cipher and with every status.
func TestCertRep(t *testing.T) {
	device, ra := newParty(t, "device", 0), newParty(t, "ra", x509.KeyUsageKeyEncipherment)
	m, err := parseMessage(build(t, device, ra, typePKCSReq, "tid-7", csrDER(t, device.key, "device"), cms.DES3CBC))
	if err != nil {
		t.Fatal(err)
	}
	issued := newParty(t, "issued", x509.KeyUsageDigitalSignature).cert
	for _, r := range []reply{{status: statusSuccess, certs: []*x509.Certificate{issued}}, {status: statusPending},
		{status: statusFailure, failInfo: failBadRequest}} {
		der, err := certRep(m, ra.cert, ra.key, r)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := scep.ParsePKIMessage(der)
		if err != nil {
			t.Fatalf("%s: %v", r.status, err)
		}
		if string(rep.PKIStatus) != r.status || string(rep.TransactionID) != "tid-7" || string(rep.RecipientNonce) != string(m.SenderNonce) {
			t.Fatalf("%s: got %+v", r.status, rep.CertRepMessage)
		}
		switch r.status {
		case statusFailure:
			if string(rep.FailInfo) != failBadRequest {
				t.Fatalf("failInfo %q", rep.FailInfo)
			}
		case statusSuccess:
			if err := rep.DecryptPKIEnvelope(device.cert, device.key); err != nil {
				t.Fatal(err)
			}
			if !rep.Certificate.Equal(issued) {
				t.Fatal("another certificate came back")
			}
		}
	}
}

func TestReadMessage(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0xfb}
	for name, tc := range map[string]struct {
		method, target, body string
		want                 []byte
		status               int
	}{
		"post DER":            {"POST", "/?operation=PKIOperation", string(der), der, 0},
		"post base64":         {"POST", "/?operation=PKIOperation", "MAMCAfs=\r\n", der, 0},
		"get base64":          {"GET", "/?operation=PKIOperation&message=MAMCAfs%3D", "", der, 0},
		"get unescaped plus":  {"GET", "/?operation=PKIOperation&message=+w", "", []byte{0xfb}, 0},
		"get without message": {"GET", "/?operation=PKIOperation", "", nil, 400},
		"get not base64":      {"GET", "/?operation=PKIOperation&message=%21%21", "", nil, 400},
		"put":                 {"PUT", "/?operation=PKIOperation", "", nil, 405},
		"post too large":      {"POST", "/?operation=PKIOperation", strings.Repeat("a", maxMessage+1), nil, 413},
	} {
		got, err := readMessage(httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body)))
		var he *httpError
		switch {
		case tc.status != 0 && (!errors.As(err, &he) || he.status != tc.status):
			t.Errorf("%s: got %v, want HTTP %d", name, err, tc.status)
		case tc.status == 0 && (err != nil || string(got) != string(tc.want)):
			t.Errorf("%s: got %x, %v", name, got, err)
		}
	}
}

// FuzzParseMessage feeds the parser of untrusted pkiMessages; whatever it
// accepts must be complete, and decryption with the RA key must not panic.
func FuzzParseMessage(f *testing.F) {
	device, ra := newParty(f, "device", 0), newParty(f, "ra", x509.KeyUsageKeyEncipherment)
	f.Add(build(f, device, ra, typePKCSReq, "tid", csrDER(f, device.key, "device"), cms.AES256CBC))
	f.Add(build(f, device, ra, typeGetCert, "tid", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, cms.DES3CBC))
	f.Add([]byte("\x30\x80"))
	f.Fuzz(func(t *testing.T, der []byte) {
		m, err := parseMessage(der)
		var pe *parseError
		if errors.As(err, &pe) {
			return
		}
		if m == nil || m.Signer == nil || m.TransactionID == "" || typeName[m.Type] == "" {
			t.Fatalf("accepted an incomplete message: %+v, %v", m, err)
		}
		if err == nil {
			m.decrypt(ra.cert, ra.key)
		}
	})
}
