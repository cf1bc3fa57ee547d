package scep

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/services/frontend"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options = frontend.ServeOptions

// Run serves SCEP until ctx ends.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var certFile, keyFile string
	if cfg.TLS != nil {
		certFile, keyFile = cfg.TLS.CertFile, cfg.TLS.KeyFile
	}
	conn, cert, err := frontend.Boot("scep", &opts, cfg.CACore, certFile, keyFile)
	if err != nil {
		return err
	}
	defer conn.Close()
	var tlsConfig *tls.Config
	if cert != nil {
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, Deps{Conn: conn, Logger: opts.Logger, Registerer: reg})
	if err != nil {
		return err
	}
	bg, stop := context.WithCancel(ctx)
	defer stop()
	done := srv.startRevocationConnectors(bg)
	return frontend.Serve(ctx, frontend.Site{
		Name: "scep", Listen: cfg.Listen, MetricsListen: cfg.MetricsListen, Handler: srv.Handler(), Metrics: reg, TLS: tlsConfig,
		WriteTimeout: 90 * time.Second, LogAttrs: []any{"ndes_endpoint", cfg.NDESEndpoint},
		Drain: func() { stop(); <-done },
	}, opts)
}
