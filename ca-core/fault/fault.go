// Package fault is ca-core's one error type. Domain packages (issuance,
// policy, store, ...) return *Error values that say why a request failed in
// protocol-neutral terms: a Reason from the contract's ErrorReason
// vocabulary, the policy Rule that refused it, a Detail safe to show the
// client, and a retry delay for rate limits. The gRPC layer turns them into
// status codes with standard details in one interceptor; front-ends turn
// those into ACME problems, SCEP failInfo, EST statuses and SOAP faults.
//
// Anything that is not an *Error (a driver error, a bug) is INTERNAL: its
// text goes to the log, never to the client. Context wrapped around an
// *Error with fmt.Errorf("...: %w") is kept for the log and ignored on the
// wire.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Reason classifies a failure. The values mirror certgate.v1.ErrorReason.
type Reason int

// Reasons, in the contract's order.
const (
	Internal Reason = iota
	BadRequest
	BadCSR
	PolicyRejected
	NotFound
	AlreadyExists
	Conflict
	Unauthenticated
	PermissionDenied
	QuotaExceeded
	RateLimited
	Unavailable
)

// Reasons lists every Reason; mapping tests loop over it so that a new
// reason without a mapping fails CI.
var Reasons = []Reason{Internal, BadRequest, BadCSR, PolicyRejected, NotFound, AlreadyExists,
	Conflict, Unauthenticated, PermissionDenied, QuotaExceeded, RateLimited, Unavailable}

var reasonNames = [...]string{
	Internal:         "INTERNAL",
	BadRequest:       "BAD_REQUEST",
	BadCSR:           "BAD_CSR",
	PolicyRejected:   "POLICY_REJECTED",
	NotFound:         "NOT_FOUND",
	AlreadyExists:    "ALREADY_EXISTS",
	Conflict:         "CONFLICT",
	Unauthenticated:  "UNAUTHENTICATED",
	PermissionDenied: "PERMISSION_DENIED",
	QuotaExceeded:    "QUOTA_EXCEEDED",
	RateLimited:      "RATE_LIMITED",
	Unavailable:      "UNAVAILABLE",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Error is a failure that may be shown to the caller.
type Error struct {
	Reason Reason
	// Rule names the policy rule or check that failed, dotted, e.g.
	// "profile.san.types" or "quota.active_certificates". Optional.
	Rule string
	// Detail is a sentence for the client saying what to fix.
	Detail string
	// Field names the request field at fault, for BadRequest. Optional.
	Field string
	// RetryAfter is set for RateLimited and Unavailable.
	RetryAfter time.Duration
	// Meta carries protocol detail a front-end needs to build its error
	// (e.g. ACME subproblems as JSON under "subproblems"). Optional.
	Meta map[string]string
}

func (e *Error) Error() string {
	s := e.Reason.String()
	if e.Rule != "" {
		s += " [" + e.Rule + "]"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, fault.New(reason, "")) match on the reason.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Reason == e.Reason && (t.Rule == "" || t.Rule == e.Rule)
}

// New returns an error with a reason and a formatted detail.
func New(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Policy returns a PolicyRejected error for the named rule.
func Policy(rule, format string, args ...any) *Error {
	return &Error{Reason: PolicyRejected, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Field returns a BadRequest error about one request field.
func Field(field, format string, args ...any) *Error {
	return &Error{Reason: BadRequest, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Reason: NotFound, Detail: fmt.Sprintf(format, args...)}
}

// Conflictf returns a Conflict error for the named rule.
func Conflictf(rule, format string, args ...any) *Error {
	return &Error{Reason: Conflict, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// WithRule returns a copy of e carrying rule.
func (e *Error) WithRule(rule string) *Error {
	c := *e
	c.Rule = rule
	return &c
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ReasonOf returns the reason of err: Internal unless err carries an *Error.
func ReasonOf(err error) Reason {
	if e := As(err); e != nil {
		return e.Reason
	}
	return Internal
}
