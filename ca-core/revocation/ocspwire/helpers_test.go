package ocspwire_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// testPKI is a CA as certgate deploys one: an ECDSA P-256 CA, delegated
// responders with id-kp-OCSPSigning (one ECDSA, one RSA) issued by it, and
// leaf certificates.
type testPKI struct {
	ca, otherCA         *x509.Certificate
	caKey               crypto.Signer
	respEC, respRSA     *x509.Certificate
	respECKey           crypto.Signer
	respRSAKey          crypto.Signer
	leaves              []*x509.Certificate // serials: see newTestPKI
	notBefore, notAfter time.Time
}

// getPKI builds the test PKI once per test binary: RSA key generation is
// the slowest part of the tests.
var getPKI = sync.OnceValues(newTestPKI)

func pkiFor(t testing.TB) *testPKI {
	t.Helper()
	p, err := getPKI()
	if err != nil {
		t.Fatalf("building the test PKI: %v", err)
	}
	return p
}

var (
	oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	leafSerials    = []*big.Int{
		big.NewInt(0x1001),
		mustBig("8badf00ddeadbeef0123456789abcdef01234567"), // 20 octets, top bit set
		big.NewInt(3),
		big.NewInt(4),
	}
)

func mustBig(hex string) *big.Int {
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		panic(hex)
	}
	return n
}

func newTestPKI() (*testPKI, error) {
	p := &testPKI{
		notBefore: time.Now().Add(-time.Hour).Truncate(time.Second),
		notAfter:  time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p.caKey = caKey
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"certgate test"}, CommonName: "certgate test CA"},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if p.ca, err = createCert(caTmpl, caTmpl, caKey.Public(), caKey); err != nil {
		return nil, err
	}
	// Another CA with the same subject name and another key: only the
	// key hash tells them apart.
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.otherCA, err = createCert(caTmpl, caTmpl, otherKey.Public(), otherKey); err != nil {
		return nil, err
	}

	respECKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	respRSAKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p.respECKey, p.respRSAKey = respECKey, respRSAKey
	responder := func(serial int64, cn string, pub crypto.PublicKey) (*x509.Certificate, error) {
		return createCert(&x509.Certificate{
			SerialNumber:    big.NewInt(serial),
			Subject:         pkix.Name{CommonName: cn},
			NotBefore:       p.notBefore,
			NotAfter:        p.notAfter,
			KeyUsage:        x509.KeyUsageDigitalSignature,
			ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
			ExtraExtensions: []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}},
		}, p.ca, pub, caKey)
	}
	if p.respEC, err = responder(2, "certgate test OCSP responder (ECDSA)", respECKey.Public()); err != nil {
		return nil, err
	}
	if p.respRSA, err = responder(3, "certgate test OCSP responder (RSA)", respRSAKey.Public()); err != nil {
		return nil, err
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	for _, serial := range leafSerials {
		leaf, err := createCert(&x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: "leaf-" + serial.Text(16) + ".example"},
			DNSNames:     []string{"leaf-" + serial.Text(16) + ".example"},
			NotBefore:    p.notBefore,
			NotAfter:     p.notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, p.ca, leafKey.Public(), caKey)
		if err != nil {
			return nil, err
		}
		p.leaves = append(p.leaves, leaf)
	}
	return p, nil
}

func createCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// writePEM writes certificates to dir/name and returns the path.
func writePEM(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readCert reads a PEM certificate from testdata.
func readCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cert
}

// openssl runs the openssl binary and returns its combined output.
func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for the interoperability tests: %v", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}

// Request builder for synthetic requests. Each field holds DER or nil.

type testExt struct {
	oid      asn1.ObjectIdentifier
	critical bool
	// explicitFalse writes critical FALSE, which DER omits.
	explicitFalse bool
	value         []byte
}

type testSingle struct {
	certID []byte
	exts   []testExt
	// emptyExts writes a present but empty singleRequestExtensions.
	emptyExts bool
}

type testRequest struct {
	version       *int64 // nil: omitted
	requestorName []byte // a GeneralName element
	singles       []testSingle
	exts          []testExt
	emptyExts     bool
	signature     []byte // contents of optionalSignature, nil: unsigned
}

func (r testRequest) der() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if r.version != nil {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(*r.version)
				})
			}
			if r.requestorName != nil {
				b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(r.requestorName)
				})
			}
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, s := range r.singles {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(s.certID)
						if len(s.exts) > 0 || s.emptyExts {
							addTestExts(b, 0, s.exts)
						}
					})
				}
			})
			if len(r.exts) > 0 || r.emptyExts {
				addTestExts(b, 2, r.exts)
			}
		})
		if r.signature != nil {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddBytes(r.signature)
			})
		}
	})
	return b.BytesOrPanic()
}

func addTestExts(b *cryptobyte.Builder, tag uint8, exts []testExt) {
	b.AddASN1(cbasn1.Tag(tag).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, e := range exts {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(e.oid)
					if e.critical || e.explicitFalse {
						b.AddASN1Boolean(e.critical)
					}
					b.AddASN1OctetString(e.value)
				})
			}
		})
	})
}

// testCertID encodes a CertID; params is the DER of the hash algorithm
// parameters (nil: absent).
func testCertID(hashOID asn1.ObjectIdentifier, params, nameHash, keyHash []byte, serial *big.Int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(hashOID)
			b.AddBytes(params)
		})
		b.AddASN1OctetString(nameHash)
		b.AddASN1OctetString(keyHash)
		b.AddASN1BigInt(serial)
	})
	return b.BytesOrPanic()
}

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidNonce  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	asn1NULL  = []byte{0x05, 0x00}
)

// sha1CertID is a SHA-1 CertID with NULL parameters and fixed hashes.
func sha1CertID(serial int64) []byte {
	return testCertID(oidSHA1, asn1NULL, fill(20, 0x11), fill(20, 0x22), big.NewInt(serial))
}

func fill(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// octetString returns the DER OCTET STRING holding v.
func octetString(v []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(v)
	return b.BytesOrPanic()
}
