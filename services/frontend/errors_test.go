package frontend

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// TestDecodeEveryReason decodes each contract reason as ca-core sends it.
func TestDecodeEveryReason(t *testing.T) {
	for v, name := range pb.ErrorReason_name {
		if v == 0 {
			continue
		}
		short := strings.TrimPrefix(name, "ERROR_REASON_")
		st, _ := status.New(codes.InvalidArgument, "detail").WithDetails(
			&errdetails.ErrorInfo{Reason: short, Domain: "certgate.dev", Metadata: map[string]string{"rule": "r.s", "request_id": "id1"}},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)},
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "csr"}}})
		e := Decode(st.Err())
		if e.Reason != pb.ErrorReason(v) || e.Rule != "r.s" || e.RequestID != "id1" || e.RetryAfter != 3*time.Second || e.Field != "csr" || e.Detail != "detail" {
			t.Errorf("%s decoded as %+v", name, e)
		}
	}
}

func TestDecodeWithoutDetails(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want pb.ErrorReason
	}{
		"ok/unimplemented-during-upgrade": {status.Error(codes.Unimplemented, "x"), pb.ErrorReason_ERROR_REASON_UNAVAILABLE},
		"ok/not-found":                    {status.Error(codes.NotFound, "x"), pb.ErrorReason_ERROR_REASON_NOT_FOUND},
		"ok/plain-error":                  {errors.New("connection refused"), pb.ErrorReason_ERROR_REASON_UNAVAILABLE},
		"ok/unknown-code":                 {status.Error(codes.DataLoss, "x"), pb.ErrorReason_ERROR_REASON_INTERNAL},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Decode(tc.err).Reason; got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if Decode(nil) != nil || ReasonOf(nil) != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Error("a nil error decodes to something")
	}
}
