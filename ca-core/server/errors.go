package server

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/fault"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of certgate errors.
const ErrorDomain = "certgate.dev"

var codeOf = map[fault.Reason]codes.Code{
	fault.Internal:         codes.Internal,
	fault.BadRequest:       codes.InvalidArgument,
	fault.BadCSR:           codes.InvalidArgument,
	fault.PolicyRejected:   codes.InvalidArgument,
	fault.NotFound:         codes.NotFound,
	fault.AlreadyExists:    codes.AlreadyExists,
	fault.Conflict:         codes.FailedPrecondition,
	fault.Unauthenticated:  codes.Unauthenticated,
	fault.PermissionDenied: codes.PermissionDenied,
	fault.QuotaExceeded:    codes.ResourceExhausted,
	fault.RateLimited:      codes.ResourceExhausted,
	fault.Unavailable:      codes.Unavailable,
}

// reasonOf maps fault reasons to the contract's enum.
var reasonOf = map[fault.Reason]pb.ErrorReason{
	fault.Internal:         pb.ErrorReason_ERROR_REASON_INTERNAL,
	fault.BadRequest:       pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
	fault.BadCSR:           pb.ErrorReason_ERROR_REASON_BAD_CSR,
	fault.PolicyRejected:   pb.ErrorReason_ERROR_REASON_POLICY_REJECTED,
	fault.NotFound:         pb.ErrorReason_ERROR_REASON_NOT_FOUND,
	fault.AlreadyExists:    pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS,
	fault.Conflict:         pb.ErrorReason_ERROR_REASON_CONFLICT,
	fault.Unauthenticated:  pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED,
	fault.PermissionDenied: pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED,
	fault.QuotaExceeded:    pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED,
	fault.RateLimited:      pb.ErrorReason_ERROR_REASON_RATE_LIMITED,
	fault.Unavailable:      pb.ErrorReason_ERROR_REASON_UNAVAILABLE,
}

// ReasonName is the ErrorInfo reason string of r: the enum value name
// without its prefix.
func ReasonName(r pb.ErrorReason) string {
	return strings.TrimPrefix(r.String(), "ERROR_REASON_")
}

// toStatus converts any error a handler returns into a gRPC status.
// Errors that are not faults become INTERNAL with only the request id on
// the wire; the caller logs the real error.
func toStatus(err error, requestID string) *status.Status {
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	fe := fault.As(err)
	if fe == nil {
		fe = &fault.Error{Reason: fault.Internal, Detail: "internal error (request " + requestID + ")"}
	}
	msg := fe.Detail
	if msg == "" {
		msg = fe.Reason.String()
	}
	st := status.New(codeOf[fe.Reason], msg)
	md := map[string]string{"request_id": requestID}
	for k, v := range fe.Meta {
		md[k] = v
	}
	if fe.Rule != "" {
		md["rule"] = fe.Rule
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: ReasonName(reasonOf[fe.Reason]), Domain: ErrorDomain, Metadata: md}}
	if fe.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(fe.RetryAfter)})
	}
	if fe.Field != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: fe.Field, Description: msg}}})
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return st
}
