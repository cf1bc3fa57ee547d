package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/certgate/certgate/services/acme/validate"
	"github.com/certgate/certgate/services/frontend"
)

// Options carry what the caller of Run provides beyond the configuration.
type Options struct {
	// Listener replaces Config.Listen (tests and certgate dev).
	Listener net.Listener
	// MetricsListener replaces Config.MetricsListen.
	MetricsListener net.Listener
	Logger          *slog.Logger
	// Ready is called once the service accepts connections.
	Ready func(addr net.Addr)
}

// Run serves ACME until ctx ends, then waits for in-flight validations.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return fmt.Errorf("acme: tls: %w", err)
	}
	conn, err := frontend.Dial(cfg.CACore)
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
	eg, ctx := errgroup.WithContext(ctx)
	srv, err := New(cfg, Deps{Conn: conn, Validator: v, Logger: log, Registerer: reg, Background: ctx})
	if err != nil {
		return err
	}
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("acme: %w", err)
		}
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	eg.Go(func() error {
		log.Info("acme serving", "addr", lis.Addr().String(), "base_url", cfg.BaseURL)
		if opts.Ready != nil {
			opts.Ready(lis.Addr())
		}
		if err := hs.ServeTLS(lis, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	mlis := opts.MetricsListener
	if mlis == nil && cfg.MetricsListen != "" {
		if mlis, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("acme: metrics: %w", err)
		}
	}
	var ms *http.Server
	if mlis != nil {
		ms = &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		eg.Go(func() error {
			if err := ms.Serve(mlis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	eg.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err := hs.Shutdown(sctx)
		if ms != nil {
			ms.Shutdown(sctx)
		}
		srv.Wait()
		return err
	})
	err = eg.Wait()
	log.Info("acme stopped")
	return err
}
