package acme

import (
	"context"
	"crypto/tls"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/services/acme/validate"
	"github.com/certgate/certgate/services/frontend"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options = frontend.ServeOptions

// Run serves ACME until ctx ends, then waits for in-flight validations.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, cert, err := frontend.Boot("acme", &opts, cfg.CACore, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := validate.New(validate.Config{HTTPPort: cfg.Validation.HTTPPort, TLSALPNPort: cfg.Validation.TLSALPNPort,
		Resolver: cfg.Validation.Resolver, Timeout: cfg.Validation.Timeout})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	// Validations outlive their request but not the service.
	bg, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := New(cfg, Deps{Conn: conn, Validator: v, Logger: opts.Logger, Registerer: reg, Background: bg})
	if err != nil {
		return err
	}
	return frontend.Serve(ctx, frontend.Site{
		Name: "acme", Listen: cfg.Listen, MetricsListen: cfg.MetricsListen, Handler: srv.Handler(), Metrics: reg,
		TLS:      &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12},
		LogAttrs: []any{"base_url", cfg.BaseURL},
		Drain:    srv.Wait,
	}, opts)
}
