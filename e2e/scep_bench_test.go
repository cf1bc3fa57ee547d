package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"

	"github.com/certgate/certgate/services/cms"
	"github.com/certgate/certgate/services/scep/sceptest"
)

// scepBenchDevice is a benchmark client: an RSA-2048 key and the
// throw-away certificate that signs its requests (RFC 8894 §2.3).
type scepBenchDevice struct {
	key  *rsa.PrivateKey
	self *x509.Certificate
}

func newSCEPBenchDevice(i int) (*scepBenchDevice, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i) + 1), Subject: pkix.Name{CommonName: fmt.Sprintf("scep bench device %d", i)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	self, err := x509.ParseCertificate(der)
	return &scepBenchDevice{key: key, self: self}, err
}

// BenchmarkSCEP measures whole SCEP enrollments against `certgate dev`
// (ca-core on SQLite with a soft P-256 issuing CA, the SCEP service, each
// its own listener in one process) by N clients over keep-alive HTTP.
// Each client is a device with a pre-generated RSA-2048 key: it reads
// GetCACert once, then sends PKCSReqs with the static challenge,
// encrypted to the RA with AES-256-CBC and signed with SHA-256. It
// reports enrollments/s and p50/p99 of one enrollment: building the
// pkiMessage, the PKIOperation round trip and decrypting the CertRep
// (the CSR is made before the clock starts, as in BenchmarkEST). Compare
// with BenchmarkEST/simpleenroll and ca-core's BenchmarkIssue.
func BenchmarkSCEP(b *testing.B) {
	s := startDev(b, b.TempDir())
	devices := make([]*scepBenchDevice, 32)
	for i := range devices {
		d, err := newSCEPBenchDevice(i)
		if err != nil {
			b.Fatal(err)
		}
		devices[i] = d
	}
	// seq names transactions and subjects across every run: a repeated
	// transaction with the same CSR is answered from ca-core's replay
	// record, which would measure replays.
	var seq atomic.Int64
	for _, clients := range []int{8, 32} {
		b.Run(fmt.Sprintf("PKCSReq/clients=%d", clients), func(b *testing.B) {
			hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			var next atomic.Int64
			var mu sync.Mutex // guards lat
			var lat []time.Duration
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, d := range devices[:clients] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ra, err := scepRA(hc, s.ep.SCEP.URL)
					if err != nil {
						b.Error(err)
						return
					}
					var mine []time.Duration
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						id := seq.Add(1)
						cn := fmt.Sprintf("scep-bench-%d", id)
						csr, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
							CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, ChallengePassword: s.ep.SCEP.Challenge}, d.key)
						if err != nil {
							b.Error(err)
							return
						}
						t0 := time.Now()
						if err := scepEnroll(hc, s.ep.SCEP.URL, d, ra, fmt.Sprintf("bench-%d", id), cn, csr); err != nil {
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
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "enroll/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// scepRA reads GetCACert and returns the certificate to encrypt to.
func scepRA(hc *http.Client, url string) (*x509.Certificate, error) {
	resp, err := hc.Get(url + "?operation=GetCACert")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GetCACert: %d %s", resp.StatusCode, body)
	}
	certs, err := scep.CACerts(body)
	if err != nil {
		return nil, err
	}
	ra := scep.EnciphermentCertsSelector().SelectCerts(certs)
	if len(ra) != 1 {
		return nil, fmt.Errorf("GetCACert holds %d certificates for encryption, want the RA's", len(ra))
	}
	return ra[0], nil
}

// scepEnroll sends one PKCSReq and requires a SUCCESS CertRep with a
// certificate for cn.
func scepEnroll(hc *http.Client, url string, d *scepBenchDevice, ra *x509.Certificate, tid, cn string, csr []byte) error {
	msg, err := sceptest.Build(sceptest.Request{Type: sceptest.PKCSReq, TransactionID: tid, Content: csr, Recipient: ra,
		Cipher: cms.AES256CBC, Signer: d.self, SignerKey: d.key})
	if err != nil {
		return err
	}
	resp, err := hc.Post(url+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PKIOperation %s: %d %s", tid, resp.StatusCode, body)
	}
	rep, err := scep.ParsePKIMessage(body)
	if err != nil {
		return fmt.Errorf("CertRep %s: %w", tid, err)
	}
	if rep.PKIStatus != scep.SUCCESS {
		return fmt.Errorf("CertRep %s: pkiStatus %v failInfo %v", tid, rep.PKIStatus, rep.FailInfo)
	}
	if err := rep.DecryptPKIEnvelope(d.self, d.key); err != nil {
		return fmt.Errorf("CertRep %s envelope: %w", tid, err)
	}
	if got := rep.CertRepMessage.Certificate; got == nil || got.Subject.CommonName != cn {
		return fmt.Errorf("CertRep %s: no certificate for %s", tid, cn)
	}
	return nil
}
