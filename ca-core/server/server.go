package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/acme"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/enrollment"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/revocation"
	"github.com/certgate/certgate/ca-core/scepra"
	"github.com/certgate/certgate/ca-core/store"
)

// Deps are the domain services the handlers call.
type Deps struct {
	Store      *store.Store
	Authority  *ca.Authority
	Issuance   *issuance.Service
	Enrollment *enrollment.Service
	Revocation *revocation.Service
	ACME       *acme.Service
	SCEP       *scepra.Service
	Profiles   *profile.Resolver
	Policy     *authz.Policy
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Server implements every certgate.v1 service.
type Server struct {
	d         Deps
	endpoints *endpointCache
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// New checks deps and registers the RPC metrics.
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.Authority == nil || d.Issuance == nil || d.Enrollment == nil || d.Revocation == nil || d.ACME == nil || d.SCEP == nil || d.Profiles == nil || d.Policy == nil {
		return nil, errors.New("server: every domain dependency is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, endpoints: &endpointCache{},
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_ca_core_rpcs_total",
			Help: "ca-core RPCs by method, caller kind and gRPC code."}, []string{"method", "caller", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_ca_core_rpc_seconds",
			Help: "ca-core RPC latency by method.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method"}),
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{s.calls, s.latency} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Register adds every service to g.
func (s *Server) Register(g *grpc.Server) {
	pb.RegisterTenantServiceServer(g, tenants{Server: s})
	pb.RegisterCAServiceServer(g, cas{Server: s})
	pb.RegisterProfileServiceServer(g, profiles{Server: s})
	pb.RegisterEndpointServiceServer(g, endpoints{Server: s})
	pb.RegisterIssuanceServiceServer(g, issuer{Server: s})
	pb.RegisterCertificateServiceServer(g, certificates{Server: s})
	pb.RegisterEndEntityServiceServer(g, endEntities{Server: s})
	pb.RegisterChallengeServiceServer(g, challenges{Server: s})
	pb.RegisterPendingRequestServiceServer(g, pending{Server: s})
	pb.RegisterAuditServiceServer(g, auditor{Server: s})
	pb.RegisterRevocationServiceServer(g, revoker{Server: s})
	pb.RegisterAcmeServiceServer(g, acmeServer{Server: s})
	pb.RegisterScepServiceServer(g, scepServer{Server: s})
	pb.RegisterDigitalIDServiceServer(g, digitalIDs{Server: s})
}

type callerKey struct{}

// callerOf returns the caller the interceptor authenticated.
func callerOf(ctx context.Context) *authz.Caller {
	c, _ := ctx.Value(callerKey{}).(*authz.Caller)
	return c
}

// tenantOf extracts the tenant a request is about, for authorization.
func tenantOf(req any) string {
	switch r := req.(type) {
	case *pb.CreateEndpointRequest:
		return r.GetEndpoint().GetTenant()
	case *pb.UpdateEndpointRequest:
		return r.GetEndpoint().GetTenant()
	case *pb.GetTenantRequest:
		return r.GetId()
	case *pb.IssueWithGeneratedKeyRequest:
		return r.GetRequest().GetTenant()
	case interface{ GetTenant() string }:
		return r.GetTenant()
	}
	return ""
}

// Interceptor authenticates and authorizes every call, logs it once,
// counts it, and maps errors to statuses.
func (s *Server) Interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	var b [8]byte
	rand.Read(b[:])
	requestID := hex.EncodeToString(b[:])
	kind := "unknown"
	actor := ""
	defer func() {
		if r := recover(); r != nil {
			s.d.Logger.Error("handler panicked", "method", info.FullMethod, "request_id", requestID, "panic", r)
			resp, err = nil, toStatus(errors.New("panic"), requestID).Err()
		}
		code := codes.OK
		if err != nil {
			st := toStatus(err, requestID)
			code = st.Code()
			level := slog.LevelInfo
			if code == codes.Internal || code == codes.Unknown {
				level = slog.LevelError
			}
			s.d.Logger.Log(ctx, level, "rpc", "method", info.FullMethod, "actor", actor, "request_id", requestID, "code", code.String(),
				"error", err.Error(), "duration", time.Since(start))
			err = st.Err()
		} else {
			s.d.Logger.Debug("rpc", "method", info.FullMethod, "actor", actor, "request_id", requestID, "duration", time.Since(start))
		}
		s.calls.WithLabelValues(info.FullMethod, kind, code.String()).Inc()
		s.latency.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
	}()

	caller, err := s.identify(ctx)
	if err != nil {
		return nil, err
	}
	actor = caller.Actor()
	kind = map[authz.Kind]string{authz.Frontend: "frontend", authz.Admin: "admin"}[caller.Kind]
	acc, ok := methods[info.FullMethod]
	switch {
	case !ok:
		return nil, &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.method", Detail: "this RPC is not available to callers"}
	case caller.Kind == authz.Frontend && !acc.frontend:
		return nil, &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.method", Detail: "front-ends may not call " + info.FullMethod}
	case caller.Kind == authz.Admin && acc.perm == authz.EndpointVerify:
		return nil, &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.method", Detail: info.FullMethod + " is for front-ends"}
	case caller.Kind == authz.Admin && info.FullMethod != pb.TenantService_ListTenants_FullMethodName:
		if err := caller.Check(acc.perm, tenantOf(req)); err != nil {
			return nil, err
		}
	}
	return handler(context.WithValue(ctx, callerKey{}, caller), req)
}

func (s *Server) identify(ctx context.Context) (*authz.Caller, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, &fault.Error{Reason: fault.Unauthenticated, Rule: "authz.identity", Detail: "no peer"}
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil, &fault.Error{Reason: fault.Unauthenticated, Rule: "authz.identity", Detail: "a verified TLS client certificate is required"}
	}
	return s.d.Policy.Identify(ti.State.VerifiedChains[0][0])
}

// endpointFor loads an endpoint and checks that the caller may use it.
func (s *Server) endpointFor(ctx context.Context, tenant, id string) (*store.Endpoint, error) {
	if tenant == "" || id == "" {
		return nil, fault.Field("endpoint", "tenant and endpoint are required")
	}
	caller := callerOf(ctx)
	var e *store.Endpoint
	var err error
	if caller.Kind == authz.Frontend {
		e, err = s.endpoints.get(ctx, s.d.Store, s.d.Now(), tenant, id)
	} else {
		e, err = s.d.Store.GetEndpoint(ctx, tenant, id)
	}
	if err != nil {
		return nil, err
	}
	if err := caller.CanUseEndpoint(e, e.ID); err != nil {
		return nil, err
	}
	return e, nil
}

func require(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fault.Field(fields[i], "%s is required", fields[i])
		}
	}
	return nil
}
