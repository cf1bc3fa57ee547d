package mdmws

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

func TestFailureLimiterSlidingWindow(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	f := &failureLimiter{limit: 3, window: time.Minute, now: clock.Now, seen: map[string][]time.Time{}}
	const client, other = "192.0.2.1", "192.0.2.2"

	for i := range 3 {
		if wait := f.blocked(client); wait != 0 {
			t.Fatalf("blocked for %v after %d failures, want 0 below the limit of 3", wait, i)
		}
		f.fail(client)
		clock.Advance(10 * time.Second)
	}
	// Failures at 0s, 10s and 20s; now is 30s: blocked until the first
	// one leaves the window at 60s.
	if wait := f.blocked(client); wait != 30*time.Second {
		t.Fatalf("blocked for %v, want 30s", wait)
	}
	if wait := f.blocked(other); wait != 0 {
		t.Errorf("another address is blocked for %v", wait)
	}
	clock.Advance(29 * time.Second)
	if wait := f.blocked(client); wait != time.Second {
		t.Fatalf("at 59s blocked for %v, want 1s", wait)
	}
	// At 60s the first failure has left the window: two remain.
	clock.Advance(time.Second)
	if wait := f.blocked(client); wait != 0 {
		t.Fatalf("at 60s blocked for %v, want 0: the window slides", wait)
	}
	// A third failure at 60s blocks again, until the one at 10s leaves.
	f.fail(client)
	if wait := f.blocked(client); wait != 10*time.Second {
		t.Fatalf("after a new failure blocked for %v, want 10s", wait)
	}
	// Once every failure is older than the window, the address is
	// forgotten.
	clock.Advance(time.Minute)
	if wait := f.blocked(client); wait != 0 {
		t.Fatalf("a minute later blocked for %v, want 0", wait)
	}
	if _, ok := f.seen[client]; ok {
		t.Errorf("an address with no recent failure is still kept: %v", f.seen[client])
	}
}

// TestWrongCredentialsAreSlowedDown runs the limiter through the API:
// after FailedLogins wrong passwords within a minute, even the right
// one is answered 429 without asking ca-core.
func TestWrongCredentialsAreSlowedDown(t *testing.T) {
	s, core, clock := newTestServer(t, Config{FailedLogins: 3})
	verify := pb.EndpointService_VerifyEndpointCredential_FullMethodName
	for i := range 3 {
		if w := call(s, http.MethodGet, apiPath+"ping", fakeUser, "guess", "", ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: got %d, want 401", i+1, w.Code)
		}
		clock.Advance(time.Second)
	}
	for _, path := range []string{apiPath + "ping", pagePath + "?device=x"} {
		w := get(s, path)
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("%s after 3 wrong passwords: got %d, want 429", path, w.Code)
		}
		ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
		if err != nil || ra <= 0 || ra > 60 {
			t.Errorf("%s: Retry-After %q, want 1 to 60 seconds", path, w.Header().Get("Retry-After"))
		}
	}
	if n := core.callsOf(verify); n != 3 {
		t.Errorf("ca-core verified %d credentials, want 3: a blocked address is refused before", n)
	}
	if w := call(s, http.MethodGet, apiPath+"ping", fakeUser, fakePassword, "", ""); w.Code != http.StatusTooManyRequests {
		t.Fatalf("right password while blocked: got %d, want 429", w.Code)
	}
	// Retry-After said how long: after it the right password works.
	clock.Advance(58 * time.Second)
	if w := get(s, apiPath+"ping"); w.Code != http.StatusOK {
		t.Fatalf("once the first failure left the window: got %d %q, want 200", w.Code, w.Body)
	}
	// Missing credentials are not failed logins.
	for range 5 {
		call(s, http.MethodGet, apiPath+"ping", "", "", "", "")
	}
	if w := get(s, apiPath+"ping"); w.Code != http.StatusOK {
		t.Fatalf("after requests without credentials: got %d, want 200", w.Code)
	}
}

func TestCredentialCache(t *testing.T) {
	s, core, _ := newTestServer(t, Config{})
	verify := pb.EndpointService_VerifyEndpointCredential_FullMethodName
	steps := []struct {
		pass        string
		want        int
		wantVerifys int
	}{
		{"guess", http.StatusUnauthorized, 1},
		{"guess", http.StatusUnauthorized, 2}, // a wrong password is never cached
		{fakePassword, http.StatusOK, 3},
		{fakePassword, http.StatusOK, 3}, // within 30 s: from the cache
		{fakePassword, http.StatusOK, 3},
		{"guess", http.StatusUnauthorized, 4}, // a cached user does not open the door to other passwords
		{fakePassword, http.StatusOK, 4},
	}
	for i, st := range steps {
		w := call(s, http.MethodGet, apiPath+"ping", fakeUser, st.pass, "", "")
		if w.Code != st.want {
			t.Fatalf("step %d (%s): got %d, want %d", i, st.pass, w.Code, st.want)
		}
		if n := core.callsOf(verify); n != st.wantVerifys {
			t.Fatalf("step %d (%s): %d VerifyEndpointCredential calls, want %d", i, st.pass, n, st.wantVerifys)
		}
	}
	if n := core.callsOf(pb.EndpointService_GetEndpoint_FullMethodName); n != 1 {
		t.Errorf("%d GetEndpoint calls, want 1: the configuration is cached", n)
	}
}

// TestCredentialCheckFailure: a ca-core that cannot check the credential
// is not a wrong password, so it neither counts as a failed login nor
// reaches the cache.
func TestCredentialCheckFailure(t *testing.T) {
	s, core, _ := newTestServer(t, Config{FailedLogins: 1})
	verify := pb.EndpointService_VerifyEndpointCredential_FullMethodName
	core.failWith(verify, coreError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_UNAVAILABLE, "ca-core is restarting", "", time.Second))
	for range 3 {
		if w := get(s, apiPath+"ping"); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
			t.Fatalf("got %d Retry-After %q, want 503 and 1", w.Code, w.Header().Get("Retry-After"))
		}
	}
	core.failWith(verify, nil)
	if w := get(s, apiPath+"ping"); w.Code != http.StatusOK {
		t.Fatalf("after ca-core came back: got %d, want 200", w.Code)
	}
	if n := core.callsOf(verify); n != 4 {
		t.Errorf("%d VerifyEndpointCredential calls, want 4", n)
	}
}

// TestEveryReasonHasAStatus keeps the mapping complete as reasons are
// added to the contract: only INTERNAL (and no reason) is a 500.
func TestEveryReasonHasAStatus(t *testing.T) {
	s, _, _ := newTestServer(t, Config{})
	for v, name := range pb.ErrorReason_name {
		reason := pb.ErrorReason(v)
		ae := s.fromCore(&frontend.Error{Reason: reason, Detail: "d"})
		internal := reason == pb.ErrorReason_ERROR_REASON_INTERNAL || reason == pb.ErrorReason_ERROR_REASON_UNSPECIFIED
		if (ae.status == http.StatusInternalServerError) != internal {
			t.Errorf("%s became %d", name, ae.status)
		}
	}
}

// TestAPIErrorMapping sends ca-core's failures, as its interceptor
// encodes them, through GET /v1/digital-ids/{name}.
func TestAPIErrorMapping(t *testing.T) {
	for name, tc := range map[string]struct {
		err        error
		want       int
		retryAfter string
		rule       string
	}{
		"fail/not found": {err: coreError(codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND, "no Digital ID x", "", 0),
			want: http.StatusNotFound},
		// ca-core sends POLICY_REJECTED as InvalidArgument: the reason,
		// not the code, decides.
		"fail/policy rejected": {err: coreError(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_POLICY_REJECTED, "dNSName not allowed",
			"profile.san.dns", 0), want: http.StatusForbidden, rule: "profile.san.dns"},
		"fail/bad request": {err: coreError(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST, "name is empty", "", 0),
			want: http.StatusBadRequest},
		"fail/bad csr": {err: coreError(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_CSR, "signature does not verify", "", 0),
			want: http.StatusBadRequest},
		"fail/conflict": {err: coreError(codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_CONFLICT, "CA is retired", "", 0),
			want: http.StatusConflict},
		"fail/unavailable with retry": {err: coreError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_UNAVAILABLE, "HSM busy", "", 2500*time.Millisecond),
			want: http.StatusServiceUnavailable, retryAfter: "3"},
		"fail/unavailable": {err: coreError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_UNAVAILABLE, "HSM busy", "", 0),
			want: http.StatusServiceUnavailable},
		"fail/unimplemented during upgrade": {err: status.Error(codes.Unimplemented, "unknown method"), want: http.StatusServiceUnavailable},
		"fail/transport":                    {err: errors.New("connection refused"), want: http.StatusServiceUnavailable},
		"fail/rate limited": {err: coreError(codes.ResourceExhausted, pb.ErrorReason_ERROR_REASON_RATE_LIMITED, "slow down", "", 10*time.Second),
			want: http.StatusTooManyRequests, retryAfter: "10"},
		"fail/internal": {err: coreError(codes.Internal, pb.ErrorReason_ERROR_REASON_INTERNAL, "internal error (request req-1)", "", 0),
			want: http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{})
			core.failWith(pb.DigitalIDService_GetDigitalID_FullMethodName, tc.err)
			w := get(s, apiPath+"digital-ids/x")
			if w.Code != tc.want {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, tc.want)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q, want application/json", got)
			}
			var body struct {
				Error string `json:"error"`
				Rule  string `json:"rule"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
				t.Fatalf("body %q is not {\"error\": ...}: %v", w.Body, err)
			}
			if body.Rule != tc.rule {
				t.Errorf("rule %q, want %q", body.Rule, tc.rule)
			}
		})
	}
}

func TestAPIAuthentication(t *testing.T) {
	for name, tc := range map[string]struct {
		path, user, pass string
		disabled         bool
		protocol         pb.Protocol
		want             int
	}{
		"ok/ping":                  {path: apiPath + "ping", user: fakeUser, pass: fakePassword, want: http.StatusOK},
		"fail/no credential":       {path: apiPath + "ping", want: http.StatusUnauthorized},
		"fail/wrong password":      {path: apiPath + "ping", user: fakeUser, pass: "guess", want: http.StatusUnauthorized},
		"fail/disabled":            {path: apiPath + "ping", user: fakeUser, pass: fakePassword, disabled: true, want: http.StatusForbidden},
		"fail/unknown endpoint":    {path: "/mdmws/t1/other/v1/ping", user: fakeUser, pass: fakePassword, want: http.StatusUnauthorized},
		"fail/unknown tenant":      {path: "/mdmws/t2/mdm/v1/ping", user: fakeUser, pass: fakePassword, want: http.StatusUnauthorized},
		"fail/not an MDM endpoint": {path: apiPath + "ping", user: fakeUser, pass: fakePassword, protocol: pb.Protocol_PROTOCOL_SCEP, want: http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{})
			core.endpoint.Disabled = tc.disabled
			if tc.protocol != pb.Protocol_PROTOCOL_UNSPECIFIED {
				core.endpoint.Protocol = tc.protocol
			}
			w := call(s, http.MethodGet, tc.path, tc.user, tc.pass, "", "")
			if w.Code != tc.want {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, tc.want)
			}
			if got := w.Header().Get("WWW-Authenticate"); (tc.want == http.StatusUnauthorized) != (got == `Basic realm="certgate MDM web service"`) {
				t.Errorf("WWW-Authenticate %q with status %d", got, w.Code)
			}
		})
	}
}
