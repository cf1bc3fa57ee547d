package acme

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certgate/certgate/services/frontend"
)

// Config is the `certgate acme` configuration.
type Config struct {
	// Listen is the HTTPS address. Default: 0.0.0.0:443.
	Listen string `yaml:"listen"`
	// TLS is the server certificate clients see.
	TLS TLS `yaml:"tls"`
	// BaseURL is how clients reach this service, e.g.
	// https://acme.example.com; resource URLs and the JWS "url" check use
	// it. Default: https://<Host header of each request>.
	BaseURL string `yaml:"base_url"`
	// CACore locates ca-core and this front-end's client certificate.
	CACore frontend.ClientConfig `yaml:"ca_core"`
	// Validation configures challenge validation.
	Validation Validation `yaml:"validation"`
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

// Validation configures how challenges are checked.
type Validation struct {
	// HTTPPort for http-01. Default: 80 (RFC 8555 §8.3).
	HTTPPort int `yaml:"http_port"`
	// TLSALPNPort for tls-alpn-01. Default: 443 (RFC 8737 §3).
	TLSALPNPort int `yaml:"tls_alpn_port"`
	// Resolver is the DNS server ("host:port") for dns-01 and for
	// resolving names to validate; empty uses the system's.
	Resolver string `yaml:"resolver"`
	// Timeout bounds one validation. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency bounds validations in flight. Default: 64.
	Concurrency int `yaml:"concurrency"`
	// Wait is how long a challenge POST waits for its validation to finish
	// before answering "processing" (RFC 8555 §7.5.1 lets the client poll
	// either way). Default: 2s; negative answers at once.
	Wait time.Duration `yaml:"wait"`
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "0.0.0.0:443"
	}
	if c.Validation.Concurrency == 0 {
		c.Validation.Concurrency = 64
	}
	if c.Validation.Wait == 0 {
		c.Validation.Wait = 2 * time.Second
	}
	if c.Log == "" {
		c.Log = "info"
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	c.defaults()
	switch {
	case c.TLS.CertFile == "" || c.TLS.KeyFile == "":
		return errors.New("acme config: tls.cert_file and tls.key_file are required (ACME is served over HTTPS)")
	case c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://"):
		return fmt.Errorf("acme config: base_url %q must be an https:// URL", c.BaseURL)
	case c.Validation.Concurrency < 1:
		return errors.New("acme config: validation.concurrency must be positive")
	}
	return c.CACore.Validate()
}
