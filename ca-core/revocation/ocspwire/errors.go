package ocspwire

import "fmt"

// MalformedReason says why ParseRequest refused a request. Every reason is
// answered the same way on the wire (malformedRequest); the reason is for
// logs and metrics.
type MalformedReason int

// Reasons for a malformed request.
const (
	// MalformedSyntax: not DER, not the RFC 6960 ASN.1 structure, or
	// bytes after the OCSPRequest.
	MalformedSyntax MalformedReason = iota
	// MalformedTooLarge: more than MaxRequestSize bytes.
	MalformedTooLarge
	// MalformedVersion: a TBSRequest version other than v1.
	MalformedVersion
	// MalformedNoCertIDs: an empty requestList.
	MalformedNoCertIDs
	// MalformedTooManyCertIDs: more than MaxRequestCertIDs CertIDs.
	MalformedTooManyCertIDs
	// MalformedHashAlgorithm: a CertID hash algorithm other than SHA-1,
	// SHA-256, SHA-384 or SHA-512.
	MalformedHashAlgorithm
	// MalformedCertID: a CertID with hashes of the wrong length, hash
	// algorithm parameters other than NULL, or a negative serial number.
	MalformedCertID
	// MalformedCriticalExtension: a critical extension ParseRequest does
	// not understand.
	MalformedCriticalExtension
	// MalformedNonce: a nonce of 0 or more than MaxNonceLen octets.
	MalformedNonce
)

var malformedReasonNames = [...]string{
	MalformedSyntax:            "syntax",
	MalformedTooLarge:          "too large",
	MalformedVersion:           "unsupported version",
	MalformedNoCertIDs:         "no CertID",
	MalformedTooManyCertIDs:    "too many CertIDs",
	MalformedHashAlgorithm:     "unsupported hash algorithm",
	MalformedCertID:            "invalid CertID",
	MalformedCriticalExtension: "unsupported critical extension",
	MalformedNonce:             "invalid nonce",
}

func (r MalformedReason) String() string {
	if r >= 0 && int(r) < len(malformedReasonNames) {
		return malformedReasonNames[r]
	}
	return fmt.Sprintf("MalformedReason(%d)", int(r))
}

// MalformedError is the only error ParseRequest returns. The responder
// answers it with ErrorResponse(MalformedRequest).
type MalformedError struct {
	Reason MalformedReason
	// Detail names the field at fault and what is wrong with it.
	Detail string
}

func (e *MalformedError) Error() string {
	return "ocspwire: malformed request: " + e.Reason.String() + ": " + e.Detail
}

func malformed(r MalformedReason, format string, args ...any) *MalformedError {
	return &MalformedError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
