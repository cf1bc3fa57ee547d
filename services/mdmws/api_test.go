package mdmws

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func TestDecode(t *testing.T) {
	// padded is valid JSON of exactly n bytes.
	padded := func(n int) string {
		const v = `{"digital_id":"device"}`
		return v + strings.Repeat(" ", n-len(v))
	}
	for name, tc := range map[string]struct {
		contentType, body string
		want              int // 0: decoded
	}{
		"ok/application/json":          {"application/json", `{"digital_id":"device","variables":{"device":"x"},"ttl_seconds":60}`, 0},
		"ok/with charset":              {"application/json; charset=utf-8", `{"digital_id":"device"}`, 0},
		"ok/no content type":           {"", `{"digital_id":"device"}`, 0},
		"ok/exactly the limit":         {"application/json", padded(maxBody), 0},
		"fail/wrong content type":      {"text/plain", `{"digital_id":"device"}`, http.StatusUnsupportedMediaType},
		"fail/form":                    {"application/x-www-form-urlencoded", `digital_id=device`, http.StatusUnsupportedMediaType},
		"fail/unknown field":           {"application/json", `{"digital":"device"}`, http.StatusBadRequest},
		"fail/wrong type":              {"application/json", `{"ttl_seconds":"60"}`, http.StatusBadRequest},
		"fail/not JSON":                {"application/json", `digital_id=device`, http.StatusBadRequest},
		"fail/empty body":              {"application/json", ``, http.StatusBadRequest},
		"fail/one byte over the limit": {"application/json", padded(maxBody + 1), http.StatusRequestEntityTooLarge},
		"fail/far over the limit":      {"application/json", `{"csr":"` + strings.Repeat("A", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "https://mdmws.test"+apiPath+"challenges", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			var v challengeRequest
			err := decode(r, &v)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("got %v, want the request decoded", err)
				}
				if v.DigitalID != "device" {
					t.Errorf("digital_id %q, want device", v.DigitalID)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != tc.want {
				t.Fatalf("got %v, want an answer %d", err, tc.want)
			}
		})
	}
}

// TestDecodeErrorsReachTheClient checks that decode's statuses are what
// the client gets, before ca-core hears of the request.
func TestDecodeErrorsReachTheClient(t *testing.T) {
	s, core, _ := newTestServer(t, Config{})
	for name, tc := range map[string]struct {
		contentType, body string
		want              int
	}{
		"fail/wrong content type": {"text/plain", `{}`, http.StatusUnsupportedMediaType},
		"fail/unknown field":      {"application/json", `{"digital":"device"}`, http.StatusBadRequest},
		"fail/oversized":          {"application/json", `{"csr":"` + strings.Repeat("A", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			w := call(s, http.MethodPost, apiPath+"challenges", fakeUser, fakePassword, tc.contentType, tc.body)
			if w.Code != tc.want {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, tc.want)
			}
		})
	}
	if n := len(core.received()); n != 0 {
		t.Errorf("ca-core got %d CreateChallenge calls, want none", n)
	}
}

func TestOwnCertificateOnly(t *testing.T) {
	const mine, theirs = "0a01", "0b02"
	for name, tc := range map[string]struct {
		method, serial, body string
		want                 int
	}{
		"ok/get mine":         {http.MethodGet, mine, "", http.StatusOK},
		"ok/revoke mine":      {http.MethodPost, mine + "/revoke", `{"reason":"superseded"}`, http.StatusOK},
		"fail/get theirs":     {http.MethodGet, theirs, "", http.StatusNotFound},
		"fail/revoke theirs":  {http.MethodPost, theirs + "/revoke", `{"reason":"keyCompromise"}`, http.StatusNotFound},
		"fail/renew theirs":   {http.MethodPost, theirs + "/renew", `{"password":"s3cret"}`, http.StatusNotFound},
		"fail/get unknown":    {http.MethodGet, "0c03", "", http.StatusNotFound},
		"fail/revoke unknown": {http.MethodPost, "0c03/revoke", `{}`, http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			s, core, _ := newTestServer(t, Config{})
			core.certs[mine] = &pb.Certificate{Tenant: fakeTenant, Serial: mine, Endpoint: fakeEndpoint, Status: pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED}
			core.certs[theirs] = &pb.Certificate{Tenant: fakeTenant, Serial: theirs, Endpoint: "other-mdm", Status: pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED}
			contentType := ""
			if tc.body != "" {
				contentType = "application/json"
			}
			w := call(s, tc.method, apiPath+"certificates/"+tc.serial, fakeUser, fakePassword, contentType, tc.body)
			if w.Code != tc.want {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, tc.want)
			}
			if strings.HasPrefix(tc.serial, theirs) && strings.Contains(w.Body.String(), "other-mdm") {
				t.Errorf("the refusal names the other configuration: %s", w.Body)
			}
			revokes := core.callsOf(pb.RevocationService_RevokeCertificate_FullMethodName)
			issues := core.callsOf(pb.IssuanceService_IssueWithGeneratedKey_FullMethodName) + core.callsOf(pb.IssuanceService_Issue_FullMethodName)
			if tc.want == http.StatusNotFound && revokes+issues != 0 {
				t.Errorf("ca-core was asked to revoke %d and issue %d times for a certificate not this configuration's", revokes, issues)
			}
		})
	}
}
