package acme

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/acme/jws"
	"github.com/certgate/certgate/services/frontend"
)

// errorPrefix is the namespace of ACME error types (RFC 8555 §6.7).
const errorPrefix = "urn:ietf:params:acme:error:"

// problem is an RFC 7807 problem document.
type problem struct {
	Type        string       `json:"type"`
	Detail      string       `json:"detail,omitempty"`
	Status      int          `json:"status,omitempty"`
	Identifier  *identifier  `json:"identifier,omitempty"`
	Subproblems []subproblem `json:"subproblems,omitempty"`
	// Algorithms lists the accepted JWS algorithms in badSignatureAlgorithm
	// problems (RFC 8555 §6.2).
	Algorithms []string `json:"algorithms,omitempty"`
	// retryAfter becomes a Retry-After header.
	retryAfter time.Duration
}

type subproblem struct {
	Type       string      `json:"type"`
	Detail     string      `json:"detail,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
}

func (p *problem) Error() string { return p.Type + ": " + p.Detail }

// statusOf is the HTTP status of each ACME error type.
var statusOf = map[string]int{
	"accountDoesNotExist":     http.StatusBadRequest,
	"alreadyReplaced":         http.StatusConflict,
	"alreadyRevoked":          http.StatusBadRequest,
	"badCSR":                  http.StatusBadRequest,
	"badNonce":                http.StatusBadRequest,
	"badPublicKey":            http.StatusBadRequest,
	"badRevocationReason":     http.StatusBadRequest,
	"badSignatureAlgorithm":   http.StatusBadRequest,
	"compound":                http.StatusBadRequest,
	"conflict":                http.StatusConflict,
	"externalAccountRequired": http.StatusUnauthorized,
	"invalidContact":          http.StatusBadRequest,
	"invalidProfile":          http.StatusBadRequest,
	"malformed":               http.StatusBadRequest,
	"orderNotReady":           http.StatusForbidden,
	"rateLimited":             http.StatusTooManyRequests,
	"rejectedIdentifier":      http.StatusBadRequest,
	"serverInternal":          http.StatusInternalServerError,
	"unauthorized":            http.StatusForbidden,
	"unsupportedContact":      http.StatusBadRequest,
	"unsupportedIdentifier":   http.StatusBadRequest,
	"userActionRequired":      http.StatusForbidden,
}

func newProblem(typ, detail string) *problem {
	return &problem{Type: errorPrefix + typ, Detail: detail, Status: statusOf[typ]}
}

// typeOfReason is the ACME error type of each certgate error reason when
// ca-core gives no ACME-specific rule. Policy refusals mostly come from
// finalization, where the CSR is what the client must change.
var typeOfReason = map[pb.ErrorReason]string{
	pb.ErrorReason_ERROR_REASON_UNSPECIFIED:       "serverInternal",
	pb.ErrorReason_ERROR_REASON_BAD_REQUEST:       "malformed",
	pb.ErrorReason_ERROR_REASON_BAD_CSR:           "badCSR",
	pb.ErrorReason_ERROR_REASON_POLICY_REJECTED:   "badCSR",
	pb.ErrorReason_ERROR_REASON_NOT_FOUND:         "malformed",
	pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS:    "conflict",
	pb.ErrorReason_ERROR_REASON_CONFLICT:          "malformed",
	pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED:   "unauthorized",
	pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED: "unauthorized",
	pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED:    "rateLimited",
	pb.ErrorReason_ERROR_REASON_RATE_LIMITED:      "rateLimited",
	pb.ErrorReason_ERROR_REASON_UNAVAILABLE:       "serverInternal",
	pb.ErrorReason_ERROR_REASON_INTERNAL:          "serverInternal",
}

// toProblem is the one place errors become ACME problems: JWS failures,
// ca-core faults (their "acme.<type>" rule wins, then the reason), and
// local failures as serverInternal without internal detail.
func toProblem(err error, log *slog.Logger) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var je *jws.Error
	if errors.As(err, &je) {
		p := newProblem(je.Type, je.Detail)
		p.Algorithms = je.Algorithms
		return p
	}
	var fe *frontend.Error
	if _, isRPC := status.FromError(err); !isRPC && !errors.As(err, &fe) {
		log.Error("acme: request failed", "err", err)
		return newProblem("serverInternal", "internal error")
	}
	fe = frontend.Decode(err)
	typ := typeOfReason[fe.Reason]
	if t, ok := strings.CutPrefix(fe.Rule, "acme."); ok && statusOf[t] != 0 {
		typ = t
	}
	detail := fe.Detail
	switch fe.Reason {
	case pb.ErrorReason_ERROR_REASON_INTERNAL, pb.ErrorReason_ERROR_REASON_UNSPECIFIED:
		log.Error("acme: ca-core failed", "err", err, "request_id", fe.RequestID)
		detail = "internal error"
		if fe.RequestID != "" {
			detail += " (request " + fe.RequestID + ")"
		}
	case pb.ErrorReason_ERROR_REASON_UNAVAILABLE:
		detail = "the service is temporarily unavailable; retry"
		log.Warn("acme: ca-core unavailable", "err", err)
	default:
		if fe.Rule != "" && !strings.HasPrefix(fe.Rule, "acme.") {
			detail += " (rule " + fe.Rule + ")"
		}
	}
	p = newProblem(typ, detail)
	p.retryAfter = fe.RetryAfter
	if fe.Reason == pb.ErrorReason_ERROR_REASON_NOT_FOUND && typ == "malformed" {
		p.Status = http.StatusNotFound
	}
	if fe.Reason == pb.ErrorReason_ERROR_REASON_UNAVAILABLE {
		p.Status = http.StatusServiceUnavailable
		if p.retryAfter == 0 {
			p.retryAfter = time.Second
		}
	}
	if sub := fe.Meta["subproblems"]; sub != "" {
		json.Unmarshal([]byte(sub), &p.Subproblems)
	}
	return p
}

// writeProblem sends a problem document.
func writeProblem(w http.ResponseWriter, p *problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	status := p.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}
