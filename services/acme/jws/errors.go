package jws

import "fmt"

// ACME error type suffixes (RFC 8555 §6.7) returned in [Error.Type].
const (
	TypeMalformed             = "malformed"
	TypeBadSignatureAlgorithm = "badSignatureAlgorithm"
	TypeBadPublicKey          = "badPublicKey"
	TypeUnauthorized          = "unauthorized"
	TypeBadNonce              = "badNonce"
	TypeAccountDoesNotExist   = "accountDoesNotExist"
)

// errorURNPrefix is the namespace of ACME error types (RFC 8555 §6.7).
const errorURNPrefix = "urn:ietf:params:acme:error:"

// Error is the only error type returned by this package. Type is the suffix
// of the ACME error type (one of the Type* constants) and Detail a
// human-readable explanation suitable for the problem document's "detail".
type Error struct {
	// Type is the ACME error type suffix, e.g. "malformed".
	Type string
	// Detail explains the failure; it never contains key material.
	Detail string
	// Algorithms lists the supported "alg" values when Type is
	// badSignatureAlgorithm; RFC 8555 §6.2 requires the problem document to
	// carry it as "algorithms".
	Algorithms []string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return "acme jws: " + e.Type + ": " + e.Detail
}

// URN returns the full ACME error type, e.g.
// "urn:ietf:params:acme:error:malformed".
func (e *Error) URN() string {
	return errorURNPrefix + e.Type
}

func newError(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *Error {
	return newError(TypeMalformed, format, args...)
}

func badPublicKey(format string, args ...any) *Error {
	return newError(TypeBadPublicKey, format, args...)
}

func unauthorized(format string, args ...any) *Error {
	return newError(TypeUnauthorized, format, args...)
}

func badSignatureAlgorithm(supported []string, format string, args ...any) *Error {
	e := newError(TypeBadSignatureAlgorithm, format, args...)
	e.Algorithms = supported
	return e
}
