package est

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

// Run serves EST until ctx ends.
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
		return fmt.Errorf("est: tls: %w", err)
	}
	conn, err := frontend.Dial(cfg.CACore)
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, Deps{Conn: conn, Logger: log, Registerer: reg, Signer: cert})
	if err != nil {
		return err
	}
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("est: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/est/", srv.Handler())
	// Clients may present a certificate; whether one is needed, and which,
	// is the endpoint's business (RFC 7030 §3.3.2), decided per request.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 90 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		log.Info("est serving", "addr", lis.Addr().String(), "tenant", cfg.Tenant, "default_endpoint", cfg.DefaultEndpoint)
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
			return fmt.Errorf("est: metrics: %w", err)
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
		if ms != nil {
			ms.Shutdown(sctx)
		}
		return hs.Shutdown(sctx)
	})
	err = eg.Wait()
	log.Info("est stopped")
	return err
}
