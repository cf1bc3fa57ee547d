package wstep

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/wstep/directory"
)

// Config is the `certgate wstep` configuration.
type Config struct {
	// Listen is the HTTPS address. Default: 0.0.0.0:443.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// BaseURL is the public https://host[:port] clients reach; the policy
	// gives them CES URLs under it.
	BaseURL string `yaml:"base_url"`
	// CACore locates ca-core and this front-end's client certificate.
	CACore frontend.ClientConfig `yaml:"ca_core"`
	// Kerberos enables Windows integrated authentication.
	Kerberos *Kerberos `yaml:"kerberos"`
	// UsernamePassword enables WS-Security UsernameToken authentication,
	// checked against the directory. Default: on.
	UsernamePassword *bool `yaml:"username_password"`
	// Directory resolves requesters: LDAP (Active Directory) or, for
	// development, a static user list.
	Directory Directory `yaml:"directory"`
	// NextUpdateHours is how often clients refresh the policy. Default: 8.
	NextUpdateHours int `yaml:"next_update_hours"`
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

// Kerberos is the service's keytab.
type Kerberos struct {
	// Keytab holds the key of HTTP/<host>@REALM (ktpass or kadmin ktadd).
	Keytab string `yaml:"keytab"`
	// ServicePrincipal overrides the principal looked up in the keytab,
	// e.g. HTTP/wstep.example.com. Default: the one the ticket names.
	ServicePrincipal string `yaml:"service_principal"`
}

// Directory selects the directory.
type Directory struct {
	LDAP   *directory.LDAPConfig  `yaml:"ldap"`
	Static []directory.StaticUser `yaml:"static"`
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "0.0.0.0:443"
	}
	if c.UsernamePassword == nil {
		on := true
		c.UsernamePassword = &on
	}
	if c.NextUpdateHours == 0 {
		c.NextUpdateHours = 8
	}
	if c.Log == "" {
		c.Log = "info"
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	c.defaults()
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		return errors.New("wstep config: tls.cert_file and tls.key_file are required (Windows talks to CEP/CES over HTTPS only)")
	}
	if u, err := url.Parse(c.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("wstep config: base_url %q must be the public https:// URL", c.BaseURL)
	}
	if (c.Directory.LDAP == nil) == (len(c.Directory.Static) == 0) {
		return errors.New("wstep config: configure exactly one of directory.ldap and directory.static")
	}
	if c.Kerberos == nil && !*c.UsernamePassword {
		return errors.New("wstep config: enable kerberos, username_password or both")
	}
	if c.Kerberos != nil && c.Kerberos.Keytab == "" {
		return errors.New("wstep config: kerberos needs a keytab")
	}
	return c.CACore.Validate()
}
