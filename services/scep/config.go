package scep

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/certgate/certgate/services/frontend"
)

// Config is the `certgate scep` configuration.
type Config struct {
	// Listen is the HTTP address. SCEP is plain HTTP (RFC 8894 §4.1: the
	// messages protect themselves) and devices expect port 80. Default:
	// 0.0.0.0:80.
	Listen string `yaml:"listen"`
	// TLS, when set, serves HTTPS instead, for deployments that want the
	// transport protected as well.
	TLS *TLS `yaml:"tls"`
	// NDESEndpoint, "tenant/endpoint", is served at NDES's path
	// /certsrv/mscep/mscep.dll for clients configured for Microsoft NDES.
	// Default: none (404 there).
	NDESEndpoint string `yaml:"ndes_endpoint"`
	// CACore locates ca-core and this front-end's client certificate.
	CACore frontend.ClientConfig `yaml:"ca_core"`
	// Intune holds the Microsoft Entra app of each endpoint whose auth
	// method is intune, keyed "tenant/endpoint". The secret stays here,
	// with the service that uses it, not in ca-core.
	Intune map[string]IntuneConfig `yaml:"intune"`
	// Webhook tunes calls to the endpoints' webhook URLs.
	Webhook WebhookConfig `yaml:"webhook"`
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

// IntuneConfig is one endpoint's Intune connection (spec/protocols.md §2).
type IntuneConfig struct {
	// TenantID is the Entra tenant (id or domain).
	TenantID string `yaml:"tenant_id"`
	// ClientID and ClientSecret (or ClientSecretFile) are the app
	// registration with the scep_challenge_provider permission.
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// Authority, GraphURL and IntuneResource override Microsoft's public
	// cloud (national clouds, tests).
	Authority      string `yaml:"authority"`
	GraphURL       string `yaml:"graph_url"`
	IntuneResource string `yaml:"intune_resource"`
	// CAFile adds roots for those URLs (tests, inspecting proxies).
	CAFile string `yaml:"ca_file"`
	// RevocationInterval, when set, polls Intune's revocation requests
	// for this endpoint's certificates that often (the Intune
	// certificate connector's job). Default: off.
	RevocationInterval time.Duration `yaml:"revocation_interval"`
}

// WebhookConfig tunes webhook calls.
type WebhookConfig struct {
	// Timeout bounds one call. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile adds roots for webhook servers with private certificates.
	CAFile string `yaml:"ca_file"`
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "0.0.0.0:80"
	}
	if c.Webhook.Timeout == 0 {
		c.Webhook.Timeout = 10 * time.Second
	}
	if c.Log == "" {
		c.Log = "info"
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	c.defaults()
	if c.TLS != nil && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return errors.New("scep config: tls needs cert_file and key_file")
	}
	if c.NDESEndpoint != "" {
		if t, e, ok := strings.Cut(c.NDESEndpoint, "/"); !ok || t == "" || e == "" {
			return fmt.Errorf("scep config: ndes_endpoint %q is not tenant/endpoint", c.NDESEndpoint)
		}
	}
	for key, ic := range c.Intune {
		if t, e, ok := strings.Cut(key, "/"); !ok || t == "" || e == "" {
			return fmt.Errorf("scep config: intune key %q is not tenant/endpoint", key)
		}
		if ic.TenantID == "" || ic.ClientID == "" {
			return fmt.Errorf("scep config: intune %q needs tenant_id and client_id", key)
		}
		if (ic.ClientSecret == "") == (ic.ClientSecretFile == "") {
			return fmt.Errorf("scep config: intune %q needs exactly one of client_secret and client_secret_file", key)
		}
		if ic.ClientSecretFile != "" {
			b, err := os.ReadFile(ic.ClientSecretFile)
			if err != nil {
				return fmt.Errorf("scep config: intune %q: %w", key, err)
			}
			ic.ClientSecret, ic.ClientSecretFile = strings.TrimSpace(string(b)), ""
			c.Intune[key] = ic
		}
	}
	return c.CACore.Validate()
}
