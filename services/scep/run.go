package scep

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
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
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var tlsConfig *tls.Config
	if cfg.TLS != nil {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("scep: tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	conn, err := frontend.Dial(cfg.CACore)
	if err != nil {
		return err
	}
	defer conn.Close()
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
