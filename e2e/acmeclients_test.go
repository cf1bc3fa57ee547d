package e2e

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientSuite is a dev suite whose ACME validator reaches challenge
// responders that a client program (certbot, lego) runs itself.
type clientSuite struct {
	*acmeSuite
	http01, tlsALPN01 int // ports the client program binds
}

// startForClients picks the challenge ports before the suite starts
// because certgate dev takes them as flags.
func startForClients(t *testing.T) *clientSuite {
	t.Helper()
	env := newACMEEnv(t)
	c := &clientSuite{http01: freePort(t), tlsALPN01: freePort(t)}
	s := startDev(t, t.TempDir(), "--acme-resolver", env.dnsAddr,
		"--acme-http01-port", strconv.Itoa(c.http01), "--acme-tlsalpn01-port", strconv.Itoa(c.tlsALPN01))
	c.acmeSuite = &acmeSuite{suite: s, env: env}
	return c
}

// freePort returns a port that is free now, for a client program to bind
// later.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tool finds a client program; CI installs them, so a missing one is a
// broken environment, not a reason to skip.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: %v", name, err)
	}
	return path
}

// runClient runs a client program with extra environment and returns its
// combined output. The timeout keeps a hung client from eating the
// test's budget.
func runClient(env []string, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// verifyFile checks a PEM chain written by a client program against the
// dev root for each name and returns the leaf.
func (c *clientSuite) verifyFile(t *testing.T, path string, names ...string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	chain := certs(t, string(b))
	for _, n := range names {
		c.verifyTLSServer(t, chain, n)
	}
	return chain[0]
}

// certbot is one certbot installation: its own configuration, account
// and certificate store.
type certbot struct {
	c    *clientSuite
	path string
	dir  string
}

func (c *clientSuite) certbot(t *testing.T) *certbot {
	return &certbot{c: c, path: tool(t, "certbot"), dir: t.TempDir()}
}

// try runs a certbot subcommand non-interactively against directory.
func (b *certbot) try(directory string, args ...string) (string, error) {
	common := []string{"--non-interactive", "--server", directory,
		"--config-dir", filepath.Join(b.dir, "config"), "--work-dir", filepath.Join(b.dir, "work"), "--logs-dir", filepath.Join(b.dir, "logs")}
	return runClient([]string{"REQUESTS_CA_BUNDLE=" + b.c.ep.TrustBundle}, b.path, slices.Concat(args, common)...)
}

func (b *certbot) run(t *testing.T, directory string, args ...string) string {
	t.Helper()
	out, err := b.try(directory, args...)
	if err != nil {
		t.Fatalf("certbot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// standalone is certbot answering http-01 itself on the suite's port.
func (b *certbot) standalone() []string {
	return []string{"--standalone", "--http-01-address", "127.0.0.1", "--http-01-port", strconv.Itoa(b.c.http01)}
}

// live is a file of the current certificate for name.
func (b *certbot) live(name, file string) string {
	return filepath.Join(b.dir, "config", "live", name, file)
}

func TestCertbot(t *testing.T) {
	c := startForClients(t)
	directory := c.ep.ACME.Directory
	const name = "certbot.certgate.test"
	bot := c.certbot(t)

	t.Run("certonly standalone http-01", func(t *testing.T) {
		bot.run(t, directory, append([]string{"certonly", "--agree-tos", "-m", "ops@certgate.test", "-d", name}, bot.standalone()...)...)
		c.verifyFile(t, bot.live(name, "fullchain.pem"), name)
	})

	t.Run("external account binding", func(t *testing.T) {
		c.admin("endpoints", "create", "--id", "certbot-eab", "--protocol", "acme", "--ca", "issuing", "--profile", "acme-tls-server", "--auth", "external_account_binding")
		eabDir := c.acmeClientFor(t, "certbot-eab").Directory().URL
		const eabName = "certbot-eab.certgate.test"
		certonly := append([]string{"certonly", "--agree-tos", "--register-unsafely-without-email", "-d", eabName}, bot.standalone()...)

		// A fresh installation, so no account bound earlier is reused.
		out, err := c.certbot(t).try(eabDir, certonly...)
		if err == nil || !strings.Contains(strings.ToLower(out), "external account") {
			t.Fatalf("certbot without EAB on an EAB endpoint: %v\n%s", err, out)
		}

		kid, key := c.newEABKey(t, "certbot-eab")
		eab := c.certbot(t)
		eab.run(t, eabDir, slices.Concat(certonly, []string{"--eab-kid", kid, "--eab-hmac-key", key})...)
		c.verifyFile(t, eab.live(eabName, "fullchain.pem"), eabName)
	})

	t.Run("renew", func(t *testing.T) {
		old := c.verifyFile(t, bot.live(name, "fullchain.pem"), name)
		bot.run(t, directory, append([]string{"renew", "--force-renewal", "--no-random-sleep-on-renew", "--cert-name", name}, bot.standalone()...)...)
		renewed := c.verifyFile(t, bot.live(name, "fullchain.pem"), name)
		if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 {
			t.Errorf("renewal kept serial %x", old.SerialNumber)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		leaf := c.verifyFile(t, bot.live(name, "fullchain.pem"), name)
		bot.run(t, directory, "revoke", "--cert-path", bot.live(name, "cert.pem"), "--reason", "keycompromise", "--no-delete-after-revoke")
		out := c.admin("certs", "show", leaf.SerialNumber.Text(16))
		if !strings.Contains(out, "revoked") || !strings.Contains(strings.ToLower(out), "keycompromise") {
			t.Errorf("certs show after certbot revoke:\n%s", out)
		}
	})
}

// lego runs lego with its own store and a fresh account for each run.
func (c *clientSuite) lego(t *testing.T, env []string, args ...string) string {
	t.Helper()
	store := t.TempDir()
	common := []string{"--server", c.ep.ACME.Directory, "--accept-tos", "--email", "ops@certgate.test", "--path", store}
	out, err := runClient(slices.Concat(env, []string{"LEGO_CA_CERTIFICATES=" + c.ep.TrustBundle}), tool(t, "lego"), slices.Concat(common, args, []string{"run"})...)
	if err != nil {
		t.Fatalf("lego %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return store
}

func TestLego(t *testing.T) {
	c := startForClients(t)

	t.Run("http-01", func(t *testing.T) {
		const name = "lego-http.certgate.test"
		store := c.lego(t, nil, "-d", name, "--http", "--http.port", fmt.Sprintf(":%d", c.http01))
		c.verifyFile(t, filepath.Join(store, "certificates", name+".crt"), name)
	})

	t.Run("tls-alpn-01", func(t *testing.T) {
		const name = "lego-tls.certgate.test"
		store := c.lego(t, nil, "-d", name, "--tls", "--tls.port", fmt.Sprintf(":%d", c.tlsALPN01))
		c.verifyFile(t, filepath.Join(store, "certificates", name+".crt"), name)
	})

	t.Run("dns-01 wildcard via exec provider", func(t *testing.T) {
		const name = "lego-dns.certgate.test"
		env := []string{"EXEC_PATH=" + c.env.dnsHook(t),
			// The exec provider solves one authorization at a time and by
			// default waits a minute between them.
			"EXEC_SEQUENCE_INTERVAL=1", "EXEC_POLLING_INTERVAL=1", "EXEC_PROPAGATION_TIMEOUT=20"}
		// The test DNS server is no real zone with NS records, so lego
		// checks the record with it as recursive resolver only.
		store := c.lego(t, env, "-d", name, "-d", "*."+name, "--dns", "exec", "--dns.resolvers", c.env.dnsAddr, "--dns.disable-cp")
		c.verifyFile(t, filepath.Join(store, "certificates", name+".crt"), name, "anything."+name)
		c.env.mu.Lock()
		left := c.env.txt["_acme-challenge."+name]
		c.env.mu.Unlock()
		if len(left) != 0 {
			t.Errorf("lego's cleanup left TXT records %v", left)
		}
	})
}

// dnsHook writes a script for lego's exec DNS provider ("present|cleanup
// FQDN VALUE") that hands the TXT record to the test DNS server over HTTP.
func (e *acmeEnv) dnsHook(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(e.serveTXTUpdate)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	script := filepath.Join(t.TempDir(), "dns-hook.sh")
	body := fmt.Sprintf("#!/bin/sh\nexec %s -fsS --data-urlencode \"name=$2\" --data-urlencode \"value=$3\" http://%s/$1\n", tool(t, "curl"), l.Addr())
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// serveTXTUpdate adds (/present) or removes (/cleanup) a TXT value.
func (e *acmeEnv) serveTXTUpdate(w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(strings.TrimSuffix(r.FormValue("name"), "."))
	value := r.FormValue("value")
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r.URL.Path {
	case "/present":
		e.txt[name] = append(e.txt[name], value)
	case "/cleanup":
		e.txt[name] = slices.DeleteFunc(e.txt[name], func(v string) bool { return v == value })
	default:
		http.NotFound(w, r)
	}
}
