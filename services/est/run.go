package est

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/services/frontend"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options = frontend.ServeOptions

// Run serves EST until ctx ends.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, cert, err := frontend.Boot("est", &opts, cfg.CACore, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, Deps{Conn: conn, Logger: opts.Logger, Registerer: reg, Signer: *cert})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/est/", srv.Handler())
	return frontend.Serve(ctx, frontend.Site{
		Name: "est", Listen: cfg.Listen, MetricsListen: cfg.MetricsListen, Handler: mux, Metrics: reg,
		// Clients may present a certificate; whether one is needed, and which,
		// is the endpoint's business (RFC 7030 §3.3.2), decided per request.
		TLS:          &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert},
		WriteTimeout: 90 * time.Second,
		LogAttrs:     []any{"tenant", cfg.Tenant, "default_endpoint", cfg.DefaultEndpoint},
	}, opts)
}
