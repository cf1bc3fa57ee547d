package validate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "ok/defaults", cfg: Config{}},
		{name: "ok/resolver", cfg: Config{Resolver: "127.0.0.1:5353"}},
		{name: "ok/ipv6-resolver", cfg: Config{Resolver: "[::1]:53"}},
		{name: "fail/resolver-without-port", cfg: Config{Resolver: "127.0.0.1"}, wantErr: "not host:port"},
		{name: "fail/resolver-bad-port", cfg: Config{Resolver: "127.0.0.1:dns"}, wantErr: "no valid port"},
		{name: "fail/resolver-without-host", cfg: Config{Resolver: ":53"}, wantErr: "no host"},
		{name: "fail/http-port", cfg: Config{HTTPPort: 70000}, wantErr: "HTTPPort"},
		{name: "fail/tls-alpn-port", cfg: Config{TLSALPNPort: -1}, wantErr: "TLSALPNPort"},
		{name: "fail/timeout", cfg: Config{Timeout: -time.Second}, wantErr: "Timeout"},
		{name: "fail/max-redirects", cfg: Config{MaxRedirects: -1}, wantErr: "MaxRedirects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.cfg == (Config{}) && (v.httpPort != 80 || v.tlsALPNPort != 443 || v.timeout != 10*time.Second || v.maxRedirects != 10) {
					t.Errorf("defaults: %+v", v)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "validate: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New: %v; want an error about %s", err, tc.wantErr)
			}
		})
	}
}

func TestSystemResolver(t *testing.T) {
	z := newTestDNS(t)
	z.add(t, `_acme-challenge.sys.test. 60 IN TXT "`+testDigest(testKeyAuth)+`"`)
	host, port, _ := net.SplitHostPort(z.addr)
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("# test\nnameserver "+host+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := systemResolver(conf)
	dr, ok := r.(*dnsResolver)
	if !ok {
		t.Fatalf("systemResolver(%s) = %T; want *dnsResolver", conf, r)
	}
	if len(dr.servers) != 1 || dr.servers[0] != net.JoinHostPort(host, "53") || dr.queryTimeout != time.Second || dr.attempts != 1 {
		t.Errorf("systemResolver: %+v", dr)
	}
	// resolv.conf has no port: point the parsed resolver at the test one.
	dr.servers = []string{net.JoinHostPort(host, port)}
	txts, err := dr.lookupTXT(t.Context(), "_acme-challenge.sys.test")
	if err != nil || len(txts) != 1 {
		t.Errorf("lookupTXT: %q, %v", txts, err)
	}

	if _, ok := systemResolver(filepath.Join(t.TempDir(), "missing")).(netResolver); !ok {
		t.Error("without resolv.conf: not net.DefaultResolver")
	}
	empty := filepath.Join(t.TempDir(), "empty.conf")
	os.WriteFile(empty, []byte("search example.com\n"), 0o644)
	if _, ok := systemResolver(empty).(netResolver); !ok {
		t.Error("resolv.conf without nameservers: not net.DefaultResolver")
	}
}

func TestNetResolver(t *testing.T) {
	// The fallback resolver, with Go's resolver pointed at the test server.
	z := newTestDNS(t)
	z.add(t,
		`_acme-challenge.net.test. 60 IN TXT "`+testDigest(testKeyAuth)+`"`,
		"net.test. 60 IN A 127.0.0.1",
		"net.test. 60 IN AAAA ::1",
	)
	var d net.Dialer
	r := netResolver{r: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, z.addr)
		},
	}}
	v6, v4, err := r.lookupAddrs(t.Context(), "net.test")
	if err != nil || len(v6) != 1 || len(v4) != 1 || !v4[0].Is4() || v6[0].String() != "::1" {
		t.Errorf("lookupAddrs(net.test) = %v, %v, %v", v6, v4, err)
	}
	if txts, err := r.lookupTXT(t.Context(), "_acme-challenge.net.test"); err != nil || len(txts) != 1 {
		t.Errorf("lookupTXT: %q, %v", txts, err)
	}
	_, err = r.lookupTXT(t.Context(), "_acme-challenge.nx.test")
	var le *lookupError
	if !errors.As(err, &le) || !le.notFound {
		t.Errorf("lookupTXT(nx): %v; want not found", err)
	}
}

func TestIdentifiers(t *testing.T) {
	z := newTestDNS(t)
	v := newTestValidator(t, z, Config{Timeout: time.Second})
	tests := []struct {
		name       string
		challenge  string
		id         Identifier
		token      string
		keyAuth    string
		wantDetail string
	}{
		{name: "fail/empty-name", id: Identifier{"dns", ""}, wantDetail: "empty name"},
		{name: "fail/wildcard", id: Identifier{"dns", "*.example.com"}, wantDetail: "wildcard"},
		{name: "fail/inner-wildcard", id: Identifier{"dns", "a.*.example.com"}, wantDetail: "wildcard"},
		{name: "fail/trailing-dot", id: Identifier{"dns", "example.com."}, wantDetail: "dot"},
		{name: "fail/empty-label", id: Identifier{"dns", "a..example.com"}, wantDetail: "empty label"},
		{name: "fail/long-label", id: Identifier{"dns", strings.Repeat("a", 64) + ".com"}, wantDetail: "63"},
		{name: "fail/long-name", id: Identifier{"dns", strings.Repeat("a.", 127) + "com"}, wantDetail: "253"},
		{name: "fail/hyphen", id: Identifier{"dns", "-a.example.com"}, wantDetail: "hyphen"},
		{name: "fail/underscore", id: Identifier{"dns", "a_b.example.com"}, wantDetail: "'_'"},
		{name: "fail/unicode", id: Identifier{"dns", "bücher.example"}, wantDetail: "A-labels"},
		{name: "fail/ip-as-dns", id: Identifier{"dns", "192.0.2.1"}, wantDetail: "ip identifier"},
		{name: "fail/numeric-tld", id: Identifier{"dns", "example.123"}, wantDetail: "all digits"},
		{name: "fail/not-an-ip", id: Identifier{"ip", "example.com"}, wantDetail: "not an IP address"},
		{name: "fail/ip-zone", id: Identifier{"ip", "fe80::1%eth0"}, wantDetail: "zone"},
		{name: "fail/ip-non-canonical", id: Identifier{"ip", "2001:DB8::1"}, wantDetail: "use 2001:db8::1"},
		{name: "fail/ip-leading-zeros", id: Identifier{"ip", "2001:db8:0:0:0:0:0:1"}, wantDetail: "use 2001:db8::1"},
		{name: "fail/ipv4-mapped", id: Identifier{"ip", "::ffff:192.0.2.1"}, wantDetail: "use 192.0.2.1"},
		{name: "fail/unspecified", id: Identifier{"ip", "0.0.0.0"}, wantDetail: "unspecified"},
		{name: "fail/multicast", id: Identifier{"ip", "ff02::1"}, wantDetail: "multicast"},
		{name: "fail/type", id: Identifier{"email", "a@example.com"}, wantDetail: "unsupported identifier type"},
		{name: "fail/challenge", challenge: "tls-sni-01", id: Identifier{"dns", "example.com"}, wantDetail: "unsupported challenge type"},
		{name: "fail/token-padding", id: Identifier{"dns", "example.com"}, token: "abc=", keyAuth: "abc=.xyz", wantDetail: "token"},
		{name: "fail/token-path", id: Identifier{"dns", "example.com"}, token: "../x", keyAuth: "../x.xyz", wantDetail: "token"},
		{name: "fail/key-authorization-of-another-token", id: Identifier{"dns", "example.com"}, keyAuth: "other." + testThumbprint, wantDetail: "key authorization"},
		{name: "fail/key-authorization-without-thumbprint", id: Identifier{"dns", "example.com"}, keyAuth: testToken + ".", wantDetail: "key authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			challenge, token, keyAuth := tc.challenge, tc.token, tc.keyAuth
			if challenge == "" {
				challenge = ChallengeHTTP01
			}
			if token == "" {
				token = testToken
			}
			if keyAuth == "" {
				keyAuth = testKeyAuth
			}
			err := v.Validate(t.Context(), challenge, tc.id, token, keyAuth)
			checkResult(t, err, ProblemMalformed, tc.wantDetail)
		})
	}
}

// waitGoroutines waits for the goroutine count to come back to at most
// base, and fails t with a dump if it does not.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCancel checks that Validate returns promptly when its context is
// canceled, whatever it is waiting for, and leaves no goroutine behind.
func TestCancel(t *testing.T) {
	z := newTestDNS(t)
	z.add(t, "hang.test. 60 IN A 127.0.0.1")
	z.setDrop("_acme-challenge.silent.test")
	z.setDrop("silent.test")

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	// A TCP server that accepts and never speaks TLS.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	muted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				close(muted)
				return
			}
			muted <- c
		}
	}()
	defer func() {
		mute.Close()
		for c := range muted {
			c.Close()
		}
	}()

	v := newTestValidator(t, z, Config{
		HTTPPort:    portOf(t, hang.Listener.Addr()),
		TLSALPNPort: portOf(t, mute.Addr()),
		Timeout:     10 * time.Second,
	})
	tests := []struct {
		name      string
		challenge string
		id        Identifier
		wantType  string
	}{
		{name: "fail/http-01-waiting-for-the-response", challenge: ChallengeHTTP01, id: Identifier{"dns", "hang.test"}, wantType: ProblemConnection},
		{name: "fail/http-01-resolving", challenge: ChallengeHTTP01, id: Identifier{"dns", "silent.test"}, wantType: ProblemDNS},
		{name: "fail/dns-01", challenge: ChallengeDNS01, id: Identifier{"dns", "silent.test"}, wantType: ProblemDNS},
		{name: "fail/tls-alpn-01-handshake", challenge: ChallengeTLSALPN01, id: Identifier{"ip", "127.0.0.1"}, wantType: ProblemConnection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			err := v.Validate(ctx, tc.challenge, tc.id, testToken, testKeyAuth)
			if d := time.Since(start); d > time.Second {
				t.Errorf("Validate returned %v after the cancellation", d-100*time.Millisecond)
			}
			checkResult(t, err, tc.wantType, "canceled")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(%v, context.Canceled) = false", err)
			}
			waitGoroutines(t, base)
		})
	}

	t.Run("fail/http-01-timeout", func(t *testing.T) {
		v := newTestValidator(t, z, Config{HTTPPort: portOf(t, hang.Listener.Addr()), Timeout: 300 * time.Millisecond})
		start := time.Now()
		err := v.Validate(t.Context(), ChallengeHTTP01, Identifier{"dns", "hang.test"}, testToken, testKeyAuth)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Validate took %v with a 300ms timeout", d)
		}
		checkResult(t, err, ProblemConnection, "timeout waiting for the response", "127.0.0.1:")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
		}
	})
}

func TestProblem(t *testing.T) {
	p := &Problem{Type: ProblemConnection, Detail: "192.0.2.1:80: connection refused"}
	if got, want := p.Error(), "validate: connection: 192.0.2.1:80: connection refused"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if p.Unwrap() != nil {
		t.Error("a Problem without a cause unwraps to something")
	}
}
