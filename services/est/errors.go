package est

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// httpError is an EST answer other than success: the router writes its
// status, its text and, when set, Retry-After (it implements est.Error).
type httpError struct {
	status     int
	text       string
	retryAfter time.Duration
}

func (e *httpError) Error() string   { return e.text }
func (e *httpError) StatusCode() int { return e.status }
func (e *httpError) RetryAfter() int {
	if e.retryAfter <= 0 {
		return 0
	}
	return int((e.retryAfter + time.Second - 1) / time.Second)
}

func errorf(status int, format string, a ...any) *httpError {
	return &httpError{status: status, text: fmt.Sprintf(format, a...)}
}

// statusOf is the HTTP status of each certgate error reason. RFC 7030
// §4.2.3 leaves failures to HTTP: 4xx for what the client must change,
// 503 with Retry-After for what will pass.
var statusOf = map[pb.ErrorReason]int{
	pb.ErrorReason_ERROR_REASON_UNSPECIFIED:       http.StatusInternalServerError,
	pb.ErrorReason_ERROR_REASON_BAD_REQUEST:       http.StatusBadRequest,
	pb.ErrorReason_ERROR_REASON_BAD_CSR:           http.StatusBadRequest,
	pb.ErrorReason_ERROR_REASON_POLICY_REJECTED:   http.StatusBadRequest,
	pb.ErrorReason_ERROR_REASON_NOT_FOUND:         http.StatusNotFound,
	pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS:    http.StatusConflict,
	pb.ErrorReason_ERROR_REASON_CONFLICT:          http.StatusConflict,
	pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED:   http.StatusUnauthorized,
	pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED: http.StatusForbidden,
	pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED:    http.StatusForbidden,
	pb.ErrorReason_ERROR_REASON_RATE_LIMITED:      http.StatusServiceUnavailable,
	pb.ErrorReason_ERROR_REASON_UNAVAILABLE:       http.StatusServiceUnavailable,
	pb.ErrorReason_ERROR_REASON_INTERNAL:          http.StatusInternalServerError,
}

// toHTTP is the one place ca-core errors become EST answers. Internal
// details stay in the log.
func toHTTP(err error, log *slog.Logger) error {
	if he, ok := err.(*httpError); ok {
		return he
	}
	var fe *frontend.Error
	if _, isRPC := status.FromError(err); !isRPC {
		if fe, _ = err.(*frontend.Error); fe == nil {
			log.Error("est: request failed", "err", err)
			return errorf(http.StatusInternalServerError, "internal error")
		}
	}
	fe = frontend.Decode(err)
	code := statusOf[fe.Reason]
	out := &httpError{status: code, text: fe.Detail, retryAfter: fe.RetryAfter}
	switch {
	case code == http.StatusInternalServerError:
		log.Error("est: ca-core failed", "err", err, "request_id", fe.RequestID)
		out.text = "internal error"
		if fe.RequestID != "" {
			out.text += " (request " + fe.RequestID + ")"
		}
	case fe.Reason == pb.ErrorReason_ERROR_REASON_UNAVAILABLE:
		log.Warn("est: ca-core unavailable", "err", err)
		out.text = "the service is temporarily unavailable; retry"
		if out.retryAfter == 0 {
			out.retryAfter = time.Second
		}
	case fe.Rule != "" && !strings.Contains(out.text, fe.Rule):
		out.text += " (rule " + fe.Rule + ")"
	}
	return out
}
