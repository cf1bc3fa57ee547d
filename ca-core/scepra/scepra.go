// Package scepra keeps the SCEP registration authorities (RFC 8894 §2.1):
// per CA, an RSA-2048 certificate with digitalSignature and keyEncipherment
// whose key sits in the CA's backend. SCEP front-ends encrypt nothing and
// hold no key: they ask this package to decrypt a request's
// content-encryption key and to sign the CertRep.
package scepra

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/delegated"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

// Validity is an RA certificate's lifetime; it is replaced at half, so a
// client that cached it has six months to come back.
const Validity = 365 * 24 * time.Hour

var kind = delegated.Kind{Purpose: store.PurposeSCEPRA, Unit: "Registration Authorities",
	KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, Validity: Validity, Action: "scep.ra.issue", Decrypt: true}

// Store is what scepra needs from the store.
type Store interface {
	ListDelegated(ctx context.Context, tenant, ca, purpose string, t time.Time) ([]*store.Delegated, error)
}

// Chains returns CA chains.
type Chains interface {
	Chain(ctx context.Context, tenant, id string) ([][]byte, error)
}

// Service hands out RAs and uses their keys.
type Service struct {
	store     Store
	chains    Chains
	delegated *delegated.Issuer
	now       func() time.Time

	mu   sync.Mutex
	keys map[string]crypto.Signer // by tenant/ca/serial
}

// New returns a service.
func New(st Store, chains Chains, d *delegated.Issuer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, chains: chains, delegated: d, now: now, keys: map[string]crypto.Signer{}}
}

// RA is what GetCACert and GetNextCACert hand out.
type RA struct {
	// Certificates are the valid RA certificates, the current one first.
	Certificates [][]byte
	Chain        [][]byte
	// Next is the next CA's RA certificate and chain, when e names one.
	Next [][]byte
}

// Get returns e's RA, issuing or renewing the certificate as needed.
func (s *Service) Get(ctx context.Context, e *store.Endpoint) (*RA, error) {
	certs, chain, err := s.of(ctx, e.Tenant, e.CA)
	if err != nil {
		return nil, err
	}
	ra := &RA{Certificates: certs, Chain: chain}
	if sc := e.Settings.SCEP; sc != nil && sc.NextCA != "" {
		next, nextChain, err := s.of(ctx, e.Tenant, sc.NextCA)
		if err != nil {
			return nil, err
		}
		ra.Next = append([][]byte{next[0]}, nextChain...)
	}
	return ra, nil
}

func (s *Service) of(ctx context.Context, tenant, caID string) (certs, chain [][]byte, err error) {
	if _, err := s.delegated.Ensure(ctx, kind, tenant, caID); err != nil {
		return nil, nil, err
	}
	all, err := s.store.ListDelegated(ctx, tenant, caID, store.PurposeSCEPRA, s.now())
	if err != nil {
		return nil, nil, err
	}
	for _, d := range all {
		certs = append(certs, d.Cert)
	}
	if chain, err = s.chains.Chain(ctx, tenant, caID); err != nil {
		return nil, nil, err
	}
	return certs, chain, nil
}

// key returns the key of e's RA certificate with serial, which must still
// be valid.
func (s *Service) key(ctx context.Context, e *store.Endpoint, serial string) (crypto.Signer, error) {
	id := e.Tenant + "/" + e.CA + "/" + serial
	s.mu.Lock()
	k, ok := s.keys[id]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	all, err := s.store.ListDelegated(ctx, e.Tenant, e.CA, store.PurposeSCEPRA, s.now())
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		if d.Serial != serial {
			continue
		}
		if k, err = s.delegated.Key(ctx, d); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.keys[id] = k
		s.mu.Unlock()
		return k, nil
	}
	return nil, fault.NotFoundf("endpoint %q has no valid RA certificate with serial %s", e.ID, serial)
}

var hashes = map[string]crypto.Hash{"SHA-1": crypto.SHA1, "SHA-256": crypto.SHA256, "SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512}

// errDecrypt is every decryption failure: which step failed is no
// business of the caller's (RFC 3218 on padding oracles).
var errDecrypt = &fault.Error{Reason: fault.BadRequest, Rule: "ra.decrypt", Detail: "the key transport does not decrypt with the RA key"}

// Decrypt decrypts an RSA key transport with the RA key of serial:
// PKCS #1 v1.5 when oaepHash is empty, OAEP otherwise.
func (s *Service) Decrypt(ctx context.Context, e *store.Endpoint, serial string, ciphertext []byte, oaepHash string) ([]byte, error) {
	var opts crypto.DecrypterOpts
	if oaepHash != "" {
		h, ok := hashes[oaepHash]
		if !ok {
			return nil, fault.Field("oaep_hash", "OAEP hash %q is not one of SHA-1, SHA-256, SHA-384, SHA-512", oaepHash)
		}
		opts = &rsa.OAEPOptions{Hash: h}
	}
	k, err := s.key(ctx, e, serial)
	if err != nil {
		return nil, err
	}
	d, ok := k.(crypto.Decrypter)
	if !ok {
		return nil, fmt.Errorf("scepra: the RA key of %s/%s cannot decrypt", e.Tenant, e.CA)
	}
	out, err := d.Decrypt(rand.Reader, ciphertext, opts)
	if err != nil {
		return nil, errDecrypt
	}
	return out, nil
}

// Sign signs digest (of hash) with the RA key of serial, PKCS #1 v1.5.
func (s *Service) Sign(ctx context.Context, e *store.Endpoint, serial string, digest []byte, hash string) ([]byte, error) {
	h, ok := hashes[hash]
	if !ok {
		return nil, fault.Field("hash", "hash %q is not one of SHA-1, SHA-256, SHA-384, SHA-512", hash)
	}
	if len(digest) != h.Size() {
		return nil, fault.Field("digest", "a %s digest is %d bytes, not %d", hash, h.Size(), len(digest))
	}
	k, err := s.key(ctx, e, serial)
	if err != nil {
		return nil, err
	}
	return k.Sign(rand.Reader, digest, h)
}
