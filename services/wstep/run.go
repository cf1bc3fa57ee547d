package wstep

import (
	"context"
	"crypto/tls"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/services/frontend"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options = frontend.ServeOptions

// Run serves CEP and CES until ctx ends.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, cert, err := frontend.Boot("wstep", &opts, cfg.CACore, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, Deps{Conn: conn, Logger: opts.Logger, Registerer: reg})
	if err != nil {
		return err
	}
	return frontend.Serve(ctx, frontend.Site{
		Name: "wstep", Listen: cfg.Listen, MetricsListen: cfg.MetricsListen, Handler: srv.Handler(), Metrics: reg,
		// Client certificates are asked for, not required: renewals may
		// come with one, first enrollments authenticate otherwise.
		TLS:      &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert},
		LogAttrs: []any{"base_url", cfg.BaseURL, "kerberos", cfg.Kerberos != nil},
	}, opts)
}
