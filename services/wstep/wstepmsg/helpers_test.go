package wstepmsg_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smallstep/pkcs7"
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidPKIData       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 12, 2}
	oidPKIResponse   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 12, 3}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidNoSignature   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 6, 2}
	oidRegInfo       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 7, 18}
	oidNameValuePair = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 13, 2, 1}
	oidTemplateName  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}
	oidTemplateInfo  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 7}
)

const (
	valueTypePKCS7  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#PKCS7"
	valueTypePKCS10 = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fill puts a token (and a ValueType) into a testdata request template.
func fill(t testing.TB, name string, token []byte, valueType string) []byte {
	t.Helper()
	s := string(readFile(t, name))
	s = strings.ReplaceAll(s, "{{TOKEN}}", base64.StdEncoding.EncodeToString(token))
	s = strings.ReplaceAll(s, "{{VALUETYPE}}", valueType)
	return []byte(s)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// bmpString encodes s as an ASN.1 BMPString, which encoding/asn1 cannot
// marshal.
func bmpString(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	out, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: 30, Bytes: b})
	return out
}

// templateExtensions are the Windows template extensions: name (BMPString)
// and template OID with versions.
func templateExtensions(t testing.TB, name string, oid asn1.ObjectIdentifier, major, minor int) []pkix.Extension {
	t.Helper()
	var exts []pkix.Extension
	if name != "" {
		exts = append(exts, pkix.Extension{Id: oidTemplateName, Value: bmpString(name)})
	}
	if oid != nil {
		v, err := asn1.Marshal(struct {
			ID           asn1.ObjectIdentifier
			Major, Minor int
		}{oid, major, minor})
		if err != nil {
			t.Fatal(err)
		}
		exts = append(exts, pkix.Extension{Id: oidTemplateInfo, Value: v})
	}
	return exts
}

func makeCSR(t testing.TB, key crypto.Signer, cn string, exts ...pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: cn},
		DNSNames:        []string{cn},
		ExtraExtensions: exts,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// makeCert issues a certificate for pub; parent nil makes it self-signed
// with signer.
func makeCert(t testing.TB, cn string, serial int64, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pki is a throwaway CA with an "old" certificate to renew.
type pki struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	old    *x509.Certificate
	oldKey *ecdsa.PrivateKey
}

func newPKI(t testing.TB) pki {
	t.Helper()
	caKey, oldKey := newKey(t), newKey(t)
	ca := makeCert(t, "test CA", 1, caKey.Public(), nil, caKey, true)
	old := makeCert(t, "client.example.test", 0x77, oldKey.Public(), ca, caKey, false)
	return pki{ca: ca, caKey: caKey, old: old, oldKey: oldKey}
}

// renewalPKCS7 is what Windows sends to renew with the old certificate: a
// SignedData over the PKCS#10, made here with an independent CMS library.
func renewalPKCS7(t testing.TB, csr []byte, signer *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(csr)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(signer, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// control is a CMC TaggedAttribute.
type control struct {
	BodyPartID int
	AttrType   asn1.ObjectIdentifier
	AttrValues []asn1.RawValue `asn1:"set"`
}

// pkiData builds a minimal RFC 5272 PKIData: the controls, one
// TaggedRequest tcr [0] {bodyPartID, PKCS#10} per CSR, and empty
// cmsSequence and otherMsgSequence.
func pkiData(t testing.TB, bodyPartID int, controls []control, csrs ...[]byte) []byte {
	t.Helper()
	var reqs []asn1.RawValue
	for _, csr := range csrs {
		id, _ := asn1.Marshal(bodyPartID)
		reqs = append(reqs, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(id, csr...)})
	}
	if controls == nil {
		controls = []control{}
	}
	der, err := asn1.Marshal(struct {
		Controls []control
		Requests []asn1.RawValue
		CMS      []asn1.RawValue
		Other    []asn1.RawValue
	}{controls, append([]asn1.RawValue{}, reqs...), []asn1.RawValue{}, []asn1.RawValue{}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// regInfo is an id-cmc-regInfo control.
func regInfo(bodyPartID int, s string) control {
	v, _ := asn1.Marshal([]byte(s))
	return control{BodyPartID: bodyPartID, AttrType: oidRegInfo, AttrValues: []asn1.RawValue{{FullBytes: v}}}
}

// nameValuePair is a szOID_ENROLLMENT_NAME_VALUE_PAIR control.
func nameValuePair(bodyPartID int, name, value string) control {
	n, v := bmpString(name), bmpString(value)
	seq, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(n, v...)})
	return control{BodyPartID: bodyPartID, AttrType: oidNameValuePair, AttrValues: []asn1.RawValue{{FullBytes: seq}}}
}

// cmsSigner is one SignerInfo for signCMS. With cert nil the signer is
// named by ski (subjectKeyIdentifier form); noSignature writes the
// id-alg-noSignature mechanism instead of a signature.
type cmsSigner struct {
	cert        *x509.Certificate
	ski         []byte
	key         *ecdsa.PrivateKey
	noSignature bool
}

// signCMS is an independent, test-only CMS SignedData encoder (ECDSA
// P-256, SHA-256, signed attributes contentType and messageDigest),
// enough to make the CMC requests Windows sends.
func signCMS(t testing.TB, contentType asn1.ObjectIdentifier, content []byte, certs []*x509.Certificate, signers ...cmsSigner) []byte {
	t.Helper()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type attr struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	digest := sha256.Sum256(content)
	ct := must(asn1.Marshal(attr{oidContentType, []asn1.RawValue{{FullBytes: must(asn1.Marshal(contentType))}}}))
	md := must(asn1.Marshal(attr{oidMessageDigest, []asn1.RawValue{{FullBytes: must(asn1.Marshal(digest[:]))}}}))
	set := append(append([]byte{}, ct...), md...) // contentType sorts first
	signedSet := must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: set}))
	attrsH := sha256.Sum256(signedSet)

	var infos [][]byte
	for _, s := range signers {
		var sid []byte
		if s.cert != nil {
			sid = must(asn1.Marshal(struct {
				Issuer asn1.RawValue
				Serial *big.Int
			}{asn1.RawValue{FullBytes: s.cert.RawIssuer}, s.cert.SerialNumber}))
		} else {
			sid = must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: s.ski}))
		}
		sigAlg := pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}
		var sig []byte
		if s.noSignature {
			sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidNoSignature, Parameters: asn1.NullRawValue}
			sig = attrsH[:]
		} else {
			sig = must(s.key.Sign(rand.Reader, attrsH[:], crypto.SHA256))
		}
		version := 1
		if s.cert == nil {
			version = 3
		}
		infos = append(infos, must(asn1.Marshal(struct {
			Version     int
			SID         asn1.RawValue
			Digest      pkix.AlgorithmIdentifier
			SignedAttrs asn1.RawValue
			SigAlg      pkix.AlgorithmIdentifier
			Signature   []byte
		}{version, asn1.RawValue{FullBytes: sid}, pkix.AlgorithmIdentifier{Algorithm: oidSHA256},
			asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set}, sigAlg, sig})))
	}
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	octets := must(asn1.Marshal(content))
	encap := must(asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{contentType, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets}}))
	body := [][]byte{
		must(asn1.Marshal(3)),
		must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true,
			Bytes: must(asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidSHA256}))})),
		encap,
	}
	if len(raw) > 0 {
		body = append(body, must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw})))
	}
	body = append(body, must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(infos, nil)})))
	sd := must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(body, nil)}))
	return must(asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{oidSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}}))
}

// fixedCA is the RSA CA in testdata, whose PKCS#1 v1.5 signatures make
// golden files reproducible.
func fixedCA(t testing.TB) (*x509.Certificate, crypto.Signer, *x509.Certificate) {
	t.Helper()
	block, _ := pem.Decode(readFile(t, "ca.pem"))
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(readFile(t, "ca-key.pem"))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(readFile(t, "leaf.pem"))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key.(crypto.Signer), leaf
}
