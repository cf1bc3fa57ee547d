package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEST measures simpleenroll and serverkeygen against
// `certgate dev` (ca-core on SQLite with a soft P-256 issuing CA, the EST
// service, each its own listener in one process) by N clients over
// keep-alive TLS with HTTP Basic, P-256 requests. It reports requests/s
// and p50/p99; compare with ca-core's BenchmarkIssue/sqlite/soft/p256.
func BenchmarkEST(b *testing.B) {
	s := startDev(b, b.TempDir())
	pool := trustPool(b, s.ep.TrustBundle)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, op := range []string{"simpleenroll", "serverkeygen"} {
		for _, clients := range []int{8, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", op, clients), func(b *testing.B) {
				hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
					TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
				var next atomic.Int64
				var mu sync.Mutex // guards lat
				var lat []time.Duration
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var mine []time.Duration
						for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
							// A CSR per request: the service makes a repeated
							// CSR idempotent, which would measure replays.
							der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: fmt.Sprintf("bench-%s-%d", op, n)}}, key)
							if err != nil {
								b.Error(err)
								return
							}
							t0 := time.Now()
							if err := estPost(hc, s.ep.EST.URL+"/"+op, s.ep.EST.Username, s.ep.EST.Password, der); err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(t0))
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if len(lat) == 0 {
					return
				}
				slices.Sort(lat)
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// estPost sends one EST request the way devices do (base64 DER body) and
// requires a 200.
func estPost(hc *http.Client, url, user, pass string, csr []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(base64.StdEncoding.EncodeToString(csr))))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/pkcs10")
	req.Header.Set("Content-Transfer-Encoding", "base64")
	req.SetBasicAuth(user, pass)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	return nil
}
