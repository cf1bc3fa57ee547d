package validate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Challenge types.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeDNS01     = "dns-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// Identifier types.
const (
	IdentifierDNS = "dns"
	IdentifierIP  = "ip"
)

// Problem types: the RFC 8555 §6.7 error types a validation can end with,
// without the "urn:ietf:params:acme:error:" prefix.
const (
	ProblemConnection        = "connection"
	ProblemDNS               = "dns"
	ProblemTLS               = "tls"
	ProblemIncorrectResponse = "incorrectResponse"
	ProblemUnauthorized      = "unauthorized"
	ProblemMalformed         = "malformed"
)

const (
	defaultHTTPPort     = 80
	defaultTLSALPNPort  = 443
	defaultTimeout      = 10 * time.Second
	defaultMaxRedirects = 10
	resolvConf          = "/etc/resolv.conf"
	userAgent           = "certgate-acme-validator"
)

// Config configures a Validator. The zero value is usable: every field has
// a default.
type Config struct {
	// HTTPPort is the port http-01 connects to; default 80 (RFC 8555 §8.3).
	HTTPPort int
	// TLSALPNPort is the port tls-alpn-01 connects to; default 443
	// (RFC 8737 §3). http-01 redirects may go to ports 80, 443, HTTPPort
	// and TLSALPNPort.
	TLSALPNPort int
	// Resolver is the "host:port" of the DNS server used for dns-01 TXT
	// lookups and for the A/AAAA lookups of http-01 and tls-alpn-01
	// targets. It must recurse. Empty means the system resolver: the
	// nameservers of /etc/resolv.conf, or net.DefaultResolver when that
	// file is missing or names none.
	Resolver string
	// Timeout bounds one validation attempt (all lookups, connections and
	// redirects included); default 10s.
	Timeout time.Duration
	// MaxRedirects is the number of redirects http-01 follows; default 10.
	MaxRedirects int
}

// Validator performs ACME challenge validations. It is safe for
// concurrent use.
type Validator struct {
	httpPort     int
	tlsALPNPort  int
	timeout      time.Duration
	maxRedirects int
	resolver     resolver
	// transport carries the http-01 requests, dialling through resolver.
	transport *http.Transport
	dialer    net.Dialer
}

// New returns a Validator for cfg, with defaults filled in.
func New(cfg Config) (*Validator, error) {
	v := &Validator{
		httpPort:     cfg.HTTPPort,
		tlsALPNPort:  cfg.TLSALPNPort,
		timeout:      cfg.Timeout,
		maxRedirects: cfg.MaxRedirects,
		dialer:       net.Dialer{KeepAlive: -1},
	}
	if v.httpPort == 0 {
		v.httpPort = defaultHTTPPort
	}
	if v.tlsALPNPort == 0 {
		v.tlsALPNPort = defaultTLSALPNPort
	}
	if v.timeout == 0 {
		v.timeout = defaultTimeout
	}
	if v.maxRedirects == 0 {
		v.maxRedirects = defaultMaxRedirects
	}
	if v.httpPort < 0 || v.httpPort > 65535 {
		return nil, fmt.Errorf("validate: HTTPPort %d is not a port number", cfg.HTTPPort)
	}
	if v.tlsALPNPort < 0 || v.tlsALPNPort > 65535 {
		return nil, fmt.Errorf("validate: TLSALPNPort %d is not a port number", cfg.TLSALPNPort)
	}
	if v.timeout < 0 {
		return nil, fmt.Errorf("validate: Timeout %v is negative", cfg.Timeout)
	}
	if v.maxRedirects < 0 {
		return nil, fmt.Errorf("validate: MaxRedirects %d is negative", cfg.MaxRedirects)
	}

	if cfg.Resolver != "" {
		host, port, err := net.SplitHostPort(cfg.Resolver)
		if err != nil {
			return nil, fmt.Errorf("validate: Resolver %q is not host:port: %w", cfg.Resolver, err)
		}
		if host == "" {
			return nil, fmt.Errorf("validate: Resolver %q has no host", cfg.Resolver)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("validate: Resolver %q has no valid port", cfg.Resolver)
		}
		v.resolver = &dnsResolver{servers: []string{cfg.Resolver}, queryTimeout: defaultQueryTimeout, attempts: defaultAttempts}
	} else {
		v.resolver = systemResolver(resolvConf)
	}
	v.resolver = localhostResolver{v.resolver}

	v.transport = &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            v.transportDial,
		DialTLSContext:         v.transportDialTLS,
		DisableKeepAlives:      true, // one connection per request: nothing idles, nothing leaks
		DisableCompression:     true, // the body is compared byte for byte
		MaxResponseHeaderBytes: 16 << 10,
		// A non-nil empty map turns HTTP/2 off: validation speaks HTTP/1.1.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return v, nil
}

// Identifier is what a challenge proves control of.
type Identifier struct {
	// Type is "dns" or "ip".
	Type string
	// Value is a DNS name (for a wildcard order, the base name without
	// "*.") or the text form of an IP address (RFC 8738 §3: RFC 1123
	// dotted quad or RFC 5952 canonical IPv6).
	Value string
}

// Problem is a failed validation, in the vocabulary of RFC 8555 §6.7.
type Problem struct {
	// Type is the ACME error type without its "urn:ietf:params:acme:error:"
	// prefix: "connection", "dns", "tls", "incorrectResponse",
	// "unauthorized" or "malformed".
	Type string
	// Detail is a human-readable account of the failure, safe to show to
	// the ACME client.
	Detail string

	// err is the underlying cause, if any (context.Canceled, a net error).
	err error
}

func (p *Problem) Error() string {
	return "validate: " + p.Type + ": " + p.Detail
}

// Unwrap returns the cause of the problem, if any, so that
// errors.Is(err, context.Canceled) works.
func (p *Problem) Unwrap() error { return p.err }

func problem(typ string, cause error, format string, args ...any) *Problem {
	return &Problem{Type: typ, Detail: fmt.Sprintf(format, args...), err: cause}
}

// Validate performs one validation of challengeType ("http-01", "dns-01"
// or "tls-alpn-01") for id. keyAuthorization is token + "." +
// base64url(JWK thumbprint), computed by the caller. It returns nil when
// the challenge is fulfilled and a *Problem otherwise. It gives up when ctx
// is done or after the configured Timeout, whichever comes first.
func (v *Validator) Validate(ctx context.Context, challengeType string, id Identifier, token, keyAuthorization string) error {
	if p := v.validate(ctx, challengeType, id, token, keyAuthorization); p != nil {
		return p
	}
	return nil
}

func (v *Validator) validate(ctx context.Context, challengeType string, id Identifier, token, keyAuthorization string) *Problem {
	t, p := parseIdentifier(id)
	if p != nil {
		return p
	}
	if p := checkToken(token, keyAuthorization); p != nil {
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	switch challengeType {
	case ChallengeHTTP01:
		return v.validateHTTP01(ctx, t, token, keyAuthorization)
	case ChallengeDNS01:
		return v.validateDNS01(ctx, t, keyAuthorization)
	case ChallengeTLSALPN01:
		return v.validateTLSALPN01(ctx, t, keyAuthorization)
	default:
		return problem(ProblemMalformed, nil, "unsupported challenge type %q", challengeType)
	}
}

// target is a checked identifier.
type target struct {
	name string     // lower-case DNS name, for "dns" identifiers
	ip   netip.Addr // for "ip" identifiers
}

func (t target) isIP() bool { return t.ip.IsValid() }

// host is the name or the IP address text, as dialled.
func (t target) host() string {
	if t.isIP() {
		return t.ip.String()
	}
	return t.name
}

// String is the identifier as shown in details.
func (t target) String() string { return t.host() }

// urlHost is the host part of a URL for port: the IPv6 literal in
// brackets, the port left out when it is the scheme's default.
func (t target) urlHost(port, defaultPort int) string {
	if port == defaultPort {
		if t.isIP() && t.ip.Is6() {
			return "[" + t.ip.String() + "]"
		}
		return t.host()
	}
	return net.JoinHostPort(t.host(), strconv.Itoa(port))
}

// sni is the TLS server name: the DNS name, or for an IP address its
// reverse-mapping name (RFC 8738 §6), since SNI cannot carry addresses.
func (t target) sni() string {
	if t.isIP() {
		return reverseName(t.ip)
	}
	return t.name
}

// reverseName returns the in-addr.arpa or ip6.arpa name of a, without the
// trailing dot.
func reverseName(a netip.Addr) string {
	var b strings.Builder
	s := a.AsSlice()
	if a.Is4() {
		for i := len(s) - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(s[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa")
		return b.String()
	}
	const hex = "0123456789abcdef"
	for i := len(s) - 1; i >= 0; i-- {
		b.WriteByte(hex[s[i]&0x0f])
		b.WriteByte('.')
		b.WriteByte(hex[s[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa")
	return b.String()
}

func parseIdentifier(id Identifier) (target, *Problem) {
	switch id.Type {
	case IdentifierDNS:
		name, err := checkName(id.Value)
		if err != nil {
			return target{}, problem(ProblemMalformed, nil, "dns identifier %q: %v", id.Value, err)
		}
		return target{name: name}, nil
	case IdentifierIP:
		a, err := checkIP(id.Value)
		if err != nil {
			return target{}, problem(ProblemMalformed, nil, "ip identifier %q: %v", id.Value, err)
		}
		return target{ip: a}, nil
	default:
		return target{}, problem(ProblemMalformed, nil, "unsupported identifier type %q (want %q or %q)", id.Type, IdentifierDNS, IdentifierIP)
	}
}

// checkName checks that s is a DNS host name (RFC 1123 §2.1 letters,
// digits and hyphens, labels of 1 to 63 octets, at most 253 octets, no
// trailing dot) and returns it in lower case.
func checkName(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("empty name")
	case len(s) > 253:
		return "", fmt.Errorf("name is %d octets long, more than 253", len(s))
	case strings.HasPrefix(s, "*."):
		return "", errors.New("wildcard: pass the base name, without \"*.\"")
	case strings.HasSuffix(s, "."):
		return "", errors.New("name ends in a dot")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", errors.New("an IP address is not a DNS name: use an ip identifier")
	}
	s = strings.ToLower(s)
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" {
			return "", errors.New("empty label")
		}
		if len(l) > 63 {
			return "", fmt.Errorf("label %q is longer than 63 octets", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				if c == '*' {
					return "", errors.New("wildcard: pass the base name, without \"*.\"")
				}
				return "", fmt.Errorf("label %q has character %q, not a letter, digit or hyphen (use A-labels for IDNs)", l, c)
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return "", fmt.Errorf("top-level label %q is all digits", last)
	}
	return s, nil
}

// checkIP parses s as an IP identifier: canonical text (RFC 8738 §3), no
// zone, no IPv4-mapped IPv6, and an address one can connect to.
func checkIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("not an IP address")
	}
	switch {
	case a.Zone() != "":
		return netip.Addr{}, errors.New("IPv6 zones are not allowed")
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("IPv4-mapped IPv6 address: use %s", a.Unmap())
	case a.String() != s:
		return netip.Addr{}, fmt.Errorf("not in canonical form (RFC 5952): use %s", a)
	case a.IsUnspecified():
		return netip.Addr{}, errors.New("the unspecified address")
	case a.IsMulticast():
		return netip.Addr{}, errors.New("a multicast address")
	}
	return a, nil
}

// checkToken checks the token (RFC 8555 §8.1: base64url, no padding) and
// that the key authorization is built on it (§8.1: token "." thumbprint).
func checkToken(token, keyAuthorization string) *Problem {
	if !isBase64URL(token) {
		return problem(ProblemMalformed, nil, "token %q is not base64url without padding", token)
	}
	thumb, ok := strings.CutPrefix(keyAuthorization, token+".")
	if !ok || !isBase64URL(thumb) {
		return problem(ProblemMalformed, nil, "the key authorization is not the token, \".\" and a base64url JWK thumbprint")
	}
	return nil
}

func isBase64URL(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
