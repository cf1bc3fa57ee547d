package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig locates the directory and the service account that reads it.
type LDAPConfig struct {
	// URL is ldaps://host[:636] or ldap://host[:389] with StartTLS; plain
	// LDAP is refused, since user passwords are checked by binding.
	URL      string `yaml:"url"`
	StartTLS bool   `yaml:"start_tls"`
	// CAFile holds the roots of the directory's TLS certificate.
	CAFile string `yaml:"ca_file"`
	// BindDN and BindPassword(File) are the service account.
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// BaseDN is where accounts are searched.
	BaseDN string `yaml:"base_dn"`
	// Timeout bounds each operation. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// LDAP is a Directory in an LDAP server with Active Directory's schema.
type LDAP struct {
	cfg  LDAPConfig
	tls  *tls.Config
	host string
}

// NewLDAP checks cfg.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("directory: url %q is not an LDAP URL", cfg.URL)
	}
	switch {
	case u.Scheme == "ldaps":
	case u.Scheme == "ldap" && cfg.StartTLS:
	default:
		return nil, fmt.Errorf("directory: %q: use ldaps:// or ldap:// with start_tls; passwords never cross the network in clear", cfg.URL)
	}
	if cfg.BindDN == "" || cfg.BaseDN == "" {
		return nil, errors.New("directory: bind_dn and base_dn are required")
	}
	if cfg.BindPasswordFile != "" {
		b, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		cfg.BindPassword = strings.TrimSpace(string(b))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory: %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &LDAP{cfg: cfg, tls: tc, host: u.Host}, nil
}

// dial connects within the timeout; the connection is closed when ctx
// ends, which aborts whatever operation is under way (go-ldap takes no
// context).
func (l *LDAP) dial(ctx context.Context) (*ldap.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := ldap.DialURL(l.cfg.URL, ldap.DialWithTLSConfig(l.tls), ldap.DialWithDialer(&net.Dialer{Timeout: l.cfg.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	c.SetTimeout(l.cfg.Timeout)
	if l.cfg.StartTLS {
		// go-ldap sets no deadline on the StartTLS handshake.
		timer := time.AfterFunc(l.cfg.Timeout, func() { c.Close() })
		err := c.StartTLS(l.tls)
		timer.Stop()
		if err != nil {
			stop()
			c.Close()
			return nil, fmt.Errorf("directory: StartTLS: %w", err)
		}
	}
	return c, nil
}

var attributes = []string{"sAMAccountName", "userPrincipalName", "mail", "dNSHostName", "objectSid", "memberOf", "objectClass"}

// find searches one account with the service account bound on c.
func (l *LDAP) find(c *ldap.Conn, filter string) (*ldap.Entry, error) {
	if err := c.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
		return nil, fmt.Errorf("directory: service account bind: %w", err)
	}
	base, scope := l.cfg.BaseDN, ldap.ScopeWholeSubtree
	if strings.HasPrefix(filter, "dn:") {
		// A DN names the entry itself.
		base, scope, filter = strings.TrimPrefix(filter, "dn:"), ldap.ScopeBaseObject, "(objectClass=*)"
	}
	res, err := c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 2, max(1, int(l.cfg.Timeout/time.Second)), false,
		filter, attributes, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidDNSyntax) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: search: %w", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, ErrNotFound
	case 1:
		return res.Entries[0], nil
	}
	return nil, fmt.Errorf("directory: %s matches more than one account", filter)
}

// accountFilter finds an account by UPN, account name or mail; a DN is
// looked up directly.
func accountFilter(name string) string {
	if _, err := ldap.ParseDN(name); err == nil && strings.Contains(name, "=") {
		return "dn:" + name
	}
	e := ldap.EscapeFilter(name)
	return "(|(userPrincipalName=" + e + ")(sAMAccountName=" + e + ")(mail=" + e + "))"
}

// Authenticate implements Directory: it finds the account with the
// service account and binds as it with password.
func (l *LDAP) Authenticate(ctx context.Context, username, password string) (*Identity, error) {
	if username == "" || password == "" {
		// An empty password would be an unauthenticated bind (RFC 4513 §5.1.2).
		return nil, ErrInvalidCredentials
	}
	c, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	e, err := l.find(c, accountFilter(username))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if err := c.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, ErrInvalidCredentials
		}
		return nil, fmt.Errorf("directory: bind as %s: %w", e.DN, err)
	}
	return identityOf(e), nil
}

// Lookup implements Directory.
func (l *LDAP) Lookup(ctx context.Context, principal string) (*Identity, error) {
	c, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	e, err := l.find(c, accountFilter(accountOf(principal)))
	if err != nil {
		return nil, err
	}
	return identityOf(e), nil
}

func identityOf(e *ldap.Entry) *Identity {
	id := &Identity{Name: e.GetAttributeValue("sAMAccountName"), DN: e.DN, UPN: e.GetAttributeValue("userPrincipalName"),
		Mail: e.GetAttributeValue("mail"), DNSHostName: e.GetAttributeValue("dNSHostName"), Groups: e.GetAttributeValues("memberOf")}
	if raw := e.GetRawAttributeValue("objectSid"); len(raw) > 0 {
		id.SID = SIDString(raw)
	}
	for _, oc := range e.GetAttributeValues("objectClass") {
		if strings.EqualFold(oc, "computer") {
			id.Computer = true
		}
	}
	return id
}

// SIDString formats a binary SID (MS-DTYP §2.4.2.2) as S-1-...; it
// returns "" for malformed input.
func SIDString(b []byte) string {
	if len(b) < 8 || b[0] != 1 || len(b) != 8+4*int(b[1]) {
		return ""
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	s := "S-1-" + strconv.FormatUint(auth, 10)
	for i := 0; i < int(b[1]); i++ {
		s += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return s
}
