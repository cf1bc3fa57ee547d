// Package soft is the software signer backend, certgate's embedded default.
// Keys are generated in process memory and never stored in clear: Generate
// returns a ref that is the key itself, PKCS#8-encoded and sealed with
// AES-256-GCM under a key-encryption key derived from the operator secret
// with Argon2id and a per-key salt. ca-core stores the ref with the CA, so
// every replica sharing the store (and the secret) can load the key.
//
// It does not protect keys from whoever can read process memory or the
// operator secret; use the pkcs11 backend for that.
package soft

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer"
)

const (
	refPrefix = "soft:v1:"
	saltLen   = 16
	// Argon2id parameters: OWASP's minimum recommendation (19 MiB, t=2).
	// A key is derived once per Load; ca-core caches loaded signers.
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	// MinSecretLen is the shortest operator secret accepted.
	MinSecretLen = 16
)

// aad binds a sealed key to this format so that a ref cannot be replayed as
// some other kind of ciphertext.
var aad = []byte("certgate soft signer v1")

// Backend is the soft signer backend.
type Backend struct {
	secret []byte
	rand   io.Reader
}

var _ signer.Backend = (*Backend)(nil)

// New returns a backend sealing keys with secret (at least MinSecretLen
// bytes). rnd defaults to crypto/rand.
func New(secret []byte, rnd io.Reader) (*Backend, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("soft: operator secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Backend{secret: append([]byte(nil), secret...), rand: rnd}, nil
}

// Name implements signer.Backend.
func (b *Backend) Name() string { return "soft" }

// GenerateDecrypter is Generate: soft RSA keys decrypt as they sign.
func (b *Backend) GenerateDecrypter(ctx context.Context, t keys.Type, label string) (string, crypto.Signer, error) {
	return b.Generate(ctx, t, label)
}

// Generate implements signer.Backend.
func (b *Backend) Generate(_ context.Context, t keys.Type, _ string) (string, crypto.Signer, error) {
	key, err := keys.Generate(b.rand, t)
	if err != nil {
		return "", nil, fmt.Errorf("soft: %w", err)
	}
	ref, err := b.seal(key)
	if err != nil {
		return "", nil, err
	}
	return ref, key, nil
}

// Load implements signer.Backend.
func (b *Backend) Load(_ context.Context, ref string) (crypto.Signer, error) {
	if !strings.HasPrefix(ref, refPrefix) {
		return nil, fmt.Errorf("soft: ref is not a soft v1 key")
	}
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(ref, refPrefix))
	if err != nil || len(blob) < saltLen+12+16 {
		return nil, errors.New("soft: malformed key ref")
	}
	salt, sealed := blob[:saltLen], blob[saltLen:]
	aead, err := b.aead(salt)
	if err != nil {
		return nil, err
	}
	nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	der, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, errors.New("soft: cannot unseal key: wrong operator secret or corrupted ref")
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("soft: unsealed key does not parse: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("soft: unsealed %T is not a signer", key)
	}
	return s, nil
}

// Close implements signer.Backend.
func (b *Backend) Close() error { return nil }

func (b *Backend) seal(key crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("soft: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(b.rand, salt); err != nil {
		return "", fmt.Errorf("soft: reading salt: %w", err)
	}
	aead, err := b.aead(salt)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(b.rand, nonce); err != nil {
		return "", fmt.Errorf("soft: reading nonce: %w", err)
	}
	blob := append(salt, nonce...)
	blob = aead.Seal(blob, nonce, der, aad)
	return refPrefix + base64.RawURLEncoding.EncodeToString(blob), nil
}

func (b *Backend) aead(salt []byte) (cipher.AEAD, error) {
	kek := argon2.IDKey(b.secret, salt, argonTime, argonMemory, argonThreads, 32)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	return cipher.NewGCM(block)
}
