package wstepmsg_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/wstep/wstepmsg"
)

// Test-side decoders of the CMS and CMC structures, independent of the
// package's own.
type (
	tContentInfo struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	tSignedData struct {
		Version     int
		Digests     asn1.RawValue
		Encap       tEncap
		Certs       asn1.RawValue `asn1:"optional,tag:0"`
		SignerInfos []tSignerInfo `asn1:"set"`
	}
	tEncap struct {
		Type    asn1.ObjectIdentifier
		Content []byte `asn1:"explicit,tag:0"`
	}
	tSignerInfo struct {
		Version     int
		SID         asn1.RawValue
		Digest      pkix.AlgorithmIdentifier
		SignedAttrs asn1.RawValue `asn1:"optional,tag:0"`
		SigAlg      pkix.AlgorithmIdentifier
		Signature   []byte
	}
	tAttribute struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	tControl struct {
		BodyPartID int
		Type       asn1.ObjectIdentifier
		Values     []asn1.RawValue `asn1:"set"`
	}
	tPKIResponse struct {
		Controls []tControl
		CMS      []asn1.RawValue
		Other    []asn1.RawValue
	}
	tStatusInfo struct {
		Status       int
		BodyList     []int
		StatusString string `asn1:"optional,utf8"`
	}
	tAddAttributes struct {
		DataReference  int
		CertReferences []int
		Attributes     []tAttribute `asn1:"set"`
	}
)

func unmarshal(t *testing.T, der []byte, v any) {
	t.Helper()
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		t.Fatalf("unmarshal %T: %v", v, err)
	}
	if len(rest) > 0 {
		t.Fatalf("unmarshal %T: trailing data", v)
	}
}

func decodeSignedData(t *testing.T, der []byte) tSignedData {
	t.Helper()
	var ci tContentInfo
	unmarshal(t, der, &ci)
	if !ci.Type.Equal(oidSignedData) {
		t.Fatalf("ContentInfo type %s, want SignedData", ci.Type)
	}
	var sd tSignedData
	unmarshal(t, ci.Content.Bytes, &sd)
	return sd
}

func decodePKIResponse(t *testing.T, der []byte) tPKIResponse {
	t.Helper()
	sd := decodeSignedData(t, der)
	if !sd.Encap.Type.Equal(oidPKIResponse) {
		t.Fatalf("eContentType = %s, want id-cct-PKIResponse", sd.Encap.Type)
	}
	var resp tPKIResponse
	unmarshal(t, sd.Encap.Content, &resp)
	return resp
}

func decodeStatus(t *testing.T, der []byte) tStatusInfo {
	t.Helper()
	resp := decodePKIResponse(t, der)
	if len(resp.Controls) == 0 || !resp.Controls[0].Type.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 7, 1}) {
		t.Fatalf("first control is not id-cmc-statusInfo")
	}
	var st tStatusInfo
	unmarshal(t, resp.Controls[0].Values[0].FullBytes, &st)
	return st
}

// issuedHash returns the szOID_ISSUED_CERT_HASH of a success response and
// the add-attributes control around it.
func issuedHash(t *testing.T, resp tPKIResponse) ([]byte, tControl, tAddAttributes) {
	t.Helper()
	if len(resp.Controls) != 2 {
		t.Fatalf("%d controls, want statusInfo and CMC_ADD_ATTRIBUTES", len(resp.Controls))
	}
	c := resp.Controls[1]
	if !c.Type.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 10, 1}) {
		t.Fatalf("second control is %s, want szOID_CMC_ADD_ATTRIBUTES", c.Type)
	}
	var add tAddAttributes
	unmarshal(t, c.Values[0].FullBytes, &add)
	if len(add.Attributes) != 1 || !add.Attributes[0].Type.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 17}) {
		t.Fatalf("add-attributes = %+v, want one szOID_ISSUED_CERT_HASH", add.Attributes)
	}
	var hash []byte
	unmarshal(t, add.Attributes[0].Values[0].FullBytes, &hash)
	return hash, c, add
}

func TestCMCResponseParsesBack(t *testing.T) {
	ca, caKey, leaf := fixedCA(t)
	ecPKI := newPKI(t)
	ecLeaf := makeCert(t, "ec leaf", 5, newKey(t).Public(), ecPKI.ca, ecPKI.caKey, false)
	signers := map[string]struct {
		issued, signerCert *x509.Certificate
		signer             crypto.Signer
	}{
		"ok/rsa":   {leaf, ca, caKey},
		"ok/ecdsa": {ecLeaf, ecPKI.ca, ecPKI.caKey},
	}
	for name, s := range signers {
		t.Run(name, func(t *testing.T) {
			der, err := wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "Issued", []int{1}, s.issued, []*x509.Certificate{s.signerCert}, s.signerCert, s.signer)
			if err != nil {
				t.Fatal(err)
			}
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatalf("pkcs7.Parse: %v", err)
			}
			if err := p7.Verify(); err != nil {
				t.Errorf("Verify: %v", err)
			}
			var ct asn1.ObjectIdentifier
			if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err != nil || !ct.Equal(oidPKIResponse) {
				t.Errorf("signed contentType = %v (%v), want id-cct-PKIResponse", ct, err)
			}
			if !slices.ContainsFunc(p7.Certificates, s.issued.Equal) {
				t.Errorf("certificates do not include the issued one")
			}
			if !slices.ContainsFunc(p7.Certificates, s.signerCert.Equal) {
				t.Errorf("certificates do not include the signer")
			}
			sd := decodeSignedData(t, der)
			if sd.Version != 3 {
				t.Errorf("SignedData version = %d, want 3", sd.Version)
			}
			if !sd.Encap.Type.Equal(oidPKIResponse) {
				t.Errorf("eContentType = %s, want id-cct-PKIResponse", sd.Encap.Type)
			}
			st := decodeStatus(t, der)
			if st.Status != 0 || !slices.Equal(st.BodyList, []int{1}) || st.StatusString != "Issued" {
				t.Errorf("statusInfo = %+v, want success, bodyList [1], Issued", st)
			}
			hash, _, _ := issuedHash(t, decodePKIResponse(t, der))
			if sum := sha1.Sum(s.issued.Raw); string(hash) != string(sum[:]) {
				t.Errorf("issued cert hash = %x, want %x", hash, sum)
			}
		})
	}
}

// Our response has the layout of the ADCS response in [MS-WSTEP] §4.1.1.2,
// read with the same decoder; only hashes and signatures differ.
func TestCMCResponseShapeMatchesADCS(t *testing.T) {
	_, specCMC, specCert := specIssue(t)
	ca, caKey, leaf := fixedCA(t)
	ours, err := wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "Issued", []int{1}, leaf, []*x509.Certificate{ca}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cmc-success.der", ours)

	for name, c := range map[string]struct {
		der    []byte
		issued *x509.Certificate
	}{"adcs": {specCMC, specCert}, "ours": {ours, leaf}} {
		resp := decodePKIResponse(t, c.der)
		if resp.Controls[0].BodyPartID != 1 || len(resp.CMS) != 0 || len(resp.Other) != 0 {
			t.Errorf("%s: controls/cmsSequence/otherMsgSequence are not as ADCS lays them out", name)
		}
		st := decodeStatus(t, c.der)
		if st.Status != 0 || !slices.Equal(st.BodyList, []int{1}) || st.StatusString != "Issued" {
			t.Errorf("%s: statusInfo = %+v", name, st)
		}
		hash, ctl, add := issuedHash(t, resp)
		if ctl.BodyPartID != 2 || add.DataReference != 0 || !slices.Equal(add.CertReferences, []int{1}) {
			t.Errorf("%s: add-attributes control = bodyPartID %d, %+v", name, ctl.BodyPartID, add)
		}
		if sum := sha1.Sum(c.issued.Raw); string(hash) != string(sum[:]) {
			t.Errorf("%s: issued cert hash = %x, want SHA-1 %x", name, hash, sum)
		}
		sd := decodeSignedData(t, c.der)
		if len(sd.SignerInfos) != 1 {
			t.Fatalf("%s: %d signers", name, len(sd.SignerInfos))
		}
		var types []string
		for rest := sd.SignerInfos[0].SignedAttrs.Bytes; len(rest) > 0; {
			var a tAttribute
			var err error
			if rest, err = asn1.Unmarshal(rest, &a); err != nil {
				t.Fatal(err)
			}
			types = append(types, a.Type.String())
		}
		if !slices.Equal(types, []string{"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"}) {
			t.Errorf("%s: signed attributes = %v, want contentType and messageDigest", name, types)
		}
	}
}

func TestCMCResponseStatuses(t *testing.T) {
	ca, caKey, leaf := fixedCA(t)
	for name, tc := range map[string]struct {
		status   wstepmsg.CMCStatus
		text     string
		ids      []int
		controls int
	}{
		"ok/failed":              {wstepmsg.CMCFailed, "Denied by Policy Module", []int{4}, 1},
		"ok/pending":             {wstepmsg.CMCPending, "Taken Under Submission", []int{1, 2}, 1},
		"ok/success-no-text":     {wstepmsg.CMCSuccess, "", []int{1}, 2},
		"ok/failed-ignores-cert": {wstepmsg.CMCFailed, "no", []int{1}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			der, err := wstepmsg.CMCResponse(tc.status, tc.text, tc.ids, leaf, nil, ca, caKey)
			if err != nil {
				t.Fatal(err)
			}
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := p7.Verify(); err != nil {
				t.Errorf("Verify: %v", err)
			}
			st := decodeStatus(t, der)
			if st.Status != int(tc.status) || !slices.Equal(st.BodyList, tc.ids) || st.StatusString != tc.text {
				t.Errorf("statusInfo = %+v, want %v %v %q", st, tc.status, tc.ids, tc.text)
			}
			if n := len(decodePKIResponse(t, der).Controls); n != tc.controls {
				t.Errorf("%d controls, want %d", n, tc.controls)
			}
		})
	}
}

func TestCMCResponseEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := makeCert(t, "ed25519 CA", 3, pub, nil, priv, true)
	der, err := wstepmsg.CMCResponse(wstepmsg.CMCFailed, "no", []int{1}, nil, nil, signer, priv)
	if err != nil {
		t.Fatal(err)
	}
	si := decodeSignedData(t, der).SignerInfos[0]
	signed := append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	if !ed25519.Verify(pub, signed, si.Signature) {
		t.Error("Ed25519 signature does not verify")
	}
}

func TestCMCResponseRejects(t *testing.T) {
	ca, caKey, leaf := fixedCA(t)
	other := newKey(t)
	for name, f := range map[string]func() ([]byte, error){
		"fail/no-body-part": func() ([]byte, error) {
			return wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "", nil, leaf, nil, ca, caKey)
		},
		"fail/negative-body-part": func() ([]byte, error) {
			return wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "", []int{-1}, leaf, nil, ca, caKey)
		},
		"fail/unknown-status": func() ([]byte, error) {
			return wstepmsg.CMCResponse(wstepmsg.CMCStatus(1), "", []int{1}, leaf, nil, ca, caKey)
		},
		"fail/key-does-not-match-cert": func() ([]byte, error) {
			return wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "", []int{1}, leaf, nil, ca, other)
		},
		"fail/no-signer": func() ([]byte, error) {
			return wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "", []int{1}, leaf, nil, nil, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f(); err == nil {
				t.Error("CMCResponse succeeded")
			}
		})
	}
}

// The SignerInfo names the signing certificate by issuer and serial.
func TestCMCResponseSignerIdentifier(t *testing.T) {
	ca, caKey, leaf := fixedCA(t)
	der, err := wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "Issued", []int{1}, leaf, nil, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	var ias struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	unmarshal(t, decodeSignedData(t, der).SignerInfos[0].SID.FullBytes, &ias)
	if string(ias.Issuer.FullBytes) != string(ca.RawIssuer) || ias.Serial.Cmp(ca.SerialNumber) != 0 {
		t.Errorf("SID does not name the signing certificate")
	}
}
