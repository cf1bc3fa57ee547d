package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/acme/jws"
	"github.com/certgate/certgate/services/acme/validate"
	"github.com/certgate/certgate/services/frontend"
)

// Validator checks challenges.
type Validator interface {
	Validate(ctx context.Context, challengeType string, id validate.Identifier, token, keyAuthorization string) error
}

// Deps are the server's collaborators.
type Deps struct {
	// Conn is the mutual-TLS connection to ca-core.
	Conn      grpc.ClientConnInterface
	Validator Validator
	Logger    *slog.Logger
	// Registerer receives the service's metrics; nil disables them.
	Registerer prometheus.Registerer
	// Background bounds challenge validations started by requests; when
	// it ends, Wait returns once they have stopped.
	Background context.Context
}

// Server serves the ACME protocol.
type Server struct {
	cfg       Config
	acme      pb.AcmeServiceClient
	endpoints pb.EndpointServiceClient
	profiles  pb.ProfileServiceClient
	validator Validator
	log       *slog.Logger
	bg        context.Context
	mux       *http.ServeMux
	nonces    *noncePool
	accounts  *frontend.Cache[*accountKey]
	configs   *frontend.Cache[*pb.Endpoint]

	slots       chan struct{}  // bounds concurrent validations
	validations sync.WaitGroup // tracks validation goroutines

	requests    *prometheus.CounterVec
	validated   *prometheus.CounterVec
	validateDur prometheus.Histogram
}

// accountKey is what JWS verification needs of an account.
type accountKey struct {
	key        *jose.JSONWebKey
	thumbprint string
}

// New builds a server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Conn == nil || d.Validator == nil || d.Background == nil {
		return nil, errors.New("acme: Conn, Validator and Background are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	s := &Server{
		cfg: cfg, acme: pb.NewAcmeServiceClient(d.Conn), endpoints: pb.NewEndpointServiceClient(d.Conn), profiles: pb.NewProfileServiceClient(d.Conn),
		validator: d.Validator, log: d.Logger, bg: d.Background, mux: http.NewServeMux(),
		accounts: frontend.NewCache[*accountKey](5 * time.Second), configs: frontend.NewCache[*pb.Endpoint](30 * time.Second),
		slots: make(chan struct{}, cfg.Validation.Concurrency),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_acme_requests_total",
			Help: "ACME requests by resource and HTTP status."}, []string{"resource", "status"}),
		validated: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_acme_validations_total",
			Help: "Challenge validations by type and outcome."}, []string{"type", "outcome"}),
		validateDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "certgate_acme_validation_seconds",
			Help: "Challenge validation latency.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
	}
	s.nonces = newNoncePool(s.acme)
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.validated, s.validateDur} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.routes()
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Wait blocks until every validation goroutine has stopped.
func (s *Server) Wait() { s.validations.Wait() }

const prefix = "/acme/{tenant}/{endpoint}/"

func (s *Server) routes() {
	s.mux.HandleFunc("GET "+prefix+"directory", s.get("directory", s.directory))
	s.mux.HandleFunc("HEAD "+prefix+"new-nonce", s.newNonce)
	s.mux.HandleFunc("GET "+prefix+"new-nonce", s.newNonce)
	s.mux.HandleFunc("POST "+prefix+"new-account", s.post("new-account", s.newAccount))
	s.mux.HandleFunc("POST "+prefix+"acct/{id}", s.post("account", s.account))
	s.mux.HandleFunc("POST "+prefix+"acct/{id}/orders", s.post("orders", s.orders))
	s.mux.HandleFunc("POST "+prefix+"new-order", s.post("new-order", s.newOrder))
	s.mux.HandleFunc("POST "+prefix+"order/{id}", s.post("order", s.order))
	s.mux.HandleFunc("POST "+prefix+"order/{id}/finalize", s.post("finalize", s.finalize))
	s.mux.HandleFunc("POST "+prefix+"authz/{id}", s.post("authz", s.authz))
	s.mux.HandleFunc("POST "+prefix+"chall/{authz}/{id}", s.post("challenge", s.challenge))
	s.mux.HandleFunc("POST "+prefix+"cert/{serial}", s.post("certificate", s.certificate))
	s.mux.HandleFunc("POST "+prefix+"cert/{serial}/{chain}", s.post("certificate", s.certificate))
	s.mux.HandleFunc("POST "+prefix+"revoke-cert", s.post("revoke-cert", s.revokeCert))
	s.mux.HandleFunc("POST "+prefix+"key-change", s.post("key-change", s.keyChange))
	s.mux.HandleFunc("GET "+prefix+"renewal-info/{id}", s.get("renewal-info", s.renewalInfo))
	s.mux.HandleFunc(prefix+"{rest...}", s.unknown)
}

// unknown answers requests no route takes: 405 for a resource that exists
// under another method (GET on an order: RFC 8555 §6.3 wants POST-as-GET),
// 404 otherwise.
func (s *Server) unknown(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodPost, http.MethodGet} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); m != r.Method && !strings.HasSuffix(pattern, "{rest...}") {
			p := newProblem("malformed", fmt.Sprintf("%s is read with %s, not %s", r.URL.Path, m, r.Method))
			p.Status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", m)
			s.finish(w, r, "unknown", nil, p)
			return
		}
	}
	p := newProblem("malformed", fmt.Sprintf("%s is not an ACME resource", r.URL.Path))
	p.Status = http.StatusNotFound
	s.finish(w, r, "unknown", nil, p)
}

// ep identifies the endpoint a request is for and builds its URLs.
type ep struct {
	tenant, id string
	base       string // https://host/acme/tenant/endpoint
}

func (s *Server) endpointOf(r *http.Request) ep {
	base := s.cfg.BaseURL
	if base == "" {
		base = "https://" + r.Host
	}
	t, e := r.PathValue("tenant"), r.PathValue("endpoint")
	return ep{tenant: t, id: e, base: base + "/acme/" + t + "/" + e}
}

func (e ep) url(parts ...string) string { return e.base + "/" + strings.Join(parts, "/") }

// response is what a handler produces.
type response struct {
	status   int
	body     any
	location string
	links    []string
	// raw bodies (certificate chains) bypass JSON.
	raw         []byte
	contentType string
	retryAfter  time.Duration
}

// finish writes the common headers (Replay-Nonce, Link index,
// Cache-Control) and the response or problem.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, resource string, resp *response, err error) {
	e := s.endpointOf(r)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Link", `<`+e.url("directory")+`>;rel="index"`)
	if n, nerr := s.nonces.get(r.Context(), e.tenant, e.id); nerr == nil {
		h.Set("Replay-Nonce", n)
	} else if err == nil {
		err = nerr
	}
	status := 0
	if err != nil {
		p := toProblem(err, s.log)
		status = p.Status
		writeProblem(w, p)
	} else {
		for _, l := range resp.links {
			h.Add("Link", l)
		}
		if resp.location != "" {
			h.Set("Location", resp.location)
		}
		if resp.retryAfter > 0 {
			h.Set("Retry-After", fmt.Sprint(int(resp.retryAfter.Seconds())))
		}
		status = resp.status
		if status == 0 {
			status = http.StatusOK
		}
		if resp.raw != nil {
			h.Set("Content-Type", resp.contentType)
			w.WriteHeader(status)
			w.Write(resp.raw)
		} else if resp.body != nil {
			h.Set("Content-Type", "application/json")
			w.WriteHeader(status)
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(resp.body)
		} else {
			w.WriteHeader(status)
		}
	}
	s.requests.WithLabelValues(resource, fmt.Sprint(status)).Inc()
}

func (s *Server) get(resource string, h func(ctx context.Context, e ep, r *http.Request) (*response, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := frontend.WithTimeout(r.Context())
		defer cancel()
		resp, err := h(ctx, s.endpointOf(r), r)
		s.finish(w, r, resource, resp, err)
	}
}

func (s *Server) newNonce(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if r.Method == http.MethodGet {
		status = http.StatusNoContent
	}
	s.finish(w, r, "new-nonce", &response{status: status}, nil)
}

// signed is an authenticated POST.
type signed struct {
	e   ep
	jws *jws.Request
	// account is set for requests signed with an account key (kid).
	accountID  string
	thumbprint string
	key        *jose.JSONWebKey
	r          *http.Request
}

// req is the ca-core request identity.
func (sg *signed) req() *pb.AcmeRequest {
	return &pb.AcmeRequest{Tenant: sg.e.tenant, Endpoint: sg.e.id, Nonce: sg.jws.Nonce, AccountId: sg.accountID, KeyThumbprint: sg.thumbprint}
}

// post parses and authenticates a JWS request (RFC 8555 §6.2-6.5) before
// calling h. Requests with a "jwk" are only accepted where h says so
// (newAccount, revokeCert); everything else needs "kid".
func (s *Server) post(resource string, h func(ctx context.Context, sg *signed) (*response, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := frontend.WithTimeout(r.Context())
		defer cancel()
		sg, err := s.authenticate(ctx, r, resource)
		var resp *response
		if err == nil {
			resp, err = h(ctx, sg)
		}
		s.finish(w, r, resource, resp, err)
	}
}

// jwkResources may be signed with an embedded key.
var jwkResources = map[string]bool{"new-account": true, "revoke-cert": true}

func (s *Server) authenticate(ctx context.Context, r *http.Request, resource string) (*signed, error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/jose+json" {
		p := newProblem("malformed", fmt.Sprintf("Content-Type must be application/jose+json, not %q", ct))
		p.Status = http.StatusUnsupportedMediaType
		return nil, p
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, jws.MaxBodySize+1))
	if err != nil {
		return nil, newProblem("malformed", "cannot read the request body")
	}
	if len(body) > jws.MaxBodySize {
		p := newProblem("malformed", fmt.Sprintf("the request body exceeds %d bytes", jws.MaxBodySize))
		p.Status = http.StatusRequestEntityTooLarge
		return nil, p
	}
	req, err := jws.Parse(body)
	if err != nil {
		return nil, err
	}
	e := s.endpointOf(r)
	if err := req.CheckURL(e.base + strings.TrimPrefix(r.URL.Path, "/acme/"+e.tenant+"/"+e.id)); err != nil {
		return nil, err
	}
	sg := &signed{e: e, jws: req, r: r}
	if req.JWK != nil {
		if !jwkResources[resource] {
			return nil, newProblem("malformed", "this resource needs a request signed with an account key (kid), not an embedded jwk")
		}
		if err := req.Verify(req.JWK.Key); err != nil {
			return nil, err
		}
		sg.key = req.JWK
		sg.thumbprint, err = jws.Thumbprint(req.JWK.Key)
		return sg, err
	}
	id, ok := strings.CutPrefix(req.KID, e.url("acct")+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, newProblem("accountDoesNotExist", "kid "+req.KID+" is not an account URL of this endpoint")
	}
	ak, err := s.accountKey(ctx, e, id)
	if err != nil {
		return nil, err
	}
	if err := req.Verify(ak.key.Key); err != nil {
		return nil, err
	}
	sg.accountID, sg.thumbprint, sg.key = id, ak.thumbprint, ak.key
	return sg, nil
}

func (s *Server) accountKey(ctx context.Context, e ep, id string) (*accountKey, error) {
	cacheKey := e.tenant + "/" + e.id + "/" + id
	if ak, ok := s.accounts.Get(cacheKey); ok {
		return ak, nil
	}
	a, err := s.acme.LookupAccount(ctx, &pb.LookupAcmeAccountRequest{Tenant: e.tenant, Endpoint: e.id, Id: id})
	if err != nil {
		return nil, err
	}
	key, err := jws.ParseJWK(a.GetJwk())
	if err != nil {
		return nil, fmt.Errorf("acme: stored key of account %s: %w", id, err)
	}
	ak := &accountKey{key: key, thumbprint: a.GetKeyThumbprint()}
	s.accounts.Put(cacheKey, ak)
	return ak, nil
}

// payload decodes a JSON payload; POST-as-GET requests have none.
func payload(sg *signed, v any) error {
	if sg.jws.PostAsGet {
		return newProblem("malformed", "this resource needs a JSON payload, not POST-as-GET")
	}
	dec := json.NewDecoder(strings.NewReader(string(sg.jws.Payload)))
	if err := dec.Decode(v); err != nil {
		return newProblem("malformed", "the payload is not the expected JSON object: "+err.Error())
	}
	return nil
}

func (s *Server) endpointConfig(ctx context.Context, e ep) (*pb.Endpoint, error) {
	key := e.tenant + "/" + e.id
	if c, ok := s.configs.Get(key); ok {
		return c, nil
	}
	c, err := s.endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: e.tenant, Id: e.id})
	if err != nil {
		return nil, err
	}
	if c.GetProtocol() != pb.Protocol_PROTOCOL_ACME {
		return nil, newProblem("malformed", "not an ACME endpoint")
	}
	s.configs.Put(key, c)
	return c, nil
}

func (s *Server) directory(ctx context.Context, e ep, _ *http.Request) (*response, error) {
	c, err := s.endpointConfig(ctx, e)
	if err != nil {
		return nil, err
	}
	meta := &directoryMeta{ExternalAccountRequired: c.GetAuth().GetMethod() == pb.EndpointAuth_METHOD_EXTERNAL_ACCOUNT_BINDING,
		TermsOfService: c.GetAcme().GetTermsOfService(), Website: c.GetAcme().GetWebsite(), Profiles: map[string]string{}}
	for _, id := range append([]string{c.GetDefaultProfile()}, c.GetAllowedProfiles()...) {
		desc := id
		if p, err := s.profiles.GetProfile(ctx, &pb.GetProfileRequest{Tenant: e.tenant, Id: id}); err == nil {
			desc = p.GetDescription()
		}
		meta.Profiles[id] = desc
	}
	return &response{body: &directory{
		NewNonce: e.url("new-nonce"), NewAccount: e.url("new-account"), NewOrder: e.url("new-order"), RevokeCert: e.url("revoke-cert"),
		KeyChange: e.url("key-change"), RenewalInfo: e.url("renewal-info"), Meta: meta,
	}}, nil
}

func (s *Server) accountObject(e ep, a *pb.AcmeAccount) *account {
	return &account{Status: a.GetStatus(), Contact: a.GetContact(), TermsAgreed: a.GetTermsAgreed(), Orders: e.url("acct", a.GetId(), "orders")}
}

func (s *Server) newAccount(ctx context.Context, sg *signed) (*response, error) {
	if sg.jws.JWK == nil {
		return nil, newProblem("malformed", "newAccount must be signed with the new account's key (jwk)")
	}
	var p struct {
		Contact            []string        `json:"contact"`
		TermsAgreed        bool            `json:"termsOfServiceAgreed"`
		OnlyReturnExisting bool            `json:"onlyReturnExisting"`
		EAB                json.RawMessage `json:"externalAccountBinding"`
	}
	if err := payload(sg, &p); err != nil {
		return nil, err
	}
	jwk, err := sg.jws.JWK.MarshalJSON()
	if err != nil {
		return nil, newProblem("badPublicKey", err.Error())
	}
	req := &pb.NewAcmeAccountRequest{Request: sg.req(), Jwk: jwk, Contact: p.Contact, TermsAgreed: p.TermsAgreed, OnlyReturnExisting: p.OnlyReturnExisting}
	if len(p.EAB) > 0 && string(p.EAB) != "null" {
		eab, err := jws.ParseEAB(p.EAB, sg.jws.URL, sg.jws.JWK)
		if err != nil {
			return nil, err
		}
		req.Eab = &pb.ExternalAccountBinding{Kid: eab.KID, Alg: eab.Alg, SigningInput: eab.SigningInput, Signature: eab.Signature}
	}
	res, err := s.acme.NewAccount(ctx, req)
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if res.GetCreated() {
		status = http.StatusCreated
	}
	return &response{status: status, location: sg.e.url("acct", res.GetAccount().GetId()), body: s.accountObject(sg.e, res.GetAccount())}, nil
}

func (s *Server) account(ctx context.Context, sg *signed) (*response, error) {
	if id := sg.r.PathValue("id"); id != sg.accountID {
		return nil, newProblem("unauthorized", "the request is signed by another account")
	}
	req := &pb.UpdateAcmeAccountRequest{Request: sg.req()}
	if !sg.jws.PostAsGet {
		var p struct {
			Contact     *[]string `json:"contact"`
			Status      string    `json:"status"`
			TermsAgreed *bool     `json:"termsOfServiceAgreed"`
		}
		if err := payload(sg, &p); err != nil {
			return nil, err
		}
		if p.Contact != nil {
			req.SetContact, req.Contact = true, *p.Contact
		}
		switch p.Status {
		case "":
		case "deactivated":
			req.Deactivate = true
		default:
			return nil, newProblem("malformed", fmt.Sprintf("an account's status can only be set to deactivated, not %q", p.Status))
		}
	}
	a, err := s.acme.UpdateAccount(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.Deactivate {
		s.accounts.Drop(sg.e.tenant + "/" + sg.e.id + "/" + sg.accountID)
	}
	return &response{location: sg.e.url("acct", a.GetId()), body: s.accountObject(sg.e, a)}, nil
}

func (s *Server) orders(ctx context.Context, sg *signed) (*response, error) {
	if sg.r.PathValue("id") != sg.accountID {
		return nil, newProblem("unauthorized", "the request is signed by another account")
	}
	res, err := s.acme.ListAccountOrders(ctx, &pb.AcmeAccountRequest{Request: sg.req()})
	if err != nil {
		return nil, err
	}
	urls := make([]string, 0, len(res.GetOrderIds()))
	for _, id := range res.GetOrderIds() {
		urls = append(urls, sg.e.url("order", id))
	}
	return &response{body: map[string][]string{"orders": urls}}, nil
}

func (s *Server) orderObject(e ep, o *pb.AcmeOrder) *order {
	out := &order{Status: o.GetStatus(), Expires: rfc3339(o.GetExpires()), Identifiers: identifiersFromPB(o.GetIdentifiers()),
		NotBefore: rfc3339(o.GetNotBefore()), NotAfter: rfc3339(o.GetNotAfter()), Error: problemFromPB(o.GetError()),
		Finalize: e.url("order", o.GetId(), "finalize"), Profile: o.GetProfile(), Replaces: o.GetReplaces(), Authorizations: []string{}}
	for _, id := range o.GetAuthorizationIds() {
		out.Authorizations = append(out.Authorizations, e.url("authz", id))
	}
	if o.GetCertificateSerial() != "" {
		out.Certificate = e.url("cert", o.GetCertificateSerial())
	}
	return out
}

func (s *Server) newOrder(ctx context.Context, sg *signed) (*response, error) {
	var p struct {
		Identifiers []identifier `json:"identifiers"`
		NotBefore   string       `json:"notBefore"`
		NotAfter    string       `json:"notAfter"`
		Profile     string       `json:"profile"`
		Replaces    string       `json:"replaces"`
	}
	if err := payload(sg, &p); err != nil {
		return nil, err
	}
	req := &pb.NewAcmeOrderRequest{Request: sg.req(), Profile: p.Profile, Replaces: p.Replaces}
	for _, id := range p.Identifiers {
		req.Identifiers = append(req.Identifiers, &pb.AcmeIdentifier{Type: id.Type, Value: id.Value})
	}
	for _, f := range []struct {
		v   string
		dst **timestamppb.Timestamp
	}{{p.NotBefore, &req.NotBefore}, {p.NotAfter, &req.NotAfter}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil {
			return nil, newProblem("malformed", fmt.Sprintf("%q is not an RFC 3339 date", f.v))
		}
		*f.dst = timestamppb.New(t)
	}
	o, err := s.acme.NewOrder(ctx, req)
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusCreated, location: sg.e.url("order", o.GetId()), body: s.orderObject(sg.e, o)}, nil
}

func (s *Server) order(ctx context.Context, sg *signed) (*response, error) {
	if !sg.jws.PostAsGet {
		return nil, newProblem("malformed", "orders are read with POST-as-GET")
	}
	o, err := s.acme.GetOrder(ctx, &pb.AcmeObjectRequest{Request: sg.req(), Id: sg.r.PathValue("id")})
	if err != nil {
		return nil, err
	}
	return &response{location: sg.e.url("order", o.GetId()), body: s.orderObject(sg.e, o)}, nil
}

func (s *Server) finalize(ctx context.Context, sg *signed) (*response, error) {
	var p struct {
		CSR string `json:"csr"`
	}
	if err := payload(sg, &p); err != nil {
		return nil, err
	}
	csr, err := base64.RawURLEncoding.DecodeString(p.CSR)
	if err != nil || len(csr) == 0 {
		return nil, newProblem("badCSR", "csr must be the base64url DER of a PKCS#10 request")
	}
	o, err := s.acme.FinalizeOrder(ctx, &pb.FinalizeAcmeOrderRequest{Request: sg.req(), OrderId: sg.r.PathValue("id"), Csr: csr})
	if err != nil {
		return nil, err
	}
	return &response{location: sg.e.url("order", o.GetId()), body: s.orderObject(sg.e, o)}, nil
}

func (s *Server) authzObject(e ep, a *pb.AcmeAuthorization) *authorization {
	out := &authorization{Identifier: identifier{a.GetIdentifier().GetType(), a.GetIdentifier().GetValue()}, Status: a.GetStatus(),
		Expires: rfc3339(a.GetExpires()), Wildcard: a.GetWildcard(), Challenges: []challenge{}}
	for _, c := range a.GetChallenges() {
		out.Challenges = append(out.Challenges, s.challengeObject(e, a.GetId(), c))
	}
	return out
}

func (s *Server) challengeObject(e ep, authzID string, c *pb.AcmeChallenge) challenge {
	return challenge{Type: c.GetType(), URL: e.url("chall", authzID, c.GetId()), Status: c.GetStatus(), Token: c.GetToken(),
		Validated: rfc3339(c.GetValidated()), Error: problemFromPB(c.GetError())}
}

func (s *Server) authz(ctx context.Context, sg *signed) (*response, error) {
	req := &pb.AcmeObjectRequest{Request: sg.req(), Id: sg.r.PathValue("id")}
	call := s.acme.GetAuthorization
	if !sg.jws.PostAsGet {
		var p struct {
			Status string `json:"status"`
		}
		if err := payload(sg, &p); err != nil {
			return nil, err
		}
		if p.Status != "deactivated" {
			return nil, newProblem("malformed", fmt.Sprintf("an authorization's status can only be set to deactivated, not %q", p.Status))
		}
		call = s.acme.DeactivateAuthorization
	}
	a, err := call(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := &response{location: sg.e.url("authz", a.GetId()), body: s.authzObject(sg.e, a)}
	if a.GetStatus() == "pending" {
		for _, c := range a.GetChallenges() {
			if c.GetStatus() == "processing" {
				resp.retryAfter = time.Second
			}
		}
	}
	return resp, nil
}

// challenge answers a challenge POST. An empty JSON object asks the server
// to validate (RFC 8555 §7.5.1); POST-as-GET only reads.
func (s *Server) challenge(ctx context.Context, sg *signed) (*response, error) {
	authzID, chID := sg.r.PathValue("authz"), sg.r.PathValue("id")
	var a *pb.AcmeAuthorization
	var c *pb.AcmeChallenge
	if sg.jws.PostAsGet {
		var err error
		if a, err = s.acme.GetAuthorization(ctx, &pb.AcmeObjectRequest{Request: sg.req(), Id: authzID}); err != nil {
			return nil, err
		}
		if c = challengeIn(a, chID, nil); c == nil {
			return nil, newProblem("malformed", "no such challenge")
		}
	} else {
		var p map[string]any
		if err := payload(sg, &p); err != nil {
			return nil, err
		}
		start, err := s.acme.StartChallenge(ctx, &pb.AcmeObjectRequest{Request: sg.req(), Id: chID})
		if err != nil {
			return nil, err
		}
		a, c = start.GetAuthorization(), start.GetChallenge()
		if a.GetId() != authzID {
			return nil, newProblem("malformed", "no such challenge")
		}
		if start.GetValidate() {
			keyAuth, err := jws.KeyAuthorization(c.GetToken(), sg.key.Key)
			if err != nil {
				return nil, err
			}
			// Most validations finish in milliseconds: answering with the
			// outcome spares the client its polling (certbot waits a
			// second between polls).
			select {
			case done := <-s.startValidation(sg.e, a, c, keyAuth):
				if done != nil {
					a, c = done, challengeIn(done, chID, c)
				}
			case <-time.After(s.cfg.Validation.Wait):
			case <-ctx.Done():
			}
		}
	}
	resp := &response{body: s.challengeObject(sg.e, a.GetId(), c), links: []string{`<` + sg.e.url("authz", a.GetId()) + `>;rel="up"`}}
	if c.GetStatus() == "processing" {
		resp.retryAfter = time.Second
	}
	return resp, nil
}

// challengeIn finds challenge id in a, or returns def.
func challengeIn(a *pb.AcmeAuthorization, id string, def *pb.AcmeChallenge) *pb.AcmeChallenge {
	for _, c := range a.GetChallenges() {
		if c.GetId() == id {
			return c
		}
	}
	return def
}

// startValidation validates a challenge in the background and reports the
// outcome to ca-core. The channel yields the authorization as ca-core
// recorded it (nil if it could not be recorded).
func (s *Server) startValidation(e ep, a *pb.AcmeAuthorization, c *pb.AcmeChallenge, keyAuth string) <-chan *pb.AcmeAuthorization {
	done := make(chan *pb.AcmeAuthorization, 1)
	s.validations.Add(1)
	go func() {
		defer s.validations.Done()
		defer close(done)
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-s.bg.Done():
			return
		}
		start := time.Now()
		id := validate.Identifier{Type: a.GetIdentifier().GetType(), Value: a.GetIdentifier().GetValue()}
		err := s.validator.Validate(s.bg, c.GetType(), id, c.GetToken(), keyAuth)
		s.validateDur.Observe(time.Since(start).Seconds())
		req := &pb.CompleteAcmeChallengeRequest{Tenant: e.tenant, Endpoint: e.id, ChallengeId: c.GetId(), Valid: err == nil}
		outcome := "valid"
		if err != nil {
			outcome = "invalid"
			typ, detail := "serverInternal", err.Error()
			var vp *validate.Problem
			if errors.As(err, &vp) {
				typ, detail = vp.Type, vp.Detail
			}
			req.Error = &pb.AcmeProblem{Type: errorPrefix + typ, Detail: detail,
				Identifier: &pb.AcmeIdentifier{Type: id.Type, Value: id.Value}}
		}
		s.validated.WithLabelValues(c.GetType(), outcome).Inc()
		// ca-core must hear the outcome: retry briefly through blips.
		for attempt := 0; attempt < 5; attempt++ {
			ctx, cancel := context.WithTimeout(s.bg, 10*time.Second)
			recorded, err := s.acme.CompleteChallenge(ctx, req)
			cancel()
			if err == nil {
				done <- recorded
				return
			}
			if frontend.ReasonOf(err) != pb.ErrorReason_ERROR_REASON_UNAVAILABLE || s.bg.Err() != nil {
				s.log.Warn("acme: recording a validation", "challenge", c.GetId(), "err", err)
				return
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
	}()
	return done
}

func (s *Server) certificate(ctx context.Context, sg *signed) (*response, error) {
	if !sg.jws.PostAsGet {
		return nil, newProblem("malformed", "certificates are downloaded with POST-as-GET")
	}
	c, err := s.acme.GetOrderCertificate(ctx, &pb.AcmeObjectRequest{Request: sg.req(), Id: sg.r.PathValue("serial")})
	if err != nil {
		return nil, err
	}
	chains := certificateChains(c.GetCertificate().GetDer(), c.GetChain())
	n := 0
	if alt := sg.r.PathValue("chain"); alt != "" {
		if n, err = strconv.Atoi(alt); err != nil || n < 1 || n >= len(chains) {
			return nil, &problem{Type: errorPrefix + "malformed", Detail: "no such alternate chain", Status: http.StatusNotFound}
		}
	}
	resp := &response{raw: chains[n], contentType: "application/pem-certificate-chain"}
	for i := range chains {
		if i == n {
			continue
		}
		u := sg.e.url("cert", sg.r.PathValue("serial"))
		if i > 0 {
			u += "/" + strconv.Itoa(i)
		}
		resp.links = append(resp.links, "<"+u+`>;rel="alternate"`)
	}
	return resp, nil
}

// certificateChains are the PEM chains offered for a certificate: first
// without the self-signed root, which a TLS server should not send
// (RFC 8446 §4.4.2) and clients hold already; then, as an alternate
// (RFC 8555 §7.4.2), with it, for clients that want the whole path.
func certificateChains(leaf []byte, cas [][]byte) [][]byte {
	encode := func(ders [][]byte) []byte {
		var out []byte
		for _, der := range ders {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		}
		return out
	}
	full := append([][]byte{leaf}, cas...)
	if len(cas) < 2 {
		return [][]byte{encode(full)}
	}
	// ca-core's chains end at the root; comparing names (not verifying the
	// signature: a download is no place to spend a verification) tells a
	// self-signed root from a CA under an external one.
	top, err := x509.ParseCertificate(cas[len(cas)-1])
	if err != nil || !bytes.Equal(top.RawIssuer, top.RawSubject) {
		return [][]byte{encode(full)}
	}
	return [][]byte{encode(full[:len(full)-1]), encode(full)}
}

func (s *Server) revokeCert(ctx context.Context, sg *signed) (*response, error) {
	var p struct {
		Certificate string `json:"certificate"`
		Reason      *int   `json:"reason"`
	}
	if err := payload(sg, &p); err != nil {
		return nil, err
	}
	der, err := base64.RawURLEncoding.DecodeString(p.Certificate)
	if err != nil || len(der) == 0 {
		return nil, newProblem("malformed", "certificate must be the base64url DER of the certificate")
	}
	req := &pb.RevokeAcmeCertificateRequest{Tenant: sg.e.tenant, Endpoint: sg.e.id, Nonce: sg.jws.Nonce, Certificate: der}
	if p.Reason != nil {
		if *p.Reason < 0 || *p.Reason > 10 {
			return nil, newProblem("badRevocationReason", fmt.Sprintf("reason %d is not an RFC 5280 reason code", *p.Reason))
		}
		// The contract's reasons are the RFC 5280 code plus one.
		req.Reason = pb.RevocationReason(*p.Reason + 1)
	}
	if sg.accountID != "" {
		req.AccountId, req.KeyThumbprint = sg.accountID, sg.thumbprint
	} else {
		spki, err := x509.MarshalPKIXPublicKey(sg.key.Key)
		if err != nil {
			return nil, newProblem("badPublicKey", err.Error())
		}
		req.CertificateKeySpki = spki
	}
	if _, err := s.acme.RevokeCertificate(ctx, req); err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK}, nil
}

func (s *Server) keyChange(ctx context.Context, sg *signed) (*response, error) {
	newKey, err := jws.ParseKeyChange(sg.jws, sg.key.Key)
	if err != nil {
		return nil, err
	}
	jwk, err := newKey.MarshalJSON()
	if err != nil {
		return nil, newProblem("badPublicKey", err.Error())
	}
	thumb, err := jws.Thumbprint(newKey.Key)
	if err != nil {
		return nil, err
	}
	a, err := s.acme.ChangeAccountKey(ctx, &pb.ChangeAcmeAccountKeyRequest{Request: sg.req(), NewJwk: jwk, NewKeyThumbprint: thumb})
	if err != nil {
		return nil, err
	}
	s.accounts.Drop(sg.e.tenant + "/" + sg.e.id + "/" + sg.accountID)
	return &response{location: sg.e.url("acct", a.GetId()), body: s.accountObject(sg.e, a)}, nil
}

func (s *Server) renewalInfo(ctx context.Context, e ep, r *http.Request) (*response, error) {
	info, err := s.acme.RenewalInfo(ctx, &pb.AcmeRenewalInfoRequest{Tenant: e.tenant, Endpoint: e.id, CertificateId: r.PathValue("id")})
	if err != nil {
		return nil, err
	}
	body := map[string]any{"suggestedWindow": map[string]string{"start": rfc3339(info.GetWindowStart()), "end": rfc3339(info.GetWindowEnd())}}
	// RFC 9773 §4.2: clients poll again after Retry-After.
	return &response{body: body, retryAfter: 6 * time.Hour}, nil
}
