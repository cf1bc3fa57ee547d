package intunetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smallstep/scep/x509util"

	"github.com/certgate/certgate/services/scep/intune"
)

// Credentials and scopes the fake accepts.
const (
	Tenant       = "contoso.onmicrosoft.com"
	ClientID     = "5a2f1c3e-8b7d-4e60-9f1a-2c3d4e5f6a7b"
	ClientSecret = "fake-client-secret"
	// IntuneScope is the scope the libraries ask for, double slash included.
	IntuneScope = "https://api.manage.microsoft.com//.default"
	// ProviderNameAndVersion is what Config names the caller.
	ProviderNameAndVersion = "certgate-test/1.0"

	// TokenLifetime is the expires_in of every token, as Entra answers.
	TokenLifetime = 3599 * time.Second
	// ChallengeLifetime is how long a NewChallenge stays valid (Intune's
	// challenges live 60 minutes).
	ChallengeLifetime = time.Hour

	// Paths of the two Intune services, shaped like the real ones.
	SCEPServicePath = "/TrafficGateway/TrafficRoutingService/SCEP/ScepRequestValidationFEService"
	PKIServicePath  = "/TrafficGateway/TrafficRoutingService/PkiConnector/PkiConnectorFEService"
)

// Actions, as recorded in Call.Action.
const (
	ActionToken              = "token"
	ActionEndpoints          = "endpoints"
	ActionValidate           = "validateRequest"
	ActionSuccess            = "successNotification"
	ActionFailure            = "failureNotification"
	ActionDownloadRevocation = "downloadRevocationRequests"
	ActionUploadRevocation   = "uploadRevocationResults"
)

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	key      []byte // signs challenges
	now      func() time.Time
	omitSCEP bool

	mu          sync.Mutex // guards the fields below
	tokens      map[string]issued
	calls       []Call
	scripts     map[string]Outcome
	failSuccess bool
	queue       []intune.RevocationRequest
	results     []UploadedResult
	uploadValue any
}

type issued struct {
	scope   string
	expires time.Time
}

// Option configures New.
type Option func(*Server)

// OmitSCEPService leaves ScepRequestValidationFEService out of discovery,
// as Graph does when the app lacks scep_challenge_provider.
func OmitSCEPService() Option { return func(s *Server) { s.omitSCEP = true } }

// WithClock sets the clock for token and challenge expiry. Default:
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Outcome scripts validateRequest for one transaction id.
type Outcome struct {
	// Code and Description are answered with HTTP 200 (when Status is 0).
	Code        string
	Description string
	// Status, if set, is answered instead, as an HTTP error.
	Status int
	// Delay is waited first (or until the client gives up).
	Delay time.Duration
}

// Call is one request the fake received.
type Call struct {
	// Action is one of the Action constants, "" for unknown paths.
	Action string
	Method string
	Path   string
	Header http.Header
	// Form is the token request's form.
	Form url.Values
	// Body is the decoded JSON body (numbers as json.Number), Raw the bytes.
	Body map[string]any
	Raw  []byte
	// Status is what the fake answered.
	Status int
}

// UploadedResult is one revocation result as received. ErrorCode is the
// enum name, also when it was sent as its number (as Java does).
type UploadedResult struct {
	RequestContext string
	Succeeded      bool
	ErrorCode      string
	ErrorMessage   *string
}

// New starts the fake; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		key:         randomBytes(32),
		now:         time.Now,
		tokens:      map[string]issued{},
		scripts:     map[string]Outcome{},
		uploadValue: true,
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handle(ActionToken, s.token))
	mux.HandleFunc("GET /v1.0/servicePrincipals/{sp}/endpoints", s.handle(ActionEndpoints, s.endpoints))
	mux.HandleFunc("POST "+SCEPServicePath+"/ScepActions/{action}", s.scepAction)
	mux.HandleFunc("POST "+PKIServicePath+"/CertificateAuthorityRequests/{action}", s.pkiAction)
	mux.HandleFunc("/", s.handle("", func(*http.Request, []byte, *Call) (int, any) {
		return http.StatusNotFound, odataError("NotFound", "no such resource")
	}))
	s.srv = httptest.NewTLSServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's base URL.
func (s *Server) URL() string { return s.srv.URL }

// GraphScope is the Graph scope for the fake's GraphURL.
func (s *Server) GraphScope() string { return s.srv.URL + "/.default" }

// Config is a client configuration pointed at the fake, trusting its
// certificate and using its clock.
func (s *Server) Config() intune.Config {
	return intune.Config{
		Tenant:                 Tenant,
		ClientID:               ClientID,
		ClientSecret:           ClientSecret,
		Authority:              s.srv.URL + "/",
		GraphURL:               s.srv.URL + "/",
		ProviderNameAndVersion: ProviderNameAndVersion,
		HTTPClient:             s.srv.Client(),
		Now:                    s.now,
	}
}

// Script sets the validateRequest outcome for a transaction id.
func (s *Server) Script(transactionID string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[transactionID] = o
}

// FailSuccessNotifications makes successNotification answer HTTP 500.
func (s *Server) FailSuccessNotifications(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failSuccess = fail
}

// SetUploadAnswer sets the "value" uploadRevocationResults answers with.
// Default: true.
func (s *Server) SetUploadAnswer(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uploadValue = v
}

// QueueRevocation adds a revocation request for the next download and
// returns its requestContext.
func (s *Server) QueueRevocation(serialHex, issuerName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rc := hex.EncodeToString(randomBytes(16))
	s.queue = append(s.queue, intune.RevocationRequest{RequestContext: rc, SerialNumber: serialHex, IssuerName: issuerName})
	return rc
}

// RevocationResults returns the revocation results uploaded so far.
func (s *Server) RevocationResults() []UploadedResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results)
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the requests for one action.
func (s *Server) CallsTo(action string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// TokenRequests counts token requests, successful or not.
func (s *Server) TokenRequests() int { return len(s.CallsTo(ActionToken)) }

// NewChallenge issues a challenge password for a CSR with exactly this
// subject (in pkix.Name.String form, "CN=device1,O=Contoso") and these DNS
// names, valid for ChallengeLifetime.
func (s *Server) NewChallenge(subject string, dnsSANs ...string) string {
	c := challenge{Subject: subject, DNS: slices.Clone(dnsSANs), Expires: s.now().Add(ChallengeLifetime).Unix()}
	payload, _ := json.Marshal(c)
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac.Sum(nil))
}

type challenge struct {
	Subject string   `json:"sub"`
	DNS     []string `json:"dns"`
	Expires int64    `json:"exp"`
}

// handle reads and records a request around h, which answers with a
// status and a JSON body.
func (s *Server) handle(action string, h func(r *http.Request, raw []byte, call *Call) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		call := Call{Action: action, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
		if len(raw) > 0 && isJSON(r.Header.Get("Content-Type")) {
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			_ = d.Decode(&call.Body)
		}
		status, body := h(r, raw, &call)
		call.Status = status
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// token is Entra's client-credentials grant.
func (s *Server) token(r *http.Request, raw []byte, call *Call) (int, any) {
	if r.PathValue("tenant") != Tenant {
		return http.StatusBadRequest, oauthError("invalid_request", "AADSTS90002: Tenant '"+r.PathValue("tenant")+"' not found.")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, oauthError("invalid_request", "AADSTS900144: The request body must be form-encoded.")
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return http.StatusBadRequest, oauthError("invalid_request", err.Error())
	}
	call.Form = form
	switch scope := form.Get("scope"); {
	case form.Get("grant_type") != "client_credentials":
		return http.StatusBadRequest, oauthError("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case form.Get("client_id") != ClientID:
		return http.StatusBadRequest, oauthError("unauthorized_client", "AADSTS700016: Application with identifier '"+form.Get("client_id")+"' was not found in the directory.")
	case form.Get("client_secret") != ClientSecret:
		return http.StatusUnauthorized, oauthError("invalid_client", "AADSTS7000215: Invalid client secret provided.")
	case scope != s.GraphScope() && scope != IntuneScope:
		return http.StatusBadRequest, oauthError("invalid_scope", "AADSTS1002012: The provided value for scope "+scope+" is not valid.")
	default:
		tok := base64.RawURLEncoding.EncodeToString(randomBytes(32))
		s.mu.Lock()
		s.tokens[tok] = issued{scope: scope, expires: s.now().Add(TokenLifetime)}
		s.mu.Unlock()
		secs := int(TokenLifetime / time.Second)
		return http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok}
	}
}

// endpoints is Graph's list of Intune's service endpoints.
func (s *Server) endpoints(r *http.Request, _ []byte, _ *Call) (int, any) {
	if !s.authorized(r, s.GraphScope()) {
		return http.StatusUnauthorized, odataError("InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	}
	if r.PathValue("sp") != "appId="+intune.IntuneAppID {
		return http.StatusNotFound, odataError("Request_ResourceNotFound", "Resource '"+r.PathValue("sp")+"' does not exist.")
	}
	endpoint := func(name, uri string) map[string]any {
		return map[string]any{"id": hex.EncodeToString(randomBytes(8)), "capability": name, "providerId": nil,
			"providerName": name, "providerResourceId": nil, "uri": uri}
	}
	value := []any{
		endpoint("PkiConnectorFEService", s.srv.URL+PKIServicePath),
		endpoint("IntuneGraphService", s.srv.URL+"/TrafficGateway/TrafficRoutingService/IntuneGraph"),
	}
	if !s.omitSCEP {
		value = append(value, endpoint("ScepRequestValidationFEService", s.srv.URL+SCEPServicePath))
	}
	return http.StatusOK, map[string]any{
		"@odata.context": s.srv.URL + "/v1.0/$metadata#servicePrincipals('appId%3D" + intune.IntuneAppID + "')/endpoints",
		"value":          value,
	}
}

func (s *Server) scepAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	h := map[string]func(*http.Request, []byte) (int, any){
		ActionValidate: s.validate,
		ActionSuccess:  s.success,
		ActionFailure:  s.failure,
	}[action]
	if h == nil {
		action = ""
	}
	s.handle(action, func(r *http.Request, raw []byte, _ *Call) (int, any) {
		if status, body, ok := s.checkIntune(r, "2018-02-20"); !ok {
			return status, body
		}
		if h == nil {
			return http.StatusNotFound, odataError("NotFound", "no such action")
		}
		return h(r, raw)
	})(w, r)
}

func (s *Server) pkiAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	h := map[string]func(*http.Request, []byte) (int, any){
		ActionDownloadRevocation: s.download,
		ActionUploadRevocation:   s.upload,
	}[action]
	if h == nil {
		action = ""
	}
	s.handle(action, func(r *http.Request, raw []byte, _ *Call) (int, any) {
		if status, body, ok := s.checkIntune(r, "5019-05-05"); !ok {
			return status, body
		}
		if h == nil {
			return http.StatusNotFound, odataError("NotFound", "no such action")
		}
		return h(r, raw)
	})(w, r)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkIntune checks what every Intune call must carry.
func (s *Server) checkIntune(r *http.Request, apiVersion string) (int, any, bool) {
	switch {
	case !s.authorized(r, IntuneScope):
		return http.StatusUnauthorized, map[string]any{"Message": "Authorization has been denied for this request."}, false
	case r.Header.Get("api-version") != apiVersion:
		return http.StatusBadRequest, odataError("BadRequest", "api-version must be "+apiVersion+", got "+r.Header.Get("api-version")), false
	case !isJSON(r.Header.Get("Content-Type")):
		return http.StatusUnsupportedMediaType, odataError("UnsupportedMediaType", "Content-Type must be application/json"), false
	case !uuidRE.MatchString(strings.ToLower(r.Header.Get("client-request-id"))):
		return http.StatusBadRequest, odataError("BadRequest", "client-request-id must be a UUID"), false
	}
	return 0, nil, true
}

func (s *Server) authorized(r *http.Request, scope string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	t, found := s.tokens[tok]
	s.mu.Unlock()
	return ok && found && t.scope == scope && s.now().Before(t.expires)
}

func (s *Server) validate(r *http.Request, raw []byte) (int, any) {
	var body struct {
		Request *struct {
			TransactionID      string `json:"transactionId"`
			CertificateRequest string `json:"certificateRequest"`
			CallerInfo         string `json:"callerInfo"`
		} `json:"request"`
	}
	if err := strictJSON(raw, &body); err != nil || body.Request == nil ||
		body.Request.TransactionID == "" || body.Request.CertificateRequest == "" {
		return badBody(err)
	}
	s.mu.Lock()
	o, scripted := s.scripts[body.Request.TransactionID]
	s.mu.Unlock()
	if o.Delay > 0 {
		select {
		case <-time.After(o.Delay):
		case <-r.Context().Done():
		}
	}
	switch {
	case o.Status != 0:
		return o.Status, map[string]any{"Message": "An error has occurred."}
	case scripted && o.Code != "":
		return http.StatusOK, result(o.Code, o.Description)
	}
	return http.StatusOK, result(s.check(body.Request.CertificateRequest))
}

// check validates a CSR's challenge password as Intune would.
func (s *Server) check(csrB64 string) (string, string) {
	der, err := base64.StdEncoding.DecodeString(csrB64)
	if err != nil {
		return intune.CodeCertificateRequestDecodingFailed, "certificateRequest is not base64"
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return intune.CodeCertificateRequestDecodingFailed, err.Error()
	}
	password, err := x509util.ParseChallengePassword(der)
	if err != nil || password == "" {
		return intune.CodeChallengePasswordMissing, "the CSR has no challengePassword"
	}
	payloadB64, macB64, _ := strings.Cut(password, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(payloadB64)
	sig, err2 := base64.RawURLEncoding.DecodeString(macB64)
	var c challenge
	if err1 != nil || err2 != nil || json.Unmarshal(payload, &c) != nil {
		return intune.CodeChallengeDeserializationError, "the challenge is not an Intune challenge"
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	switch {
	case !hmac.Equal(sig, mac.Sum(nil)):
		return intune.CodeSignatureValidationFailed, "the challenge signature does not verify"
	case !s.now().Before(time.Unix(c.Expires, 0)):
		return intune.CodeChallengeExpired, "the challenge expired at " + time.Unix(c.Expires, 0).UTC().Format(time.RFC3339)
	case csr.Subject.String() != c.Subject:
		return intune.CodeSubjectNameMismatch, fmt.Sprintf("subject %q, expected %q", csr.Subject.String(), c.Subject)
	case !sameSet(csr.DNSNames, c.DNS):
		return intune.CodeSubjectAltNameMismatch, fmt.Sprintf("DNS names %q, expected %q", csr.DNSNames, c.DNS)
	}
	return intune.CodeSuccess, ""
}

func (s *Server) success(_ *http.Request, raw []byte) (int, any) {
	var body struct {
		Notification *struct {
			TransactionID                string  `json:"transactionId"`
			CertificateRequest           string  `json:"certificateRequest"`
			CertificateThumbprint        string  `json:"certificateThumbprint"`
			CertificateSerialNumber      string  `json:"certificateSerialNumber"`
			CertificateExpirationDateUTC string  `json:"certificateExpirationDateUtc"`
			IssuingCertificateAuthority  string  `json:"issuingCertificateAuthority"`
			CallerInfo                   string  `json:"callerInfo"`
			CAConfiguration              *string `json:"caConfiguration"` // null or absent is fine
			CertificateAuthority         *string `json:"certificateAuthority"`
		} `json:"notification"`
	}
	if err := strictJSON(raw, &body); err != nil || body.Notification == nil {
		return badBody(err)
	}
	n := body.Notification
	_, err := time.Parse(time.RFC3339Nano, n.CertificateExpirationDateUTC)
	thumb, _ := hex.DecodeString(n.CertificateThumbprint)
	if n.TransactionID == "" || n.CertificateRequest == "" || len(thumb) != 20 ||
		n.CertificateSerialNumber == "" || err != nil || n.IssuingCertificateAuthority == "" {
		return badBody(fmt.Errorf("a required field is missing or malformed"))
	}
	s.mu.Lock()
	fail := s.failSuccess
	s.mu.Unlock()
	if fail {
		return http.StatusInternalServerError, map[string]any{"Message": "An error has occurred."}
	}
	return http.StatusOK, result(intune.CodeSuccess, "")
}

func (s *Server) failure(_ *http.Request, raw []byte) (int, any) {
	var body struct {
		Notification *struct {
			TransactionID      string `json:"transactionId"`
			CertificateRequest string `json:"certificateRequest"`
			HResult            *int64 `json:"hResult"`
			ErrorDescription   string `json:"errorDescription"`
			CallerInfo         string `json:"callerInfo"`
		} `json:"notification"`
	}
	if err := strictJSON(raw, &body); err != nil || body.Notification == nil {
		return badBody(err)
	}
	n := body.Notification
	if n.TransactionID == "" || n.CertificateRequest == "" || n.HResult == nil || n.ErrorDescription == "" ||
		len(utf16.Encode([]rune(n.ErrorDescription))) > intune.MaxDescription {
		return badBody(fmt.Errorf("a required field is missing or too long"))
	}
	return http.StatusOK, result(intune.CodeSuccess, "")
}

func (s *Server) download(_ *http.Request, raw []byte) (int, any) {
	var body struct {
		DownloadParameters *struct {
			MaxRequests int     `json:"maxRequests"`
			IssuerName  *string `json:"issuerName"`
		} `json:"downloadParameters"`
	}
	if err := strictJSON(raw, &body); err != nil || body.DownloadParameters == nil {
		return badBody(err)
	}
	p := body.DownloadParameters
	if p.MaxRequests < 1 || p.MaxRequests > intune.MaxRevocationRequests {
		return badBody(fmt.Errorf("maxRequests %d out of range", p.MaxRequests))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	value := []any{}
	var kept []intune.RevocationRequest
	for _, q := range s.queue {
		if len(value) < p.MaxRequests && (p.IssuerName == nil || *p.IssuerName == q.IssuerName) {
			value = append(value, map[string]any{"requestContext": q.RequestContext, "serialNumber": q.SerialNumber,
				"issuerName": q.IssuerName, "caConfiguration": nil})
		} else {
			kept = append(kept, q)
		}
	}
	s.queue = kept
	return http.StatusOK, map[string]any{"value": value}
}

// revocationCodes are CARequestErrorCode's names by number.
var revocationCodes = map[string]string{
	"0": "None", "4000": "NonRetryableServiceException", "4001": "DataSerializationError",
	"4002": "ParameterDataInvalidError", "4003": "CryptographyError", "4004": "CertificateNotFoundError",
	"4005": "ConflictError", "4006": "NotSupportedError", "4007": "PayloadTooLargeError",
	"4100": "RetryableServiceException", "4101": "ServiceUnavailableException",
	"4102": "ServiceTooBusyException", "4103": "AuthenticationException",
}

func (s *Server) upload(_ *http.Request, raw []byte) (int, any) {
	var body struct {
		Results []struct {
			RequestContext string  `json:"requestContext"`
			Succeeded      *bool   `json:"succeeded"`
			ErrorCode      string  `json:"errorCode"`
			ErrorMessage   *string `json:"errorMessage"`
		} `json:"results"`
	}
	if err := strictJSON(raw, &body); err != nil || len(body.Results) == 0 {
		return badBody(err)
	}
	var got []UploadedResult
	for _, r := range body.Results {
		code, known := revocationCodeName(r.ErrorCode)
		if r.RequestContext == "" || r.Succeeded == nil || !known {
			return badBody(fmt.Errorf("result %+v is incomplete or has an unknown errorCode", r))
		}
		got = append(got, UploadedResult{r.RequestContext, *r.Succeeded, code, r.ErrorMessage})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, got...)
	return http.StatusOK, map[string]any{"value": s.uploadValue}
}

// revocationCodeName accepts a CARequestErrorCode by name (C#) or number
// (Java) and returns its name.
func revocationCodeName(s string) (string, bool) {
	if name, ok := revocationCodes[s]; ok {
		return name, true
	}
	for _, name := range revocationCodes {
		if name == s {
			return name, true
		}
	}
	return "", false
}

func result(code, description string) map[string]any {
	return map[string]any{"code": code, "errorDescription": description}
}

func badBody(err error) (int, any) {
	msg := "the request body is missing required fields"
	if err != nil {
		msg = err.Error()
	}
	return http.StatusBadRequest, odataError("BadRequest", msg)
}

func oauthError(code, description string) map[string]any {
	return map[string]any{"error": code, "error_description": description + "\r\nTrace ID: 00000000-0000-0000-0000-000000000000"}
}

func odataError(code, message string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": message}}
}

// strictJSON decodes one JSON value, refusing unknown fields.
func strictJSON(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON body")
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}
