// Package keys names the key algorithms certgate supports and maps between
// those names, Go public keys and signature algorithms. It owns no key
// material; signer backends generate and hold keys.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
)

// Type is a key algorithm and size, named as in profiles and configuration.
type Type string

// The key types of RFC 5280 subscribers and CAs that certgate accepts.
const (
	RSA2048 Type = "rsa2048"
	RSA3072 Type = "rsa3072"
	RSA4096 Type = "rsa4096"
	P256    Type = "p256"
	P384    Type = "p384"
	P521    Type = "p521"
)

// All lists every supported type, RSA first.
var All = []Type{RSA2048, RSA3072, RSA4096, P256, P384, P521}

// Parse accepts a type name; it also takes the seeds' spellings
// ("RSA2048", "ECDSAP256", "P-256").
func Parse(s string) (Type, error) {
	switch s {
	case "rsa2048", "RSA2048", "rsa-2048", "RSA-2048":
		return RSA2048, nil
	case "rsa3072", "RSA3072", "rsa-3072", "RSA-3072":
		return RSA3072, nil
	case "rsa4096", "RSA4096", "rsa-4096", "RSA-4096":
		return RSA4096, nil
	case "p256", "P256", "P-256", "ECDSAP256", "ec-p256", "ecdsa-p256":
		return P256, nil
	case "p384", "P384", "P-384", "ECDSAP384", "ec-p384", "ecdsa-p384":
		return P384, nil
	case "p521", "P521", "P-521", "ECDSAP521", "ec-p521", "ecdsa-p521":
		return P521, nil
	}
	return "", fmt.Errorf("keys: unknown key type %q (want one of rsa2048, rsa3072, rsa4096, p256, p384, p521)", s)
}

// IsRSA reports whether t is an RSA type.
func (t Type) IsRSA() bool { return t == RSA2048 || t == RSA3072 || t == RSA4096 }

// RSABits returns the modulus size of an RSA type, 0 otherwise.
func (t Type) RSABits() int {
	switch t {
	case RSA2048:
		return 2048
	case RSA3072:
		return 3072
	case RSA4096:
		return 4096
	}
	return 0
}

// Curve returns the curve of an ECDSA type, nil otherwise.
func (t Type) Curve() elliptic.Curve {
	switch t {
	case P256:
		return elliptic.P256()
	case P384:
		return elliptic.P384()
	case P521:
		return elliptic.P521()
	}
	return nil
}

// Valid reports whether t is one of All.
func (t Type) Valid() bool { return t.IsRSA() || t.Curve() != nil }

// Of returns the type of a public key, or an error naming what is
// unsupported (other RSA sizes, other curves, Ed25519, ...).
func Of(pub crypto.PublicKey) (Type, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", fmt.Errorf("keys: RSA key of %d bits is not supported (2048, 3072 or 4096)", k.N.BitLen())
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return P256, nil
		case elliptic.P384():
			return P384, nil
		case elliptic.P521():
			return P521, nil
		}
		return "", fmt.Errorf("keys: ECDSA curve %s is not supported (P-256, P-384 or P-521)", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("keys: %T keys are not supported (RSA or ECDSA)", pub)
}

// SignatureAlgorithm is the algorithm a CA key of type t signs with, as the
// seeds pair them: SHA-256 for RSA 2048/3072 and P-256, SHA-384 for P-384,
// SHA-512 for RSA 4096 and P-521. pss selects RSASSA-PSS for RSA keys.
func (t Type) SignatureAlgorithm(pss bool) x509.SignatureAlgorithm {
	switch t {
	case RSA2048, RSA3072:
		if pss {
			return x509.SHA256WithRSAPSS
		}
		return x509.SHA256WithRSA
	case RSA4096:
		if pss {
			return x509.SHA512WithRSAPSS
		}
		return x509.SHA512WithRSA
	case P256:
		return x509.ECDSAWithSHA256
	case P384:
		return x509.ECDSAWithSHA384
	case P521:
		return x509.ECDSAWithSHA512
	}
	return x509.UnknownSignatureAlgorithm
}

// Generate creates a software key of type t. Signer backends that keep keys
// in memory or wrap them (soft) use it; HSM backends generate in the token.
func Generate(rnd io.Reader, t Type) (crypto.Signer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if bits := t.RSABits(); bits > 0 {
		return rsa.GenerateKey(rnd, bits)
	}
	if c := t.Curve(); c != nil {
		return ecdsa.GenerateKey(c, rnd)
	}
	return nil, fmt.Errorf("keys: cannot generate unknown key type %q", t)
}

// SubjectKeyID returns the RFC 7093 §2 method 1 key identifier of pub: the
// leftmost 160 bits of the SHA-256 hash of the subjectPublicKey BIT STRING
// value (without tag, length and unused-bits octet).
func SubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}
