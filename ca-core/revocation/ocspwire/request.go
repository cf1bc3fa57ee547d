package ocspwire

import (
	"bytes"
	encasn1 "encoding/asn1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Limits on the requests ParseRequest accepts.
const (
	// MaxRequestSize is the largest DER request, in bytes. A request with
	// MaxRequestCertIDs SHA-512 CertIDs and 20-octet serials is under 10 KiB
	// even when signed with a certificate chain.
	MaxRequestSize = 64 << 10
	// MaxRequestCertIDs is the largest number of CertIDs in one request.
	MaxRequestCertIDs = 50
	// MaxNonceLen is the longest nonce, in octets (RFC 8954 §2.1).
	MaxNonceLen = 32
)

// Tags of the [n] EXPLICIT fields: context-specific, constructed.
const (
	tagExplicit0 asn1.Tag = 0xa0
	tagExplicit1 asn1.Tag = 0xa1
	tagExplicit2 asn1.Tag = 0xa2
)

// Request is a parsed OCSPRequest (RFC 6960 §4.1.1):
//
//	OCSPRequest ::= SEQUENCE {
//	    tbsRequest              TBSRequest,
//	    optionalSignature   [0] EXPLICIT Signature OPTIONAL }
//
//	TBSRequest ::= SEQUENCE {
//	    version             [0] EXPLICIT Version DEFAULT v1,
//	    requestorName       [1] EXPLICIT GeneralName OPTIONAL,
//	    requestList             SEQUENCE OF Request,
//	    requestExtensions   [2] EXPLICIT Extensions OPTIONAL }
//
//	Request ::= SEQUENCE {
//	    reqCert                     CertID,
//	    singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
//
// Its byte slices alias Raw, a copy of the input that ParseRequest owns.
type Request struct {
	// IDs are the reqCert of every Request in requestList, in order: at
	// least one, at most MaxRequestCertIDs. Each Raw is the CertID's DER
	// as received, ready to be echoed in the response.
	IDs []CertID
	// Nonce is the content of the extnValue OCTET STRING of the
	// id-pkix-ocsp-nonce request extension, exactly as received, or nil
	// when there is none. For RFC 8954 clients, OpenSSL among them, it is
	// itself a DER OCTET STRING (04 len nonce); for some old clients it is
	// the bare nonce. Either way it is what Response.Nonce must be set to
	// for the echo (see the package documentation).
	Nonce []byte
	// Signed reports that the request carried optionalSignature. The
	// signature is checked for syntax only; it is not verified.
	Signed bool
	// Raw is the whole DER OCSPRequest.
	Raw []byte
}

// ParseRequest parses a DER OCSPRequest. Every error it returns is a
// *MalformedError, to be answered with ErrorResponse(MalformedRequest). It
// refuses input larger than MaxRequestSize, anything that is not DER or
// not the RFC 6960 syntax, bytes after the OCSPRequest, a version other
// than v1, an empty requestList or one longer than MaxRequestCertIDs,
// CertIDs with another hash algorithm than SHA-1/256/384/512 or a negative
// serial number, duplicate extensions, critical extensions other than the
// nonce, and nonces of 0 or more than MaxNonceLen octets.
func ParseRequest(der []byte) (*Request, error) {
	req, err := parseRequest(der)
	if err != nil {
		return nil, err
	}
	return req, nil
}

func parseRequest(der []byte) (*Request, *MalformedError) {
	if len(der) > MaxRequestSize {
		return nil, malformed(MalformedTooLarge, "%d bytes (at most %d)", len(der), MaxRequestSize)
	}
	if len(der) == 0 {
		return nil, malformed(MalformedSyntax, "empty request")
	}
	req := &Request{Raw: bytes.Clone(der)}
	in := cryptobyte.String(req.Raw)
	var outer, tbs, sig cryptobyte.String
	if !in.ReadASN1(&outer, asn1.SEQUENCE) {
		return nil, malformed(MalformedSyntax, "OCSPRequest is not a DER SEQUENCE")
	}
	if !in.Empty() {
		return nil, malformed(MalformedSyntax, "%d bytes after the OCSPRequest", len(in))
	}
	if !outer.ReadASN1(&tbs, asn1.SEQUENCE) {
		return nil, malformed(MalformedSyntax, "tbsRequest is not a SEQUENCE")
	}
	if !outer.ReadOptionalASN1(&sig, &req.Signed, tagExplicit0) || !outer.Empty() {
		return nil, malformed(MalformedSyntax, "unexpected data after tbsRequest")
	}
	if err := req.parseTBS(tbs); err != nil {
		return nil, err
	}
	if req.Signed {
		if err := checkSignature(sig); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (req *Request) parseTBS(tbs cryptobyte.String) *MalformedError {
	var version, name, list, exts cryptobyte.String
	var hasVersion, hasName, hasExts bool
	if !tbs.ReadOptionalASN1(&version, &hasVersion, tagExplicit0) {
		return malformed(MalformedSyntax, "tbsRequest.version is not DER")
	}
	if hasVersion {
		// An explicit v1 is a DEFAULT value DER omits; tolerated, as
		// crypto/x509 tolerates it in certificates.
		var v big.Int
		if !version.ReadASN1Integer(&v) || !version.Empty() {
			return malformed(MalformedSyntax, "tbsRequest.version is not an INTEGER")
		}
		if v.Sign() != 0 {
			return malformed(MalformedVersion, "tbsRequest.version %s (only v1, 0, is defined)", v.String())
		}
	}
	if !tbs.ReadOptionalASN1(&name, &hasName, tagExplicit1) {
		return malformed(MalformedSyntax, "tbsRequest.requestorName is not DER")
	}
	if hasName {
		var gn cryptobyte.String
		var tag asn1.Tag
		if !name.ReadAnyASN1Element(&gn, &tag) || !name.Empty() || !isGeneralNameTag(tag) {
			return malformed(MalformedSyntax, "tbsRequest.requestorName is not a GeneralName")
		}
	}
	if !tbs.ReadASN1(&list, asn1.SEQUENCE) {
		return malformed(MalformedSyntax, "tbsRequest.requestList is not a SEQUENCE")
	}
	for i := 0; !list.Empty(); i++ {
		if i == MaxRequestCertIDs {
			return malformed(MalformedTooManyCertIDs, "more than %d CertIDs in requestList", MaxRequestCertIDs)
		}
		var single, certID, singleExts cryptobyte.String
		var hasSingleExts bool
		if !list.ReadASN1(&single, asn1.SEQUENCE) || !single.ReadASN1Element(&certID, asn1.SEQUENCE) ||
			!single.ReadOptionalASN1(&singleExts, &hasSingleExts, tagExplicit0) || !single.Empty() {
			return malformed(MalformedSyntax, "requestList[%d] is not a Request", i)
		}
		id, err := parseCertID(certID, "requestList[%d].reqCert", i)
		if err != nil {
			return err
		}
		if hasSingleExts {
			if _, err := parseExtensions(singleExts, fmt.Sprintf("requestList[%d].singleRequestExtensions", i), false); err != nil {
				return err
			}
		}
		req.IDs = append(req.IDs, id)
	}
	if len(req.IDs) == 0 {
		return malformed(MalformedNoCertIDs, "requestList is empty")
	}
	if !tbs.ReadOptionalASN1(&exts, &hasExts, tagExplicit2) {
		return malformed(MalformedSyntax, "tbsRequest.requestExtensions is not DER")
	}
	if hasExts {
		nonce, err := parseExtensions(exts, "requestExtensions", true)
		if err != nil {
			return err
		}
		req.Nonce = nonce
	}
	if !tbs.Empty() {
		return malformed(MalformedSyntax, "unexpected data in tbsRequest")
	}
	return nil
}

// isGeneralNameTag reports whether tag is one of the nine GeneralName
// alternatives, [0] to [8] (RFC 5280 §4.2.1.6).
func isGeneralNameTag(tag asn1.Tag) bool {
	const classMask, numberMask = 0xc0, 0x1f
	return tag&classMask == 0x80 && tag&numberMask <= 8
}

// parseExtensions parses the contents of an [n] EXPLICIT Extensions field
// (RFC 5280 §4.1):
//
//	Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
//	Extension  ::= SEQUENCE {
//	    extnID      OBJECT IDENTIFIER,
//	    critical    BOOLEAN DEFAULT FALSE,
//	    extnValue   OCTET STRING }
//
// It returns the nonce when requestLevel is set (the nonce is a
// requestExtension; RFC 6960 §4.4.1), and refuses duplicates and critical
// extensions it does not know.
func parseExtensions(body cryptobyte.String, where string, requestLevel bool) ([]byte, *MalformedError) {
	var seq cryptobyte.String
	if !body.ReadASN1(&seq, asn1.SEQUENCE) || !body.Empty() {
		return nil, malformed(MalformedSyntax, "%s is not a SEQUENCE OF Extension", where)
	}
	if seq.Empty() {
		return nil, malformed(MalformedSyntax, "%s is empty (SIZE (1..MAX))", where)
	}
	var nonce []byte
	seen := make(map[string]bool)
	for !seq.Empty() {
		var ext, oid, value cryptobyte.String
		var critical bool
		if !seq.ReadASN1(&ext, asn1.SEQUENCE) ||
			!ext.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || !validOID(oid) ||
			// An explicit critical FALSE is a DEFAULT value DER omits;
			// tolerated, as crypto/x509 tolerates it.
			ext.PeekASN1Tag(asn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.ReadASN1(&value, asn1.OCTET_STRING) || !ext.Empty() {
			return nil, malformed(MalformedSyntax, "%s: invalid Extension", where)
		}
		if seen[string(oid)] {
			return nil, malformed(MalformedSyntax, "%s: duplicate extension %s", where, oidString(oid))
		}
		seen[string(oid)] = true
		switch {
		case requestLevel && string(oid) == oidOCSPNonce:
			if err := checkNonce(value); err != nil {
				return nil, err
			}
			nonce = value
		case critical:
			return nil, malformed(MalformedCriticalExtension, "%s: critical extension %s", where, oidString(oid))
		}
	}
	return nonce, nil
}

// checkNonce applies the RFC 8954 length rule to the content of a nonce
// extnValue: to the inner OCTET STRING when the value is exactly one DER
// OCTET STRING (RFC 8954 syntax), to the bare value otherwise (RFC 2560
// clients).
func checkNonce(value []byte) *MalformedError {
	nonce := value
	in := cryptobyte.String(value)
	var inner cryptobyte.String
	if in.ReadASN1(&inner, asn1.OCTET_STRING) && in.Empty() {
		nonce = inner
	}
	if len(nonce) == 0 || len(nonce) > MaxNonceLen {
		return malformed(MalformedNonce, "nonce of %d octets (want 1 to %d)", len(nonce), MaxNonceLen)
	}
	return nil
}

// checkSignature checks the syntax of the contents of optionalSignature
// (RFC 6960 §4.1.1); the signature itself is not verified:
//
//	Signature ::= SEQUENCE {
//	    signatureAlgorithm      AlgorithmIdentifier,
//	    signature               BIT STRING,
//	    certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
func checkSignature(body cryptobyte.String) *MalformedError {
	var sig, algID, oid, certs, list cryptobyte.String
	var bits encasn1.BitString
	var hasCerts bool
	if !body.ReadASN1(&sig, asn1.SEQUENCE) || !body.Empty() ||
		!sig.ReadASN1(&algID, asn1.SEQUENCE) ||
		!algID.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || !validOID(oid) ||
		!sig.ReadASN1BitString(&bits) ||
		!sig.ReadOptionalASN1(&certs, &hasCerts, tagExplicit0) || !sig.Empty() {
		return malformed(MalformedSyntax, "optionalSignature is not a Signature")
	}
	if !algID.Empty() {
		var params cryptobyte.String
		var tag asn1.Tag
		if !algID.ReadAnyASN1Element(&params, &tag) || !algID.Empty() {
			return malformed(MalformedSyntax, "optionalSignature.signatureAlgorithm has invalid parameters")
		}
	}
	if hasCerts {
		if !certs.ReadASN1(&list, asn1.SEQUENCE) || !certs.Empty() {
			return malformed(MalformedSyntax, "optionalSignature.certs is not a SEQUENCE OF Certificate")
		}
		for !list.Empty() {
			if !list.SkipASN1(asn1.SEQUENCE) {
				return malformed(MalformedSyntax, "optionalSignature.certs holds a non-Certificate")
			}
		}
	}
	return nil
}
