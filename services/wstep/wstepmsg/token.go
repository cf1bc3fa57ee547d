package wstepmsg

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math"
	"math/big"
	"strings"

	_ "crypto/sha1"   // SignerInfo digests
	_ "crypto/sha256" // SignerInfo digests
	_ "crypto/sha512" // SignerInfo digests
)

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidPKIData           = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 12, 2}
	oidPKIResponse       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 12, 3}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	// id-alg-noSignature, the "No-Signature Signature Mechanism" of RFC 2797
	// §3.3.3.1 that [MS-WCCE] §3.1.1.4.3.1.3 allows in a CMC SignerInfo.
	oidNoSignature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 6, 2}
	// id-cmc-regInfo: "name=value&…" pairs (RFC 5272 §6.11, [MS-WCCE]
	// §2.2.2.6.3).
	oidRegInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 7, 18}
	// szOID_ENROLLMENT_NAME_VALUE_PAIR ([MS-WCCE] §2.2.2.7.10).
	oidNameValuePair = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 13, 2, 1}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// contentInfo is RFC 5652 §3 ContentInfo. Content is the whole [0]
// EXPLICIT wrapper: encoding/asn1 does not unwrap or add it for a
// RawValue.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0"`
}

// signedData is RFC 5652 §5.1 SignedData, read as raw parts.
type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapsulatedContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

// encapsulatedContentInfo is RFC 5652 §5.2; EContent is the [0] wrapper
// around the OCTET STRING.
type encapsulatedContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,tag:0"`
}

// signerInfo is RFC 5652 §5.3 SignerInfo. SID is either an
// IssuerAndSerialNumber SEQUENCE or [0] IMPLICIT SubjectKeyIdentifier.
type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// attribute is an X.501 Attribute; Values is the raw SET OF.
type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

// taggedAttribute is an RFC 5272 §3.2.1.2 TaggedAttribute.
type taggedAttribute struct {
	BodyPartID int64
	AttrType   asn1.ObjectIdentifier
	AttrValues []asn1.RawValue `asn1:"set"`
}

// pkiData is RFC 5272 §3.2.1 PKIData, with the requests kept raw to read
// the TaggedRequest CHOICE by hand.
type pkiData struct {
	Controls []taggedAttribute
	Requests []asn1.RawValue
	CMS      []asn1.RawValue
	Other    []asn1.RawValue
}

// nameValue is one enrollment attribute from a name-value pair or RegInfo.
type nameValue struct{ name, value string }

// decodedToken is what a BinarySecurityToken's DER says.
type decodedToken struct {
	kind       TokenKind
	csr        *x509.CertificateRequest
	signer     *x509.Certificate
	bodyPartID int
	pairs      []nameValue
}

// decodeToken tells a PKCS#10 from a CMS ContentInfo by the first element
// inside the outer SEQUENCE (an OID only in ContentInfo) and decodes it.
func decodeToken(der []byte) (*decodedToken, *RequestError) {
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(der, &outer)
	switch {
	case err != nil:
		return nil, invalid("BinarySecurityToken is not DER", err)
	case len(rest) > 0:
		return nil, invalid("BinarySecurityToken has trailing data", nil)
	case outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence || !outer.IsCompound:
		return nil, invalid("BinarySecurityToken is not a DER SEQUENCE", nil)
	}
	var first asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &first); err != nil {
		return nil, invalid("BinarySecurityToken is not DER", err)
	}
	if first.Class == asn1.ClassUniversal && first.Tag == asn1.TagOID {
		return decodeSignedToken(der)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, invalid("BinarySecurityToken is neither a PKCS#10 request nor a CMS message", err)
	}
	return &decodedToken{kind: PKCS10, csr: csr, bodyPartID: 1, pairs: csrPairs(csr)}, nil
}

// decodeSignedToken reads a SignedData over a PKCS#10 (PKCS7) or over
// PKIData (CMC) and verifies every SignerInfo.
func decodeSignedToken(der []byte) (*decodedToken, *RequestError) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 {
		return nil, invalid("malformed CMS ContentInfo", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, invalid(fmt.Sprintf("CMS content type %s is not SignedData", clip(ci.ContentType.String())), nil)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		return nil, invalid("malformed CMS SignedData", err)
	}
	ec := sd.EncapContentInfo
	if len(ec.EContent.FullBytes) == 0 {
		return nil, invalid("CMS SignedData has no content (detached signature)", nil)
	}
	var octets asn1.RawValue
	if rest, err := asn1.Unmarshal(ec.EContent.Bytes, &octets); err != nil || len(rest) > 0 ||
		octets.Class != asn1.ClassUniversal || octets.Tag != asn1.TagOctetString || octets.IsCompound {
		return nil, invalid("CMS SignedData content is not a DER OCTET STRING", err)
	}
	content := octets.Bytes

	tok := &decodedToken{bodyPartID: 1}
	switch {
	case ec.EContentType.Equal(oidData):
		tok.kind = PKCS7
		csr, err := x509.ParseCertificateRequest(content)
		if err != nil {
			return nil, invalid("CMS SignedData content is not a PKCS#10 request", err)
		}
		tok.csr = csr
		tok.pairs = csrPairs(csr)
	case ec.EContentType.Equal(oidPKIData):
		tok.kind = CMC
		var rerr *RequestError
		if tok.csr, tok.bodyPartID, tok.pairs, rerr = decodePKIData(content); rerr != nil {
			return nil, rerr
		}
		tok.pairs = append(csrPairs(tok.csr), tok.pairs...)
	default:
		return nil, invalid(fmt.Sprintf("CMS SignedData content type %s is neither data nor id-cct-PKIData", clip(ec.EContentType.String())), nil)
	}

	if len(sd.SignerInfos) == 0 {
		return nil, &RequestError{HResult: CryptENoSigner, Reason: "CMS request is not signed"}
	}
	certs, certErr := parseCertificateSet(sd.Certificates.Bytes)
	for i, si := range sd.SignerInfos {
		cert, rerr := verifySignerInfo(si, ec.EContentType, content, certs, certErr, tok.csr)
		if rerr != nil {
			rerr.Reason = fmt.Sprintf("SignerInfo %d: %s", i, rerr.Reason)
			return nil, rerr
		}
		if tok.signer == nil && cert != nil {
			tok.signer = cert
		}
	}
	return tok, nil
}

// decodePKIData returns the only TaggedCertificationRequest of a CMC
// request, its bodyPartID, and the enrollment attributes in its controls.
func decodePKIData(der []byte) (*x509.CertificateRequest, int, []nameValue, *RequestError) {
	var pd pkiData
	if rest, err := asn1.Unmarshal(der, &pd); err != nil || len(rest) > 0 {
		return nil, 0, nil, invalid("malformed CMC PKIData", err)
	}
	if len(pd.Requests) != 1 {
		// [MS-WCCE] §3.2.1.4.2.1.4.1.3: exactly one request.
		return nil, 0, nil, invalid(fmt.Sprintf("CMC request carries %d TaggedRequests, want exactly one", len(pd.Requests)), nil)
	}
	tr := pd.Requests[0]
	if tr.Class != asn1.ClassContextSpecific || tr.Tag != 0 || !tr.IsCompound {
		// [1] is CRMF, [2] another request message.
		return nil, 0, nil, invalid("CMC TaggedRequest is not a PKCS#10 (tcr); CRMF is not supported", nil)
	}
	var id int64
	csrDER, err := asn1.Unmarshal(tr.Bytes, &id)
	if err != nil {
		return nil, 0, nil, invalid("malformed CMC TaggedCertificationRequest", err)
	}
	if id < 0 || id > math.MaxUint32 {
		return nil, 0, nil, invalid(fmt.Sprintf("CMC bodyPartID %d is out of range", id), nil)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, 0, nil, invalid("CMC TaggedCertificationRequest does not hold a PKCS#10 request", err)
	}
	var pairs []nameValue
	for _, c := range pd.Controls {
		switch {
		case c.AttrType.Equal(oidRegInfo):
			for _, v := range c.AttrValues {
				var s []byte
				if _, err := asn1.Unmarshal(v.FullBytes, &s); err == nil {
					pairs = append(pairs, parseRegInfo(string(s))...)
				}
			}
		case c.AttrType.Equal(oidNameValuePair):
			for _, v := range c.AttrValues {
				if p, ok := parseNameValuePair(v.FullBytes); ok {
					pairs = append(pairs, p)
				}
			}
		}
	}
	return csr, int(id), pairs, nil
}

// parseCertificateSet parses the certificates of a CertificateSet, skipping
// the other CertificateChoices and any certificate Go cannot parse; the
// first parse error is returned for a signer that goes missing.
func parseCertificateSet(raw []byte) ([]*x509.Certificate, error) {
	var (
		certs    []*x509.Certificate
		firstErr error
	)
	for len(raw) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(raw, &v)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			break
		}
		raw = rest
		if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagSequence {
			continue
		}
		c, err := x509.ParseCertificate(v.FullBytes)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		certs = append(certs, c)
	}
	return certs, firstErr
}

// verifySignerInfo checks one SignerInfo over content and returns the
// certificate it proves, or nil when it was made with the request key or
// is a no-signature SignerInfo.
func verifySignerInfo(si signerInfo, contentType asn1.ObjectIdentifier, content []byte,
	certs []*x509.Certificate, certErr error, csr *x509.CertificateRequest) (*x509.Certificate, *RequestError) {
	hash, ok := digestHash(si.DigestAlgorithm.Algorithm)
	if !ok {
		return nil, &RequestError{HResult: NTEBadAlgID, Reason: fmt.Sprintf("unsupported digest algorithm %s", clip(si.DigestAlgorithm.Algorithm.String()))}
	}
	signed := content
	if len(si.SignedAttrs.FullBytes) > 0 {
		// RFC 5652 §5.4: with signed attributes, the signature covers
		// their DER as a SET OF, and messageDigest covers the content.
		var digest []byte
		var ct asn1.ObjectIdentifier
		for rest := si.SignedAttrs.Bytes; len(rest) > 0; {
			var a attribute
			var err error
			if rest, err = asn1.Unmarshal(rest, &a); err != nil {
				return nil, invalid("malformed signed attributes", err)
			}
			switch {
			case a.Type.Equal(oidAttrMessageDigest):
				if _, err := asn1.Unmarshal(a.Values.Bytes, &digest); err != nil {
					return nil, invalid("malformed messageDigest attribute", err)
				}
			case a.Type.Equal(oidAttrContentType):
				if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil {
					return nil, invalid("malformed contentType attribute", err)
				}
			}
		}
		if !ct.Equal(contentType) {
			return nil, invalid(fmt.Sprintf("signed contentType %s does not match the content type %s", clip(ct.String()), clip(contentType.String())), nil)
		}
		h := hash.New()
		h.Write(content)
		if !hmac.Equal(digest, h.Sum(nil)) {
			return nil, &RequestError{HResult: NTEBadSignature, Reason: "messageDigest does not match the content"}
		}
		signed = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	}
	if si.SignatureAlgorithm.Algorithm.Equal(oidNoSignature) {
		// [MS-WCCE] §3.1.1.4.3.1.3: a CMC request may use the
		// no-signature mechanism; it proves nothing, so it names no signer.
		return nil, nil
	}
	alg, ok := signatureAlgorithm(si.SignatureAlgorithm.Algorithm, hash)
	if !ok {
		return nil, &RequestError{HResult: NTEBadAlgID, Reason: fmt.Sprintf("unsupported signature algorithm %s with digest %s",
			clip(si.SignatureAlgorithm.Algorithm.String()), si.DigestAlgorithm.Algorithm)}
	}
	cert, bySKI, rerr := findSigner(si.SID, certs)
	if rerr != nil {
		return nil, rerr
	}
	var pub crypto.PublicKey
	switch {
	case cert != nil:
		pub = cert.PublicKey
	case bySKI:
		// [MS-WCCE] §3.1.1.4.3.1.3: a subjectKeyIdentifier SignerInfo
		// without a certificate is signed with the request key.
		pub = csr.PublicKey
	default:
		return nil, invalid("the signer's certificate is not in the SignedData", certErr)
	}
	if err := (&x509.Certificate{PublicKey: pub}).CheckSignature(alg, signed, si.Signature); err != nil {
		return nil, &RequestError{HResult: NTEBadSignature, Reason: "signature does not verify", Err: err}
	}
	if cert == nil || requestKeySelfSigned(cert, csr) {
		return nil, nil
	}
	return cert, nil
}

// findSigner finds the certificate a SignerIdentifier names. bySKI reports
// the subjectKeyIdentifier form, which may name no certificate at all.
func findSigner(sid asn1.RawValue, certs []*x509.Certificate) (cert *x509.Certificate, bySKI bool, rerr *RequestError) {
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if rest, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil || len(rest) > 0 || ias.Serial == nil {
			return nil, false, invalid("malformed issuerAndSerialNumber", err)
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c, false, nil
			}
		}
		return nil, false, nil
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, true, nil
			}
		}
		return nil, true, nil
	}
	return nil, false, invalid("malformed SignerIdentifier", nil)
}

// requestKeySelfSigned reports whether cert is a self-issued certificate
// of the request's own key: a proof of possession, not a credential.
func requestKeySelfSigned(cert *x509.Certificate, csr *x509.CertificateRequest) bool {
	return bytes.Equal(cert.RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) &&
		bytes.Equal(cert.RawIssuer, cert.RawSubject)
}

func digestHash(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// signatureAlgorithm maps a SignerInfo's signatureAlgorithm and digest to
// Go's algorithm. The generic key OIDs (rsaEncryption, id-ecPublicKey)
// take the hash from the digest; the combined OIDs must agree with it.
func signatureAlgorithm(oid asn1.ObjectIdentifier, hash crypto.Hash) (x509.SignatureAlgorithm, bool) {
	byHash := func(algs map[crypto.Hash]x509.SignatureAlgorithm) (x509.SignatureAlgorithm, bool) {
		a, ok := algs[hash]
		return a, ok
	}
	rsa := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA1: x509.SHA1WithRSA, crypto.SHA256: x509.SHA256WithRSA,
		crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA,
	}
	ecdsa := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA1: x509.ECDSAWithSHA1, crypto.SHA256: x509.ECDSAWithSHA256,
		crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512,
	}
	combined := []struct {
		oid  asn1.ObjectIdentifier
		alg  x509.SignatureAlgorithm
		hash crypto.Hash
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, x509.SHA1WithRSA, crypto.SHA1},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, x509.SHA256WithRSA, crypto.SHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, x509.SHA384WithRSA, crypto.SHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, x509.SHA512WithRSA, crypto.SHA512},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, x509.ECDSAWithSHA1, crypto.SHA1},
		{oidECDSASHA256, x509.ECDSAWithSHA256, crypto.SHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, x509.ECDSAWithSHA384, crypto.SHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, x509.ECDSAWithSHA512, crypto.SHA512},
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return byHash(rsa)
	case oid.Equal(oidECPublicKey):
		return byHash(ecdsa)
	case oid.Equal(oidEd25519):
		return x509.PureEd25519, true
	}
	for _, c := range combined {
		if oid.Equal(c.oid) {
			return c.alg, c.hash == hash
		}
	}
	return x509.UnknownSignatureAlgorithm, false
}

// csrPairs returns the szOID_ENROLLMENT_NAME_VALUE_PAIR attributes of a
// PKCS#10 request. Malformed ones are skipped: they are only hints.
func csrPairs(csr *x509.CertificateRequest) []nameValue {
	var tbs struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue `asn1:"optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(csr.RawTBSCertificateRequest, &tbs); err != nil {
		return nil
	}
	var pairs []nameValue
	for rest := tbs.Attributes.Bytes; len(rest) > 0; {
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return pairs
		}
		if !a.Type.Equal(oidNameValuePair) {
			continue
		}
		for vals := a.Values.Bytes; len(vals) > 0; {
			var v asn1.RawValue
			if vals, err = asn1.Unmarshal(vals, &v); err != nil {
				break
			}
			if p, ok := parseNameValuePair(v.FullBytes); ok {
				pairs = append(pairs, p)
			}
		}
	}
	return pairs
}

// parseNameValuePair reads EnrollmentNameValuePair ::= SEQUENCE { name
// BMPString, value BMPString }.
func parseNameValuePair(der []byte) (nameValue, bool) {
	var p struct{ Name, Value string }
	if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) > 0 {
		return nameValue{}, false
	}
	return nameValue{p.Name, p.Value}, true
}

// parseRegInfo splits "Name=Value&Name=Value" ([MS-WCCE] §2.2.2.6.3).
func parseRegInfo(s string) []nameValue {
	var pairs []nameValue
	for item := range strings.SplitSeq(s, "&") {
		name, value, ok := strings.Cut(item, "=")
		if ok && name != "" {
			pairs = append(pairs, nameValue{name, value})
		}
	}
	return pairs
}
