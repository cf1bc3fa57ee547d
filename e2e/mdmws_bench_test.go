package e2e

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	binenc "encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smallstep/scep/x509util"
)

// BenchmarkMDMWS measures the MDM web service against `certgate dev`
// (ca-core on SQLite with a soft P-256 issuing CA, the MDM web service
// and the SCEP service, each its own listener in one process) by N MDM
// clients over keep-alive connections:
//
//   - challenge: an MDM loads the NDES challenge page (TLS, HTTP Basic,
//     the dev Digital ID's variable device) and reads the challenge off
//     the UTF-16LE HTML, as Jamf does. It reports challenges/s and p50/p99
//     of one page load.
//   - enroll: that, then the device's SCEP PKCSReq with the challenge at
//     the configuration's SCEP URL. Each client is a device with a
//     pre-generated RSA-2048 key that read GetCACert before the clock
//     started; the CSR carries a placeholder subject and the certificate
//     must come back with the Digital ID's. It reports enrollments/s and
//     p50/p99 of the page load plus the PKIOperation round trip (the CSR,
//     which needs the challenge, is signed between the two, outside the
//     latency as in BenchmarkSCEP). Compare with BenchmarkSCEP, which
//     enrolls with a static challenge.
//
// ca-core checks the MDM credential (a memory-hard hash) once per 30 s
// and front-end; the figures are those of the cached path.
func BenchmarkMDMWS(b *testing.B) {
	s := startDev(b, b.TempDir())
	pool := trustPool(b, s.ep.TrustBundle)
	devices := make([]*scepBenchDevice, 32)
	for i := range devices {
		d, err := newSCEPBenchDevice(i)
		if err != nil {
			b.Fatal(err)
		}
		devices[i] = d
	}
	newClient := func(clients int) *http.Client {
		return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	}
	page := func(hc *http.Client, device string) (string, error) {
		return ndesChallenge(hc, s.ep.MDMWS.URL, s.ep.MDMWS.Username, s.ep.MDMWS.Password, device)
	}
	// seq names devices and transactions across every run, so that no
	// enrollment is a replay.
	var seq atomic.Int64

	for _, clients := range []int{8, 32} {
		b.Run(fmt.Sprintf("challenge/clients=%d", clients), func(b *testing.B) {
			hc := newClient(clients)
			runMDMClients(b, clients, "challenge/s", func(int) (time.Duration, error) {
				t0 := time.Now()
				_, err := page(hc, fmt.Sprintf("mdm-bench-%d", seq.Add(1)))
				return time.Since(t0), err
			})
		})
	}

	for _, clients := range []int{8, 32} {
		b.Run(fmt.Sprintf("enroll/clients=%d", clients), func(b *testing.B) {
			hc := newClient(clients)
			ras := make([]*x509.Certificate, clients)
			for c := range ras {
				ra, err := scepRA(hc, s.ep.MDMWS.SCEPURL)
				if err != nil {
					b.Fatal(err)
				}
				ras[c] = ra
			}
			runMDMClients(b, clients, "enroll/s", func(c int) (time.Duration, error) {
				id := seq.Add(1)
				device := fmt.Sprintf("mdm-bench-%d", id)
				t0 := time.Now()
				challenge, err := page(hc, device)
				if err != nil {
					return 0, err
				}
				pageTime := time.Since(t0)
				// Jamf's placeholder subject: the certificate gets the
				// Digital ID's, CN=<device>.
				csr, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
					CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: "placeholder"}}, ChallengePassword: challenge}, devices[c].key)
				if err != nil {
					return 0, err
				}
				t1 := time.Now()
				if err := scepEnroll(hc, s.ep.MDMWS.SCEPURL, devices[c], ras[c], fmt.Sprintf("mdm-bench-%d", id), device, csr); err != nil {
					return 0, err
				}
				return pageTime + time.Since(t1), nil
			})
		})
	}
}

// runMDMClients spreads b.N operations over clients goroutines; op gets
// its client's number and returns the latency to record. It reports
// operations/s under unit and p50/p99 of the latencies.
func runMDMClients(b *testing.B, clients int, unit string, op func(client int) (time.Duration, error)) {
	var next atomic.Int64
	var mu sync.Mutex // guards lat
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var mine []time.Duration
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				d, err := op(c)
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// ndesChallenge loads the NDES challenge page of the MDM configuration at
// base the way MDMs do and returns the challenge on it.
func ndesChallenge(hc *http.Client, base, user, pass, device string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/certsrv/mscep_admin/?device="+url.QueryEscape(device), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(user, pass)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("challenge page for %s: HTTP %d", device, resp.StatusCode)
	}
	// UTF-16LE after a byte-order mark, as NDES sends it.
	if len(body) < 2 || body[0] != 0xff || body[1] != 0xfe || len(body)%2 != 0 {
		return "", errors.New("challenge page is not UTF-16LE with a byte-order mark")
	}
	units := make([]uint16, (len(body)-2)/2)
	for i := range units {
		units[i] = binenc.LittleEndian.Uint16(body[2+2*i:])
	}
	text := string(utf16.Decode(units))
	match := mdmChallengeRE.FindStringSubmatch(text)
	if match == nil || match[1] == "" {
		return "", fmt.Errorf("challenge page for %s holds no challenge: %s", device, text)
	}
	return match[1], nil
}
