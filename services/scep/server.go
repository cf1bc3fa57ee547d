package scep

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/smallstep/pkcs7"
	"google.golang.org/grpc"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/scep/intune"
)

// Deps are the server's collaborators.
type Deps struct {
	// Conn is the mutual-TLS connection to ca-core.
	Conn   grpc.ClientConnInterface
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil disables them.
	Registerer prometheus.Registerer
	// HTTPClient calls webhooks; nil builds one from Config.Webhook.
	HTTPClient *http.Client
}

// Server is the SCEP service.
type Server struct {
	cfg        Config
	log        *slog.Logger
	issuance   pb.IssuanceServiceClient
	pending    pb.PendingRequestServiceClient
	endpoints  pb.EndpointServiceClient
	certs      pb.CertificateServiceClient
	revoker    pb.RevocationServiceClient
	scep       pb.ScepServiceClient
	challenges pb.ChallengeServiceClient
	audit      pb.AuditServiceClient
	webhooks   *http.Client
	intune     map[string]*intune.Client

	configs *frontend.Cache[*pb.Endpoint]
	ras     *frontend.RACache
	creds   *frontend.CredentialCache

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux
}

// New builds a server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Conn == nil {
		return nil, errors.New("scep: Conn is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	s := &Server{
		cfg: cfg, log: d.Logger,
		issuance: pb.NewIssuanceServiceClient(d.Conn), pending: pb.NewPendingRequestServiceClient(d.Conn),
		endpoints: pb.NewEndpointServiceClient(d.Conn), certs: pb.NewCertificateServiceClient(d.Conn),
		revoker: pb.NewRevocationServiceClient(d.Conn), scep: pb.NewScepServiceClient(d.Conn), challenges: pb.NewChallengeServiceClient(d.Conn),
		ras: frontend.NewRACache(pb.NewScepServiceClient(d.Conn)), audit: pb.NewAuditServiceClient(d.Conn),
		webhooks: d.HTTPClient, intune: map[string]*intune.Client{},
		configs: frontend.NewCache[*pb.Endpoint](10 * time.Second),
		creds:   frontend.NewCredentialCache(30 * time.Second),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_scep_requests_total",
			Help: "SCEP requests by operation (message type for PKIOperation) and outcome."}, []string{"operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_scep_request_seconds",
			Help: "SCEP request latency by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"operation"}),
	}
	if s.webhooks == nil {
		c, err := httpClient(cfg.Webhook.CAFile, cfg.Webhook.Timeout)
		if err != nil {
			return nil, fmt.Errorf("scep: webhook: %w", err)
		}
		s.webhooks = c
	}
	for key, ic := range cfg.Intune {
		c, err := newIntuneClient(ic)
		if err != nil {
			return nil, fmt.Errorf("scep: intune %s: %w", key, err)
		}
		s.intune[key] = c
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.mux = http.NewServeMux()
	byPath := func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, r.PathValue("tenant"), r.PathValue("endpoint"))
	}
	s.mux.HandleFunc("/scep/{tenant}/{endpoint}", byPath)
	s.mux.HandleFunc("/scep/{tenant}/{endpoint}/pkiclient.exe", byPath)
	ndes := func(w http.ResponseWriter, r *http.Request) {
		tenant, id, _ := strings.Cut(s.cfg.NDESEndpoint, "/")
		if id == "" {
			http.Error(w, "this server has no NDES-compatible endpoint; use /scep/{tenant}/{endpoint}", http.StatusNotFound)
			return
		}
		s.serve(w, r, tenant, id)
	}
	s.mux.HandleFunc("/certsrv/mscep/mscep.dll", ndes)
	s.mux.HandleFunc("/certsrv/mscep/mscep.dll/pkiclient.exe", ndes)
	return s, nil
}

// Handler serves the SCEP paths.
func (s *Server) Handler() http.Handler { return s.mux }

// maxMessage bounds a pkiMessage: a CSR for a 16 kbit RSA key inside two
// CMS layers with a signer certificate stays far below it.
const maxMessage = 128 << 10

// target is the endpoint a request names.
type target struct {
	tenant string
	ep     *pb.Endpoint
}

// httpError is an answer where SCEP has no CertRep to give.
type httpError struct {
	status int
	text   string
	// retryAfter, when set, goes into Retry-After.
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.text }

func httpErrorf(status int, format string, a ...any) *httpError {
	return &httpError{status: status, text: fmt.Sprintf(format, a...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, tenant, id string) {
	start := time.Now()
	op := r.URL.Query().Get("operation")
	label, outcome := op, "ok"
	defer func() {
		if !knownOperations[label] {
			label = "other"
		}
		s.requests.WithLabelValues(label, outcome).Inc()
		s.latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}()
	var err error
	switch op {
	case "GetCACaps":
		err = s.getCACaps(w, r, tenant, id)
	case "GetCACert":
		err = s.getCACert(w, r, tenant, id)
	case "GetNextCACert":
		err = s.getNextCACert(w, r, tenant, id)
	case "PKIOperation":
		label, outcome, err = s.pkiOperation(w, r, tenant, id)
	case "":
		err = httpErrorf(http.StatusBadRequest, "the operation parameter is missing (GetCACaps, GetCACert, GetNextCACert or PKIOperation)")
	default:
		err = httpErrorf(http.StatusBadRequest, "unknown operation %q (GetCACaps, GetCACert, GetNextCACert or PKIOperation)", op)
	}
	if err != nil {
		outcome = "error"
		s.writeError(w, err)
	}
}

var knownOperations = map[string]bool{"GetCACaps": true, "GetCACert": true, "GetNextCACert": true,
	"PKCSReq": true, "RenewalReq": true, "UpdateReq": true, "CertPoll": true, "GetCert": true, "GetCRL": true, "PKIOperation": true}

func (s *Server) writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = s.fromCore(err)
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((he.retryAfter+time.Second-1)/time.Second)))
	}
	if he.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	write(w, he.status, "text/plain; charset=utf-8", []byte(he.text+"\n"))
}

// fromCore turns a failed ca-core call into an HTTP answer, for the
// operations that have no CertRep.
func (s *Server) fromCore(err error) *httpError {
	e := frontend.Decode(err)
	switch e.Reason {
	case pb.ErrorReason_ERROR_REASON_NOT_FOUND:
		return httpErrorf(http.StatusNotFound, "%s", e.Detail)
	case pb.ErrorReason_ERROR_REASON_UNAVAILABLE, pb.ErrorReason_ERROR_REASON_RATE_LIMITED:
		return &httpError{status: http.StatusServiceUnavailable, text: e.Detail, retryAfter: max(e.RetryAfter, time.Second)}
	case pb.ErrorReason_ERROR_REASON_INTERNAL:
		s.log.Error("scep: ca-core failed", "err", err)
		return httpErrorf(http.StatusInternalServerError, "%s", frontend.Describe(err))
	}
	return httpErrorf(http.StatusBadRequest, "%s", e.Detail)
}

// write sends a whole body with its length: the Windows SCEP client, like
// NDES's other clients, does not expect chunked answers.
func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// targetOf loads a SCEP endpoint.
func (s *Server) targetOf(ctx context.Context, tenant, id string) (*target, error) {
	key := tenant + "/" + id
	ep, ok := s.configs.Get(key)
	if !ok {
		var err error
		ep, err = s.endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: tenant, Id: id})
		if err != nil {
			if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
				return nil, httpErrorf(http.StatusNotFound, "no SCEP endpoint %s/%s", tenant, id)
			}
			return nil, err
		}
		s.configs.Put(key, ep)
	}
	// MDM configurations' devices enroll here too, with the challenges
	// their MDM obtained from the MDMWS service.
	if p := ep.GetProtocol(); p != pb.Protocol_PROTOCOL_SCEP && p != pb.Protocol_PROTOCOL_MDMWS {
		return nil, httpErrorf(http.StatusNotFound, "no SCEP endpoint %s/%s", tenant, id)
	}
	if ep.GetDisabled() {
		return nil, httpErrorf(http.StatusForbidden, "SCEP endpoint %s/%s is disabled", tenant, id)
	}
	return &target{tenant: tenant, ep: ep}, nil
}

func onlyGet(r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return httpErrorf(http.StatusMethodNotAllowed, "%s is a GET operation", r.URL.Query().Get("operation"))
	}
	return nil
}

// getCACaps answers GetCACaps (RFC 8894 §3.5.2). SCEPStandard implies
// AES, SHA-256 and POSTPKIOperation, which are listed too for clients that
// predate it; DES3 is there for old clients, which otherwise fall back to
// single DES. SHA-1 and DES are accepted but not offered.
func (s *Server) getCACaps(w http.ResponseWriter, r *http.Request, tenant, id string) error {
	if err := onlyGet(r); err != nil {
		return err
	}
	t, err := s.targetOf(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	caps := []string{"AES", "DES3"}
	if t.ep.GetScep().GetNextCa() != "" {
		caps = append(caps, "GetNextCACert")
	}
	caps = append(caps, "POSTPKIOperation", "Renewal", "SCEPStandard", "SHA-256", "SHA-512")
	write(w, http.StatusOK, "text/plain", []byte(strings.Join(caps, "\n")+"\n"))
	return nil
}

// getCACert answers GetCACert (§4.2): the RA certificate and the CA
// chain as a certs-only SignedData, application/x-x509-ca-ra-cert.
func (s *Server) getCACert(w http.ResponseWriter, r *http.Request, tenant, id string) error {
	if err := onlyGet(r); err != nil {
		return err
	}
	t, err := s.targetOf(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	ra, err := s.raOf(r.Context(), t)
	if err != nil {
		return err
	}
	body, err := degenerate(append(slices.Clone(ra.Chain), ra.Current()))
	if err != nil {
		return err
	}
	write(w, http.StatusOK, "application/x-x509-ca-ra-cert", body)
	return nil
}

// getNextCACert answers GetNextCACert (§4.7) while the endpoint names a
// next CA: its chain and RA, in a SignedData signed by the current RA.
func (s *Server) getNextCACert(w http.ResponseWriter, r *http.Request, tenant, id string) error {
	if err := onlyGet(r); err != nil {
		return err
	}
	t, err := s.targetOf(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	ra, err := s.raOf(r.Context(), t)
	if err != nil {
		return err
	}
	if len(ra.Next) == 0 {
		return httpErrorf(http.StatusNotFound, "no CA rollover is pending on %s/%s", tenant, id)
	}
	// ra.Next is the next RA followed by the next chain; clients want the
	// CA first, as in GetCACert.
	inner, err := degenerate(append(slices.Clone(ra.Next[1:]), ra.Next[0]))
	if err != nil {
		return err
	}
	sd, err := pkcs7.NewSignedData(inner)
	if err != nil {
		return err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(ra.Current(), s.keyOf(r.Context(), t, ra.Current()), pkcs7.SignerInfoConfig{}); err != nil {
		return err
	}
	body, err := sd.Finish()
	if err != nil {
		return err
	}
	write(w, http.StatusOK, "application/x-x509-next-ca-cert", body)
	return nil
}

// readMessage returns a PKIOperation's pkiMessage: the POST body, or the
// GET message parameter in base64 (§4.1).
func readMessage(r *http.Request) ([]byte, error) {
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
		if err != nil {
			return nil, httpErrorf(http.StatusBadRequest, "reading the request: %v", err)
		}
		if len(body) > maxMessage {
			return nil, httpErrorf(http.StatusRequestEntityTooLarge, "the pkiMessage exceeds %d bytes", maxMessage)
		}
		// Some clients POST base64 text rather than DER.
		if len(body) > 0 && body[0] != 0x30 {
			if der, err := decodeBase64(string(body)); err == nil {
				return der, nil
			}
		}
		return body, nil
	case http.MethodGet:
		msg := r.URL.Query().Get("message")
		if msg == "" {
			return nil, httpErrorf(http.StatusBadRequest, "PKIOperation over GET needs the message parameter")
		}
		if len(msg) > maxMessage*4/3+4 {
			return nil, httpErrorf(http.StatusRequestEntityTooLarge, "the pkiMessage exceeds %d bytes", maxMessage)
		}
		der, err := decodeBase64(msg)
		if err != nil {
			return nil, httpErrorf(http.StatusBadRequest, "the message parameter is not base64: %v", err)
		}
		return der, nil
	}
	return nil, httpErrorf(http.StatusMethodNotAllowed, "PKIOperation is GET or POST")
}

// decodeBase64 reads standard base64 with or without padding and line
// breaks; a '+' that a client forgot to escape arrives as a space.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\t':
			return -1
		case ' ':
			return '+'
		}
		return r
	}, s)
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
