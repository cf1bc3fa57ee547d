package cacore_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/internal/coretest"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/revocation"
	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// BenchmarkOCSP measures OCSP answers per second over HTTP from one
// ca-core (SQLite, soft keys, RSA-2048 delegated responder): GET requests
// without a nonce (RFC 5019, served from pre-signed answers) and POST
// requests with a nonce (signed for each request).
func BenchmarkOCSP(b *testing.B) {
	core := coretest.Start(b, coretest.Options{HTTP: true})
	ctx := context.Background()
	admin := core.Admin(b, "root")
	if _, err := pb.NewTenantServiceClient(admin).CreateTenant(ctx, &pb.CreateTenantRequest{Id: "t1", Quota: &pb.Quota{}}); err != nil {
		b.Fatal(err)
	}
	cas := pb.NewCAServiceClient(admin)
	cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "t1", Id: "root", Type: pb.CAType_CA_TYPE_ROOT, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=R"})
	iss, err := cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "t1", Id: "issuing", Parent: "root", Type: pb.CAType_CA_TYPE_ISSUING, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=I"})
	if err != nil {
		b.Fatal(err)
	}
	issuer, _ := x509.ParseCertificate(iss.Certificate)
	// 200 certificates, every other one revoked.
	var serials []*big.Int
	client := pb.NewIssuanceServiceClient(admin)
	rev := pb.NewRevocationServiceClient(admin)
	for i := 0; i < 200; i++ {
		res, err := client.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(b, fmt.Sprintf("h%d.example.com", i))})
		if err != nil {
			b.Fatal(err)
		}
		c, _ := x509.ParseCertificate(res.Certificate.Der)
		serials = append(serials, c.SerialNumber)
		if i%2 == 1 {
			rev.RevokeCertificate(ctx, &pb.RevokeCertificateRequest{Tenant: "t1", Serial: res.Certificate.Serial})
		}
	}
	plain := make([][]byte, len(serials))
	withNonce := make([][]byte, len(serials))
	for i, sn := range serials {
		plain[i], _ = ocsp.CreateRequest(&x509.Certificate{SerialNumber: sn}, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
		withNonce[i] = nonceRequest(b, issuer, sn)
	}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	waitForOCSPBench(b, httpClient, core, plain[0])
	for _, mode := range []string{"get", "post-nonce"} {
		b.Run(mode, func(b *testing.B) {
			var mu sync.Mutex // guards lat
			var lat []time.Duration
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(p *testing.PB) {
				var local []time.Duration
				i := 0
				for p.Next() {
					t0 := time.Now()
					var resp *http.Response
					var err error
					if mode == "get" {
						resp, err = httpClient.Get(core.HTTP + "/ocsp/t1/issuing/" + base64.StdEncoding.EncodeToString(plain[i%len(plain)]))
					} else {
						resp, err = httpClient.Post(core.HTTP+"/ocsp/t1/issuing", "application/ocsp-request", bytes.NewReader(withNonce[i%len(withNonce)]))
					}
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if len(body) < 100 {
						b.Errorf("short OCSP answer of %d bytes", len(body))
						return
					}
					local = append(local, time.Since(t0))
					i++
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "answers/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func waitForOCSPBench(b *testing.B, c *http.Client, core *coretest.Core, req []byte) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := c.Post(core.HTTP+"/ocsp/t1/issuing", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := ocsp.ParseResponse(body, nil); err == nil {
			return
		}
	}
	b.Fatal("OCSP responder never answered")
}

// nonceRequest encodes an OCSPRequest with a 16-byte nonce (RFC 8954).
func nonceRequest(b *testing.B, issuer *x509.Certificate, serial *big.Int) []byte {
	id, err := ocspwire.NewCertID(crypto.SHA1, issuer, serial)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	inner, _ := asn1.Marshal(nonce)
	type request struct {
		ReqCert asn1.RawValue
	}
	type tbs struct {
		RequestList []request
		Extensions  []pkix.Extension `asn1:"explicit,tag:2"`
	}
	der, err := asn1.Marshal(struct{ TBS tbs }{tbs{
		RequestList: []request{{asn1.RawValue{FullBytes: id.Raw}}},
		Extensions:  []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, Value: inner}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return der
}

// BenchmarkCRL measures generating, signing and storing one CA's full CRL
// with 10k, 100k and 1M revoked entries (SQLite, P-256 CA).
func BenchmarkCRL(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("entries-%d", n), func(b *testing.B) {
			ctx := context.Background()
			dsn := storetest.DSN(b, store.SQLite)
			st := storetest.OpenDSN(b, store.SQLite, dsn, store.Options{})
			set, _ := profile.NewSet()
			sb, _ := soft.New([]byte("crl benchmark secret"), nil)
			auth, err := ca.New(ca.Deps{Store: st, Profiles: profile.NewResolver(set, st), Backends: map[string]signer.Backend{"soft": sb}, DefaultBackend: "soft"})
			if err != nil {
				b.Fatal(err)
			}
			st.CreateTenant(ctx, &store.Tenant{ID: "t1"}, &audit.Event{Tenant: "t1", Actor: "bench", Action: "tenant.create"})
			if _, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "root", Type: profile.Root, KeyType: keys.P256, Subject: "CN=R"}); err != nil {
				b.Fatal(err)
			}
			if _, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=I"}); err != nil {
				b.Fatal(err)
			}
			insertRevoked(b, dsn, n)
			svc, err := revocation.New(revocation.Deps{Store: st, Issuers: auth, Backends: map[string]signer.Backend{"soft": sb}, Holder: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var last *store.CRL
			for i := 0; i < b.N; i++ {
				if last, err = svc.GenerateCRL(ctx, "t1", "issuing"); err != nil || last == nil {
					b.Fatalf("%v %v", last, err)
				}
			}
			b.StopTimer()
			if last.Entries != int64(n) {
				b.Fatalf("CRL has %d entries, want %d", last.Entries, n)
			}
			b.ReportMetric(float64(len(last.DER))/(1<<20), "MiB")
		})
	}
}

// insertRevoked writes n revoked certificate rows straight into the
// database, the quickest way to a CA with a long CRL.
func insertRevoked(b *testing.B, path string, n int) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UnixMicro()
	_, err = db.Exec(`WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < ?)
		INSERT INTO certificates (serial, tenant_id, ca_id, profile_id, endpoint_id, end_entity_id, status, subject, sans, key_type,
			not_before, not_after, der, sha256, requester, issued_at, request_key, request_hash, counts_quota, rate_scopes, rate_window,
			revoked_at, revocation_reason, invalidity_date)
		SELECT printf('7f%038x', x), 't1', 'issuing', 'p', '', '', 'revoked', 'CN=x', '[]', 'p256', ?, ?, NULL, '', 'bench', ?, NULL, '', 1, '', 0, ?, x % 6, 0
		FROM seq`, n, now, now+int64(365*24*time.Hour/time.Microsecond), now, now)
	if err != nil {
		b.Fatal(err)
	}
}
