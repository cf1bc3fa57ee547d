package est

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/certgate/certgate/services/frontend"
)

// Config is the `certgate est` configuration.
type Config struct {
	// Listen is the HTTPS address. Default: 0.0.0.0:443.
	Listen string `yaml:"listen"`
	// TLS is the server certificate. Clients may present certificates;
	// which ones count is the endpoint's business, checked per request.
	TLS TLS `yaml:"tls"`
	// Tenant owns the endpoints named by bare labels. Default: default.
	Tenant string `yaml:"tenant"`
	// DefaultEndpoint serves /.well-known/est/ without a label; empty
	// answers 404 there.
	DefaultEndpoint string `yaml:"default_endpoint"`
	// CACore locates ca-core and this front-end's client certificate.
	CACore frontend.ClientConfig `yaml:"ca_core"`
	// TrustedProxy, when set, takes the client certificate from a header
	// that a TLS-terminating proxy at one of the listed addresses sets.
	// Off by default: anyone else could forge the header.
	TrustedProxy *TrustedProxy `yaml:"trusted_proxy"`
	// RetryAfter is what 202 answers tell clients of approval endpoints.
	// Default: 60s.
	RetryAfter time.Duration `yaml:"retry_after"`
	// MetricsListen serves /metrics over plain HTTP. Default: off.
	MetricsListen string `yaml:"metrics_listen"`
	// Log is debug, info, warn or error. Default: info.
	Log string `yaml:"log"`
}

// TLS names the server certificate.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// TrustedProxy describes a TLS-terminating proxy in front of the service.
type TrustedProxy struct {
	// Header carries the client certificate, PEM, URL-escaped (nginx's
	// $ssl_client_escaped_cert, Envoy's XFCC Cert= value is not
	// supported). Default: X-SSL-Client-Cert.
	Header string `yaml:"header"`
	// From lists the proxy's addresses or prefixes; requests from
	// elsewhere have the header ignored.
	From []string `yaml:"from"`

	prefixes []netip.Prefix
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "0.0.0.0:443"
	}
	if c.Tenant == "" {
		c.Tenant = "default"
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Minute
	}
	if c.Log == "" {
		c.Log = "info"
	}
	if p := c.TrustedProxy; p != nil && p.Header == "" {
		p.Header = "X-SSL-Client-Cert"
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	c.defaults()
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		return errors.New("est config: tls.cert_file and tls.key_file are required (EST is served over HTTPS)")
	}
	if c.RetryAfter < time.Second {
		return errors.New("est config: retry_after must be at least 1s")
	}
	if p := c.TrustedProxy; p != nil {
		if len(p.From) == 0 {
			return errors.New("est config: trusted_proxy.from must list the proxy's addresses")
		}
		p.prefixes = p.prefixes[:0]
		for _, f := range p.From {
			pfx, err := netip.ParsePrefix(f)
			if err != nil && !strings.Contains(f, "/") {
				var a netip.Addr
				if a, err = netip.ParseAddr(f); err == nil {
					pfx = netip.PrefixFrom(a, a.BitLen())
				}
			}
			if err != nil {
				return fmt.Errorf("est config: trusted_proxy.from %q: %w", f, err)
			}
			p.prefixes = append(p.prefixes, pfx)
		}
	}
	return c.CACore.Validate()
}
