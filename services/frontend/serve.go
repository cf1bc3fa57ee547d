package frontend

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
	"google.golang.org/grpc"
)

// ServeOptions carry what the caller of a service's Run provides beyond
// its configuration.
type ServeOptions struct {
	// Listener replaces the configured listen address (tests and certgate dev).
	Listener net.Listener
	// MetricsListener replaces the configured metrics address.
	MetricsListener net.Listener
	Logger          *slog.Logger
	// Ready is called once the service accepts connections.
	Ready func(addr net.Addr)
}

// Site is one front-end's HTTP service as Serve runs it.
type Site struct {
	// Name prefixes log lines and errors ("acme", "est", ...).
	Name          string
	Listen        string
	MetricsListen string
	Handler       http.Handler
	// TLS, when set, makes the site HTTPS; SCEP, for one, is plain HTTP.
	TLS *tls.Config
	// Metrics is served on the metrics listener, when there is one.
	Metrics *prometheus.Registry
	// WriteTimeout bounds a response; enrollments that wait on ca-core
	// need more than the default 60 s in bad weather.
	WriteTimeout time.Duration
	// LogAttrs are added to the "serving" log line.
	LogAttrs []any
	// Drain runs after the listeners closed, to wait for background work.
	Drain func()
}

// Serve runs site (and its metrics listener) until ctx ends, then shuts
// both down gracefully within 10 seconds.
func Serve(ctx context.Context, site Site, opts ServeOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var err error
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", site.Listen); err != nil {
			return fmt.Errorf("%s: %w", site.Name, err)
		}
	}
	mlis := opts.MetricsListener
	if mlis == nil && site.MetricsListen != "" {
		if mlis, err = net.Listen("tcp", site.MetricsListen); err != nil {
			lis.Close()
			return fmt.Errorf("%s: metrics: %w", site.Name, err)
		}
	}
	writeTimeout := site.WriteTimeout
	if writeTimeout == 0 {
		writeTimeout = 60 * time.Second
	}
	hs := &http.Server{Handler: site.Handler, TLSConfig: site.TLS, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: writeTimeout}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		log.Info(site.Name+" serving", append([]any{"addr", lis.Addr().String(), "tls", site.TLS != nil}, site.LogAttrs...)...)
		if opts.Ready != nil {
			opts.Ready(lis.Addr())
		}
		serve := hs.Serve
		if site.TLS != nil {
			serve = func(l net.Listener) error { return hs.ServeTLS(l, "", "") }
		}
		if err := serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	var ms *http.Server
	if mlis != nil {
		reg := site.Metrics
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
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
		if site.Drain != nil {
			site.Drain()
		}
		return err
	})
	err = eg.Wait()
	log.Info(site.Name + " stopped")
	return err
}

// Boot does what every front-end's Run starts with: a default logger,
// the TLS key pair when certFile is set, and the mutual-TLS connection to
// ca-core, which the caller closes.
func Boot(name string, opts *ServeOptions, cacore ClientConfig, certFile, keyFile string) (*grpc.ClientConn, *tls.Certificate, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var cert *tls.Certificate
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: tls: %w", name, err)
		}
		cert = &c
	}
	conn, err := Dial(cacore)
	if err != nil {
		return nil, nil, err
	}
	return conn, cert, nil
}
