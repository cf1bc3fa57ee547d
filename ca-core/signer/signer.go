// Package signer defines how ca-core reaches CA private keys: a Backend
// generates keys and hands out crypto.Signer values for them, so that
// x509.CreateCertificate (and CRL/OCSP signing) never sees key material.
// Implementations: soft (keys wrapped with an operator secret, stored with
// the CA) and pkcs11 (keys generated and kept in an HSM token).
package signer

import (
	"context"
	"crypto"

	"github.com/certgate/certgate/ca-core/keys"
)

// Backend keeps CA keys. Implementations are safe for concurrent use.
type Backend interface {
	// Name is the backend's configured name ("soft", "pkcs11"), recorded with
	// every CA so that its key can be found again.
	Name() string
	// Generate creates a key pair of type t. label is a human-readable hint
	// (tenant/CA id) that backends may record with the key. The returned ref
	// is an opaque string ca-core stores with the CA and passes to Load; it
	// never contains the key in clear.
	Generate(ctx context.Context, t keys.Type, label string) (ref string, s crypto.Signer, err error)
	// Load returns the signer for a ref returned by Generate, possibly in an
	// earlier process.
	Load(ctx context.Context, ref string) (crypto.Signer, error)
	// Close releases the backend's resources (sessions, library handles).
	Close() error
}

// DecryptingBackend is implemented by backends that can make RSA keys able
// to decrypt as well as sign: the SCEP registration authority's, which
// RFC 8894 clients encrypt their requests to. CA keys are never made so.
// Keys it returns (and Load returns for their refs) implement
// crypto.Decrypter.
type DecryptingBackend interface {
	GenerateDecrypter(ctx context.Context, t keys.Type, label string) (ref string, s crypto.Signer, err error)
}
