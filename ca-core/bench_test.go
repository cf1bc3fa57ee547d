package cacore_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/internal/coretest"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/pkcs11"
	"github.com/certgate/certgate/ca-core/signer/pkcs11/softhsmtest"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
)

// BenchmarkIssue measures full Issue RPCs over gRPC with mutual TLS —
// policy, admission transaction, signing, finalize transaction and audit —
// for each store, signer backend and CA key type, next to the raw signing
// rate of the same backend and key (BenchmarkIssue/sign/...). Run it with
// `make bench`; compare certs/s to sign/s for the pipeline's overhead.
func BenchmarkIssue(b *testing.B) {
	backends := []string{"soft", "pkcs11"}
	keyTypes := []pb.KeyType{pb.KeyType_KEY_TYPE_EC_P256, pb.KeyType_KEY_TYPE_RSA_2048}
	for _, backend := range backends {
		for _, kt := range keyTypes {
			b.Run(fmt.Sprintf("sign/%s/%s", backend, keyName(kt)), func(b *testing.B) { benchSign(b, backend, kt) })
		}
	}
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		for _, backend := range backends {
			for _, kt := range keyTypes {
				b.Run(fmt.Sprintf("issue/%s/%s/%s", engine, backend, keyName(kt)), func(b *testing.B) { benchIssue(b, engine, backend, kt) })
			}
		}
	}
}

func keyName(kt pb.KeyType) string {
	return map[pb.KeyType]string{pb.KeyType_KEY_TYPE_EC_P256: "p256", pb.KeyType_KEY_TYPE_RSA_2048: "rsa2048"}[kt]
}

func benchSign(b *testing.B, backend string, kt pb.KeyType) {
	var be signer.Backend
	var err error
	if backend == "soft" {
		be, err = soft.New([]byte("benchmark operator secret"), nil)
	} else {
		be, err = pkcs11.New(softhsmtest.NewToken(b))
	}
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	_, s, err := be.Generate(context.Background(), keys.Type(keyName(kt)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("tbsCertificate"))
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sign/s")
}

func benchIssue(b *testing.B, engine store.Engine, backend string, kt pb.KeyType) {
	core := coretest.Start(b, coretest.Options{Engine: engine, PKCS11: backend == "pkcs11"})
	ctx := context.Background()
	admin := core.Admin(b, "root")
	if _, err := pb.NewTenantServiceClient(admin).CreateTenant(ctx, &pb.CreateTenantRequest{Id: "bench", Quota: &pb.Quota{}}); err != nil {
		b.Fatal(err)
	}
	cas := pb.NewCAServiceClient(admin)
	if _, err := cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "bench", Id: "root", Type: pb.CAType_CA_TYPE_ROOT, KeyType: kt, Subject: "CN=Bench Root"}); err != nil {
		b.Fatal(err)
	}
	if _, err := cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "bench", Id: "issuing", Parent: "root", Type: pb.CAType_CA_TYPE_ISSUING, KeyType: kt, Subject: "CN=Bench Issuing"}); err != nil {
		b.Fatal(err)
	}
	if _, err := pb.NewEndpointServiceClient(admin).CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: &pb.Endpoint{
		Tenant: "bench", Id: "bench", Protocol: pb.Protocol_PROTOCOL_ACME, Ca: "issuing", DefaultProfile: "acme-tls-server"}}); err != nil {
		b.Fatal(err)
	}
	client := pb.NewIssuanceServiceClient(core.Frontend(b, "acme"))
	csrs := make([][]byte, 32)
	for i := range csrs {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		name := fmt.Sprintf("host%d.bench.example", i)
		csrs[i], _ = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, k)
	}
	// Warm the connection, the CA cache and the signer.
	if _, err := client.Issue(ctx, &pb.IssueRequest{Tenant: "bench", Endpoint: "bench", Csr: csrs[0]}); err != nil {
		b.Fatal(err)
	}
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
			if _, err := client.Issue(ctx, &pb.IssueRequest{Tenant: "bench", Endpoint: "bench", Csr: csrs[i%len(csrs)]}); err != nil {
				b.Error(err)
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
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "certs/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
