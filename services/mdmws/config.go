package mdmws

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/certgate/certgate/services/frontend"
)

// Config is the `certgate mdmws` configuration.
type Config struct {
	// Listen is the HTTPS address. Default: 0.0.0.0:443.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// DefaultEndpoint, "tenant/endpoint", also answers the bare NDES path
	// /certsrv/mscep_admin/ that some MDMs build from a host name.
	DefaultEndpoint string `yaml:"default_endpoint"`
	// SCEPURL is the SCEP service's public base URL (http://host:port),
	// from which answers give devices' SCEP URLs.
	SCEPURL string `yaml:"scep_url"`
	// ChallengeTTL is how long a challenge from the NDES page lives.
	// Default: 60m, as NDES.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
	// FailedLogins is how many wrong credentials one client address may
	// send per minute before it is answered 429. Default: 10.
	FailedLogins int `yaml:"failed_logins"`
	// CACore locates ca-core and this front-end's client certificate.
	CACore frontend.ClientConfig `yaml:"ca_core"`
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

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "0.0.0.0:443"
	}
	if c.ChallengeTTL == 0 {
		c.ChallengeTTL = time.Hour
	}
	if c.FailedLogins == 0 {
		c.FailedLogins = 10
	}
	if c.Log == "" {
		c.Log = "info"
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	c.defaults()
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		return errors.New("mdmws config: tls.cert_file and tls.key_file are required (MDM credentials travel in HTTP Basic)")
	}
	if c.DefaultEndpoint != "" {
		if t, e, ok := strings.Cut(c.DefaultEndpoint, "/"); !ok || t == "" || e == "" {
			return fmt.Errorf("mdmws config: default_endpoint %q is not tenant/endpoint", c.DefaultEndpoint)
		}
	}
	if c.SCEPURL != "" {
		if u, err := url.Parse(c.SCEPURL); err != nil || u.Host == "" {
			return fmt.Errorf("mdmws config: scep_url %q is not an absolute URL", c.SCEPURL)
		}
	}
	if c.FailedLogins < 1 {
		return errors.New("mdmws config: failed_logins must be at least 1")
	}
	if c.ChallengeTTL < time.Minute || c.ChallengeTTL > 24*time.Hour {
		return errors.New("mdmws config: challenge_ttl must be between 1m and 24h")
	}
	return c.CACore.Validate()
}
