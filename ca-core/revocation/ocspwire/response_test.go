package ocspwire_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
)

// Test-side decoding of responses with encoding/asn1, independent of the
// cryptobyte code under test.

type xOCSPResponse struct {
	Status asn1.Enumerated
	Bytes  xResponseBytes `asn1:"explicit,tag:0,optional"`
}

type xResponseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type xBasicResponse struct {
	TBS       asn1.RawValue
	SigAlg    asn1.RawValue
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type xResponseData struct {
	ResponderID asn1.RawValue
	ProducedAt  asn1.RawValue
	Responses   []xSingleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type xSingleResponse struct {
	CertID     asn1.RawValue
	Status     asn1.RawValue
	ThisUpdate asn1.RawValue
	NextUpdate asn1.RawValue    `asn1:"explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type xRevokedInfo struct {
	RevocationTime asn1.RawValue
	Reason         asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type decodedResponse struct {
	basic xBasicResponse
	data  xResponseData
}

var oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

func decodeResponse(t *testing.T, der []byte) decodedResponse {
	t.Helper()
	var resp xOCSPResponse
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) > 0 {
		t.Fatalf("OCSPResponse: %v (%d bytes left)", err, len(rest))
	}
	if resp.Status != 0 || !resp.Bytes.Type.Equal(oidOCSPBasic) {
		t.Fatalf("responseStatus %d, responseType %v", resp.Status, resp.Bytes.Type)
	}
	var d decodedResponse
	if rest, err := asn1.Unmarshal(resp.Bytes.Response, &d.basic); err != nil || len(rest) > 0 {
		t.Fatalf("BasicOCSPResponse: %v (%d bytes left)", err, len(rest))
	}
	if rest, err := asn1.Unmarshal(d.basic.TBS.FullBytes, &d.data); err != nil || len(rest) > 0 {
		t.Fatalf("ResponseData: %v (%d bytes left)", err, len(rest))
	}
	return d
}

// stripCerts returns der without BasicOCSPResponse.certs, which the
// signature does not cover.
func stripCerts(t *testing.T, der []byte) []byte {
	t.Helper()
	var resp xOCSPResponse
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	var basic xBasicResponse
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &basic); err != nil {
		t.Fatal(err)
	}
	basic.Certs = nil
	var err error
	if resp.Bytes.Response, err = asn1.Marshal(basic); err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// explicitInner returns the element inside an [n] EXPLICIT field that
// encoding/asn1 decoded into a RawValue (which keeps the [n] wrapper).
func explicitInner(t *testing.T, rv asn1.RawValue) asn1.RawValue {
	t.Helper()
	var inner asn1.RawValue
	if len(rv.FullBytes) == 0 {
		return inner
	}
	if rest, err := asn1.Unmarshal(rv.Bytes, &inner); err != nil || len(rest) > 0 {
		t.Fatalf("[%d] EXPLICIT %x: %v", rv.Tag, rv.FullBytes, err)
	}
	return inner
}

// genTime is the DER GeneralizedTime text CreateResponse must write.
func genTime(tm time.Time) string { return tm.UTC().Format("20060102150405Z") }

// sha1KeyHash hashes the subjectPublicKey of a certificate, decoded with
// encoding/asn1.
func sha1KeyHash(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum(spki.Key.Bytes)
	return h[:]
}

// x509AlgorithmIdentifier returns the signatureAlgorithm crypto/x509 writes
// into a certificate signed with alg by key.
func x509AlgorithmIdentifier(t *testing.T, p *testPKI, alg x509.SignatureAlgorithm, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), NotBefore: p.notBefore, NotAfter: p.notAfter,
		SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("x509.CreateCertificate with %v: %v", alg, err)
	}
	var cert struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		t.Fatal(err)
	}
	return cert.SigAlg.FullBytes
}

type leafStatus struct {
	leaf   int // index in testPKI.leaves
	status ocspwire.CertStatus
	reason int
}

type roundTripCase struct {
	name      string
	responder string // "ec", "rsa" or "ca" (the CA signs itself)
	alg       x509.SignatureAlgorithm
	hash      crypto.Hash // of the CertIDs
	nonce     bool
	noNext    bool
	statuses  []leafStatus
}

func isPSS(alg x509.SignatureAlgorithm) bool {
	return alg == x509.SHA256WithRSAPSS || alg == x509.SHA384WithRSAPSS || alg == x509.SHA512WithRSAPSS
}

var (
	oneGood   = []leafStatus{{0, ocspwire.Good, ocspwire.NoRevocationReason}}
	fourMixed = []leafStatus{{0, ocspwire.Good, -1}, {1, ocspwire.Revoked, 1}, {2, ocspwire.Unknown, -1}, {3, ocspwire.Revoked, -1}}
)

func roundTripCases() []roundTripCase {
	return []roundTripCase{
		{name: "ok/ecdsa-sha256/one-good/nonce", responder: "ec", alg: x509.ECDSAWithSHA256, hash: crypto.SHA1,
			nonce: true, statuses: oneGood},
		{name: "ok/ecdsa-sha384/one-revoked-keyCompromise", responder: "ec", alg: x509.ECDSAWithSHA384, hash: crypto.SHA1,
			statuses: []leafStatus{{1, ocspwire.Revoked, 1}}},
		{name: "ok/ecdsa-sha512/one-revoked-no-reason/sha256-certid/nonce", responder: "ec", alg: x509.ECDSAWithSHA512,
			hash: crypto.SHA256, nonce: true, statuses: []leafStatus{{0, ocspwire.Revoked, -1}}},
		{name: "ok/ecdsa-sha256/one-unknown/no-next-update", responder: "ec", alg: x509.ECDSAWithSHA256, hash: crypto.SHA1,
			noNext: true, statuses: []leafStatus{{2, ocspwire.Unknown, -1}}},
		{name: "ok/ecdsa-sha256/four-mixed/sha256-certid/nonce", responder: "ec", alg: x509.ECDSAWithSHA256,
			hash: crypto.SHA256, nonce: true, statuses: fourMixed},
		{name: "ok/rsa-sha256/one-good", responder: "rsa", alg: x509.SHA256WithRSA, hash: crypto.SHA1, statuses: oneGood},
		{name: "ok/rsa-sha384/one-revoked-unspecified/nonce", responder: "rsa", alg: x509.SHA384WithRSA, hash: crypto.SHA1,
			nonce: true, statuses: []leafStatus{{3, ocspwire.Revoked, 0}}},
		{name: "ok/rsa-sha512/four-mixed/nonce", responder: "rsa", alg: x509.SHA512WithRSA, hash: crypto.SHA1,
			nonce: true, statuses: fourMixed},
		{name: "ok/rsa-pss-sha256/one-good/nonce", responder: "rsa", alg: x509.SHA256WithRSAPSS, hash: crypto.SHA1,
			nonce: true, statuses: oneGood},
		{name: "ok/rsa-pss-sha384/one-revoked-superseded", responder: "rsa", alg: x509.SHA384WithRSAPSS, hash: crypto.SHA256,
			statuses: []leafStatus{{1, ocspwire.Revoked, 4}}},
		{name: "ok/rsa-pss-sha512/four-mixed/sha256-certid/nonce", responder: "rsa", alg: x509.SHA512WithRSAPSS,
			hash: crypto.SHA256, nonce: true, statuses: fourMixed},
		{name: "ok/rsa-pss-sha256/revoked-aACompromise", responder: "rsa", alg: x509.SHA256WithRSAPSS, hash: crypto.SHA1,
			statuses: []leafStatus{{2, ocspwire.Revoked, 10}}},
		{name: "ok/ca-signs/ecdsa-sha256/two/nonce", responder: "ca", alg: x509.ECDSAWithSHA256, hash: crypto.SHA1,
			nonce: true, statuses: fourMixed[:2]},
	}
}

// TestCreateResponseRoundTrip builds requests with "openssl ocsp", answers
// them with CreateResponse and checks the responses three ways: decoded
// with encoding/asn1 (exact bytes), with x/crypto/ocsp (fields and
// signature), and with "openssl ocsp -respin" (signature, responder
// certificate chain and EKU, nonce, statuses).
func TestCreateResponseRoundTrip(t *testing.T) {
	p := pkiFor(t)
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			caPEM := writePEM(t, dir, "ca.pem", p.ca)
			var responder *x509.Certificate
			var signer crypto.Signer
			switch tc.responder {
			case "ec":
				responder, signer = p.respEC, p.respECKey
			case "rsa":
				responder, signer = p.respRSA, p.respRSAKey
			case "ca":
				responder, signer = p.ca, p.caKey
			}
			responderPEM := writePEM(t, dir, "responder.pem", responder)

			// The request, from OpenSSL.
			args := []string{"ocsp", "-" + opensslHashNames[tc.hash], "-issuer", caPEM}
			for i, s := range tc.statuses {
				args = append(args, "-cert", writePEM(t, dir, fmt.Sprintf("leaf%d.pem", i), p.leaves[s.leaf]))
			}
			if !tc.nonce {
				args = append(args, "-no_nonce")
			}
			reqPath := filepath.Join(dir, "req.der")
			if out, err := openssl(t, append(args, "-reqout", reqPath)...); err != nil {
				t.Fatalf("openssl ocsp -reqout: %v\n%s", err, out)
			}
			reqDER, err := os.ReadFile(reqPath)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ocspwire.ParseRequest(reqDER)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if len(req.IDs) != len(tc.statuses) || (req.Nonce != nil) != tc.nonce {
				t.Fatalf("OpenSSL request has %d IDs and nonce %x", len(req.IDs), req.Nonce)
			}

			// The response.
			now := time.Now()
			r := &ocspwire.Response{ProducedAt: now, Nonce: req.Nonce, ResponderCert: responder}
			if tc.responder != "ca" {
				r.Certs = []*x509.Certificate{responder}
			}
			for i, s := range tc.statuses {
				sr := ocspwire.SingleResponse{ID: req.IDs[i], Status: s.status, RevocationReason: s.reason,
					ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour)}
				if tc.noNext {
					sr.NextUpdate = time.Time{}
				}
				if s.status == ocspwire.Revoked {
					sr.RevokedAt = now.Add(-48 * time.Hour)
				}
				r.Responses = append(r.Responses, sr)
			}
			der, err := ocspwire.CreateResponse(r, signer, tc.alg)
			if err != nil {
				t.Fatalf("CreateResponse: %v", err)
			}

			checkEncoding(t, p, tc, r, req, der, responder, signer)
			checkXCrypto(t, p, tc, r, der, responder)
			checkOpenSSL(t, tc, r, der, dir, caPEM, responderPEM, reqPath)
		})
	}
}

// checkEncoding decodes der with encoding/asn1 and checks it byte by byte.
func checkEncoding(t *testing.T, p *testPKI, tc roundTripCase, r *ocspwire.Response, req *ocspwire.Request,
	der []byte, responder *x509.Certificate, signer crypto.Signer) {
	t.Helper()
	d := decodeResponse(t, der)
	if want := x509AlgorithmIdentifier(t, p, tc.alg, signer); !bytes.Equal(d.basic.SigAlg.FullBytes, want) {
		t.Errorf("signatureAlgorithm\n%x\ncrypto/x509 writes\n%x", d.basic.SigAlg.FullBytes, want)
	}
	if err := responder.CheckSignature(tc.alg, d.basic.TBS.FullBytes, d.basic.Signature.RightAlign()); err != nil {
		t.Errorf("signature does not verify with the responder certificate: %v", err)
	}
	if len(d.basic.Certs) != len(r.Certs) {
		t.Errorf("%d certs, want %d", len(d.basic.Certs), len(r.Certs))
	}
	for i, c := range d.basic.Certs {
		if !bytes.Equal(c.FullBytes, r.Certs[i].Raw) {
			t.Errorf("certs[%d] is not Certs[%d]", i, i)
		}
	}
	// The TBS must start with the ResponderID: version v1 is omitted.
	rid := d.data.ResponderID
	if rid.Class != asn1.ClassContextSpecific || rid.Tag != 2 || !rid.IsCompound {
		t.Errorf("responderID is not byKey [2]: class %d tag %d", rid.Class, rid.Tag)
	}
	var keyHash []byte
	if rest, err := asn1.Unmarshal(rid.Bytes, &keyHash); err != nil || len(rest) > 0 ||
		!bytes.Equal(keyHash, sha1KeyHash(t, responder)) {
		t.Errorf("byKey = %x (%v), want SHA-1 of the responder key %x", keyHash, err, sha1KeyHash(t, responder))
	}
	if got, err := ocspwire.ResponderKeyHash(signer.Public()); err != nil || !bytes.Equal(got, keyHash) {
		t.Errorf("ResponderKeyHash = %x, %v; want %x", got, err, keyHash)
	}
	if d.data.ProducedAt.Tag != asn1.TagGeneralizedTime || string(d.data.ProducedAt.Bytes) != genTime(r.ProducedAt) {
		t.Errorf("producedAt = tag %d %q, want GeneralizedTime %q", d.data.ProducedAt.Tag, d.data.ProducedAt.Bytes, genTime(r.ProducedAt))
	}
	if len(d.data.Responses) != len(r.Responses) {
		t.Fatalf("%d SingleResponses, want %d", len(d.data.Responses), len(r.Responses))
	}
	for i, got := range d.data.Responses {
		want := r.Responses[i]
		if !bytes.Equal(got.CertID.FullBytes, req.IDs[i].Raw) {
			t.Errorf("responses[%d].certID\n%x\nis not the request's\n%x", i, got.CertID.FullBytes, req.IDs[i].Raw)
		}
		st := got.Status
		if st.Class != asn1.ClassContextSpecific || st.Tag != int(want.Status) {
			t.Errorf("responses[%d].certStatus tag [%d], want [%d]", i, st.Tag, want.Status)
		}
		switch want.Status {
		case ocspwire.Good, ocspwire.Unknown:
			if st.IsCompound || len(st.Bytes) != 0 {
				t.Errorf("responses[%d].certStatus = %x, want an IMPLICIT NULL", i, st.FullBytes)
			}
		case ocspwire.Revoked:
			var ri xRevokedInfo
			if rest, err := asn1.UnmarshalWithParams(st.FullBytes, &ri, "tag:1"); err != nil || len(rest) > 0 {
				t.Fatalf("responses[%d] RevokedInfo %x: %v", i, st.FullBytes, err)
			}
			if string(ri.RevocationTime.Bytes) != genTime(want.RevokedAt) {
				t.Errorf("responses[%d].revocationTime = %q, want %q", i, ri.RevocationTime.Bytes, genTime(want.RevokedAt))
			}
			reason := explicitInner(t, ri.Reason)
			switch {
			case want.RevocationReason == ocspwire.NoRevocationReason && len(ri.Reason.FullBytes) != 0:
				t.Errorf("responses[%d].revocationReason = %x, want absent", i, ri.Reason.FullBytes)
			case want.RevocationReason != ocspwire.NoRevocationReason &&
				(reason.Tag != 10 /* ENUMERATED */ || !bytes.Equal(reason.Bytes, []byte{byte(want.RevocationReason)})):
				t.Errorf("responses[%d].revocationReason = %x, want ENUMERATED %d", i, ri.Reason.FullBytes, want.RevocationReason)
			}
		}
		if string(got.ThisUpdate.Bytes) != genTime(want.ThisUpdate) {
			t.Errorf("responses[%d].thisUpdate = %q, want %q", i, got.ThisUpdate.Bytes, genTime(want.ThisUpdate))
		}
		if tc.noNext {
			if len(got.NextUpdate.FullBytes) != 0 {
				t.Errorf("responses[%d].nextUpdate = %q, want absent", i, got.NextUpdate.Bytes)
			}
		} else if next := explicitInner(t, got.NextUpdate); next.Tag != asn1.TagGeneralizedTime ||
			string(next.Bytes) != genTime(want.NextUpdate) {
			t.Errorf("responses[%d].nextUpdate = %x, want GeneralizedTime %q", i, got.NextUpdate.FullBytes, genTime(want.NextUpdate))
		}
		if len(got.Extensions) != 0 {
			t.Errorf("responses[%d] has singleExtensions", i)
		}
	}
	switch {
	case tc.nonce:
		if len(d.data.Extensions) != 1 || !d.data.Extensions[0].Id.Equal(oidNonce) || d.data.Extensions[0].Critical ||
			!bytes.Equal(d.data.Extensions[0].Value, req.Nonce) {
			t.Errorf("responseExtensions = %+v, want the nonce extnValue %x", d.data.Extensions, req.Nonce)
		}
	case len(d.data.Extensions) != 0:
		t.Errorf("responseExtensions = %+v, want none", d.data.Extensions)
	}
}

// checkXCrypto parses der with x/crypto/ocsp once per certificate.
// x/crypto/ocsp cannot verify RSASSA-PSS signatures (it maps only OIDs,
// and id-RSASSA-PSS is not among them), so PSS responses are read without
// their certs and with no issuer, which skips the signature check;
// checkEncoding and openssl verify those signatures.
func checkXCrypto(t *testing.T, p *testPKI, tc roundTripCase, r *ocspwire.Response, der []byte, responder *x509.Certificate) {
	t.Helper()
	issuer := p.ca
	if isPSS(tc.alg) {
		der, issuer = stripCerts(t, der), nil
	}
	for i, s := range tc.statuses {
		leaf, want := p.leaves[s.leaf], r.Responses[i]
		got, err := ocsp.ParseResponseForCert(der, leaf, issuer)
		if err != nil {
			t.Errorf("x/crypto/ocsp.ParseResponseForCert(leaf %d): %v", s.leaf, err)
			continue
		}
		if got.Status != int(want.Status) || got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("leaf %d: status %d serial %x, want %d %x", s.leaf, got.Status, got.SerialNumber, want.Status, leaf.SerialNumber)
		}
		if got.IssuerHash != tc.hash {
			t.Errorf("leaf %d: IssuerHash %v, want %v", s.leaf, got.IssuerHash, tc.hash)
		}
		if !got.ProducedAt.Equal(r.ProducedAt.Truncate(time.Second)) || !got.ThisUpdate.Equal(want.ThisUpdate.Truncate(time.Second)) ||
			!got.NextUpdate.Equal(want.NextUpdate.Truncate(time.Second)) {
			t.Errorf("leaf %d: produced %v this %v next %v, want %v %v %v", s.leaf, got.ProducedAt, got.ThisUpdate, got.NextUpdate,
				r.ProducedAt, want.ThisUpdate, want.NextUpdate)
		}
		if want.Status == ocspwire.Revoked {
			wantReason := want.RevocationReason
			if wantReason == ocspwire.NoRevocationReason {
				wantReason = ocsp.Unspecified // what x/crypto reports when it is absent
			}
			if !got.RevokedAt.Equal(want.RevokedAt.Truncate(time.Second)) || got.RevocationReason != wantReason {
				t.Errorf("leaf %d: revoked at %v reason %d, want %v %d", s.leaf, got.RevokedAt, got.RevocationReason, want.RevokedAt, wantReason)
			}
		}
		if !bytes.Equal(got.ResponderKeyHash, sha1KeyHash(t, responder)) || got.RawResponderName != nil {
			t.Errorf("leaf %d: ResponderKeyHash %x name %x", s.leaf, got.ResponderKeyHash, got.RawResponderName)
		}
		if wantCert := len(r.Certs) > 0 && !isPSS(tc.alg); wantCert != (got.Certificate != nil) ||
			wantCert && !got.Certificate.Equal(responder) {
			t.Errorf("leaf %d: Certificate %v, want the responder's: %v", s.leaf, got.Certificate != nil, wantCert)
		}
	}
}

// opensslSingle is one SingleResponse as "openssl ocsp -resp_text" prints it.
type opensslSingle struct {
	serial, status, reason string
}

func parseResponseText(out string) (singles []opensslSingle, nonce string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "Certificate:" {
			break // the embedded responder certificate
		}
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		value = strings.TrimSpace(value)
		switch key {
		case "Serial Number":
			singles = append(singles, opensslSingle{serial: value})
		case "Cert Status":
			singles[len(singles)-1].status = value
		case "Revocation Reason":
			singles[len(singles)-1].reason = value
		case "OCSP Nonce:":
			if sc.Scan() {
				nonce = strings.TrimSpace(sc.Text())
			}
		}
	}
	return singles, nonce
}

// checkOpenSSL has OpenSSL verify der twice: against the CA (chain, EKU and
// issuer checks of a delegated responder) and with the responder
// certificate trusted directly (-VAfile). -reqin makes it check the nonce.
func checkOpenSSL(t *testing.T, tc roundTripCase, r *ocspwire.Response, der []byte, dir, caPEM, responderPEM, reqPath string) {
	t.Helper()
	respPath := filepath.Join(dir, "resp.der")
	if err := os.WriteFile(respPath, der, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, trust := range [][]string{{"-CAfile", caPEM, "-issuer", caPEM}, {"-VAfile", responderPEM}} {
		args := append([]string{"ocsp", "-respin", respPath, "-reqin", reqPath, "-resp_text"}, trust...)
		out, err := openssl(t, args...)
		if err != nil || !strings.Contains(out, "Response verify OK") ||
			strings.Contains(out, "WARNING") || strings.Contains(strings.ToLower(out), "error") {
			t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		singles, nonce := parseResponseText(out)
		if len(singles) != len(r.Responses) {
			t.Errorf("openssl printed %d SingleResponses, want %d\n%s", len(singles), len(r.Responses), out)
			continue
		}
		for i, s := range singles {
			want := r.Responses[i]
			serial, ok := new(big.Int).SetString(s.serial, 16)
			if !ok || serial.Cmp(want.ID.SerialNumber) != 0 || s.status != want.Status.String() {
				t.Errorf("openssl: response %d is %s %s, want %X %s", i, s.serial, s.status, want.ID.SerialNumber, want.Status)
			}
			// OpenSSL prints "keyCompromise (0x1)"; 3.0 has no name for
			// aACompromise and prints "(UNKNOWN) (0xa)", so only the code
			// is compared.
			wantReason := ""
			if want.Status == ocspwire.Revoked && want.RevocationReason != ocspwire.NoRevocationReason {
				wantReason = fmt.Sprintf("(0x%x)", want.RevocationReason)
			}
			if !strings.HasSuffix(s.reason, wantReason) || (wantReason == "") != (s.reason == "") {
				t.Errorf("openssl: response %d reason %q, want code %q", i, s.reason, wantReason)
			}
		}
		if want := strings.ToUpper(hex.EncodeToString(r.Nonce)); nonce != want {
			t.Errorf("openssl printed nonce %q, want %q", nonce, want)
		}
	}
}

// TestOpenSSLDetectsBadResponses makes sure the openssl checks above can
// fail: a response with a flipped signature bit, and one echoing the wrong
// nonce, are refused, while the same response built right passes.
func TestOpenSSLDetectsBadResponses(t *testing.T) {
	p := pkiFor(t)
	dir := t.TempDir()
	caPEM := writePEM(t, dir, "ca.pem", p.ca)
	leafPEM := writePEM(t, dir, "leaf.pem", p.leaves[0])
	reqPath := filepath.Join(dir, "req.der")
	if out, err := openssl(t, "ocsp", "-issuer", caPEM, "-cert", leafPEM, "-reqout", reqPath); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	reqDER, err := os.ReadFile(reqPath)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ocspwire.ParseRequest(reqDER)
	if err != nil {
		t.Fatal(err)
	}
	responderPEM := writePEM(t, dir, "responder.pem", p.respEC)
	// Without certs, so that the signature is the last field.
	build := func(nonce []byte) []byte {
		now := time.Now()
		der, err := ocspwire.CreateResponse(&ocspwire.Response{
			ProducedAt: now, Nonce: nonce, ResponderCert: p.respEC,
			Responses: []ocspwire.SingleResponse{{ID: req.IDs[0], Status: ocspwire.Good, RevocationReason: -1,
				ThisUpdate: now, NextUpdate: now.Add(time.Hour)}},
		}, p.respECKey, x509.ECDSAWithSHA256)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	badSig := build(req.Nonce)
	badSig[len(badSig)-1] ^= 1 // the last octet of the ECDSA signature
	wrongNonce := build(octetString(fill(16, 0x42)))
	for _, tc := range []struct {
		name, want string
		der        []byte
	}{
		{"fail/bad-signature", "Response Verify Failure", badSig},
		{"fail/wrong-nonce", "Nonce Verify error", wrongNonce},
		{"ok/control", "Response verify OK", build(req.Nonce)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			respPath := filepath.Join(t.TempDir(), "resp.der")
			if err := os.WriteFile(respPath, tc.der, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := openssl(t, "ocsp", "-respin", respPath, "-reqin", reqPath, "-CAfile", caPEM, "-issuer", caPEM,
				"-verify_other", responderPEM)
			if (err == nil) != strings.HasPrefix(tc.name, "ok/") || !strings.Contains(out, tc.want) {
				t.Errorf("openssl: %v, want %q:\n%s", err, tc.want, out)
			}
		})
	}
}

func TestErrorResponse(t *testing.T) {
	cases := []struct {
		name string
		in   ocspwire.ResponseStatus
		want ocspwire.ResponseStatus
		text string // as openssl prints it, lower-cased
	}{
		{"ok/malformedRequest", ocspwire.MalformedRequest, ocspwire.MalformedRequest, "malformedrequest (1)"},
		{"ok/internalError", ocspwire.InternalError, ocspwire.InternalError, "internalerror (2)"},
		{"ok/tryLater", ocspwire.TryLater, ocspwire.TryLater, "trylater (3)"},
		{"ok/sigRequired", ocspwire.SigRequired, ocspwire.SigRequired, "sigrequired (5)"},
		{"ok/unauthorized", ocspwire.Unauthorized, ocspwire.Unauthorized, "unauthorized (6)"},
		{"ok/successful-becomes-internalError", ocspwire.Successful, ocspwire.InternalError, "internalerror (2)"},
		{"ok/unused-4-becomes-internalError", 4, ocspwire.InternalError, "internalerror (2)"},
		{"ok/out-of-range-becomes-internalError", 99, ocspwire.InternalError, "internalerror (2)"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := ocspwire.ErrorResponse(tc.in)
			if want := []byte{0x30, 0x03, 0x0a, 0x01, byte(tc.want)}; !bytes.Equal(der, want) {
				t.Errorf("ErrorResponse(%v) = %x, want %x", tc.in, der, want)
			}
			_, err := ocsp.ParseResponse(der, nil)
			var rerr ocsp.ResponseError
			if !errors.As(err, &rerr) || int(rerr.Status) != int(tc.want) {
				t.Errorf("x/crypto/ocsp.ParseResponse: %v, want ResponseError %v", err, tc.want)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, "/", "_")+".der")
			if err := os.WriteFile(path, der, 0o600); err != nil {
				t.Fatal(err)
			}
			out, _ := openssl(t, "ocsp", "-respin", path, "-resp_text", "-noverify")
			if !strings.Contains(strings.ToLower(out), "responder error: "+tc.text) {
				t.Errorf("openssl printed\n%s\nwant status %s", out, tc.text)
			}
			if !strings.EqualFold(tc.want.String(), strings.Fields(tc.text)[0]) {
				t.Errorf("String() = %q, want %q", tc.want.String(), strings.Fields(tc.text)[0])
			}
		})
	}
}

// brokenSigner returns a signature of the right shape that does not verify.
type brokenSigner struct{ crypto.Signer }

func (s brokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(rand, digest, opts)
	if err == nil {
		sig[len(sig)/2] ^= 1
	}
	return sig, err
}

func TestCreateResponseErrors(t *testing.T) {
	p := pkiFor(t)
	now := time.Now()
	id, err := ocspwire.NewCertID(crypto.SHA1, p.ca, p.leaves[0].SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	good := func() *ocspwire.Response {
		return &ocspwire.Response{ProducedAt: now, ResponderCert: p.respEC, Certs: []*x509.Certificate{p.respEC},
			Responses: []ocspwire.SingleResponse{{ID: id, Status: ocspwire.Good, RevocationReason: -1, ThisUpdate: now}}}
	}
	with := func(f func(r *ocspwire.Response)) *ocspwire.Response {
		r := good()
		f(r)
		return r
	}
	noRaw := id
	noRaw.Raw = nil
	otherSerial := id
	otherSerial.SerialNumber = big.NewInt(77)
	cases := []struct {
		name   string
		r      *ocspwire.Response
		signer crypto.Signer
		alg    x509.SignatureAlgorithm
	}{
		{"ok/baseline", good(), p.respECKey, x509.ECDSAWithSHA256},
		{"ok/certid-from-fields", with(func(r *ocspwire.Response) { r.Responses[0].ID = noRaw }), p.respECKey, x509.ECDSAWithSHA256},
		{"ok/ca-signs-without-responder-cert", with(func(r *ocspwire.Response) { r.ResponderCert, r.Certs = nil, nil }), p.caKey, x509.ECDSAWithSHA256},
		{"ok/next-update-equals-this-update", with(func(r *ocspwire.Response) { r.Responses[0].NextUpdate = now }), p.respECKey, x509.ECDSAWithSHA256},
		{"ok/reason-ignored-when-good", with(func(r *ocspwire.Response) { r.Responses[0].RevocationReason = 7 }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/nil-response", nil, p.respECKey, x509.ECDSAWithSHA256},
		{"fail/nil-signer", good(), nil, x509.ECDSAWithSHA256},
		{"fail/no-single-response", with(func(r *ocspwire.Response) { r.Responses = nil }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/zero-produced-at", with(func(r *ocspwire.Response) { r.ProducedAt = time.Time{} }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/zero-this-update", with(func(r *ocspwire.Response) { r.Responses[0].ThisUpdate = time.Time{} }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/next-update-before-this-update", with(func(r *ocspwire.Response) { r.Responses[0].NextUpdate = now.Add(-time.Minute) }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/revoked-without-time", with(func(r *ocspwire.Response) { r.Responses[0].Status = ocspwire.Revoked }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/reason-7", with(func(r *ocspwire.Response) {
			r.Responses[0].Status, r.Responses[0].RevokedAt, r.Responses[0].RevocationReason = ocspwire.Revoked, now, 7
		}), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/reason-11", with(func(r *ocspwire.Response) {
			r.Responses[0].Status, r.Responses[0].RevokedAt, r.Responses[0].RevocationReason = ocspwire.Revoked, now, 11
		}), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/reason-minus-2", with(func(r *ocspwire.Response) {
			r.Responses[0].Status, r.Responses[0].RevokedAt, r.Responses[0].RevocationReason = ocspwire.Revoked, now, -2
		}), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/invalid-status", with(func(r *ocspwire.Response) { r.Responses[0].Status = 3 }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/raw-does-not-match-fields", with(func(r *ocspwire.Response) { r.Responses[0].ID = otherSerial }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/raw-not-a-certid", with(func(r *ocspwire.Response) { r.Responses[0].ID.Raw = []byte{0x30, 0x00} }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/fields-unsupported-hash", with(func(r *ocspwire.Response) {
			r.Responses[0].ID = noRaw
			r.Responses[0].ID.HashAlgorithm = crypto.SHA224
		}), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/fields-nil-serial", with(func(r *ocspwire.Response) {
			r.Responses[0].ID = noRaw
			r.Responses[0].ID.SerialNumber = nil
		}), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/nonce-too-long", with(func(r *ocspwire.Response) { r.Nonce = octetString(fill(33, 1)) }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/nil-cert", with(func(r *ocspwire.Response) { r.Certs = []*x509.Certificate{nil} }), p.respECKey, x509.ECDSAWithSHA256},
		{"fail/responder-cert-not-signer", good(), p.respRSAKey, x509.SHA256WithRSA},
		{"fail/sha1-with-rsa", with(func(r *ocspwire.Response) { r.ResponderCert = p.respRSA }), p.respRSAKey, x509.SHA1WithRSA},
		{"fail/ed25519", good(), p.respECKey, x509.PureEd25519},
		{"fail/ecdsa-alg-rsa-key", with(func(r *ocspwire.Response) { r.ResponderCert = p.respRSA }), p.respRSAKey, x509.ECDSAWithSHA256},
		{"fail/rsa-alg-ecdsa-key", good(), p.respECKey, x509.SHA256WithRSAPSS},
		{"fail/signature-does-not-verify", good(), brokenSigner{p.respECKey}, x509.ECDSAWithSHA256},
		{"fail/pss-signature-does-not-verify", with(func(r *ocspwire.Response) { r.ResponderCert = p.respRSA }),
			brokenSigner{p.respRSAKey}, x509.SHA256WithRSAPSS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der, err := ocspwire.CreateResponse(tc.r, tc.signer, tc.alg)
			if strings.HasPrefix(tc.name, "ok/") {
				if err != nil {
					t.Fatalf("CreateResponse: %v", err)
				}
				if _, err := ocsp.ParseResponseForCert(der, p.leaves[0], p.ca); err != nil {
					t.Errorf("x/crypto/ocsp: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CreateResponse succeeded, want an error")
			}
			if der != nil {
				t.Errorf("CreateResponse returned bytes with its error")
			}
			if !strings.HasPrefix(err.Error(), "ocspwire: ") {
				t.Errorf("error %q lacks the \"ocspwire: \" prefix", err)
			}
		})
	}
}

func TestCreateResponseTimes(t *testing.T) {
	p := pkiFor(t)
	id, err := ocspwire.NewCertID(crypto.SHA256, p.ca, p.leaves[1].SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	// A time with nanoseconds in a zone east of UTC, across midnight.
	zone := time.FixedZone("UTC+5", 5*3600)
	tm := time.Date(2031, 1, 1, 3, 4, 5, 999_999_999, zone)
	r := &ocspwire.Response{ProducedAt: tm, ResponderCert: p.respEC,
		Responses: []ocspwire.SingleResponse{{ID: id, Status: ocspwire.Revoked, RevokedAt: tm, RevocationReason: 1,
			ThisUpdate: tm, NextUpdate: tm.Add(time.Hour)}}}
	der, err := ocspwire.CreateResponse(r, p.respECKey, x509.ECDSAWithSHA256)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeResponse(t, der)
	for name, got := range map[string][]byte{
		"producedAt": d.data.ProducedAt.Bytes,
		"thisUpdate": d.data.Responses[0].ThisUpdate.Bytes,
	} {
		if string(got) != "20301231220405Z" {
			t.Errorf("%s = %q, want 20301231220405Z", name, got)
		}
	}
	if got := string(explicitInner(t, d.data.Responses[0].NextUpdate).Bytes); got != "20301231230405Z" {
		t.Errorf("nextUpdate = %q, want 20301231230405Z", got)
	}
}

func TestCertIDHelpers(t *testing.T) {
	p := pkiFor(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		id, err := ocspwire.NewCertID(h, p.ca, p.leaves[0].SerialNumber)
		if err != nil {
			t.Fatalf("NewCertID(%v): %v", h, err)
		}
		if !ocspwire.IssuerMatches(id, p.ca) || ocspwire.IssuerMatches(id, p.otherCA) || ocspwire.IssuerMatches(id, nil) {
			t.Errorf("%v: IssuerMatches is wrong for the CA, or for the CA with the same name and another key", h)
		}
		// x/crypto/ocsp builds the same CertID.
		xreq, err := ocsp.CreateRequest(p.leaves[0], p.ca, &ocsp.RequestOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		req, err := ocspwire.ParseRequest(xreq)
		if err != nil {
			t.Fatalf("ParseRequest(x/crypto request): %v", err)
		}
		if req.IDs[0].Key() != id.Key() {
			t.Errorf("%v: x/crypto CertID %s, NewCertID %s", h, req.IDs[0].Key(), id.Key())
		}
		again, err := ocspwire.NewCertID(h, p.ca, new(big.Int).Set(p.leaves[0].SerialNumber))
		if err != nil || again.Key() != id.Key() || !bytes.Equal(again.Raw, id.Raw) {
			t.Errorf("%v: NewCertID is not deterministic", h)
		}
	}
	if _, err := ocspwire.NewCertID(crypto.MD5, p.ca, big.NewInt(1)); err == nil {
		t.Errorf("NewCertID(MD5) succeeded")
	}
	if _, err := ocspwire.NewCertID(crypto.SHA1, nil, big.NewInt(1)); err == nil {
		t.Errorf("NewCertID(nil issuer) succeeded")
	}
	if _, err := ocspwire.NewCertID(crypto.SHA1, p.ca, big.NewInt(-1)); err == nil {
		t.Errorf("NewCertID(negative serial) succeeded")
	}
	if _, err := ocspwire.KeyHash(crypto.SHA1, []byte{0x30, 0x00}); err == nil {
		t.Errorf("KeyHash(invalid SPKI) succeeded")
	}
	if got, err := ocspwire.KeyHash(crypto.SHA1, p.respRSA.RawSubjectPublicKeyInfo); err != nil ||
		!bytes.Equal(got, sha1KeyHash(t, p.respRSA)) {
		t.Errorf("KeyHash = %x, %v; want %x", got, err, sha1KeyHash(t, p.respRSA))
	}
	if ocspwire.IssuerMatches(ocspwire.CertID{HashAlgorithm: crypto.MD5}, p.ca) {
		t.Errorf("IssuerMatches with MD5 = true")
	}
}

func TestStatusStrings(t *testing.T) {
	for s, want := range map[ocspwire.CertStatus]string{ocspwire.Good: "good", ocspwire.Revoked: "revoked",
		ocspwire.Unknown: "unknown", 7: "CertStatus(7)"} {
		if s.String() != want {
			t.Errorf("CertStatus(%d).String() = %q, want %q", int(s), s.String(), want)
		}
	}
	if got := ocspwire.ResponseStatus(4).String(); got != "ResponseStatus(4)" {
		t.Errorf("ResponseStatus(4).String() = %q", got)
	}
	if got := ocspwire.Successful.String(); got != "successful" {
		t.Errorf("Successful.String() = %q", got)
	}
}
