// Package ocspwire encodes and decodes the OCSP messages of ca-core's
// responder: it parses OCSPRequest and writes OCSPResponse.
//
// It owns the DER syntax of both messages, the CertID that ties them to a
// certificate, the check that a CertID names a given issuer, the
// ResponderID, the signature algorithm identifiers of signed responses and
// the nonce rules. It does not look up certificate status, speak HTTP
// (GET with base64 in the path, POST, caching headers), choose or load
// responder keys, or decide validity periods: the responder passes statuses,
// times, a crypto.Signer and certificates in, and gets bytes back. It holds
// no state; every function is safe for concurrent use.
//
// Implemented specifications:
//
//   - RFC 6960 §4.1 (request syntax): OCSPRequest, TBSRequest, Request and
//     CertID, with any number of CertIDs up to MaxRequestCertIDs, signed and
//     unsigned requests, and requestorName. The optionalSignature of a signed
//     request is checked for syntax only, never verified (RFC 5019 §2.1.2:
//     responders MAY ignore it); Request.Signed reports that it was there.
//   - RFC 6960 §4.2 (response syntax): OCSPResponse with every
//     OCSPResponseStatus (§4.2.1), ResponseBytes of type id-pkix-ocsp-basic,
//     BasicOCSPResponse, ResponseData with the ResponderID byKey (the SHA-1
//     hash of the responder's subjectPublicKey BIT STRING value, §4.2.1 and
//     §4.2.2.3), one SingleResponse per CertID with good, revoked (with an
//     optional CRLReason, RFC 5280 §5.3.1) and unknown statuses, and the
//     certs field. Times are GeneralizedTime in UTC without fractional
//     seconds, as RFC 5280 §4.1.2.5.2 writes them.
//   - RFC 6960 §4.4 extensions: unrecognized extensions are ignored unless
//     they are critical; a request with an unrecognized critical extension,
//     in requestExtensions or in any singleRequestExtensions, is malformed.
//   - RFC 8954 (which replaces RFC 6960 §4.4.1, the nonce): the nonce is
//     1 to MaxNonceLen (32) octets; a request with an empty or longer nonce is
//     malformed (the responder answers malformedRequest, as RFC 8954 §2.1
//     requires). We deviate from the current standard here: RFC 9654
//     (August 2024) obsoletes RFC 8954 and allows up to 128 octets; raising
//     MaxNonceLen is all it takes to follow it.
//   - RFC 5019, the lightweight profile (obsoleted in February 2026 by RFC
//     9919, which allows SHA-256 CertIDs), needs nothing special here: its
//     requests (one CertID, unsigned, at most a nonce extension) are a
//     subset of what ParseRequest accepts, and a response with one
//     SingleResponse and no nonce is a profile response that can be
//     produced ahead of time and cached. Whether to answer a request that
//     carries a nonce with such a cached response (RFC 5019 allows
//     it) is the responder's choice.
//
// # Nonce encoding
//
// RFC 2560 said only that "the extnValue is the value of the nonce". RFC
// 8954 fixed the syntax as Nonce ::= OCTET STRING, so extnValue (itself an
// OCTET STRING) holds the DER of a second OCTET STRING around the nonce
// octets; this is what OpenSSL sends (extnValue 04 10 followed by 16
// random octets) and what "openssl ocsp -req_text" prints. Clients written
// to the older, looser wording may put the bare nonce octets in extnValue
// instead. ParseRequest accepts both: Request.Nonce is the content of
// extnValue exactly as received, and the length rule applies to the inner
// OCTET STRING when extnValue is exactly one DER OCTET STRING, to the bare
// octets otherwise (a bare nonce that happens to look like an OCTET STRING
// is judged by its inner length). CreateResponse writes Response.Nonce back
// as the content of extnValue unchanged, so every client gets its own bytes
// back whichever form it used.
//
// # Strictness
//
// ParseRequest reads DER with cryptobyte: definite minimal lengths,
// single-octet tags, minimal INTEGERs, primitive OCTET STRINGs, and no
// bytes after the OCSPRequest. Like crypto/x509, it tolerates two DEFAULT
// values that DER says to omit: an explicit version v1 and an explicit
// critical FALSE. Every failure is a *MalformedError, which the responder
// answers with ErrorResponse(MalformedRequest).
package ocspwire
