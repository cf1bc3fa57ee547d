package wstep

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/wstep/directory"
)

// Deps are the server's collaborators.
type Deps struct {
	// Conn is the mutual-TLS connection to ca-core.
	Conn   grpc.ClientConnInterface
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil disables them.
	Registerer prometheus.Registerer
	// Directory replaces the configured one (tests).
	Directory directory.Directory
}

// Server is the CEP and CES service.
type Server struct {
	cfg       Config
	log       *slog.Logger
	dir       directory.Directory
	keytab    *keytab.Keytab
	endpoints pb.EndpointServiceClient
	issuance  pb.IssuanceServiceClient
	pending   pb.PendingRequestServiceClient
	cas       pb.CAServiceClient
	scep      pb.ScepServiceClient
	profiles  pb.ProfileServiceClient

	configs *frontend.Cache[*pb.Endpoint]
	ras     *frontend.RACache
	logins  *frontend.CredentialCache

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux
}

// New builds a server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Conn == nil {
		return nil, errors.New("wstep: Conn is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	s := &Server{cfg: cfg, log: d.Logger, dir: d.Directory,
		endpoints: pb.NewEndpointServiceClient(d.Conn), issuance: pb.NewIssuanceServiceClient(d.Conn),
		pending: pb.NewPendingRequestServiceClient(d.Conn), cas: pb.NewCAServiceClient(d.Conn), scep: pb.NewScepServiceClient(d.Conn), profiles: pb.NewProfileServiceClient(d.Conn),
		configs: frontend.NewCache[*pb.Endpoint](10 * time.Second), ras: frontend.NewRACache(pb.NewScepServiceClient(d.Conn)),
		logins: frontend.NewCredentialCache(time.Minute),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_wstep_requests_total",
			Help: "CEP and CES requests by operation and outcome."}, []string{"operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_wstep_request_seconds",
			Help: "CEP and CES latency by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"operation"}),
	}
	if s.dir == nil {
		if cfg.Directory.LDAP != nil {
			l, err := directory.NewLDAP(*cfg.Directory.LDAP)
			if err != nil {
				return nil, err
			}
			s.dir = l
		} else {
			s.dir = &directory.Static{Users: cfg.Directory.Static}
		}
	}
	if cfg.Kerberos != nil {
		kt, err := keytab.Load(cfg.Kerberos.Keytab)
		if err != nil {
			return nil, errors.Join(errors.New("wstep: loading the keytab"), err)
		}
		s.keytab = kt
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.mux = http.NewServeMux()
	s.mux.Handle("POST /wstep/{tenant}/{endpoint}/cep", s.withKerberos(http.HandlerFunc(s.serveCEP)))
	s.mux.Handle("POST /wstep/{tenant}/{endpoint}/ces", s.withKerberos(http.HandlerFunc(s.serveCES)))
	return s, nil
}

// Handler serves CEP and CES.
func (s *Server) Handler() http.Handler { return s.mux }

// maxBody bounds SOAP requests: a CMC request with a 16 kbit key and its
// signer's chain stays far below it.
const maxBody = 256 << 10

// target is the endpoint a request names.
type target struct {
	tenant string
	ep     *pb.Endpoint
	base   string // this endpoint's public URL prefix
}

func (s *Server) targetOf(ctx context.Context, tenant, id string) (*target, error) {
	key := tenant + "/" + id
	ep, ok := s.configs.Get(key)
	if !ok {
		var err error
		if ep, err = s.endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: tenant, Id: id}); err != nil {
			return nil, err
		}
		s.configs.Put(key, ep)
	}
	if ep.GetProtocol() != pb.Protocol_PROTOCOL_WSTEP {
		return nil, errNoEndpoint
	}
	return &target{tenant: tenant, ep: ep, base: strings.TrimRight(s.cfg.BaseURL, "/") + "/wstep/" + tenant + "/" + id}, nil
}

var errNoEndpoint = errors.New("no such enrollment endpoint")

// readSOAP reads a SOAP 1.2 request body.
func readSOAP(r *http.Request) ([]byte, int, string) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/soap+xml") {
		return nil, http.StatusUnsupportedMediaType, "CEP and CES take SOAP 1.2 (application/soap+xml), not " + ct
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, "reading the request: " + err.Error()
	}
	if len(body) > maxBody {
		return nil, http.StatusRequestEntityTooLarge, "the request exceeds " + strconv.Itoa(maxBody) + " bytes"
	}
	return body, 0, ""
}

// writeSOAP sends a SOAP 1.2 envelope with its length.
func writeSOAP(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) observe(op, outcome string, start time.Time) {
	s.requests.WithLabelValues(op, outcome).Inc()
	s.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
