package server

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/fault"
)

// TestEveryReasonIsMapped fails when a fault.Reason lacks a gRPC code or a
// contract reason, so a new reason cannot reach the wire unmapped.
func TestEveryReasonIsMapped(t *testing.T) {
	seen := map[pb.ErrorReason]bool{}
	for _, r := range fault.Reasons {
		st := toStatus(&fault.Error{Reason: r, Rule: "x.y", Detail: "d", RetryAfter: time.Second, Field: "f"}, "req1")
		if _, ok := codeOf[r]; !ok {
			t.Errorf("%v has no gRPC code", r)
		}
		want, ok := reasonOf[r]
		if !ok || want == pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
			t.Errorf("%v has no contract reason", r)
			continue
		}
		if seen[want] {
			t.Errorf("%v maps to %v twice", r, want)
		}
		seen[want] = true
		var info *errdetails.ErrorInfo
		for _, d := range st.Details() {
			if i, ok := d.(*errdetails.ErrorInfo); ok {
				info = i
			}
		}
		if info == nil || info.Reason != ReasonName(want) || info.Reason != r.String() || info.Metadata["rule"] != "x.y" || info.Metadata["request_id"] != "req1" {
			t.Errorf("%v: ErrorInfo %v", r, info)
		}
	}
	if len(seen) != len(pb.ErrorReason_name)-1 {
		t.Errorf("%d of %d contract reasons are produced", len(seen), len(pb.ErrorReason_name)-1)
	}
}

func TestInternalErrorsHideTheirText(t *testing.T) {
	st := toStatus(errors.New("pq: password authentication failed for user admin"), "abc")
	if st.Code() != codes.Internal || st.Message() != "internal error (request abc)" {
		t.Fatalf("got %v: %q", st.Code(), st.Message())
	}
}
