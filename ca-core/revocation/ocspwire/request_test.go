package ocspwire_test

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
)

// goldenRequests are the requests testdata/gen.sh made with "openssl ocsp";
// see testdata/README.md.
var goldenRequests = []struct {
	file    string
	leaves  []string // the certificate each CertID names, in order
	issuers []string // and its issuer
	hash    crypto.Hash
	nonce   bool
	signed  bool
}{
	{"req-nonce", []string{"a.pem", "b.pem"}, []string{"ca-ec.pem", "ca-ec.pem"}, crypto.SHA1, true, false},
	{"req-no-nonce", []string{"a.pem"}, []string{"ca-ec.pem"}, crypto.SHA1, false, false},
	{"req-sha256", []string{"a.pem", "b.pem"}, []string{"ca-ec.pem", "ca-ec.pem"}, crypto.SHA256, true, false},
	{"req-sha384", []string{"b.pem"}, []string{"ca-ec.pem"}, crypto.SHA384, false, false},
	{"req-sha512", []string{"c.pem"}, []string{"ca-rsa.pem"}, crypto.SHA512, true, false},
	{"req-two-issuers", []string{"a.pem", "c.pem"}, []string{"ca-ec.pem", "ca-rsa.pem"}, crypto.SHA1, true, false},
	{"req-signed", []string{"c.pem"}, []string{"ca-rsa.pem"}, crypto.SHA1, true, true},
	{"req-signed-no-certs", []string{"a.pem", "b.pem"}, []string{"ca-ec.pem", "ca-ec.pem"}, crypto.SHA1, false, true},
}

// opensslRequestText is what "openssl ocsp -req_text" printed for a
// request.
type opensslRequestText struct {
	ids    []opensslCertID
	nonce  string // hex, upper case, as printed
	signed bool
}

type opensslCertID struct {
	hash, nameHash, keyHash, serial string
}

// parseRequestText reads the -req_text output. It stops at the first
// embedded certificate, whose text has serial numbers of its own.
func parseRequestText(t *testing.T, path string) opensslRequestText {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// OpenSSL wraps long hex values with a trailing backslash.
	text := strings.ReplaceAll(string(data), "\\\n", "")
	var out opensslRequestText
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "Certificate:" {
			break
		}
		key, value, _ := strings.Cut(strings.TrimSpace(line), ": ")
		value = strings.TrimSpace(value)
		switch key {
		case "Certificate ID:":
			out.ids = append(out.ids, opensslCertID{})
		case "Hash Algorithm":
			out.ids[len(out.ids)-1].hash = value
		case "Issuer Name Hash":
			out.ids[len(out.ids)-1].nameHash = value
		case "Issuer Key Hash":
			out.ids[len(out.ids)-1].keyHash = value
		case "Serial Number":
			out.ids[len(out.ids)-1].serial = value
		case "OCSP Nonce:":
			if !sc.Scan() {
				t.Fatalf("%s: no nonce after the OCSP Nonce line", path)
			}
			out.nonce = strings.TrimSpace(sc.Text())
		case "Signature Algorithm":
			out.signed = true
		}
	}
	return out
}

var opensslHashNames = map[crypto.Hash]string{
	crypto.SHA1: "sha1", crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512",
}

func TestParseRequestOpenSSL(t *testing.T) {
	otherIssuer := map[string]string{"ca-ec.pem": "ca-rsa.pem", "ca-rsa.pem": "ca-ec.pem"}
	for _, tc := range goldenRequests {
		t.Run("ok/"+tc.file, func(t *testing.T) {
			der, err := os.ReadFile(filepath.Join("testdata", tc.file+".der"))
			if err != nil {
				t.Fatal(err)
			}
			want := parseRequestText(t, filepath.Join("testdata", tc.file+".txt"))
			req, err := ocspwire.ParseRequest(der)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if !bytes.Equal(req.Raw, der) {
				t.Errorf("Raw differs from the input")
			}
			if req.Signed != tc.signed || want.signed != tc.signed {
				t.Errorf("Signed = %v, openssl printed a signature: %v, want %v", req.Signed, want.signed, tc.signed)
			}
			if got := strings.ToUpper(hex.EncodeToString(req.Nonce)); got != want.nonce {
				t.Errorf("Nonce = %s, openssl printed %q", got, want.nonce)
			}
			if tc.nonce {
				// OpenSSL's form (RFC 8954): an OCTET STRING of 16 octets.
				if len(req.Nonce) != 18 || req.Nonce[0] != 0x04 || req.Nonce[1] != 16 {
					t.Errorf("Nonce = %x, want 04 10 and 16 octets", req.Nonce)
				}
			} else if req.Nonce != nil {
				t.Errorf("Nonce = %x, want nil", req.Nonce)
			}
			if len(req.IDs) != len(tc.leaves) || len(want.ids) != len(tc.leaves) {
				t.Fatalf("got %d IDs, openssl printed %d, want %d", len(req.IDs), len(want.ids), len(tc.leaves))
			}
			for i, id := range req.IDs {
				w := want.ids[i]
				leaf, issuer := readCert(t, tc.leaves[i]), readCert(t, tc.issuers[i])
				other := readCert(t, otherIssuer[tc.issuers[i]])
				if id.HashAlgorithm != tc.hash || opensslHashNames[id.HashAlgorithm] != w.hash {
					t.Errorf("IDs[%d].HashAlgorithm = %v, openssl printed %s, want %v", i, id.HashAlgorithm, w.hash, tc.hash)
				}
				if got := strings.ToUpper(hex.EncodeToString(id.IssuerNameHash)); got != w.nameHash {
					t.Errorf("IDs[%d].IssuerNameHash = %s, openssl printed %s", i, got, w.nameHash)
				}
				if got := strings.ToUpper(hex.EncodeToString(id.IssuerKeyHash)); got != w.keyHash {
					t.Errorf("IDs[%d].IssuerKeyHash = %s, openssl printed %s", i, got, w.keyHash)
				}
				if got := strings.ToUpper(id.SerialNumber.Text(16)); got != w.serial {
					t.Errorf("IDs[%d].SerialNumber = %s, openssl printed %s", i, got, w.serial)
				}
				if id.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
					t.Errorf("IDs[%d].SerialNumber = %x, want %s's %x", i, id.SerialNumber, tc.leaves[i], leaf.SerialNumber)
				}
				if !ocspwire.IssuerMatches(id, issuer) {
					t.Errorf("IssuerMatches(IDs[%d], %s) = false, want true", i, tc.issuers[i])
				}
				if ocspwire.IssuerMatches(id, other) {
					t.Errorf("IssuerMatches(IDs[%d], %s) = true, want false", i, otherIssuer[tc.issuers[i]])
				}
				if err := leaf.CheckSignatureFrom(issuer); err != nil {
					t.Errorf("testdata: %s is not issued by %s: %v", tc.leaves[i], tc.issuers[i], err)
				}
				// OpenSSL writes NULL hash parameters, as NewCertID does.
				mine, err := ocspwire.NewCertID(tc.hash, issuer, leaf.SerialNumber)
				if err != nil {
					t.Fatalf("NewCertID: %v", err)
				}
				if !bytes.Equal(mine.Raw, id.Raw) {
					t.Errorf("NewCertID(%s, %s).Raw =\n%x\nOpenSSL wrote\n%x", tc.hash, tc.leaves[i], mine.Raw, id.Raw)
				}
				if mine.Key() != id.Key() {
					t.Errorf("NewCertID Key %s, parsed Key %s", mine.Key(), id.Key())
				}
			}
			// x/crypto/ocsp reads unsigned requests and only the first
			// CertID; it must agree on that one.
			if !tc.signed {
				xreq, err := ocsp.ParseRequest(der)
				if err != nil {
					t.Fatalf("x/crypto/ocsp.ParseRequest: %v", err)
				}
				id := req.IDs[0]
				if xreq.HashAlgorithm != id.HashAlgorithm || xreq.SerialNumber.Cmp(id.SerialNumber) != 0 ||
					!bytes.Equal(xreq.IssuerNameHash, id.IssuerNameHash) || !bytes.Equal(xreq.IssuerKeyHash, id.IssuerKeyHash) {
					t.Errorf("x/crypto/ocsp reads the first CertID as %+v, ParseRequest as %+v", xreq, id)
				}
			}
		})
	}
}

// parseCase is one ParseRequest input. For ok cases ids, nonce and signed
// are the expected results; for fail cases reason is.
type parseCase struct {
	name   string
	der    []byte
	ids    int
	nonce  []byte
	signed bool
	reason ocspwire.MalformedReason
}

func parseCases(t testing.TB) []parseCase {
	der, err := os.ReadFile(filepath.Join("testdata", "req-nonce.der"))
	if err != nil {
		t.Fatal(err)
	}
	noNonce, err := os.ReadFile(filepath.Join("testdata", "req-no-nonce.der"))
	if err != nil {
		t.Fatal(err)
	}
	signer := readCert(t, "c.pem")
	one := []testSingle{{certID: sha1CertID(7)}}
	singles := func(n int) []testSingle {
		out := make([]testSingle, n)
		for i := range out {
			out[i].certID = sha1CertID(int64(i + 1))
		}
		return out
	}
	v := func(n int64) *int64 { return &n }
	nonceExt := func(value []byte) []testExt { return []testExt{{oid: oidNonce, value: value}} }
	nonce32 := fill(32, 0xab)
	// A Signature as OpenSSL writes one, with certs, and without.
	signature := func(withCerts bool) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11})
				b.AddASN1NULL()
			})
			b.AddASN1BitString(fill(256, 0x5a))
			if withCerts {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(signer.Raw) })
				})
			}
		})
		return b.BytesOrPanic()
	}
	// BER forms of req-no-nonce.der (a 69-octet SEQUENCE, 30 43 ...).
	longForm := append([]byte{0x30, 0x81}, noNonce[1:]...)
	indefinite := append(append([]byte{0x30, 0x80}, noNonce[2:]...), 0, 0)
	nonMinimalSerial := testRequest{singles: []testSingle{{certID: func() []byte {
		raw := sha1CertID(1)
		// ... 02 01 01 at the end becomes 02 02 00 01.
		out := append([]byte{}, raw[:len(raw)-3]...)
		out = append(out, 0x02, 0x02, 0x00, 0x01)
		out[1] += 1
		return out
	}()}}}.der()
	constructedHash := testRequest{singles: []testSingle{{certID: func() []byte {
		raw := sha1CertID(1)
		// The issuerNameHash OCTET STRING (at offset 13) in constructed form.
		out := append([]byte{}, raw...)
		out[13] = 0x24
		return out
	}()}}}.der()

	return []parseCase{
		{name: "ok/minimal", der: testRequest{singles: one}.der(), ids: 1},
		{name: "ok/hash-parameters-absent", ids: 1,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidSHA1, nil, fill(20, 1), fill(20, 2), big.NewInt(1))}}}.der()},
		{name: "ok/sha256-certid", ids: 1,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidSHA256, asn1NULL, fill(32, 1), fill(32, 2), big.NewInt(1))}}}.der()},
		{name: "ok/serial-zero", ids: 1, der: testRequest{singles: []testSingle{{certID: sha1CertID(0)}}}.der()},
		{name: "ok/explicit-version-v1", ids: 1, der: testRequest{version: v(0), singles: one}.der()},
		{name: "ok/requestor-name-dns", ids: 1,
			der: testRequest{requestorName: []byte{0x82, 0x03, 'a', '.', 'b'}, singles: one}.der()},
		{name: "ok/requestor-name-directory", ids: 1,
			der: testRequest{requestorName: append([]byte{0xa4, byte(len(signer.RawSubject))}, signer.RawSubject...), singles: one}.der()},
		{name: "ok/50-certids", ids: 50, der: testRequest{singles: singles(50)}.der()},
		{name: "ok/nonce-rfc8954-32", ids: 1, nonce: octetString(nonce32),
			der: testRequest{singles: one, exts: nonceExt(octetString(nonce32))}.der()},
		{name: "ok/nonce-rfc8954-1", ids: 1, nonce: octetString([]byte{7}),
			der: testRequest{singles: one, exts: nonceExt(octetString([]byte{7}))}.der()},
		{name: "ok/nonce-bare-16", ids: 1, nonce: fill(16, 0xab),
			der: testRequest{singles: one, exts: nonceExt(fill(16, 0xab))}.der()},
		{name: "ok/nonce-bare-32", ids: 1, nonce: nonce32,
			der: testRequest{singles: one, exts: nonceExt(nonce32)}.der()},
		{name: "ok/nonce-critical", ids: 1, nonce: octetString(nonce32),
			der: testRequest{singles: one, exts: []testExt{{oid: oidNonce, critical: true, value: octetString(nonce32)}}}.der()},
		{name: "ok/nonce-explicit-critical-false", ids: 1, nonce: octetString(nonce32),
			der: testRequest{singles: one, exts: []testExt{{oid: oidNonce, explicitFalse: true, value: octetString(nonce32)}}}.der()},
		{name: "ok/unknown-extension-not-critical", ids: 1, nonce: octetString(nonce32),
			der: testRequest{singles: one, exts: []testExt{
				{oid: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 4}, value: []byte{0x30, 0x00}},
				{oid: oidNonce, value: octetString(nonce32)},
				{oid: asn1.ObjectIdentifier{2, 999, 1}, value: nil},
			}}.der()},
		{name: "ok/single-extension-not-critical", ids: 2, der: testRequest{singles: []testSingle{
			{certID: sha1CertID(1), exts: []testExt{{oid: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 7}, value: []byte{0x30, 0x00}}}},
			{certID: sha1CertID(2)},
		}}.der()},
		{name: "ok/nonce-as-single-extension-is-ignored", ids: 1, der: testRequest{singles: []testSingle{
			{certID: sha1CertID(1), exts: nonceExt(octetString(nonce32))},
		}}.der()},
		{name: "ok/signed-with-certs", ids: 1, signed: true,
			der: testRequest{requestorName: []byte{0x82, 0x01, 'a'}, singles: one, signature: signature(true)}.der()},
		{name: "ok/signed-without-certs", ids: 1, signed: true, der: testRequest{singles: one, signature: signature(false)}.der()},

		{name: "fail/empty", der: nil, reason: ocspwire.MalformedSyntax},
		{name: "fail/empty-sequence", der: []byte{0x30, 0x00}, reason: ocspwire.MalformedSyntax},
		{name: "fail/truncated", der: der[:len(der)-1], reason: ocspwire.MalformedSyntax},
		{name: "fail/truncated-half", der: der[:len(der)/2], reason: ocspwire.MalformedSyntax},
		{name: "fail/trailing-bytes", der: append(append([]byte{}, der...), 0x00), reason: ocspwire.MalformedSyntax},
		{name: "fail/trailing-element", der: append(append([]byte{}, der...), 0x05, 0x00), reason: ocspwire.MalformedSyntax},
		{name: "fail/garbage", der: []byte("GET /ocsp HTTP/1.1\r\n\r\n"), reason: ocspwire.MalformedSyntax},
		{name: "fail/garbage-binary", der: fill(100, 0xff), reason: ocspwire.MalformedSyntax},
		{name: "fail/too-large", der: fill(ocspwire.MaxRequestSize+1, 0x30), reason: ocspwire.MalformedTooLarge},
		{name: "fail/ber-long-form-length", der: longForm, reason: ocspwire.MalformedSyntax},
		{name: "fail/ber-indefinite-length", der: indefinite, reason: ocspwire.MalformedSyntax},
		{name: "fail/ber-non-minimal-serial", der: nonMinimalSerial, reason: ocspwire.MalformedSyntax},
		{name: "fail/ber-constructed-octet-string", der: constructedHash, reason: ocspwire.MalformedSyntax},
		{name: "fail/version-v2", der: testRequest{version: v(1), singles: one}.der(), reason: ocspwire.MalformedVersion},
		{name: "fail/version-negative", der: testRequest{version: v(-1), singles: one}.der(), reason: ocspwire.MalformedVersion},
		{name: "fail/no-certids", der: testRequest{}.der(), reason: ocspwire.MalformedNoCertIDs},
		{name: "fail/51-certids", der: testRequest{singles: singles(51)}.der(), reason: ocspwire.MalformedTooManyCertIDs},
		{name: "fail/unknown-critical-request-extension", reason: ocspwire.MalformedCriticalExtension,
			der: testRequest{singles: one, exts: []testExt{{oid: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 4}, critical: true, value: []byte{0x30, 0x00}}}}.der()},
		{name: "fail/unknown-critical-single-extension", reason: ocspwire.MalformedCriticalExtension,
			der: testRequest{singles: []testSingle{{certID: sha1CertID(1), exts: []testExt{{oid: asn1.ObjectIdentifier{2, 999}, critical: true}}}}}.der()},
		{name: "fail/critical-nonce-as-single-extension", reason: ocspwire.MalformedCriticalExtension,
			der: testRequest{singles: []testSingle{{certID: sha1CertID(1), exts: []testExt{{oid: oidNonce, critical: true, value: octetString(nonce32)}}}}}.der()},
		{name: "fail/nonce-33", reason: ocspwire.MalformedNonce,
			der: testRequest{singles: one, exts: nonceExt(octetString(fill(33, 1)))}.der()},
		{name: "fail/nonce-33-bare", reason: ocspwire.MalformedNonce,
			der: testRequest{singles: one, exts: nonceExt(fill(33, 1))}.der()},
		{name: "fail/nonce-empty", reason: ocspwire.MalformedNonce,
			der: testRequest{singles: one, exts: nonceExt(nil)}.der()},
		{name: "fail/nonce-empty-octet-string", reason: ocspwire.MalformedNonce,
			der: testRequest{singles: one, exts: nonceExt([]byte{0x04, 0x00})}.der()},
		{name: "fail/duplicate-nonce", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: one, exts: append(nonceExt(octetString(nonce32)), nonceExt(octetString(nonce32))...)}.der()},
		{name: "fail/empty-request-extensions", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: one, emptyExts: true}.der()},
		{name: "fail/empty-single-extensions", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: []testSingle{{certID: sha1CertID(1), emptyExts: true}}}.der()},
		{name: "fail/hash-sha224", reason: ocspwire.MalformedHashAlgorithm,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidSHA224, asn1NULL, fill(28, 1), fill(28, 2), big.NewInt(1))}}}.der()},
		{name: "fail/hash-md5", reason: ocspwire.MalformedHashAlgorithm,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidMD5, asn1NULL, fill(16, 1), fill(16, 2), big.NewInt(1))}}}.der()},
		{name: "fail/hash-unsupported-second-certid", reason: ocspwire.MalformedHashAlgorithm,
			der: testRequest{singles: []testSingle{{certID: sha1CertID(1)},
				{certID: testCertID(oidSHA224, asn1NULL, fill(28, 1), fill(28, 2), big.NewInt(2))}}}.der()},
		{name: "fail/hash-parameters-not-null", reason: ocspwire.MalformedCertID,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidSHA1, []byte{0x04, 0x00}, fill(20, 1), fill(20, 2), big.NewInt(1))}}}.der()},
		{name: "fail/hash-length-mismatch", reason: ocspwire.MalformedCertID,
			der: testRequest{singles: []testSingle{{certID: testCertID(oidSHA256, asn1NULL, fill(20, 1), fill(20, 2), big.NewInt(1))}}}.der()},
		{name: "fail/negative-serial", reason: ocspwire.MalformedCertID,
			der: testRequest{singles: []testSingle{{certID: sha1CertID(-5)}}}.der()},
		{name: "fail/certid-not-sequence", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: []testSingle{{certID: []byte{0x04, 0x00}}}}.der()},
		{name: "fail/requestor-name-not-general-name", reason: ocspwire.MalformedSyntax,
			der: testRequest{requestorName: []byte{0x0c, 0x01, 'a'}, singles: one}.der()},
		{name: "fail/signature-not-a-sequence", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: one, signature: []byte{0x04, 0x00}}.der()},
		{name: "fail/signature-without-bit-string", reason: ocspwire.MalformedSyntax,
			der: testRequest{singles: one, signature: []byte{0x30, 0x05, 0x30, 0x03, 0x06, 0x01, 0x2a}}.der()},
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range parseCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ocspwire.ParseRequest(tc.der)
			if strings.HasPrefix(tc.name, "fail/") {
				if err == nil {
					t.Fatalf("ParseRequest succeeded with %d IDs, want a %v error", len(req.IDs), tc.reason)
				}
				if req != nil {
					t.Errorf("ParseRequest returned a request with its error")
				}
				var merr *ocspwire.MalformedError
				if !errors.As(err, &merr) {
					t.Fatalf("error %v (%T) is not a *MalformedError", err, err)
				}
				if merr.Reason != tc.reason {
					t.Errorf("Reason = %v (%v), want %v", merr.Reason, err, tc.reason)
				}
				if !strings.HasPrefix(err.Error(), "ocspwire: ") {
					t.Errorf("error %q lacks the \"ocspwire: \" prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if len(req.IDs) != tc.ids {
				t.Errorf("got %d IDs, want %d", len(req.IDs), tc.ids)
			}
			if !bytes.Equal(req.Nonce, tc.nonce) || (req.Nonce == nil) != (tc.nonce == nil) {
				t.Errorf("Nonce = %x, want %x", req.Nonce, tc.nonce)
			}
			if req.Signed != tc.signed {
				t.Errorf("Signed = %v, want %v", req.Signed, tc.signed)
			}
			for i, id := range req.IDs {
				if len(id.Raw) == 0 || id.SerialNumber == nil || id.SerialNumber.Sign() < 0 {
					t.Errorf("IDs[%d] = %+v", i, id)
				}
			}
		})
	}
}

// TestParseRequestCopiesInput checks that the Request does not alias the
// caller's buffer, which HTTP servers reuse.
func TestParseRequestCopiesInput(t *testing.T) {
	der, err := os.ReadFile(filepath.Join("testdata", "req-nonce.der"))
	if err != nil {
		t.Fatal(err)
	}
	orig := append([]byte{}, der...)
	req, err := ocspwire.ParseRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	for i := range der {
		der[i] = 0
	}
	if !bytes.Equal(req.Raw, orig) {
		t.Errorf("Raw changed with the input buffer")
	}
	if again, err := ocspwire.ParseRequest(req.Raw); err != nil || again.IDs[1].Key() != req.IDs[1].Key() ||
		!bytes.Equal(again.Nonce, req.Nonce) {
		t.Errorf("the request changed with the input buffer: %v", err)
	}
}

func TestMalformedReasonString(t *testing.T) {
	for r := ocspwire.MalformedSyntax; r <= ocspwire.MalformedNonce; r++ {
		if s := r.String(); s == "" || strings.HasPrefix(s, "MalformedReason(") {
			t.Errorf("%d has no name: %q", int(r), s)
		}
	}
	if got := ocspwire.MalformedReason(99).String(); got != "MalformedReason(99)" {
		t.Errorf("String() = %q", got)
	}
}
