package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eggsampler/acme/v3"
)

// acmeSteps are the timed steps of one enrollment.
var acmeSteps = []string{"order", "authz", "challenge", "finalize", "download"}

// BenchmarkACME measures whole ACME enrollments against `certgate dev`
// (ca-core on SQLite with a soft P-256 issuing CA, the ACME service, both
// as their own process): new order → fetch authorization → http-01
// validation → finalize → download, by N clients with pre-created
// accounts. It reports orders/s and p50/p99 per step; compare with
// ca-core's BenchmarkIssue/sqlite/soft/p256 for the issuance limit.
func BenchmarkACME(b *testing.B) {
	env := newACMEEnv(b)
	s := startDev(b, b.TempDir(), env.devArgs()...)
	pool := trustPool(b, s.ep.TrustBundle)
	for _, clients := range []int{8, 32, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			c, err := acme.NewClient(s.ep.ACME.Directory, acme.WithHTTPClient(hc))
			if err != nil {
				b.Fatal(err)
			}
			c.PollInterval, c.PollTimeout = 5*time.Millisecond, time.Minute
			accounts := make([]acme.Account, clients)
			for i := range accounts {
				key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if accounts[i], err = c.NewAccount(key, false, true); err != nil {
					b.Fatal(err)
				}
			}
			// One certificate key for all CSRs: key generation is the
			// client's cost, not the service's.
			certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			lat := make(map[string][]time.Duration)
			var mu sync.Mutex // guards lat
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := map[string][]time.Duration{}
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						if err := benchEnroll(c, accounts[w], env, certKey, fmt.Sprintf("b%d.certgate.test", n), mine); err != nil {
							b.Error(err)
							return
						}
					}
					mu.Lock()
					for k, v := range mine {
						lat[k] = append(lat[k], v...)
					}
					mu.Unlock()
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
			for _, step := range acmeSteps {
				l := lat[step]
				if len(l) == 0 {
					continue
				}
				slices.Sort(l)
				b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, step+"-p50-ms")
				b.ReportMetric(float64(l[len(l)*99/100].Microseconds())/1000, step+"-p99-ms")
			}
		})
	}
}

// benchEnroll runs one enrollment for name and records each step's time.
func benchEnroll(c acme.Client, acct acme.Account, env *acmeEnv, key *ecdsa.PrivateKey, name string, lat map[string][]time.Duration) error {
	step := func(name string, t0 time.Time) { lat[name] = append(lat[name], time.Since(t0)) }
	t0 := time.Now()
	order, err := c.NewOrder(acct, dnsIDs(name))
	if err != nil {
		return fmt.Errorf("new order: %w", err)
	}
	step("order", t0)
	t0 = time.Now()
	authz, err := c.FetchAuthorization(acct, order.Authorizations[0])
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	step("authz", t0)
	ch := authz.ChallengeMap[acme.ChallengeTypeHTTP01]
	env.serve(acme.ChallengeTypeHTTP01, name, ch.Token, ch.KeyAuthorization)
	t0 = time.Now()
	if _, err := c.UpdateChallenge(acct, ch); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	step("challenge", t0)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return err
	}
	csr, _ := x509.ParseCertificateRequest(der)
	t0 = time.Now()
	// The order is ready once its only authorization is valid.
	order.Status = "ready"
	if order, err = c.FinalizeOrder(acct, order, csr); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	step("finalize", t0)
	t0 = time.Now()
	if _, err := c.FetchCertificates(acct, order.Certificate); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	step("download", t0)
	return nil
}
