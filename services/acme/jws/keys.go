package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // SHA-256 for RS256, ES256, HS256 and thumbprints
	_ "crypto/sha512" // SHA-384/512 for ES384, ES512, HS384, HS512
	"encoding/base64"
	"encoding/json"
	"math/big"

	jose "github.com/go-jose/go-jose/v4"
)

// Signature algorithms accepted on ACME requests (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgES384 = "ES384"
	AlgES512 = "ES512"
	AlgEdDSA = "EdDSA"
)

// MAC algorithms accepted on external account bindings (RFC 7518 §3.2).
const (
	AlgHS256 = "HS256"
	AlgHS384 = "HS384"
	AlgHS512 = "HS512"
)

// RSA account-key policy.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
	// maxRSAExponent is the largest public exponent crypto/rsa accepts on
	// every platform.
	maxRSAExponent = 1<<31 - 1
)

// Algorithms returns the "alg" values accepted on ACME requests, in
// preference order. The slice is freshly allocated on every call.
func Algorithms() []string {
	return []string{AlgES256, AlgES384, AlgES512, AlgEdDSA, AlgRS256}
}

// MACAlgorithms returns the "alg" values accepted on external account
// bindings. The slice is freshly allocated on every call.
func MACAlgorithms() []string {
	return []string{AlgHS256, AlgHS384, AlgHS512}
}

// hashFor returns the digest used by a signature or MAC algorithm, or 0.
func hashFor(alg string) crypto.Hash {
	switch alg {
	case AlgRS256, AlgES256, AlgHS256:
		return crypto.SHA256
	case AlgES384, AlgHS384:
		return crypto.SHA384
	case AlgES512, AlgHS512:
		return crypto.SHA512
	}
	return 0
}

// allowedAlg reports whether alg may sign an ACME request.
func allowedAlg(alg string) bool {
	switch alg {
	case AlgRS256, AlgES256, AlgES384, AlgES512, AlgEdDSA:
		return true
	}
	return false
}

// curveFor returns the curve an ECDSA algorithm requires, or nil.
func curveFor(alg string) elliptic.Curve {
	switch alg {
	case AlgES256:
		return elliptic.P256()
	case AlgES384:
		return elliptic.P384()
	case AlgES512:
		return elliptic.P521()
	}
	return nil
}

// curveByName maps a JWK "crv" to a supported NIST curve, or nil.
func curveByName(name string) elliptic.Curve {
	switch name {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	case "P-521":
		return elliptic.P521()
	}
	return nil
}

// coordSize is the byte length of a field element (and of r and s) on c.
func coordSize(c elliptic.Curve) int {
	return (c.Params().BitSize + 7) / 8
}

// keyMatchesAlg reports whether pub is of the type alg requires:
// RS256 ↔ RSA, ES256 ↔ P-256, ES384 ↔ P-384, ES512 ↔ P-521, EdDSA ↔ Ed25519.
func keyMatchesAlg(alg string, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return alg == AlgRS256
	case *ecdsa.PublicKey:
		c := curveFor(alg)
		return c != nil && k.Curve == c
	case ed25519.PublicKey:
		return alg == AlgEdDSA
	}
	return false
}

// publicKey unwraps key (a raw public key, or a jose.JSONWebKey holding one)
// and checks that it is a well-formed public key of a supported type. It does
// not apply the size policy of checkKeyPolicy, so that keys accepted under an
// older policy can still authenticate (and be rolled over).
func publicKey(key crypto.PublicKey) (crypto.PublicKey, error) {
	switch k := key.(type) {
	case *jose.JSONWebKey:
		if k == nil {
			return nil, badPublicKey("no key")
		}
		key = k.Key
	case jose.JSONWebKey:
		key = k.Key
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, badPublicKey("RSA key has no modulus")
		}
		if k.N.Sign() <= 0 || k.N.Bit(0) == 0 {
			return nil, badPublicKey("RSA modulus must be positive and odd")
		}
		if k.N.BitLen() > MaxRSABits {
			return nil, badPublicKey("RSA modulus is %d bits; at most %d are allowed", k.N.BitLen(), MaxRSABits)
		}
		if k.E < 3 || k.E > maxRSAExponent || k.E%2 == 0 {
			return nil, badPublicKey("RSA public exponent must be odd and between 3 and 2^31-1")
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, badPublicKey("ECDSA key has no curve")
		}
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return nil, badPublicKey("ECDSA curve is not supported; use P-256, P-384 or P-521")
		}
		// crypto/ecdsa dereferences the coordinates without checking them,
		// so a zero-value key must be caught here.
		//lint:ignore SA1019 only nil-checked, never read or modified
		if k.X == nil || k.Y == nil {
			return nil, badPublicKey("ECDSA key has no point")
		}
		if _, err := k.Bytes(); err != nil {
			return nil, badPublicKey("invalid ECDSA public key")
		}
		return k, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, badPublicKey("Ed25519 public key must be %d bytes", ed25519.PublicKeySize)
		}
		return k, nil
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, []byte:
		return nil, badPublicKey("a public key is required, not private or symmetric key material")
	case nil:
		return nil, badPublicKey("no key")
	}
	return nil, badPublicKey("unsupported key type %T", key)
}

// checkKeyPolicy applies the account-key policy to a key that publicKey
// accepted: RSA moduli of at least MinRSABits bits. ECDSA curves and Ed25519
// need nothing beyond publicKey's checks.
func checkKeyPolicy(pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < MinRSABits {
		return badPublicKey("RSA modulus is %d bits; at least %d are required", k.N.BitLen(), MinRSABits)
	}
	return nil
}

// parseJWK decodes a JWK that must be a public RSA, EC (P-256/P-384/P-521) or
// OKP (Ed25519) key. With policy set the account-key policy is applied too.
// Structural problems are malformed; unacceptable keys are badPublicKey.
func parseJWK(raw json.RawMessage, policy bool) (*jose.JSONWebKey, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, malformed("jwk must be a JSON object")
	}
	m, err := decodeObject(raw)
	if err != nil {
		return nil, malformed("jwk is not a valid JSON object: %v", err)
	}
	// Members carrying private or symmetric key material (RFC 7518 §6.2.2,
	// §6.3.2, §6.4; RFC 8037 §2; "priv" of the AKP key type).
	for _, name := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"} {
		if _, ok := m[name]; ok {
			return nil, badPublicKey("jwk contains private or symmetric key material (%q)", name)
		}
	}
	kty, present, err := stringMember(m, "kty")
	if err != nil {
		return nil, err
	}
	if !present || kty == "" {
		return nil, malformed("jwk has no \"kty\"")
	}
	bytesMember := func(name string) ([]byte, error) {
		s, present, err := stringMember(m, name)
		if err != nil {
			return nil, err
		}
		if !present || s == "" {
			return nil, malformed("%s jwk has no %q", kty, name)
		}
		b, err := decodeBase64URL(s)
		if err != nil {
			return nil, malformed("%s jwk %q is not base64url: %v", kty, name, err)
		}
		return b, nil
	}

	var pub crypto.PublicKey
	switch kty {
	case "RSA":
		n, err := bytesMember("n")
		if err != nil {
			return nil, err
		}
		e, err := bytesMember("e")
		if err != nil {
			return nil, err
		}
		// Leading zero octets are tolerated (some encoders emit them); the
		// thumbprint is computed from the minimal form either way.
		ei := new(big.Int).SetBytes(e)
		if ei.BitLen() > 31 {
			return nil, badPublicKey("RSA public exponent is too large")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei.Int64())}
	case "EC":
		crv, _, err := stringMember(m, "crv")
		if err != nil {
			return nil, err
		}
		curve := curveByName(crv)
		if curve == nil {
			return nil, badPublicKey("EC curve %q is not supported; use P-256, P-384 or P-521", crv)
		}
		x, err := bytesMember("x")
		if err != nil {
			return nil, err
		}
		y, err := bytesMember("y")
		if err != nil {
			return nil, err
		}
		size := coordSize(curve)
		if len(x) != size || len(y) != size {
			return nil, badPublicKey("EC coordinates for %s must be %d bytes each", crv, size)
		}
		point := make([]byte, 0, 1+2*size)
		point = append(point, 4)
		point = append(point, x...)
		point = append(point, y...)
		k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, badPublicKey("EC point is not on %s", crv)
		}
		pub = k
	case "OKP":
		crv, _, err := stringMember(m, "crv")
		if err != nil {
			return nil, err
		}
		if crv != "Ed25519" {
			return nil, badPublicKey("OKP curve %q is not supported; only Ed25519 is", crv)
		}
		x, err := bytesMember("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, badPublicKey("Ed25519 public key must be %d bytes", ed25519.PublicKeySize)
		}
		// go-jose refuses the small-order Ed25519 points, for which
		// signatures can be forged without the private key.
		canonical, err := json.Marshal(map[string]string{
			"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(x),
		})
		if err != nil {
			return nil, malformed("jwk: %v", err)
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(canonical); err != nil {
			return nil, badPublicKey("unacceptable Ed25519 public key")
		}
		ek, ok := k.Key.(ed25519.PublicKey)
		if !ok {
			return nil, badPublicKey("unacceptable Ed25519 public key")
		}
		pub = ek
	case "oct":
		return nil, badPublicKey("symmetric keys cannot authenticate ACME requests")
	default:
		return nil, badPublicKey("key type %q is not supported; use RSA, EC or OKP (Ed25519)", kty)
	}

	if _, err := publicKey(pub); err != nil {
		return nil, err
	}
	if policy {
		if err := checkKeyPolicy(pub); err != nil {
			return nil, err
		}
	}
	return &jose.JSONWebKey{Key: pub}, nil
}

// ParseJWK decodes a stored account key: a public RSA, EC (P-256, P-384,
// P-521) or OKP (Ed25519) JWK without private members, under the same rules
// Parse applies to a "jwk" header except the minimum RSA size, which applies
// only when a key is first accepted. Prefer it to jose.JSONWebKey.UnmarshalJSON,
// which accepts private keys and refuses RSA moduli above 4096 bits (the
// account-key policy allows up to MaxRSABits).
func ParseJWK(raw []byte) (*jose.JSONWebKey, error) {
	return parseJWK(raw, false)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of key (a public RSA, ECDSA
// or Ed25519 key, or a jose.JSONWebKey holding one) using SHA-256, encoded as
// unpadded base64url.
func Thumbprint(key crypto.PublicKey) (string, error) {
	pub, err := publicKey(key)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", badPublicKey("cannot compute thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// KeyAuthorization returns the RFC 8555 §8.1 key authorization for a
// challenge token: token || "." || base64url(Thumbprint(key)). The token must
// be non-empty and use only the base64url alphabet (RFC 8555 §8.3).
func KeyAuthorization(token string, key crypto.PublicKey) (string, error) {
	if token == "" || !isBase64URL(token) {
		return "", malformed("challenge token must be a non-empty base64url string")
	}
	tp, err := Thumbprint(key)
	if err != nil {
		return "", err
	}
	return token + "." + tp, nil
}
