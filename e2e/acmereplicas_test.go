package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eggsampler/acme/v3"
)

// TestACMEReplicas runs a second `certgate acme` next to the dev suite's,
// both answering for the same base URL, and sends each request of a whole
// enrollment to the other replica than the one before: nothing the first
// replica handed out may be unknown to the second.
func TestACMEReplicas(t *testing.T) {
	a := startACME(t)
	base, err := url.Parse(a.ep.ACME.Directory)
	if err != nil {
		t.Fatal(err)
	}
	mtls := filepath.Join(a.dir, "mtls")
	cfg := filepath.Join(t.TempDir(), "acme.yaml")
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
base_url: https://%s
tls: {cert_file: %s, key_file: %s}
ca_core: {address: %q, ca_file: %s, cert_file: %s, key_file: %s}
validation: {http_port: %d, tls_alpn_port: %d, resolver: %q}
`, base.Host, filepath.Join(mtls, "acme-tls.pem"), filepath.Join(mtls, "acme-tls-key.pem"),
		a.ep.CACore.GRPC, filepath.Join(mtls, "ca.pem"), filepath.Join(mtls, "acme.pem"), filepath.Join(mtls, "acme-key.pem"),
		a.env.httpPort, a.env.tlsALPNPort, a.env.dnsAddr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	second := startService(t, "acme", cfg)

	// Every new connection goes to the other replica; without keep-alive
	// every request is a new connection.
	replicas := []string{base.Host, second.addr}
	var next atomic.Int64
	var dialer net.Dialer
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: trustPool(t, a.ep.TrustBundle)},
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, replicas[next.Add(1)%2])
		},
	}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	client, err := acme.NewClient(a.ep.ACME.Directory, acme.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	client.PollInterval, client.PollTimeout = 100*time.Millisecond, 30*time.Second
	both := &acmeSuite{suite: a.suite, env: a.env, client: client}

	acct := both.account(t)
	chain := both.issue(t, acct, acme.ChallengeTypeHTTP01, dnsIDs("replicas.certgate.test")...)
	both.verifyTLSServer(t, chain, "replicas.certgate.test")
	if err := client.RevokeCertificate(acct, chain[0], acct.PrivateKey, acme.ReasonSuperseded); err != nil {
		t.Fatalf("revoke through the replicas: %v", err)
	}

	// A nonce from one replica is good once on the other.
	n := both.nonce(t, hc)
	signer := jwsSigner{key: newKey(t).(*ecdsa.PrivateKey)}
	body := signer.sign(t, n, client.Directory().NewAccount, []byte(`{"termsOfServiceAgreed":true}`), nil)
	if r := post(t, hc, client.Directory().NewAccount, "application/jose+json", body); r.status != http.StatusCreated {
		t.Fatalf("new account with the other replica's nonce: %d %s", r.status, r.body)
	}
	for range 2 {
		if r := post(t, hc, client.Directory().NewAccount, "application/jose+json", body); r.Type != "urn:ietf:params:acme:error:badNonce" {
			t.Errorf("replayed nonce: %d %s, want badNonce", r.status, r.Type)
		}
	}
}
