package est

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/globalsign/est"
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
	// Signer signs the SignedData around encrypted server-generated keys
	// (RFC 7030 §4.4.2): the service's TLS certificate and key.
	Signer tls.Certificate
}

// Server is the EST service: the backing CA of the est router.
type Server struct {
	cfg       Config
	issuance  pb.IssuanceServiceClient
	pending   pb.PendingRequestServiceClient
	endpoints pb.EndpointServiceClient
	cas       pb.CAServiceClient
	profiles  pb.ProfileServiceClient
	audit     pb.AuditServiceClient
	log       *slog.Logger
	signer    tls.Certificate

	configs *frontend.Cache[*pb.Endpoint]
	creds   *frontend.CredentialCache

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	handler http.Handler
}

// New builds a server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Conn == nil {
		return nil, errors.New("est: Conn is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	s := &Server{
		cfg: cfg, log: d.Logger, signer: d.Signer,
		issuance: pb.NewIssuanceServiceClient(d.Conn), pending: pb.NewPendingRequestServiceClient(d.Conn),
		endpoints: pb.NewEndpointServiceClient(d.Conn), cas: pb.NewCAServiceClient(d.Conn), profiles: pb.NewProfileServiceClient(d.Conn),
		audit:   pb.NewAuditServiceClient(d.Conn),
		configs: frontend.NewCache[*pb.Endpoint](10 * time.Second), creds: frontend.NewCredentialCache(30 * time.Second),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_est_requests_total",
			Help: "EST requests by operation and HTTP status."}, []string{"operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_est_request_seconds",
			Help: "EST request latency by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"operation"}),
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	router, err := est.NewRouter(&est.ServerConfig{CA: s, Logger: estLogger{d.Logger}, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	s.handler = s.wrap(router)
	return s, nil
}

// Handler serves /.well-known/est/.
func (s *Server) Handler() http.Handler { return s.handler }

// maxBody bounds request bodies: a base64 CSR with a 16 kbit RSA key and
// many extensions fits in a few kilobytes.
const maxBody = 64 << 10

// operations are the last path segments the service answers.
var operations = map[string]bool{"cacerts": true, "csrattrs": true, "simpleenroll": true, "simplereenroll": true,
	"serverkeygen": true, "fullcmc": true, "tpmenroll": true}

// wrap adds what the est router leaves to its user: metrics, the client
// certificate from a trusted proxy, 501 for fullcmc and a Basic challenge
// on every 401.
func (s *Server) wrap(router http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if !operations[op] {
			op = "other"
		}
		rec := &statusRecorder{ResponseWriter: w, op: op}
		defer func() {
			s.requests.WithLabelValues(op, http.StatusText(rec.code())).Inc()
			s.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
		}()
		if s.cfg.TrustedProxy != nil {
			var err error
			if r, err = s.cfg.TrustedProxy.apply(r); err != nil {
				writeError(rec, errorf(http.StatusBadRequest, "%v", err))
				return
			}
		}
		if r.Body != nil {
			// The router limits bodies too, but answers an overlong one
			// with 500; read it here to answer 413.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil {
				writeError(rec, errorf(http.StatusBadRequest, "reading the request: %v", err))
				return
			}
			if len(body) > maxBody {
				writeError(rec, errorf(http.StatusRequestEntityTooLarge, "the request body exceeds %d bytes", maxBody))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if op == "fullcmc" {
			writeError(rec, errorf(http.StatusNotImplemented, "fullcmc (RFC 7030 §4.3) is not offered; use simpleenroll, simplereenroll or serverkeygen"))
			return
		}
		note := &refusalNote{}
		router.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), refusalNoteKey{}, note)))
		if rec.status == 0 {
			// The router's recoverer logs a panic and writes nothing,
			// which net/http would send as an empty 200.
			writeError(rec, errorf(http.StatusInternalServerError, "internal error"))
		}
		if refusedHere[rec.code()] && !note.audited {
			s.recordRefusal(r, op, rec.code(), rec.text.String())
		}
	})
}

// refusedHere are the answers the service may give without asking
// ca-core; unless ca-core took part (and audited), the service reports
// them for the audit trail. 404 is not among them: an unknown label has
// no tenant to audit in.
var refusedHere = map[int]bool{http.StatusBadRequest: true, http.StatusUnauthorized: true, http.StatusForbidden: true,
	http.StatusRequestEntityTooLarge: true, http.StatusUnsupportedMediaType: true, http.StatusNotImplemented: true}

// refusalNote records, per request, that ca-core has audited its outcome.
type refusalNote struct{ audited bool }

type refusalNoteKey struct{}

// auditedByCore notes that ca-core decided (and audited) the request.
func auditedByCore(ctx context.Context) {
	if n, ok := ctx.Value(refusalNoteKey{}).(*refusalNote); ok {
		n.audited = true
	}
}

// recordRefusal reports a refusal to ca-core in the background: the
// client has its answer already.
func (s *Server) recordRefusal(r *http.Request, op string, code int, text string) {
	label, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/.well-known/est/"), "/")
	if operations[label] {
		label = ""
	}
	tenant, id := s.labelOf(label)
	if id == "" {
		return
	}
	req := &pb.RecordRefusalRequest{Tenant: tenant, Endpoint: id, Operation: op, Client: r.RemoteAddr,
		Detail: fmt.Sprintf("HTTP %d: %s", code, strings.TrimSpace(text))}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.audit.RecordRefusal(ctx, req); err != nil && frontend.ReasonOf(err) != pb.ErrorReason_ERROR_REASON_NOT_FOUND {
			s.log.Warn("est: recording a refusal", "err", err)
		}
	}()
}

func writeError(w http.ResponseWriter, e *httpError) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.status)
	w.Write([]byte(e.text + "\n"))
}

// statusRecorder notes the status and asks 401s for Basic credentials
// (RFC 7030 §3.2.3), which the router does not when the backing CA is
// the one refusing.
type statusRecorder struct {
	http.ResponseWriter
	op     string
	status int
	// text keeps the start of an error answer, for the audit trail.
	text bytes.Buffer
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		h := r.Header()
		if code == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", `Basic realm="certgate EST"`)
		}
		if code == http.StatusMethodNotAllowed && h.Get("Allow") == "" {
			// RFC 9110 §15.5.6; the router's 405 has none.
			h.Set("Allow", allowed[r.op])
		}
		// The router names itself (with a stale version); nobody needs to
		// know which library answers.
		h.Del("Server")
	}
	r.ResponseWriter.WriteHeader(code)
}

// allowed is each operation's method (RFC 7030 §3.2.2).
var allowed = map[string]string{"cacerts": http.MethodGet, "csrattrs": http.MethodGet, "simpleenroll": http.MethodPost,
	"simplereenroll": http.MethodPost, "serverkeygen": http.MethodPost, "fullcmc": http.MethodPost, "tpmenroll": http.MethodPost,
	"other": "GET, POST"}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.status >= 400 && r.text.Len() < 512 {
		r.text.Write(b[:min(len(b), 512-r.text.Len())])
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// target is the endpoint a request's label names.
type target struct {
	tenant string
	ep     *pb.Endpoint
}

// targetOf resolves a label: "endpoint" in the configured tenant,
// "tenant.endpoint", or "" for the default endpoint.
func (s *Server) targetOf(ctx context.Context, label string) (*target, error) {
	if label == "" {
		if s.cfg.DefaultEndpoint == "" {
			return nil, errorf(http.StatusNotFound, "this server has no default EST endpoint; use /.well-known/est/{label}/")
		}
		label = s.cfg.DefaultEndpoint
	}
	tenant, id := s.labelOf(label)
	key := tenant + "/" + id
	ep, ok := s.configs.Get(key)
	if !ok {
		var err error
		ep, err = s.endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: tenant, Id: id})
		if err != nil {
			if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
				return nil, errorf(http.StatusNotFound, "no EST endpoint %q", label)
			}
			return nil, toHTTP(err, s.log)
		}
		s.configs.Put(key, ep)
	}
	if ep.GetProtocol() != pb.Protocol_PROTOCOL_EST {
		return nil, errorf(http.StatusNotFound, "no EST endpoint %q", label)
	}
	return &target{tenant: tenant, ep: ep}, nil
}

// labelOf names the endpoint of a label: "endpoint" in the configured
// tenant, "tenant.endpoint", or the default endpoint for "".
func (s *Server) labelOf(label string) (tenant, id string) {
	if label == "" {
		return s.cfg.Tenant, s.cfg.DefaultEndpoint
	}
	if t, e, ok := strings.Cut(label, "."); ok {
		return t, e
	}
	return s.cfg.Tenant, label
}

// CACerts answers /cacerts (RFC 7030 §4.1): the endpoint's CA and the
// certificates up to its root.
func (s *Server) CACerts(ctx context.Context, aps string, _ *http.Request) ([]*x509.Certificate, error) {
	t, err := s.targetOf(ctx, aps)
	if err != nil {
		return nil, err
	}
	chain, err := s.cas.GetCAChain(ctx, &pb.GetCAChainRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()})
	if err != nil {
		return nil, toHTTP(err, s.log)
	}
	out := make([]*x509.Certificate, 0, len(chain.GetCertificates()))
	for _, der := range chain.GetCertificates() {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, toHTTP(err, s.log)
		}
		out = append(out, c)
	}
	return out, nil
}

// Enroll answers /simpleenroll (RFC 7030 §4.2.1).
func (s *Server) Enroll(ctx context.Context, csr *x509.CertificateRequest, aps string, r *http.Request) (*x509.Certificate, error) {
	return s.enroll(ctx, csr, aps, r, false)
}

// Reenroll answers /simplereenroll (RFC 7030 §4.2.2). The router has
// checked that the CSR repeats the TLS client certificate's subject and
// subjectAltNames and that the certificate chains to /cacerts; ca-core
// checks that it is one it issued and still in force.
func (s *Server) Reenroll(ctx context.Context, _ *x509.Certificate, csr *x509.CertificateRequest, aps string, r *http.Request) (*x509.Certificate, error) {
	return s.enroll(ctx, csr, aps, r, true)
}

func (s *Server) enroll(ctx context.Context, csr *x509.CertificateRequest, aps string, r *http.Request, renewal bool) (*x509.Certificate, error) {
	t, err := s.targetOf(ctx, aps)
	if err != nil {
		return nil, err
	}
	req := &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Csr: csr.Raw, RequestKey: requestKey(t, csr, renewal)}
	if renewal {
		req.ClientCertificate, req.Renewal = r.TLS.PeerCertificates[0].Raw, true
	} else if err := s.authenticate(ctx, t, csr, r, req); err != nil {
		return nil, err
	}
	if t.ep.GetRequireApproval() {
		return s.awaitApproval(ctx, t, csr, req)
	}
	res, err := s.issuance.Issue(ctx, req)
	if err != nil {
		auditedByCore(ctx)
		return nil, toHTTP(err, s.log)
	}
	return x509.ParseCertificate(res.GetCertificate().GetDer())
}

// requestKey makes retries idempotent: a client that lost the answer and
// sends the same CSR again gets the same certificate, not a second one.
func requestKey(t *target, csr *x509.CertificateRequest, renewal bool) string {
	sum := sha256.Sum256(csr.Raw)
	op := "enroll"
	if renewal {
		op = "reenroll"
	}
	return "est:" + op + ":" + t.ep.GetId() + ":" + hex.EncodeToString(sum[:16])
}

// awaitApproval files the request for an administrator, or reports what
// became of it: 202 and Retry-After while it waits (RFC 7030 §4.2.3), the
// certificate once approved, 403 once rejected. The CSR identifies the
// request across retries.
func (s *Server) awaitApproval(ctx context.Context, t *target, csr *x509.CertificateRequest, req *pb.IssueRequest) (*x509.Certificate, error) {
	sum := sha256.Sum256(csr.Raw)
	txid := hex.EncodeToString(sum[:])
	p, err := s.pending.GetPendingRequest(ctx, &pb.GetPendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), TransactionId: txid})
	if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
		p, err = s.pending.CreatePendingRequest(ctx, &pb.CreatePendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
			TransactionId: txid, Csr: csr.Raw})
	}
	if err != nil {
		return nil, toHTTP(err, s.log)
	}
	switch p.GetStatus() {
	case pb.PendingStatus_PENDING_STATUS_ISSUED:
		return x509.ParseCertificate(p.GetCertificate().GetDer())
	case pb.PendingStatus_PENDING_STATUS_REJECTED:
		return nil, errorf(http.StatusForbidden, "the request was rejected: %s", p.GetReason())
	}
	return nil, &httpError{status: http.StatusAccepted, text: "the request " + p.GetId() + " awaits approval; retry with the same CSR",
		retryAfter: s.cfg.RetryAfter}
}

// TPMEnroll is not offered.
func (s *Server) TPMEnroll(context.Context, *x509.CertificateRequest, []*x509.Certificate, []byte, []byte, string, *http.Request) ([]byte, []byte, []byte, error) {
	return nil, nil, nil, errorf(http.StatusNotImplemented, "tpmenroll is not offered")
}

// estLogger adapts slog to the router's logger.
type estLogger struct{ l *slog.Logger }

func (e estLogger) Errorf(format string, args ...interface{}) {
	e.l.Error("est: " + fmt.Sprintf(format, args...))
}
func (e estLogger) Errorw(msg string, kv ...interface{}) { e.l.Error("est: "+msg, kv...) }
func (e estLogger) Infof(format string, args ...interface{}) {
	e.l.Debug("est: " + fmt.Sprintf(format, args...))
}
func (e estLogger) Infow(msg string, kv ...interface{}) { e.l.Debug("est: "+msg, kv...) }
func (e estLogger) With(kv ...interface{}) est.Logger   { return estLogger{e.l.With(kv...)} }
