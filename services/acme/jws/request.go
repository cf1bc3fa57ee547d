package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"math/big"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxBodySize is the largest request body Parse accepts. The HTTP layer also
// limits how much it reads.
const MaxBodySize = 64 << 10

// Request is an ACME request whose JWS passed Parse's structural checks.
// Parse does not verify the signature; call Verify with the account key (or
// with JWK for newAccount and revokeCert-by-certificate-key).
type Request struct {
	// Alg is the protected "alg": RS256, ES256, ES384, ES512 or EdDSA.
	Alg string
	// Nonce is the protected "nonce" (RFC 8555 §6.5). Parse only checks that
	// it is present and base64url; the caller checks it against its store.
	Nonce string
	// URL is the protected "url" (RFC 8555 §6.4), an absolute http(s) URL.
	URL string
	// KID is the protected "kid", the account URL, or empty when JWK is set.
	KID string
	// JWK is the protected "jwk" (a public key that passed the key policy),
	// or nil when KID is set.
	JWK *jose.JSONWebKey
	// Payload is the decoded payload: a JSON object, or empty for
	// POST-as-GET.
	Payload []byte
	// PostAsGet reports a POST-as-GET request (RFC 8555 §6.3): the payload
	// is the empty string.
	PostAsGet bool

	signingInput []byte
	signature    []byte
}

// Parse decodes an ACME request body, which RFC 8555 §6.2 requires to be a
// JWS in the flattened JSON serialization (RFC 7515 §7.2.2), and checks its
// structure:
//
//   - exactly the members "protected", "payload" and "signature" (no
//     unprotected "header", no "signatures", no compact form, no detached
//     payload), strict base64url, strict JSON (no duplicate member names,
//     valid UTF-8, nothing after the object);
//   - a protected header with "alg" (one of Algorithms), "nonce" (base64url),
//     "url" (absolute http(s) URL) and exactly one of "jwk" and "kid" (an
//     absolute http(s) URL), and without "b64" or "crit";
//   - a "jwk" that is a public key of an allowed type and size matching "alg";
//   - a payload that is empty (POST-as-GET) or a JSON object.
//
// It does not verify the signature: the key may have to come from the
// account store. Errors are *Error with Type malformed, badSignatureAlgorithm,
// badPublicKey or, when the nonce is absent, badNonce.
func Parse(body []byte) (*Request, error) {
	if len(body) > MaxBodySize {
		return nil, malformed("request body is larger than %d bytes", MaxBodySize)
	}
	f, err := parseFlattened(body, "request JWS")
	if err != nil {
		return nil, err
	}
	h := f.header
	r := &Request{signingInput: f.signingInput(), signature: f.signature}

	alg, present, err := stringMember(h, "alg")
	if err != nil {
		return nil, err
	}
	if !present || alg == "" {
		return nil, malformed("protected header has no \"alg\"")
	}
	r.Alg = alg

	if r.URL, present, err = stringMember(h, "url"); err != nil {
		return nil, err
	} else if !present || r.URL == "" {
		return nil, malformed("protected header has no \"url\"")
	}
	if err := validateURL(r.URL); err != nil {
		return nil, malformed("protected \"url\" %v", err)
	}

	nonce, noncePresent, err := stringMember(h, "nonce")
	if err != nil {
		return nil, err
	}
	if noncePresent && nonce != "" {
		// RFC 8555 §6.5.2: an invalid encoding is malformed.
		if _, err := decodeBase64URL(nonce); err != nil {
			return nil, malformed("protected \"nonce\" is not base64url")
		}
	}
	r.Nonce = nonce

	jwkRaw, hasJWK := h["jwk"]
	_, hasKID := h["kid"]
	switch {
	case hasJWK && hasKID:
		return nil, malformed("protected header has both \"jwk\" and \"kid\"; exactly one is allowed")
	case !hasJWK && !hasKID:
		return nil, malformed("protected header has neither \"jwk\" nor \"kid\"")
	case hasKID:
		if r.KID, _, err = stringMember(h, "kid"); err != nil {
			return nil, err
		}
		if r.KID == "" {
			return nil, malformed("protected \"kid\" is empty")
		}
		if err := validateURL(r.KID); err != nil {
			return nil, malformed("protected \"kid\" must be the account URL: %v", err)
		}
	}

	if len(f.payload) == 0 {
		r.PostAsGet = true
	} else {
		if err := checkJSONObject(f.payload); err != nil {
			return nil, malformed("payload must be a JSON object or empty (POST-as-GET): %v", err)
		}
		r.Payload = f.payload
	}

	if !allowedAlg(alg) {
		return nil, badSignatureAlgorithm(Algorithms(), "signature algorithm %q is not supported", alg)
	}

	if hasJWK {
		if r.JWK, err = parseJWK(jwkRaw, true); err != nil {
			return nil, err
		}
		if !keyMatchesAlg(alg, r.JWK.Key) {
			return nil, badSignatureAlgorithm(Algorithms(), "signature algorithm %q does not match the jwk's key type", alg)
		}
	}

	// Checked last: badNonce invites the client to retry with a fresh
	// nonce, which only helps if nothing else is wrong.
	if nonce == "" {
		return nil, newError(TypeBadNonce, "protected header has no \"nonce\"")
	}
	return r, nil
}

// Verify checks the request's signature with key: the account's public key,
// or r.JWK for newAccount and revokeCert authenticated by the certificate key.
// key may be a *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or a
// jose.JSONWebKey holding one. The algorithm must match the key type (RS256 ↔
// RSA, ES256 ↔ P-256, ES384 ↔ P-384, ES512 ↔ P-521, EdDSA ↔ Ed25519) and
// ECDSA signatures must be the fixed-size R||S form (RFC 7518 §3.4).
//
// Verify does not re-apply the minimum RSA size: keys in the account store
// passed the policy in force when they were registered, and must stay usable
// at least to roll over to a new key.
func (r *Request) Verify(key crypto.PublicKey) error {
	if r == nil || len(r.signingInput) == 0 {
		return malformed("request was not produced by Parse")
	}
	pub, err := publicKey(key)
	if err != nil {
		return err
	}
	return verifySignature(r.Alg, pub, r.signingInput, r.signature)
}

// verifySignature checks sig over input with pub for alg: badSignatureAlgorithm
// when alg and the key type disagree, unauthorized when the signature fails.
func verifySignature(alg string, pub crypto.PublicKey, input, sig []byte) error {
	if !allowedAlg(alg) {
		return badSignatureAlgorithm(Algorithms(), "signature algorithm %q is not supported", alg)
	}
	if !keyMatchesAlg(alg, pub) {
		return badSignatureAlgorithm(Algorithms(), "signature algorithm %q does not match the key type", alg)
	}
	var ok bool
	switch k := pub.(type) {
	case *rsa.PublicKey:
		h := hashFor(alg).New()
		h.Write(input)
		ok = rsa.VerifyPKCS1v15(k, hashFor(alg), h.Sum(nil), sig) == nil
	case *ecdsa.PublicKey:
		size := coordSize(k.Curve)
		if len(sig) != 2*size {
			return unauthorized("%s signature must be %d bytes (R||S), got %d", alg, 2*size, len(sig))
		}
		h := hashFor(alg).New()
		h.Write(input)
		rr := new(big.Int).SetBytes(sig[:size])
		ss := new(big.Int).SetBytes(sig[size:])
		ok = ecdsa.Verify(k, h.Sum(nil), rr, ss)
	case ed25519.PublicKey:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k, input, sig)
	}
	if !ok {
		return unauthorized("JWS signature verification failed")
	}
	return nil
}

// CheckURL compares the protected "url" with the URL the request was
// received at (RFC 8555 §6.4). Both are parsed; the scheme and host compare
// case-insensitively and an explicit default port equals an omitted one, while
// the escaped path and the query must match byte for byte. Any difference is
// unauthorized.
func (r *Request) CheckURL(received string) error {
	if r == nil {
		return malformed("request was not produced by Parse")
	}
	if !sameURL(r.URL, received) {
		return unauthorized("protected \"url\" %q does not match the request URL %q", r.URL, received)
	}
	return nil
}

// validateURL checks that s is an absolute http or https URL with a host and
// without user information or a fragment.
func validateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return errors.New("must have a host")
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	if strings.Contains(s, "#") {
		return errors.New("must not contain a fragment")
	}
	return nil
}

// sameURL reports whether a and b name the same resource under the rules
// documented on CheckURL.
func sameURL(a, b string) bool {
	if validateURL(a) != nil || validateURL(b) != nil {
		return false
	}
	ua, _ := url.Parse(a)
	ub, _ := url.Parse(b)
	return ua.Scheme == ub.Scheme &&
		strings.EqualFold(ua.Hostname(), ub.Hostname()) &&
		effectivePort(ua) == effectivePort(ub) &&
		ua.EscapedPath() == ub.EscapedPath() &&
		ua.RawQuery == ub.RawQuery &&
		ua.ForceQuery == ub.ForceQuery
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
