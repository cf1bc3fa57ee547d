package cacore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/certgate/certgate/ca-core/acme"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/delegated"
	"github.com/certgate/certgate/ca-core/enrollment"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/revocation"
	"github.com/certgate/certgate/ca-core/scepra"
	"github.com/certgate/certgate/ca-core/server"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/pkcs11"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options struct {
	// Listener, when set, is used instead of listening on Config.Listen
	// (tests and `certgate dev` open 127.0.0.1:0 and pass it in).
	Listener net.Listener
	// MetricsListener likewise replaces Config.MetricsListen.
	MetricsListener net.Listener
	// HTTPListener likewise replaces Config.HTTPListen.
	HTTPListener net.Listener
	// Logger defaults to a handler on stderr per Config.Log/LogFormat.
	Logger *slog.Logger
	// Ready is called once the gRPC server is accepting connections.
	Ready func(addr net.Addr)
	// RevocationTick overrides how often CRL and OCSP upkeep runs (tests).
	RevocationTick time.Duration
}

// Run starts ca-core and blocks until ctx ends or a component fails.
func Run(ctx context.Context, cfg *Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(os.Stderr, cfg.Log, cfg.LogFormat)
	}
	backends, err := openBackends(cfg)
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range backends {
			b.Close()
		}
	}()
	dsn := cfg.Store.DSN
	if cfg.Store.DSNFile != "" {
		b, err := os.ReadFile(cfg.Store.DSNFile)
		if err != nil {
			return fmt.Errorf("ca-core: store.dsn_file: %w", err)
		}
		dsn = strings.TrimSpace(string(b))
	}
	st, err := store.Open(ctx, cfg.Store.Engine, dsn, store.Options{MaxOpenConns: cfg.Store.MaxOpenConns})
	if err != nil {
		return err
	}
	defer st.Close()

	var docs []*profile.Document
	for _, path := range cfg.Profiles {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("ca-core: profiles: %w", err)
		}
		d, err := profile.ParseDocuments(b)
		if err != nil {
			return fmt.Errorf("ca-core: profiles: %s: %w", path, err)
		}
		docs = append(docs, d...)
	}
	set, err := profile.NewSet(docs...)
	if err != nil {
		return fmt.Errorf("ca-core: %w", err)
	}
	policy, err := authz.NewPolicy(cfg.Admins)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	resolver := profile.NewResolver(set, st)
	authority, err := ca.New(ca.Deps{Store: st, Profiles: resolver, Backends: backends, DefaultBackend: cfg.Signer.Default, PublicURL: cfg.PublicURL})
	if err != nil {
		return err
	}
	obs, err := newIssuanceMetrics(reg)
	if err != nil {
		return err
	}
	pipeline, err := issuance.New(issuance.Deps{Store: st, Issuers: authority, Profiles: resolver, Logger: log, Observer: obs})
	if err != nil {
		return err
	}
	holder := holderID()
	rev, err := revocation.New(revocation.Deps{Store: st, Issuers: authority, Backends: backends, Holder: holder, Logger: log,
		Config: revocation.Config{CRLValidity: cfg.Revocation.CRLValidity, CRLRefresh: cfg.Revocation.CRLRefresh, CRLDelay: cfg.Revocation.CRLDelay,
			OCSPValidity: cfg.Revocation.OCSPValidity, ResponderValidity: cfg.Revocation.ResponderValidity, Tick: opts.RevocationTick}})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Deps{Store: st, Authority: authority, Issuance: pipeline, Enrollment: enrollment.New(st, resolver, pipeline, nil),
		Revocation: rev, ACME: acme.New(st, pipeline, authority, rev, nil),
		SCEP:     scepra.New(st, authority, &delegated.Issuer{Store: st, Issuers: authority, Backends: backends, Holder: holder, Now: time.Now, Logger: log}, nil),
		Profiles: resolver, Policy: policy, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	creds, err := serverTLS(cfg.TLS)
	if err != nil {
		return err
	}
	g := grpc.NewServer(grpc.Creds(creds), grpc.ChainUnaryInterceptor(srv.Interceptor),
		// Bulk revocation CSVs may be tens of MiB.
		grpc.MaxRecvMsgSize(revocation.MaxBulkCSV+1<<20),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}))
	srv.Register(g)

	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("ca-core: %w", err)
		}
	}
	mlis := opts.MetricsListener
	if mlis == nil && cfg.MetricsListen != "" {
		if mlis, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			lis.Close()
			return fmt.Errorf("ca-core: metrics: %w", err)
		}
	}
	hlis := opts.HTTPListener
	if hlis == nil && cfg.HTTPListen != "" {
		if hlis, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			lis.Close()
			if mlis != nil {
				mlis.Close()
			}
			return fmt.Errorf("ca-core: http: %w", err)
		}
	}

	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		log.Info("ca-core serving gRPC", "addr", lis.Addr().String(), "store", cfg.Store.Engine, "signer", cfg.Signer.Default)
		if opts.Ready != nil {
			opts.Ready(lis.Addr())
		}
		return g.Serve(lis)
	})
	eg.Go(func() error {
		<-ctx.Done()
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			g.Stop()
			<-stopped
		}
		return nil
	})
	if mlis != nil {
		serveHTTP(ctx, eg, mlis, metricsMux(reg, st))
	}
	if hlis != nil {
		log.Info("ca-core serving CRL, OCSP and CA certificates", "addr", hlis.Addr().String(), "public_url", cfg.PublicURL)
		serveHTTP(ctx, eg, hlis, rev.Handler())
	}
	eg.Go(func() error { return janitor(ctx, st, log, cfg.ReservationTimeout) })
	eg.Go(func() error { return rev.Run(ctx) })
	err = eg.Wait()
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	log.Info("ca-core stopped")
	return err
}

// serveHTTP runs an HTTP server in eg until ctx ends.
func serveHTTP(ctx context.Context, eg *errgroup.Group, lis net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	eg.Go(func() error {
		if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	eg.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
}

// holderID names this process in leases.
func holderID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

func openBackends(cfg *Config) (map[string]signer.Backend, error) {
	out := map[string]signer.Backend{}
	if cfg.Signer.Soft != nil {
		secret, err := os.ReadFile(cfg.Signer.Soft.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("ca-core: signer.soft.secret_file: %w", err)
		}
		b, err := soft.New(trimNewline(secret), nil)
		if err != nil {
			return nil, err
		}
		out["soft"] = b
	}
	if p := cfg.Signer.PKCS11; p != nil {
		pin, err := os.ReadFile(p.PINFile)
		if err != nil {
			return nil, fmt.Errorf("ca-core: signer.pkcs11.pin_file: %w", err)
		}
		b, err := pkcs11.New(pkcs11.Config{Module: p.Module, TokenLabel: p.TokenLabel, PIN: string(trimNewline(pin)), MaxSessions: p.MaxSessions})
		if err != nil {
			return nil, err
		}
		out["pkcs11"] = b
	}
	return out, nil
}

func trimNewline(b []byte) []byte {
	return []byte(strings.TrimRight(string(b), "\r\n"))
}

func serverTLS(c TLS) (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("ca-core: tls: %w", err)
	}
	pemBytes, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("ca-core: tls.client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("ca-core: tls.client_ca_file %s holds no certificate", c.ClientCAFile)
	}
	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}), nil
}

func metricsMux(reg *prometheus.Registry, st *store.Store) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}

// NewLogger builds the process logger.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	o := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
