package frontend

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// Error is a ca-core failure in certgate's vocabulary.
type Error struct {
	Reason pb.ErrorReason
	// Rule is the policy rule that refused the request, if any.
	Rule string
	// Detail is ca-core's message, safe to show to the client.
	Detail string
	// Field is the request field at fault, for BAD_REQUEST.
	Field string
	// RetryAfter is set for RATE_LIMITED and UNAVAILABLE.
	RetryAfter time.Duration
	// RequestID finds the call in ca-core's log.
	RequestID string
	// Code is the raw gRPC code.
	Code codes.Code
	// Meta is the rest of the ErrorInfo metadata (protocol detail such as
	// ACME subproblems).
	Meta map[string]string
}

func (e *Error) Error() string {
	s := strings.TrimPrefix(e.Reason.String(), "ERROR_REASON_")
	if e.Rule != "" {
		s += " [" + e.Rule + "]"
	}
	return s + ": " + e.Detail
}

// Decode turns an RPC error into an *Error. Errors without certgate
// details (transport failures, an older or foreign server) are classified
// from their gRPC code, so a front-end always gets a reason to map;
// Unimplemented becomes UNAVAILABLE, as during a rolling upgrade.
func Decode(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Reason: pb.ErrorReason_ERROR_REASON_UNAVAILABLE, Detail: err.Error(), Code: codes.Unknown}
	}
	e := &Error{Detail: st.Message(), Code: st.Code(), Reason: reasonFromCode(st.Code())}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if v, ok := pb.ErrorReason_value["ERROR_REASON_"+d.GetReason()]; ok {
				e.Reason = pb.ErrorReason(v)
			}
			e.Rule = d.GetMetadata()["rule"]
			e.RequestID = d.GetMetadata()["request_id"]
			e.Meta = d.GetMetadata()
		case *errdetails.RetryInfo:
			e.RetryAfter = d.GetRetryDelay().AsDuration()
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 {
				e.Field = v[0].GetField()
			}
		}
	}
	return e
}

func reasonFromCode(c codes.Code) pb.ErrorReason {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return pb.ErrorReason_ERROR_REASON_BAD_REQUEST
	case codes.NotFound:
		return pb.ErrorReason_ERROR_REASON_NOT_FOUND
	case codes.AlreadyExists:
		return pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS
	case codes.FailedPrecondition, codes.Aborted:
		return pb.ErrorReason_ERROR_REASON_CONFLICT
	case codes.Unauthenticated:
		return pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED
	case codes.PermissionDenied:
		return pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED
	case codes.ResourceExhausted:
		return pb.ErrorReason_ERROR_REASON_RATE_LIMITED
	case codes.Unavailable, codes.Unimplemented, codes.DeadlineExceeded, codes.Canceled:
		return pb.ErrorReason_ERROR_REASON_UNAVAILABLE
	}
	return pb.ErrorReason_ERROR_REASON_INTERNAL
}

// Describe is a one-line text for CLIs and logs.
func Describe(err error) string {
	e := Decode(err)
	s := e.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry in %s)", e.RetryAfter.Round(time.Millisecond))
	}
	if e.RequestID != "" && e.Reason == pb.ErrorReason_ERROR_REASON_INTERNAL {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// ReasonOf is Decode(err).Reason, and UNSPECIFIED for a nil error.
func ReasonOf(err error) pb.ErrorReason {
	if err == nil {
		return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	return Decode(err).Reason
}
