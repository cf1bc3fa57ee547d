package mdmws

import (
	"crypto/sha1"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// challengeLine is how MDMs find the challenge on NDES's page.
const challengeLine = "The enrollment challenge password is: <B> " + fakeChallenge + " </B>"

// ndesRefusal is NDES's own wording for a refused administrator.
const ndesRefusal = "You do not have sufficient permission to enroll with SCEP"

func TestChallengePageIsUTF16LE(t *testing.T) {
	s, core, _ := newTestServer(t, Config{})
	w := get(s, pagePath+"?device=ipad-1")
	if w.Code != http.StatusOK {
		t.Fatalf("got %d %q, want 200", w.Code, w.Body)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Errorf("Content-Length %s, want the body's %s bytes", got, want)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store: every load is a new challenge", got)
	}
	text := pageText(t, w)
	if !strings.Contains(text, challengeLine) {
		t.Errorf("page lacks %q:\n%s", challengeLine, text)
	}
	if !strings.HasPrefix(text, "<HTML>") || !strings.Contains(text, `charset=utf-16"`) {
		t.Errorf("page is not NDES's UTF-16 HTML:\n%s", text)
	}
	sum := sha1.Sum(core.ca.Raw)
	if thumb := fmt.Sprintf("<B> %X </B>", sum[:]); !strings.Contains(text, thumb) {
		t.Errorf("page lacks the CA thumbprint %s:\n%s", thumb, text)
	}
	if !strings.Contains(text, "will expire within 60 minutes") {
		t.Errorf("page does not give the default TTL of 60 minutes:\n%s", text)
	}
}

func TestChallengePageInUTF8(t *testing.T) {
	s, _, _ := newTestServer(t, Config{})
	for _, enc := range []string{"utf-8", "UTF-8"} {
		t.Run(enc, func(t *testing.T) {
			w := get(s, pagePath+"?device=ipad-1&encoding="+enc)
			if w.Code != http.StatusOK {
				t.Fatalf("got %d %q, want 200", w.Code, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type %q, want text/html; charset=utf-8", got)
			}
			body := w.Body.Bytes()
			if body[0] != '<' {
				t.Errorf("UTF-8 page starts with % x, want '<' and no byte-order mark", body[:2])
			}
			if got, want := w.Header().Get("Content-Length"), strconv.Itoa(len(body)); got != want {
				t.Errorf("Content-Length %s, want %s", got, want)
			}
			if !strings.Contains(string(body), challengeLine) || !strings.Contains(string(body), `charset=utf-8"`) {
				t.Errorf("page lacks %q or its charset:\n%s", challengeLine, body)
			}
		})
	}
}

func TestChallengePageRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		user, pass string
		disabled   bool
		want       int
	}{
		"fail/wrong password":  {user: fakeUser, pass: "guess", want: http.StatusUnauthorized},
		"fail/wrong user":      {user: "intune", pass: fakePassword, want: http.StatusUnauthorized},
		"fail/no credential":   {want: http.StatusUnauthorized},
		"fail/disabled config": {user: fakeUser, pass: fakePassword, disabled: true, want: http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{})
			core.endpoint.Disabled = tc.disabled
			w := call(s, http.MethodGet, pagePath+"?device=ipad-1", tc.user, tc.pass, "", "")
			if w.Code != tc.want {
				t.Fatalf("got %d, want %d", w.Code, tc.want)
			}
			if got := w.Header().Get("WWW-Authenticate"); (tc.want == http.StatusUnauthorized) != strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate %q with status %d", got, w.Code)
			}
			text := pageText(t, w)
			if !strings.Contains(text, ndesRefusal) {
				t.Errorf("page lacks NDES's %q:\n%s", ndesRefusal, text)
			}
			if strings.Contains(text, "challenge password is") {
				t.Errorf("refusal page holds a challenge:\n%s", text)
			}
			if n := len(core.received()); n != 0 {
				t.Errorf("ca-core got %d CreateChallenge calls, want none", n)
			}
		})
	}
}

func TestChallengePageBindsDigitalIDAndVariables(t *testing.T) {
	for name, tc := range map[string]struct {
		query     string
		digitalID string
		vars      map[string]string
	}{
		"ok/default Digital ID": {"?device=ipad-0042", fakeDigitalID, map[string]string{"device": "ipad-0042"}},
		"ok/named Digital ID":   {"?digital_id=laptop&device=mbp-7&user=ann", "laptop", map[string]string{"device": "mbp-7", "user": "ann"}},
		"ok/reserved params are not variables": {"?encoding=utf-8&device=x&digital_id=" + fakeDigitalID, fakeDigitalID,
			map[string]string{"device": "x"}},
		"ok/first value wins":  {"?device=a&device=b", fakeDigitalID, map[string]string{"device": "a"}},
		"ok/escaped value":     {"?device=ipad%20%2342%2F1", fakeDigitalID, map[string]string{"device": "ipad #42/1"}},
		"ok/no variables":      {"", fakeDigitalID, map[string]string{}},
		"ok/empty digital_id":  {"?digital_id=&device=x", fakeDigitalID, map[string]string{"device": "x"}},
		"ok/variable is empty": {"?device=", fakeDigitalID, map[string]string{"device": ""}},
	} {
		t.Run(name, func(t *testing.T) {
			ttl := 15 * time.Minute
			s, core, _ := newTestServer(t, Config{ChallengeTTL: ttl})
			if w := get(s, pagePath+tc.query); w.Code != http.StatusOK {
				t.Fatalf("got %d %q, want 200", w.Code, w.Body)
			}
			got := core.received()
			if len(got) != 1 {
				t.Fatalf("ca-core got %d CreateChallenge calls, want 1", len(got))
			}
			req := got[0]
			if req.GetTenant() != fakeTenant || req.GetEndpoint() != fakeEndpoint {
				t.Errorf("challenge for %s/%s, want %s/%s", req.GetTenant(), req.GetEndpoint(), fakeTenant, fakeEndpoint)
			}
			if req.GetDigitalId() != tc.digitalID {
				t.Errorf("digital_id %q, want %q", req.GetDigitalId(), tc.digitalID)
			}
			if !maps.Equal(req.GetVariables(), tc.vars) {
				t.Errorf("variables %v, want %v", req.GetVariables(), tc.vars)
			}
			if req.GetFormat() != pb.ChallengeFormat_CHALLENGE_FORMAT_NDES {
				t.Errorf("format %v, want NDES", req.GetFormat())
			}
			if req.GetTtl().AsDuration() != ttl {
				t.Errorf("ttl %v, want the configured %v", req.GetTtl().AsDuration(), ttl)
			}
			if req.GetSubject() != "" || len(req.GetSubjectAltNames()) != 0 || req.GetEndEntity() != "" {
				t.Errorf("the page bound more than the Digital ID: %v", req)
			}
		})
	}
}

func TestChallengePageDefaultEndpoint(t *testing.T) {
	for name, tc := range map[string]struct {
		defaultEndpoint string
		want            int
	}{
		"ok/bare NDES path":      {fakeTenant + "/" + fakeEndpoint, http.StatusOK},
		"fail/no default":        {"", http.StatusNotFound},
		"fail/unknown default":   {fakeTenant + "/nope", http.StatusUnauthorized},
		"fail/tenant without id": {fakeTenant, http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{DefaultEndpoint: tc.defaultEndpoint})
			for _, path := range []string{"/certsrv/mscep_admin/", "/certsrv/mscep_admin"} {
				w := get(s, path+"?device=x")
				if w.Code != tc.want {
					t.Fatalf("%s: got %d %q, want %d", path, w.Code, pageText(t, w), tc.want)
				}
			}
			if tc.want == http.StatusOK {
				if req := core.received()[0]; req.GetTenant() != fakeTenant || req.GetEndpoint() != fakeEndpoint {
					t.Errorf("challenge for %s/%s, want the default %s", req.GetTenant(), req.GetEndpoint(), tc.defaultEndpoint)
				}
			}
		})
	}
}

func TestChallengePageShowsCoreRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want int
	}{
		"fail/missing variable": {coreError(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST, "Digital ID device needs variable device", "", 0),
			http.StatusBadRequest},
		"fail/unknown Digital ID": {coreError(codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND, "no Digital ID nope", "", 0), http.StatusNotFound},
		"fail/ca-core down": {coreError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_UNAVAILABLE, "ca-core is restarting", "", 2*time.Second),
			http.StatusServiceUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{})
			core.failWith(pb.ChallengeService_CreateChallenge_FullMethodName, tc.err)
			w := get(s, pagePath+"?device=x")
			if w.Code != tc.want {
				t.Fatalf("got %d, want %d", w.Code, tc.want)
			}
			text := pageText(t, w)
			if !strings.Contains(text, "<P> "+status.Convert(tc.err).Message()+" <P>") || strings.Contains(text, "challenge password is") {
				t.Errorf("page does not show ca-core's detail %q alone:\n%s", status.Convert(tc.err).Message(), text)
			}
			if tc.want == http.StatusServiceUnavailable && w.Header().Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q, want 2", w.Header().Get("Retry-After"))
			}
		})
	}
}
