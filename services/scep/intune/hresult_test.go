package intune

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

func TestEveryReasonHasAnHResult(t *testing.T) {
	for v, name := range pb.ErrorReason_name {
		if _, ok := hresultOf[pb.ErrorReason(v)]; !ok {
			t.Errorf("%s has no HRESULT", name)
		}
	}
}

func TestHResultValues(t *testing.T) {
	for hr, want := range map[int32]uint32{
		HResultFail: 0x80004005, HResultInvalidArg: 0x80070057, HResultUnexpected: 0x8000FFFF,
		HResultAccessDenied: 0x80070005, HResultNotFound: 0x80070490, HResultAlreadyExists: 0x800700B7,
		HResultTimeout: 0x800705B4, HResultServerUnavailable: 0x800706BA, HResultServerTooBusy: 0x800706BB,
		HResultTemplateDenied: 0x80094012,
	} {
		if uint32(hr) != want {
			t.Errorf("%d is %#x, want %#x", hr, uint32(hr), want)
		}
	}
}

func TestHResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int32
	}{
		{"nil", nil, 0},
		{"deadline", fmt.Errorf("issuing: %w", context.DeadlineExceeded), HResultTimeout},
		{"local error", errors.New("boom"), HResultFail},
		{"policy", &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_POLICY_REJECTED}, HResultTemplateDenied},
		{"bad csr", fmt.Errorf("x: %w", &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_BAD_CSR}), HResultInvalidArg},
		{"rpc unavailable", status.Error(codes.Unavailable, "down"), HResultServerUnavailable},
		{"rpc permission", status.Error(codes.PermissionDenied, "no"), HResultAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HResult(tc.err); got != tc.want {
				t.Errorf("got %#x, want %#x", uint32(got), uint32(tc.want))
			}
		})
	}
}

func TestTruncateUTF16(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"a😀b", 2, "a"},
		{"a😀b", 3, "a😀"},
		{"ééé", 2, "éé"},
	} {
		if got := truncateUTF16(tc.in, tc.n); got != tc.want {
			t.Errorf("truncateUTF16(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
