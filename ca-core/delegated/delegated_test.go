package delegated_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/delegated"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
)

// memStore keeps delegated certificates in memory, valid ones by the
// test's clock.
type memStore struct {
	mu    sync.Mutex
	now   func() time.Time
	certs []*store.Delegated
	lease bool
}

func (m *memStore) AddDelegated(_ context.Context, d *store.Delegated, _ *store.Certificate, _ *audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.certs = append(m.certs, d)
	return nil
}

func (m *memStore) CurrentDelegated(_ context.Context, tenant, caID, purpose string) (*store.Delegated, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *store.Delegated
	for _, d := range m.certs {
		if d.Purpose == purpose && m.now().Before(d.NotAfter) && (best == nil || d.NotAfter.After(best.NotAfter)) {
			best = d
		}
	}
	if best == nil {
		return nil, fault.NotFoundf("none")
	}
	return best, nil
}

func (m *memStore) AcquireLease(context.Context, string, string, time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease {
		return false, nil
	}
	m.lease = true
	return true, nil
}

func (m *memStore) ReleaseLease(context.Context, string, string) error {
	m.mu.Lock()
	m.lease = false
	m.mu.Unlock()
	return nil
}

type oneCA struct{ iss *ca.Issuer }

func (o oneCA) Issuer(context.Context, string, string) (*ca.Issuer, error) { return o.iss, nil }

func testCA(t *testing.T, notAfter time.Time) *ca.Issuer {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuing"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca.Issuer{Record: &store.CA{Tenant: "t", ID: "issuing", KeyBackend: "soft"}, Cert: cert, Signer: key,
		Chain: [][]byte{der}, SigAlg: x509.ECDSAWithSHA256}
}

var raKind = delegated.Kind{Purpose: store.PurposeSCEPRA, Unit: "Registration Authorities",
	KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, Validity: 365 * 24 * time.Hour, Action: "scep.ra.issue", Decrypt: true}

// An RA certificate is issued on first use, kept until half its life,
// then replaced; it never outlives its CA, and its key decrypts.
func TestEnsureRotatesAtHalfLife(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	st := &memStore{now: clock}
	backend, err := soft.New([]byte("0123456789abcdef0123456789abcdef"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := testCA(t, now.Add(5*365*24*time.Hour))
	d := &delegated.Issuer{Store: st, Issuers: oneCA{iss}, Backends: map[string]signer.Backend{"soft": backend}, Holder: "test", Now: clock}
	ctx := context.Background()

	first, err := d.Ensure(ctx, raKind, "t", "issuing")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(first.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if cert.CheckSignatureFrom(iss.Cert) != nil || cert.KeyUsage != raKind.KeyUsage || cert.Subject.OrganizationalUnit[0] != "Registration Authorities" {
		t.Fatalf("RA certificate %v %v", cert.Subject, cert.KeyUsage)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Fatalf("RA key is %T", cert.PublicKey)
	}
	key, err := d.Key(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, cert.PublicKey.(*rsa.PublicKey), []byte("cek"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := key.(crypto.Decrypter).Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); err != nil || string(got) != "cek" {
		t.Fatalf("the RA key does not decrypt: %q %v", got, err)
	}

	now = now.Add(100 * 24 * time.Hour)
	again, err := d.Ensure(ctx, raKind, "t", "issuing")
	if err != nil || again.Serial != first.Serial {
		t.Fatalf("renewed before half-life: %v %v", again, err)
	}
	now = now.Add(90 * 24 * time.Hour)
	next, err := d.Ensure(ctx, raKind, "t", "issuing")
	if err != nil || next.Serial == first.Serial {
		t.Fatalf("not renewed after half-life: %v", err)
	}
	// A CA close to expiry gets an RA that ends with it.
	short := testCA(t, now.Add(24*time.Hour))
	d.Issuers = oneCA{short}
	st.certs = nil
	last, err := d.Ensure(ctx, raKind, "t", "issuing")
	if err != nil {
		t.Fatal(err)
	}
	if last.NotAfter.After(short.Cert.NotAfter) {
		t.Fatalf("RA outlives its CA: %v > %v", last.NotAfter, short.Cert.NotAfter)
	}
}

// Concurrent first uses in one replica issue one certificate: the lease
// alone would let every goroutine of the replica through.
func TestEnsureConcurrently(t *testing.T) {
	now := time.Now()
	st := &memStore{now: func() time.Time { return now }}
	backend, err := soft.New([]byte("0123456789abcdef0123456789abcdef"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st.lease = false
	reentrant := &reentrantLeases{memStore: st}
	d := &delegated.Issuer{Store: reentrant, Issuers: oneCA{testCA(t, now.Add(5*365*24*time.Hour))}, Backends: map[string]signer.Backend{"soft": backend},
		Holder: "replica-1", Now: func() time.Time { return now }}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Ensure(context.Background(), raKind, "t", "issuing"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(st.certs); n != 1 {
		t.Fatalf("%d RA certificates issued, want 1", n)
	}
}

// reentrantLeases grants a lease to its holder again, as the store does.
type reentrantLeases struct{ *memStore }

func (r *reentrantLeases) AcquireLease(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

func (r *reentrantLeases) ReleaseLease(context.Context, string, string) error { return nil }
