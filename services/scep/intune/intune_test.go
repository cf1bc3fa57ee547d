package intune_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/scep/x509util"

	"github.com/certgate/certgate/services/scep/intune"
	"github.com/certgate/certgate/services/scep/intune/intunetest"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// clock is a settable time source shared by the client and the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, opts ...intunetest.Option) (*intune.Client, *intunetest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	fake := intunetest.New(t, append([]intunetest.Option{intunetest.WithClock(clk.Now)}, opts...)...)
	c, err := intune.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c, fake, clk
}

func newCSR(t *testing.T, cn string, dns []string, challenge string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns},
		ChallengePassword:  challenge,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestValidateRequest(t *testing.T) {
	c, fake, _ := setup(t)
	csr := newCSR(t, "device1", []string{"device1.contoso.com"}, fake.NewChallenge("CN=device1", "device1.contoso.com"))
	if err := c.ValidateRequest(context.Background(), "tid-1", csr); err != nil {
		t.Fatalf("ValidateRequest: %v", err)
	}

	calls := fake.Calls()
	var got []string
	for _, call := range calls {
		got = append(got, call.Action)
	}
	want := "token endpoints token validateRequest"
	if strings.Join(got, " ") != want {
		t.Fatalf("calls %q, want %q", got, want)
	}

	for i, scope := range []string{fake.GraphScope(), intunetest.IntuneScope} {
		f := fake.CallsTo(intunetest.ActionToken)[i].Form
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != intunetest.ClientID ||
			f.Get("client_secret") != intunetest.ClientSecret || f.Get("scope") != scope {
			t.Errorf("token request %d: form %v, want scope %q", i, f, scope)
		}
	}
	if fake.CallsTo(intunetest.ActionToken)[1].Form.Get("scope") != "https://api.manage.microsoft.com//.default" {
		t.Error("the Intune scope is not the libraries' literal one")
	}

	disc := calls[1]
	if disc.Method != http.MethodGet || disc.Path != "/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints" {
		t.Errorf("discovery %s %s", disc.Method, disc.Path)
	}
	if !strings.HasPrefix(disc.Header.Get("Authorization"), "Bearer ") || !uuidV4.MatchString(disc.Header.Get("client-request-id")) {
		t.Errorf("discovery headers %v", disc.Header)
	}

	v := calls[3]
	if v.Path != intunetest.SCEPServicePath+"/ScepActions/validateRequest" {
		t.Errorf("path %q", v.Path)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json",
		"api-version":  "2018-02-20",
		"UserAgent":    intunetest.ProviderNameAndVersion,
	} {
		if got := v.Header.Get(name); got != want {
			t.Errorf("header %s: got %q, want %q", name, got, want)
		}
	}
	if a := v.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") || a == disc.Header.Get("Authorization") {
		t.Errorf("Authorization %q: want the Intune token, not the Graph one", a)
	}
	if id := v.Header.Get("client-request-id"); !uuidV4.MatchString(id) || id == disc.Header.Get("client-request-id") {
		t.Errorf("client-request-id %q: want a fresh UUIDv4", id)
	}
	wantBody := `{"request":{"transactionId":"tid-1","certificateRequest":"` +
		base64.StdEncoding.EncodeToString(csr) + `","callerInfo":"` + intunetest.ProviderNameAndVersion + `"}}`
	if string(v.Raw) != wantBody {
		t.Errorf("body\n got %s\nwant %s", v.Raw, wantBody)
	}
	if v.Status != http.StatusOK {
		t.Errorf("status %d", v.Status)
	}
}

func TestValidateRequestRefusals(t *testing.T) {
	c, fake, clk := setup(t)
	fake.Script("tid-scripted", intunetest.Outcome{Code: intune.CodeScepProfileNoLongerTargetedToTheClient, Description: "profile removed"})
	fake.Script("tid-new-code", intunetest.Outcome{Code: "SomethingNewer", Description: "?"})
	expiring := fake.NewChallenge("CN=device1")
	clk.Add(intunetest.ChallengeLifetime)
	good := fake.NewChallenge("CN=device1")

	for _, tc := range []struct {
		name, tid string
		csr       []byte
		code      string
	}{
		{"ok/matching challenge", "tid-ok", newCSR(t, "device1", nil, good), ""},
		{"fail/scripted code", "tid-scripted", newCSR(t, "device1", nil, good), intune.CodeScepProfileNoLongerTargetedToTheClient},
		{"fail/unknown code", "tid-new-code", newCSR(t, "device1", nil, good), intune.CodeUnknown},
		{"fail/no challenge", "tid-2", newCSR(t, "device1", nil, ""), intune.CodeChallengePasswordMissing},
		{"fail/not an intune challenge", "tid-3", newCSR(t, "device1", nil, "secret123"), intune.CodeChallengeDeserializationError},
		{"fail/forged challenge", "tid-4", newCSR(t, "device1", nil, good[:len(good)-4]+"AAAA"), intune.CodeSignatureValidationFailed},
		{"fail/expired challenge", "tid-5", newCSR(t, "device1", nil, expiring), intune.CodeChallengeExpired},
		{"fail/other subject", "tid-6", newCSR(t, "device2", nil, good), intune.CodeSubjectNameMismatch},
		{"fail/extra SAN", "tid-7", newCSR(t, "device1", []string{"x.contoso.com"}, good), intune.CodeSubjectAltNameMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.ValidateRequest(context.Background(), tc.tid, tc.csr)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var se *intune.ServiceError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *ServiceError", err)
			}
			if se.Code != tc.code || se.TransactionID != tc.tid || !uuidV4.MatchString(se.ActivityID) {
				t.Errorf("got %+v, want code %s", se, tc.code)
			}
			if errors.Is(err, intune.ErrUnavailable) {
				t.Error("a refusal must not match ErrUnavailable")
			}
		})
	}

	err := c.ValidateRequest(context.Background(), "tid-new-code", newCSR(t, "device1", nil, good))
	if se := (*intune.ServiceError)(nil); !errors.As(err, &se) || se.RawCode != "SomethingNewer" ||
		!strings.Contains(err.Error(), "Unknown (SomethingNewer): ?") {
		t.Errorf("unknown code: got %v", err)
	}
}

func TestValidateRequestArguments(t *testing.T) {
	c, fake, _ := setup(t)
	if err := c.ValidateRequest(context.Background(), "", []byte{1}); err == nil {
		t.Error("empty transaction id accepted")
	}
	if err := c.ValidateRequest(context.Background(), "tid", nil); err == nil {
		t.Error("empty CSR accepted")
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("%d calls made for invalid arguments", n)
	}
}

func TestUnavailableRediscovers(t *testing.T) {
	c, fake, _ := setup(t)
	fake.Script("tid-500", intunetest.Outcome{Status: http.StatusInternalServerError})
	csr := newCSR(t, "device1", nil, fake.NewChallenge("CN=device1"))

	err := c.ValidateRequest(context.Background(), "tid-500", csr)
	var ue *intune.UnavailableError
	if !errors.Is(err, intune.ErrUnavailable) || !errors.As(err, &ue) || ue.StatusCode != 500 ||
		ue.Op != "ScepActions/validateRequest" || !uuidV4.MatchString(ue.ActivityID) {
		t.Fatalf("got %v, want an UnavailableError with HTTP 500", err)
	}
	if se := (*intune.ServiceError)(nil); errors.As(err, &se) {
		t.Error("an HTTP failure must not be a *ServiceError")
	}

	if err := c.ValidateRequest(context.Background(), "tid-ok", csr); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.CallsTo(intunetest.ActionEndpoints)); n != 2 {
		t.Errorf("discovery ran %d times, want 2 (again after the failure)", n)
	}
	if n := fake.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (tokens survive a service failure)", n)
	}
}

func TestCancelledCallKeepsDiscovery(t *testing.T) {
	c, fake, _ := setup(t)
	fake.Script("tid-slow", intunetest.Outcome{Delay: 5 * time.Second})
	csr := newCSR(t, "device1", nil, fake.NewChallenge("CN=device1"))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := c.ValidateRequest(ctx, "tid-slow", csr)
	if !errors.Is(err, intune.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if err := c.ValidateRequest(context.Background(), "tid-ok", csr); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.CallsTo(intunetest.ActionEndpoints)); n != 1 {
		t.Errorf("discovery ran %d times, want 1: our own timeout says nothing about Intune", n)
	}
}

func TestTokenCacheAndRefresh(t *testing.T) {
	c, fake, clk := setup(t)
	validate := func() {
		t.Helper()
		csr := newCSR(t, "device1", nil, fake.NewChallenge("CN=device1"))
		if err := c.ValidateRequest(context.Background(), "tid", csr); err != nil {
			t.Fatal(err)
		}
	}
	intuneTokens := func() int {
		n := 0
		for _, call := range fake.CallsTo(intunetest.ActionToken) {
			if call.Form.Get("scope") == intunetest.IntuneScope {
				n++
			}
		}
		return n
	}

	validate()
	validate()
	validate()
	if n := fake.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests after 3 calls, want 2 (Graph and Intune, once each)", n)
	}
	clk.Add(intunetest.TokenLifetime - 5*time.Minute - time.Second)
	validate()
	if n := intuneTokens(); n != 1 {
		t.Errorf("%d Intune tokens just before the refresh margin, want 1", n)
	}
	clk.Add(time.Second)
	validate()
	if n := intuneTokens(); n != 2 {
		t.Errorf("%d Intune tokens 5 minutes before expiry, want 2", n)
	}
	if n := fake.TokenRequests(); n != 3 {
		t.Errorf("%d token requests, want 3 (discovery is cached, so no new Graph token)", n)
	}
}

func TestTokenErrors(t *testing.T) {
	fake := intunetest.New(t)
	cfg := fake.Config()
	cfg.ClientSecret = "wrong"
	c, err := intune.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.ValidateRequest(context.Background(), "tid", []byte{0x30})
	var ue *intune.UnavailableError
	if !errors.As(err, &ue) || ue.Op != "token" || ue.StatusCode != 401 ||
		ue.Detail != "invalid_client: AADSTS7000215: Invalid client secret provided." {
		t.Fatalf("got %#v, want the Entra error on one line", err)
	}
}

func TestMissingSCEPService(t *testing.T) {
	c, fake, _ := setup(t, intunetest.OmitSCEPService())
	csr := newCSR(t, "device1", nil, fake.NewChallenge("CN=device1"))
	for range 2 {
		err := c.ValidateRequest(context.Background(), "tid", csr)
		if !errors.Is(err, intune.ErrServiceNotFound) || errors.Is(err, intune.ErrUnavailable) ||
			!strings.Contains(err.Error(), "scep_challenge_provider") || !strings.Contains(err.Error(), "not licensed") {
			t.Fatalf("got %v, want ErrServiceNotFound naming the permission", err)
		}
	}
	if n := len(fake.CallsTo(intunetest.ActionEndpoints)); n != 2 {
		t.Errorf("discovery ran %d times, want 2 (a missing service is looked for again)", n)
	}
	if n := len(fake.CallsTo(intunetest.ActionValidate)); n != 0 {
		t.Errorf("%d validate calls made", n)
	}
}

// issue makes a CA and a leaf whose serial has its top bit set.
func issue(t *testing.T) (*x509.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Contoso Issuing CA", Organization: []string{"Contoso"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 3650),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	serial, _ := new(big.Int).SetString("8f0102030405060708090a0b0c0d0e0f", 16)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "device1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Date(2027, 6, 11, 16, 11, 20, 0, time.FixedZone("CEST", 7200)),
	}, ca, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	return ca, leaf
}

func TestSuccessNotification(t *testing.T) {
	c, fake, _ := setup(t)
	ca, leaf := issue(t)
	csr := newCSR(t, "device1", nil, "")
	err := c.SendSuccessNotification(context.Background(), intune.Success{
		TransactionID: "tid-1", CSR: csr, Certificate: leaf, CertificateAuthority: "certgate/contoso",
	})
	if err != nil {
		t.Fatal(err)
	}
	call := fake.CallsTo(intunetest.ActionSuccess)[0]
	sum := sha1.Sum(leaf.Raw)
	for field, want := range map[string]any{
		"transactionId":                "tid-1",
		"certificateRequest":           base64.StdEncoding.EncodeToString(csr),
		"certificateThumbprint":        strings.ToUpper(hex.EncodeToString(sum[:])),
		"certificateSerialNumber":      "008F0102030405060708090A0B0C0D0E0F",
		"certificateExpirationDateUtc": "2027-06-11T14:11:20.0000000Z",
		"issuingCertificateAuthority":  ca.Subject.String(),
		"callerInfo":                   intunetest.ProviderNameAndVersion,
		"caConfiguration":              nil,
		"certificateAuthority":         "certgate/contoso",
	} {
		n := call.Body["notification"].(map[string]any)
		if got, ok := n[field]; !ok || got != want {
			t.Errorf("%s: got %v (present %v), want %v", field, got, ok, want)
		}
	}
	if ca.Subject.String() != "CN=Contoso Issuing CA,O=Contoso" {
		t.Errorf("issuer %q", ca.Subject.String())
	}
	if call.Header.Get("api-version") != "2018-02-20" || call.Header.Get("UserAgent") != intunetest.ProviderNameAndVersion {
		t.Errorf("headers %v", call.Header)
	}

	fake.FailSuccessNotifications(true)
	err = c.SendSuccessNotification(context.Background(), intune.Success{TransactionID: "tid-2", CSR: csr, Certificate: leaf, IssuingCA: "CN=Other"})
	if !errors.Is(err, intune.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable (the certificate must not be returned)", err)
	}
	if got := fake.CallsTo(intunetest.ActionSuccess)[1].Body["notification"].(map[string]any)["issuingCertificateAuthority"]; got != "CN=Other" {
		t.Errorf("IssuingCA not sent: %v", got)
	}
	if err := c.SendSuccessNotification(context.Background(), intune.Success{TransactionID: "tid-3", CSR: csr}); err == nil {
		t.Error("no certificate accepted")
	}
}

func TestFailureNotification(t *testing.T) {
	c, fake, _ := setup(t)
	csr := newCSR(t, "device1", nil, "")
	// 253 ASCII characters, then one that takes two UTF-16 units: the
	// 255-unit cut falls inside it, so it goes.
	long := strings.Repeat("x", 253) + "é😀tail"
	if err := c.SendFailureNotification(context.Background(), "tid-1", csr, intune.HResultUnexpected, long); err != nil {
		t.Fatal(err)
	}
	call := fake.CallsTo(intunetest.ActionFailure)[0]
	want := `{"notification":{"transactionId":"tid-1","certificateRequest":"` + base64.StdEncoding.EncodeToString(csr) +
		`","hResult":-2147418113,"errorDescription":"` + strings.Repeat("x", 253) + `é","callerInfo":"` + intunetest.ProviderNameAndVersion + `"}}`
	if string(call.Raw) != want {
		t.Errorf("body\n got %s\nwant %s", call.Raw, want)
	}
	if err := c.SendFailureNotification(context.Background(), "tid-1", csr, intune.HResultFail, "  "); err == nil {
		t.Error("blank description accepted")
	}
}

func TestRevocation(t *testing.T) {
	c, fake, _ := setup(t)
	ctx := context.Background()
	a1 := fake.QueueRevocation("008F01", "CN=A")
	b1 := fake.QueueRevocation("02", "CN=B")
	a2 := fake.QueueRevocation("03", "CN=A")

	got, err := c.DownloadRevocationRequests(ctx, 10, "CN=A")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RequestContext != a1 || got[0].SerialNumber != "008F01" || got[1].RequestContext != a2 || got[0].IssuerName != "CN=A" {
		t.Fatalf("got %+v", got)
	}
	call := fake.CallsTo(intunetest.ActionDownloadRevocation)[0]
	if string(call.Raw) != `{"downloadParameters":{"maxRequests":10,"issuerName":"CN=A"}}` ||
		call.Path != intunetest.PKIServicePath+"/CertificateAuthorityRequests/downloadRevocationRequests" {
		t.Errorf("download %s %s", call.Path, call.Raw)
	}
	for name, want := range map[string]string{"api-version": "5019-05-05", "Content-Type": "application/json", "UserAgent": intunetest.ProviderNameAndVersion} {
		if call.Header.Get(name) != want {
			t.Errorf("header %s: got %q, want %q", name, call.Header.Get(name), want)
		}
	}
	if !uuidV4.MatchString(call.Header.Get("client-request-id")) {
		t.Errorf("client-request-id %q", call.Header.Get("client-request-id"))
	}

	got, err = c.DownloadRevocationRequests(ctx, 1, "")
	if err != nil || len(got) != 1 || got[0].RequestContext != b1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if raw := string(fake.CallsTo(intunetest.ActionDownloadRevocation)[1].Raw); raw != `{"downloadParameters":{"maxRequests":1,"issuerName":null}}` {
		t.Errorf("download body %s", raw)
	}
	for _, n := range []int{0, 501} {
		if _, err := c.DownloadRevocationRequests(ctx, n, ""); err == nil {
			t.Errorf("max %d accepted", n)
		}
	}

	results := []intune.RevocationResult{
		{RequestContext: a1, Succeeded: true},
		{RequestContext: a2, ErrorCode: intune.RevocationCertificateNotFoundError, ErrorMessage: "unknown serial"},
	}
	if err := c.UploadRevocationResults(ctx, results); err != nil {
		t.Fatal(err)
	}
	up := fake.CallsTo(intunetest.ActionUploadRevocation)[0]
	wantBody := `{"results":[{"requestContext":"` + a1 + `","succeeded":true,"errorCode":"None","errorMessage":null},` +
		`{"requestContext":"` + a2 + `","succeeded":false,"errorCode":"CertificateNotFoundError","errorMessage":"unknown serial"}]}`
	if string(up.Raw) != wantBody {
		t.Errorf("upload body\n got %s\nwant %s", up.Raw, wantBody)
	}
	if r := fake.RevocationResults(); len(r) != 2 || r[1].ErrorCode != "CertificateNotFoundError" || r[0].ErrorMessage != nil {
		t.Errorf("recorded %+v", r)
	}

	for _, tc := range []struct {
		name  string
		value any
		ok    bool
	}{
		{"ok/true", true, true},
		{"ok/string true", "true", true},
		{"ok/string True", "True", true},
		{"fail/false", false, false},
		{"fail/string false", "false", false},
		{"fail/null", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.SetUploadAnswer(tc.value)
			err := c.UploadRevocationResults(ctx, results[:1])
			if (err == nil) != tc.ok || errors.Is(err, intune.ErrUnavailable) {
				t.Errorf("value %#v: got %v", tc.value, err)
			}
		})
	}

	for _, bad := range [][]intune.RevocationResult{
		nil,
		{{Succeeded: true}},
		{{RequestContext: a1, Succeeded: true, ErrorMessage: "x"}},
		{{RequestContext: a1, Succeeded: false}},
	} {
		if err := c.UploadRevocationResults(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestNew(t *testing.T) {
	ok := intune.Config{Tenant: "contoso.onmicrosoft.com", ClientID: "id", ClientSecret: "secret"}
	if _, err := intune.New(ok); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mutate := range map[string]func(*intune.Config){
		"fail/no tenant":        func(c *intune.Config) { c.Tenant = "" },
		"fail/tenant with path": func(c *intune.Config) { c.Tenant = "a/b" },
		"fail/no client id":     func(c *intune.Config) { c.ClientID = "" },
		"fail/no secret":        func(c *intune.Config) { c.ClientSecret = "" },
		"fail/bad authority":    func(c *intune.Config) { c.Authority = "login.microsoftonline.com" },
		"fail/bad graph":        func(c *intune.Config) { c.GraphURL = "ftp://graph" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			mutate(&cfg)
			if _, err := intune.New(cfg); err == nil {
				t.Error("accepted")
			}
		})
	}
}
