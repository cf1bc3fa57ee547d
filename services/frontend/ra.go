package frontend

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// RA is an endpoint's registration authority as ca-core hands it out
// (ScepService.GetRegistrationAuthority): SCEP encrypts to it and signs
// CertReps with it, WSTEP signs CMC responses with it.
type RA struct {
	// Certs are the valid RA certificates, the current one first.
	Certs []*x509.Certificate
	// Chain is the endpoint's CA chain, the CA first.
	Chain []*x509.Certificate
	// Next is the next CA's RA certificate and chain, during a rollover.
	Next []*x509.Certificate
}

// Current is the RA certificate that signs answers.
func (ra *RA) Current() *x509.Certificate { return ra.Certs[0] }

// BySerial finds a valid RA certificate by serial.
func (ra *RA) BySerial(n *big.Int) *x509.Certificate {
	for _, c := range ra.Certs {
		if n != nil && c.SerialNumber.Cmp(n) == 0 {
			return c
		}
	}
	return nil
}

// FetchRA asks ca-core for tenant/endpoint's RA.
func FetchRA(ctx context.Context, client pb.ScepServiceClient, tenant, endpoint string) (*RA, error) {
	resp, err := client.GetRegistrationAuthority(ctx, &pb.GetRegistrationAuthorityRequest{Tenant: tenant, Endpoint: endpoint})
	if err != nil {
		return nil, err
	}
	ra := &RA{}
	if ra.Certs, err = ParseCerts(resp.GetCertificates()); err != nil {
		return nil, err
	}
	if len(ra.Certs) == 0 {
		return nil, errors.New("frontend: ca-core returned no RA certificate")
	}
	if ra.Chain, err = ParseCerts(resp.GetCaChain()); err != nil {
		return nil, err
	}
	if ra.Next, err = ParseCerts(resp.GetNextCaChain()); err != nil {
		return nil, err
	}
	return ra, nil
}

// RACache keeps endpoints' RAs for a while: devices fetch GetCACert (and
// Windows the policy) before every enrollment, RA certificates change
// twice a year, and a minute's staleness only delays a rotation that
// overlaps by months.
type RACache struct {
	client pb.ScepServiceClient
	cache  *Cache[*RA]
}

// NewRACache returns a cache asking client.
func NewRACache(client pb.ScepServiceClient) *RACache {
	return &RACache{client: client, cache: NewCache[*RA](time.Minute)}
}

// Get returns tenant/endpoint's RA, cached under key (which may add what
// must invalidate the entry, such as a pending rollover).
func (c *RACache) Get(ctx context.Context, key, tenant, endpoint string) (*RA, error) {
	if ra, ok := c.cache.Get(key); ok {
		return ra, nil
	}
	ra, err := FetchRA(ctx, c.client, tenant, endpoint)
	if err != nil {
		return nil, err
	}
	c.cache.Put(key, ra)
	return ra, nil
}

// Drop forgets key, e.g. when a client names an RA certificate the cached
// entry does not know.
func (c *RACache) Drop(key string) { c.cache.Drop(key) }

// ParseCerts parses DER certificates ca-core sent.
func ParseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("frontend: ca-core sent a certificate that does not parse: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// RAKey is an RA private key that stays in ca-core: each operation is one
// RPC. It is a crypto.Signer (CMS signing) and a crypto.Decrypter (CMS
// envelope decryption).
type RAKey struct {
	ctx    context.Context
	client pb.ScepServiceClient
	tenant string
	ep     string
	cert   *x509.Certificate
}

// NewRAKey returns the key of RA certificate cert of tenant/endpoint; ctx
// bounds its operations.
func NewRAKey(ctx context.Context, client pb.ScepServiceClient, tenant, endpoint string, cert *x509.Certificate) *RAKey {
	return &RAKey{ctx: ctx, client: client, tenant: tenant, ep: endpoint, cert: cert}
}

// SerialHex formats a serial as ca-core does: lower-case hex, even length.
func SerialHex(n *big.Int) string {
	s := n.Text(16)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

// Public implements crypto.Signer.
func (k *RAKey) Public() crypto.PublicKey { return k.cert.PublicKey }

var hashNames = map[crypto.Hash]string{crypto.SHA1: "SHA-1", crypto.SHA256: "SHA-256", crypto.SHA384: "SHA-384", crypto.SHA512: "SHA-512"}

// Sign implements crypto.Signer (PKCS #1 v1.5).
func (k *RAKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	name, ok := hashNames[opts.HashFunc()]
	if !ok {
		return nil, fmt.Errorf("frontend: the RA does not sign with %v", opts.HashFunc())
	}
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	resp, err := k.client.SignWithRA(ctx, &pb.SignWithRARequest{Tenant: k.tenant, Endpoint: k.ep, RaSerial: SerialHex(k.cert.SerialNumber),
		Digest: digest, Hash: name})
	if err != nil {
		return nil, err
	}
	return resp.GetSignature(), nil
}

// Decrypt implements crypto.Decrypter.
func (k *RAKey) Decrypt(_ io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	req := &pb.DecryptWithRARequest{Tenant: k.tenant, Endpoint: k.ep, RaSerial: SerialHex(k.cert.SerialNumber), Ciphertext: ciphertext}
	switch o := opts.(type) {
	//lint:ignore SA1019 most SCEP clients still send PKCS #1 v1.5 key transport
	case nil, *rsa.PKCS1v15DecryptOptions:
	case *rsa.OAEPOptions:
		name, ok := hashNames[o.Hash]
		if !ok || (o.MGFHash != 0 && o.MGFHash != o.Hash) || len(o.Label) > 0 {
			return nil, fmt.Errorf("frontend: unsupported OAEP parameters")
		}
		req.OaepHash = name
	default:
		return nil, fmt.Errorf("frontend: unsupported decryption options %T", opts)
	}
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	resp, err := k.client.DecryptWithRA(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetPlaintext(), nil
}
