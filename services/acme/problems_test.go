package acme

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/acme/jws"
	"github.com/certgate/certgate/services/frontend"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestEveryReasonHasAProblem keeps the mapping complete as reasons are
// added to the contract: each must become a defined ACME error type.
func TestEveryReasonHasAProblem(t *testing.T) {
	for v, name := range pb.ErrorReason_name {
		typ, ok := typeOfReason[pb.ErrorReason(v)]
		if !ok {
			t.Errorf("%s has no ACME error type", name)
			continue
		}
		p := toProblem(&frontend.Error{Reason: pb.ErrorReason(v), Detail: "d"}, quiet)
		if p.Type != errorPrefix+typ || p.Status == 0 {
			t.Errorf("%s became %s with status %d", name, p.Type, p.Status)
		}
	}
}

func TestToProblem(t *testing.T) {
	for name, tc := range map[string]struct {
		err        error
		typ        string
		status     int
		detail     string // substring
		retryAfter time.Duration
	}{
		"ca-core rule names the ACME type": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_CONFLICT, Rule: "acme.orderNotReady", Detail: "order is pending"},
			typ: "orderNotReady", status: http.StatusForbidden, detail: "order is pending"},
		"unknown acme rule falls back to the reason": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_BAD_CSR, Rule: "acme.noSuchType", Detail: "x"},
			typ: "badCSR", status: http.StatusBadRequest},
		"policy rule is quoted for the operator": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_POLICY_REJECTED, Rule: "profile.key_type", Detail: "RSA-1024 is not allowed"},
			typ: "badCSR", status: http.StatusBadRequest, detail: "(rule profile.key_type)"},
		"missing object is a 404": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_NOT_FOUND, Detail: "order x does not exist"},
			typ: "malformed", status: http.StatusNotFound},
		"rate limit keeps its delay": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_RATE_LIMITED, Detail: "slow down", RetryAfter: 7 * time.Second},
			typ: "rateLimited", status: http.StatusTooManyRequests, retryAfter: 7 * time.Second},
		"unavailable is 503 with a retry": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_UNAVAILABLE, Detail: "dial tcp: refused"},
			typ: "serverInternal", status: http.StatusServiceUnavailable, retryAfter: time.Second},
		"internal detail stays inside": {
			err: &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_INTERNAL, Detail: "pq: relation missing", RequestID: "r-1"},
			typ: "serverInternal", status: http.StatusInternalServerError, detail: "request r-1"},
		"jws error keeps its type and algorithms": {
			err: &jws.Error{Type: "badSignatureAlgorithm", Detail: "HS256", Algorithms: []string{"ES256"}},
			typ: "badSignatureAlgorithm", status: http.StatusBadRequest},
		"plain error is internal": {
			err: errors.New("boom"), typ: "serverInternal", status: http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			p := toProblem(tc.err, quiet)
			if p.Type != errorPrefix+tc.typ || p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) || p.retryAfter != tc.retryAfter {
				t.Fatalf("got %s %d %q retry %v", p.Type, p.Status, p.Detail, p.retryAfter)
			}
			if strings.Contains(p.Detail, "pq:") {
				t.Errorf("internal detail leaked: %q", p.Detail)
			}
			if tc.typ == "badSignatureAlgorithm" && len(p.Algorithms) == 0 {
				t.Error("algorithms dropped")
			}
		})
	}
}
