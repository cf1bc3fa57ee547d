// Package servicepki makes the small private PKI that secures traffic
// between certgate's own processes: a CA, a server certificate for ca-core
// and client certificates carrying the urn:certgate:frontend:<name> or
// urn:certgate:admin:<name> identities that package authz reads. `certgate
// dev` and tests use it; production deployments may equally bring
// certificates from their own PKI carrying the same URIs.
package servicepki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/keys"
)

// CA is the service PKI's certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Validity of service certificates: long enough for a development
// installation, short enough to be renewed with the deployment.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 2 * 365 * 24 * time.Hour
)

// NewCA creates a self-signed ECDSA P-256 CA.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keys.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Minute)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: commonName, Organization: []string{"certgate"}},
		NotBefore: now, NotAfter: now.Add(caValidity), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// ServerCert issues a TLS server certificate for hosts (DNS names or IPs).
func (ca *CA) ServerCert(commonName string, hosts ...string) (*Leaf, error) {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: commonName}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl)
}

// FrontendCert issues the client certificate of front-end name.
func (ca *CA) FrontendCert(name string) (*Leaf, error) {
	return ca.clientCert(name, authz.FrontendURI(name))
}

// AdminCert issues the client certificate of administrator name.
func (ca *CA) AdminCert(name string) (*Leaf, error) { return ca.clientCert(name, authz.AdminURI(name)) }

func (ca *CA) clientCert(name, uri string) (*Leaf, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	return ca.issue(&x509.Certificate{Subject: pkix.Name{CommonName: name}, URIs: []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}

func (ca *CA) issue(tmpl *x509.Certificate) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Minute)
	tmpl.NotBefore, tmpl.NotAfter = now, now.Add(leafValidity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// CertPEM encodes a certificate.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM encodes a private key as PKCS#8.
func KeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteCA writes ca.pem and ca-key.pem (0600) to dir.
func (ca *CA) WriteCA(dir string) error {
	return writePair(dir, "ca", ca.Cert, ca.Key)
}

// Write writes <name>.pem and <name>-key.pem (0600) to dir.
func (l *Leaf) Write(dir, name string) error { return writePair(dir, name, l.Cert, l.Key) }

func writePair(dir, name string, c *x509.Certificate, k crypto.Signer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kp, err := KeyPEM(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), kp, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".pem"), CertPEM(c), 0o644)
}

// LoadCA reads a CA written by WriteCA.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("servicepki: ca.pem or ca-key.pem is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("servicepki: %T is not a signer", key)
	}
	return &CA{Cert: cert, Key: s}, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}
