package cacore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/store"
)

// Config is ca-core's YAML configuration. Secrets are never inline: they
// are read from the files named here when ca-core starts.
type Config struct {
	// Listen is the gRPC address, served with mutual TLS only.
	// Default: 127.0.0.1:9443.
	Listen string `yaml:"listen"`
	// MetricsListen serves /metrics (Prometheus) and /healthz over plain
	// HTTP. Default: empty, disabled.
	MetricsListen string `yaml:"metrics_listen"`
	// HTTPListen serves the public status URLs (/crl, /ocsp, /ca) over
	// plain HTTP, as relying parties expect. Default: empty, disabled.
	HTTPListen string `yaml:"http_listen"`
	// PublicURL is the base URL under which HTTPListen is reachable by
	// relying parties, e.g. http://pki.example.com; certificates carry CRL
	// distribution points and AIA under it. Default: empty, none.
	PublicURL string `yaml:"public_url"`
	// Revocation tunes CRL and OCSP publication.
	Revocation Revocation `yaml:"revocation"`
	TLS        TLS        `yaml:"tls"`
	Store      Store      `yaml:"store"`
	Signer     Signer     `yaml:"signer"`
	// Profiles lists YAML/JSON files of global custom profiles (each may
	// hold several documents separated by ---), loaded after the built-in
	// catalogue. Default: none.
	Profiles []string `yaml:"profiles"`
	// Admins binds administrator identities (urn:certgate:admin:<name>) to
	// roles on tenants; "*" means every tenant. Default: none, so no
	// administrator can act.
	Admins []authz.Binding `yaml:"admins"`
	// Log is the log level: debug, info, warn or error. Default: info.
	Log string `yaml:"log"`
	// LogFormat is text or json. Default: text.
	LogFormat string `yaml:"log_format"`
	// ReservationTimeout is how long an issuance may hold a reservation
	// before the janitor releases it. Default: 5m.
	ReservationTimeout time.Duration `yaml:"reservation_timeout"`
}

// Revocation tunes CRL and OCSP publication; zero values take the
// defaults.
type Revocation struct {
	// CRLValidity is nextUpdate - thisUpdate. Default: 168h (7 days).
	CRLValidity time.Duration `yaml:"crl_validity"`
	// CRLRefresh regenerates every CRL at least this often. Default: 24h.
	CRLRefresh time.Duration `yaml:"crl_refresh"`
	// CRLDelay is how soon after a status change the CRL is regenerated
	// (revocations asking to publish now skip it). Default: 1m.
	CRLDelay time.Duration `yaml:"crl_delay"`
	// OCSPValidity is the nextUpdate of OCSP answers. Default: 10m.
	OCSPValidity time.Duration `yaml:"ocsp_validity"`
	// ResponderValidity is the lifetime of delegated OCSP responder
	// certificates, renewed at half. Default: 720h (30 days).
	ResponderValidity time.Duration `yaml:"responder_validity"`
}

// TLS names ca-core's server certificate and the CA that signs callers'
// client certificates.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is the PEM bundle of CAs whose client certificates are
	// accepted (front-ends and administrators).
	ClientCAFile string `yaml:"client_ca_file"`
}

// Store selects the database.
type Store struct {
	// Engine is sqlite or postgres. Default: sqlite.
	Engine store.Engine `yaml:"engine"`
	// DSN is the SQLite file path or the PostgreSQL URL. Use DSNFile when
	// the URL holds a password.
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
	// MaxOpenConns bounds the pool. Default: 8 (SQLite), 16 (PostgreSQL).
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Signer configures the key backends.
type Signer struct {
	// Default is the backend new CA keys go to: soft or pkcs11.
	// Default: soft.
	Default string `yaml:"default"`
	// Soft enables the software backend.
	Soft *Soft `yaml:"soft"`
	// PKCS11 enables the HSM backend.
	PKCS11 *PKCS11 `yaml:"pkcs11"`
}

// Soft configures the software backend.
type Soft struct {
	// SecretFile holds the operator secret (at least 16 bytes) keys are
	// sealed with. Losing it loses every soft CA key.
	SecretFile string `yaml:"secret_file"`
}

// PKCS11 configures the HSM backend.
type PKCS11 struct {
	// Module is the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.
	Module     string `yaml:"module"`
	TokenLabel string `yaml:"token_label"`
	// PINFile holds the user PIN.
	PINFile string `yaml:"pin_file"`
	// MaxSessions bounds concurrent HSM sessions. Default: 8.
	MaxSessions int `yaml:"max_sessions"`
}

// envOverrides maps environment variables to the settings they replace.
var envOverrides = map[string]func(*Config, string){
	"CERTGATE_LISTEN":           func(c *Config, v string) { c.Listen = v },
	"CERTGATE_METRICS_LISTEN":   func(c *Config, v string) { c.MetricsListen = v },
	"CERTGATE_HTTP_LISTEN":      func(c *Config, v string) { c.HTTPListen = v },
	"CERTGATE_PUBLIC_URL":       func(c *Config, v string) { c.PublicURL = v },
	"CERTGATE_STORE_ENGINE":     func(c *Config, v string) { c.Store.Engine = store.Engine(v) },
	"CERTGATE_STORE_DSN":        func(c *Config, v string) { c.Store.DSN = v },
	"CERTGATE_STORE_DSN_FILE":   func(c *Config, v string) { c.Store.DSNFile = v },
	"CERTGATE_SIGNER_DEFAULT":   func(c *Config, v string) { c.Signer.Default = v },
	"CERTGATE_SOFT_SECRET_FILE": func(c *Config, v string) { ensureSoft(c).SecretFile = v },
	"CERTGATE_PKCS11_PIN_FILE":  func(c *Config, v string) { ensurePKCS11(c).PINFile = v },
	"CERTGATE_LOG":              func(c *Config, v string) { c.Log = v },
}

func ensureSoft(c *Config) *Soft {
	if c.Signer.Soft == nil {
		c.Signer.Soft = &Soft{}
	}
	return c.Signer.Soft
}

func ensurePKCS11(c *Config) *PKCS11 {
	if c.Signer.PKCS11 == nil {
		c.Signer.PKCS11 = &PKCS11{}
	}
	return c.Signer.PKCS11
}

// EnvVars lists the environment variables that override settings.
func EnvVars() []string {
	out := make([]string, 0, len(envOverrides))
	for k := range envOverrides {
		out = append(out, k)
	}
	return out
}

// ParseConfig decodes YAML strictly (unknown keys are errors), applies
// environment overrides from getenv, fills defaults and validates.
func ParseConfig(b []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file (io.EOF) means every default.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("ca-core config: %w", err)
	}
	if getenv != nil {
		for k, set := range envOverrides {
			if v := getenv(k); v != "" {
				set(&c, v)
			}
		}
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:9443"
	}
	if c.Store.Engine == "" {
		c.Store.Engine = store.SQLite
	}
	if c.Signer.Default == "" {
		c.Signer.Default = "soft"
	}
	if c.Log == "" {
		c.Log = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.ReservationTimeout == 0 {
		c.ReservationTimeout = 5 * time.Minute
	}
}

// Validate checks the configuration without touching files.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("ca-core config: "+format, args...) }
	switch {
	case c.TLS.CertFile == "" || c.TLS.KeyFile == "" || c.TLS.ClientCAFile == "":
		return bad("tls.cert_file, tls.key_file and tls.client_ca_file are required: ca-core only speaks mutual TLS")
	case c.Store.Engine != store.SQLite && c.Store.Engine != store.Postgres:
		return bad("store.engine must be sqlite or postgres, not %q", c.Store.Engine)
	case (c.Store.DSN == "") == (c.Store.DSNFile == ""):
		return bad("set exactly one of store.dsn and store.dsn_file")
	case c.Signer.Soft == nil && c.Signer.PKCS11 == nil:
		return bad("configure at least one signer backend (signer.soft or signer.pkcs11)")
	case c.Signer.Soft != nil && c.Signer.Soft.SecretFile == "":
		return bad("signer.soft.secret_file is required")
	case c.Signer.PKCS11 != nil && (c.Signer.PKCS11.Module == "" || c.Signer.PKCS11.TokenLabel == "" || c.Signer.PKCS11.PINFile == ""):
		return bad("signer.pkcs11 needs module, token_label and pin_file")
	case c.Signer.Default == "soft" && c.Signer.Soft == nil, c.Signer.Default == "pkcs11" && c.Signer.PKCS11 == nil:
		return bad("signer.default %q is not configured", c.Signer.Default)
	case c.Signer.Default != "soft" && c.Signer.Default != "pkcs11":
		return bad("signer.default must be soft or pkcs11")
	case c.Log != "debug" && c.Log != "info" && c.Log != "warn" && c.Log != "error":
		return bad("log must be debug, info, warn or error")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return bad("log_format must be text or json")
	case c.ReservationTimeout < time.Minute:
		return bad("reservation_timeout must be at least 1m")
	case c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://"):
		return bad("public_url must be an http:// or https:// URL")
	case c.Revocation.CRLValidity < 0 || c.Revocation.CRLRefresh < 0 || c.Revocation.CRLDelay < 0 || c.Revocation.OCSPValidity < 0 || c.Revocation.ResponderValidity < 0:
		return bad("revocation durations cannot be negative")
	case c.Revocation.CRLValidity != 0 && c.Revocation.CRLRefresh != 0 && c.Revocation.CRLRefresh >= c.Revocation.CRLValidity:
		return bad("revocation.crl_refresh must be shorter than crl_validity")
	}
	if _, err := authz.NewPolicy(c.Admins); err != nil {
		return bad("%v", err)
	}
	return nil
}

// LoadConfig reads and parses a configuration file with the process
// environment's overrides.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca-core config: %w", err)
	}
	return ParseConfig(b, os.Getenv)
}
