package jws

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"

	jose "github.com/go-jose/go-jose/v4"
)

// EAB is a structurally valid external account binding (RFC 8555 §7.3.4)
// whose MAC has not been checked yet: look up the MAC key by KID, then call
// VerifyHMAC.
type EAB struct {
	// KID is the key identifier the CA issued with the MAC key.
	KID string
	// Alg is HS256, HS384 or HS512.
	Alg string
	// SigningInput is the exact JWS Signing Input,
	// BASE64URL(protected) || "." || BASE64URL(payload), as received.
	SigningInput []byte
	// Signature is the decoded MAC.
	Signature []byte
}

// ParseEAB checks the structure of the "externalAccountBinding" member of a
// newAccount payload (RFC 8555 §7.3.4). raw must be a flattened JSON JWS
// whose protected header has "alg" HS256, HS384 or HS512, a non-empty "kid",
// "url" equal to outerURL (the outer request's url), and neither "nonce" nor
// "jwk"; its payload must be a public JWK representing the same key as
// outerJWK (the outer request's jwk), compared by RFC 7638 thumbprint.
//
// Structural problems are malformed, a non-MAC algorithm is
// badSignatureAlgorithm, and a url or key that does not match the outer
// request is unauthorized.
func ParseEAB(raw json.RawMessage, outerURL string, outerJWK *jose.JSONWebKey) (*EAB, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, malformed("externalAccountBinding is empty")
	}
	if len(raw) > MaxBodySize {
		return nil, malformed("externalAccountBinding is too large")
	}
	if outerJWK == nil {
		return nil, malformed("externalAccountBinding requires a request authenticated by \"jwk\"")
	}
	outerTP, err := Thumbprint(outerJWK)
	if err != nil {
		return nil, err
	}
	f, err := parseFlattened(raw, "externalAccountBinding")
	if err != nil {
		return nil, err
	}
	h := f.header

	alg, present, err := stringMember(h, "alg")
	if err != nil {
		return nil, err
	}
	if !present || alg == "" {
		return nil, malformed("externalAccountBinding protected header has no \"alg\"")
	}
	kid, present, err := stringMember(h, "kid")
	if err != nil {
		return nil, err
	}
	if !present || kid == "" {
		return nil, malformed("externalAccountBinding protected header has no \"kid\"")
	}
	u, present, err := stringMember(h, "url")
	if err != nil {
		return nil, err
	}
	if !present || u == "" {
		return nil, malformed("externalAccountBinding protected header has no \"url\"")
	}
	if _, ok := h["nonce"]; ok {
		return nil, malformed("externalAccountBinding must not have a \"nonce\"")
	}
	if _, ok := h["jwk"]; ok {
		return nil, malformed("externalAccountBinding must not have a \"jwk\"")
	}
	if len(f.payload) == 0 {
		return nil, malformed("externalAccountBinding has an empty payload; it must be the account JWK")
	}
	if alg != AlgHS256 && alg != AlgHS384 && alg != AlgHS512 {
		return nil, badSignatureAlgorithm(MACAlgorithms(), "externalAccountBinding algorithm %q is not a supported MAC algorithm", alg)
	}
	if u != outerURL {
		return nil, unauthorized("externalAccountBinding \"url\" %q does not match the request url %q", u, outerURL)
	}
	key, err := parseJWK(f.payload, false)
	if err != nil {
		return nil, err
	}
	tp, err := Thumbprint(key)
	if err != nil {
		return nil, err
	}
	if tp != outerTP {
		return nil, unauthorized("externalAccountBinding payload is not the account key of the request")
	}
	return &EAB{KID: kid, Alg: alg, SigningInput: f.signingInput(), Signature: f.signature}, nil
}

// VerifyHMAC checks the binding's MAC with the CA-issued MAC key, comparing
// in constant time. A wrong MAC, or an empty key, is unauthorized.
func (e *EAB) VerifyHMAC(key []byte) error {
	if e == nil {
		return malformed("no external account binding")
	}
	hash := hashFor(e.Alg)
	if e.Alg != AlgHS256 && e.Alg != AlgHS384 && e.Alg != AlgHS512 {
		return badSignatureAlgorithm(MACAlgorithms(), "externalAccountBinding algorithm %q is not a supported MAC algorithm", e.Alg)
	}
	if len(key) == 0 {
		return unauthorized("externalAccountBinding MAC key is empty")
	}
	mac := hmac.New(hash.New, key)
	mac.Write(e.SigningInput)
	if !hmac.Equal(mac.Sum(nil), e.Signature) {
		return unauthorized("externalAccountBinding MAC verification failed")
	}
	return nil
}
