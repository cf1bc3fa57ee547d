package mdmws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// Deps are the server's collaborators.
type Deps struct {
	// Conn is the mutual-TLS connection to ca-core.
	Conn   grpc.ClientConnInterface
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil disables them.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Server is the MDM web service.
type Server struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	endpoints  pb.EndpointServiceClient
	challenges pb.ChallengeServiceClient
	digitalIDs pb.DigitalIDServiceClient
	issuance   pb.IssuanceServiceClient
	certs      pb.CertificateServiceClient
	revoker    pb.RevocationServiceClient
	cas        pb.CAServiceClient
	profiles   pb.ProfileServiceClient

	configs  *frontend.Cache[*pb.Endpoint]
	creds    *frontend.CredentialCache
	failures *failureLimiter

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux
}

// New builds a server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Conn == nil {
		return nil, errors.New("mdmws: Conn is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	cfg.defaults()
	s := &Server{
		cfg: cfg, log: d.Logger, now: d.Now,
		endpoints: pb.NewEndpointServiceClient(d.Conn), challenges: pb.NewChallengeServiceClient(d.Conn),
		digitalIDs: pb.NewDigitalIDServiceClient(d.Conn), issuance: pb.NewIssuanceServiceClient(d.Conn),
		certs: pb.NewCertificateServiceClient(d.Conn), revoker: pb.NewRevocationServiceClient(d.Conn),
		cas: pb.NewCAServiceClient(d.Conn), profiles: pb.NewProfileServiceClient(d.Conn),
		configs:  frontend.NewCache[*pb.Endpoint](10 * time.Second),
		creds:    frontend.NewCredentialCache(30 * time.Second),
		failures: &failureLimiter{limit: cfg.FailedLogins, window: time.Minute, now: d.Now, seen: map[string][]time.Time{}},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_mdmws_requests_total",
			Help: "MDM web service requests by operation and HTTP status."}, []string{"operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_mdmws_request_seconds",
			Help: "MDM web service latency by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"operation"}),
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.routes()
	return s, nil
}

// Handler serves the service's paths.
func (s *Server) Handler() http.Handler { return s.mux }

// maxBody bounds JSON requests: a PEM CSR with a 16 kbit key and a few
// variables fits many times.
const maxBody = 64 << 10

// target is the MDM configuration a request names, authenticated.
type target struct {
	tenant string
	ep     *pb.Endpoint
	user   string
}

// apiError is an answer with an HTTP status.
type apiError struct {
	status     int
	text       string
	rule       string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.text }

func errorf(status int, format string, a ...any) *apiError {
	return &apiError{status: status, text: fmt.Sprintf(format, a...)}
}

// fromCore maps a failed ca-core call to an HTTP answer.
func (s *Server) fromCore(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := frontend.Decode(err)
	status := map[pb.ErrorReason]int{
		pb.ErrorReason_ERROR_REASON_BAD_REQUEST: http.StatusBadRequest, pb.ErrorReason_ERROR_REASON_BAD_CSR: http.StatusBadRequest,
		pb.ErrorReason_ERROR_REASON_POLICY_REJECTED: http.StatusForbidden, pb.ErrorReason_ERROR_REASON_NOT_FOUND: http.StatusNotFound,
		pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS: http.StatusConflict, pb.ErrorReason_ERROR_REASON_CONFLICT: http.StatusConflict,
		pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED: http.StatusUnauthorized, pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED: http.StatusForbidden,
		pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED: http.StatusForbidden, pb.ErrorReason_ERROR_REASON_RATE_LIMITED: http.StatusTooManyRequests,
		pb.ErrorReason_ERROR_REASON_UNAVAILABLE: http.StatusServiceUnavailable,
	}[e.Reason]
	if status == 0 {
		s.log.Error("mdmws: ca-core failed", "err", err)
		return &apiError{status: http.StatusInternalServerError, text: frontend.Describe(err)}
	}
	return &apiError{status: status, text: e.Detail, rule: e.Rule, retryAfter: e.RetryAfter}
}

// configOf loads an MDM configuration.
func (s *Server) configOf(ctx context.Context, tenant, id string) (*pb.Endpoint, error) {
	key := tenant + "/" + id
	if ep, ok := s.configs.Get(key); ok {
		return ep, nil
	}
	ep, err := s.endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: tenant, Id: id})
	if err != nil || ep.GetProtocol() != pb.Protocol_PROTOCOL_MDMWS {
		if err == nil || frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
			return nil, errorf(http.StatusNotFound, "no MDM configuration %s/%s", tenant, id)
		}
		return nil, s.fromCore(err)
	}
	s.configs.Put(key, ep)
	return ep, nil
}

// authenticate checks the MDM credential (HTTP Basic) of configuration
// tenant/id. Wrong credentials are audited by ca-core; a client address
// that keeps sending them is slowed down with 429.
func (s *Server) authenticate(r *http.Request, tenant, id string) (*target, error) {
	client := clientAddr(r)
	if wait := s.failures.blocked(client); wait > 0 {
		return nil, &apiError{status: http.StatusTooManyRequests, text: "too many failed logins; try again later", retryAfter: wait}
	}
	// Credentials first: without them nobody learns which
	// configurations exist.
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, errorf(http.StatusUnauthorized, "this service needs the MDM credential (HTTP Basic)")
	}
	ep, err := s.configOf(r.Context(), tenant, id)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusNotFound {
			// An unknown configuration is a wrong login like any other.
			s.failures.fail(client)
			return nil, errorf(http.StatusUnauthorized, "wrong user name or password")
		}
		return nil, err
	}
	if ep.GetDisabled() {
		return nil, errorf(http.StatusForbidden, "MDM configuration %s/%s is disabled", tenant, id)
	}
	key := s.creds.Key(tenant, id, user, pass)
	if !s.creds.OK(key) {
		_, err := s.endpoints.VerifyEndpointCredential(r.Context(), &pb.VerifyEndpointCredentialRequest{Tenant: tenant, Endpoint: id,
			Username: user, Secret: pass})
		if err != nil {
			if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED {
				s.failures.fail(client)
				return nil, errorf(http.StatusUnauthorized, "wrong user name or password")
			}
			return nil, s.fromCore(err)
		}
		s.creds.Remember(key)
	}
	return &target{tenant: tenant, ep: ep, user: user}, nil
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// failureLimiter counts failed logins per client address in a sliding
// window.
type failureLimiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string][]time.Time
}

func (f *failureLimiter) recent(client string) []time.Time {
	cutoff := f.now().Add(-f.window)
	kept := f.seen[client][:0]
	for _, t := range f.seen[client] {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(f.seen, client)
	} else {
		f.seen[client] = kept
	}
	return kept
}

// blocked returns how long client must wait, or 0.
func (f *failureLimiter) blocked(client string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.recent(client)
	if len(r) == 0 || len(r) < f.limit {
		return 0
	}
	return r[0].Add(f.window).Sub(f.now())
}

func (f *failureLimiter) fail(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) > 100_000 {
		f.seen = map[string][]time.Time{}
	}
	f.seen[client] = append(f.recent(client), f.now())
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeAPIError answers a JSON API failure.
func writeAPIError(w http.ResponseWriter, err *apiError) {
	setErrorHeaders(w, err)
	body := map[string]string{"error": err.text}
	if err.rule != "" {
		body["rule"] = err.rule
	}
	writeJSON(w, err.status, body)
}

func setErrorHeaders(w http.ResponseWriter, err *apiError) {
	if err.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="certgate MDM web service"`)
	}
	if err.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((err.retryAfter+time.Second-1)/time.Second)))
	}
}

// instrument counts and times a handler under op.
func (s *Server) instrument(op string, h func(http.ResponseWriter, *http.Request) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := h(w, r)
		s.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
		s.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
}

// scepURL is the SCEP URL of a configuration's devices.
func (s *Server) scepURL(t *target) string {
	if s.cfg.SCEPURL == "" {
		return ""
	}
	return strings.TrimRight(s.cfg.SCEPURL, "/") + "/scep/" + t.tenant + "/" + t.ep.GetId()
}
