package jws

import (
	"crypto"

	jose "github.com/go-jose/go-jose/v4"
)

// ParseKeyChange checks an account key rollover request (RFC 8555 §7.3.5)
// and returns the new account key.
//
// outer is the parsed keyChange request, which must be authenticated by
// "kid" (the account URL); ParseKeyChange verifies its signature with
// currentKey, the account's current key, so callers cannot forget to.
// Its payload must be an inner flattened JWS that
//
//   - has a protected header with an allowed "alg", a "jwk" holding the new
//     key (which must pass the account-key policy and match "alg"), a "url"
//     equal to the outer "url", and neither "kid" nor "nonce";
//   - is signed by that new key;
//   - carries the payload {"account": <outer kid>, "oldKey": <JWK of
//     currentKey>}, where oldKey is compared by RFC 7638 thumbprint.
//
// Checking that no other account already uses the new key (409 Conflict in
// RFC 8555 §7.3.5) is left to the caller, which owns account storage. This
// includes a "new" key equal to the current one.
func ParseKeyChange(outer *Request, currentKey crypto.PublicKey) (*jose.JSONWebKey, error) {
	if outer == nil {
		return nil, malformed("no key change request")
	}
	if outer.KID == "" || outer.JWK != nil {
		return nil, malformed("key change request must be authenticated with the account \"kid\"")
	}
	if err := outer.Verify(currentKey); err != nil {
		return nil, err
	}
	currentTP, err := Thumbprint(currentKey)
	if err != nil {
		return nil, err
	}
	if outer.PostAsGet {
		return nil, malformed("key change request has an empty payload; it must be the inner JWS")
	}

	f, err := parseFlattened(outer.Payload, "key change inner JWS")
	if err != nil {
		return nil, err
	}
	h := f.header

	alg, present, err := stringMember(h, "alg")
	if err != nil {
		return nil, err
	}
	if !present || alg == "" {
		return nil, malformed("key change inner JWS has no \"alg\"")
	}
	innerURL, present, err := stringMember(h, "url")
	if err != nil {
		return nil, err
	}
	if !present || innerURL == "" {
		return nil, malformed("key change inner JWS has no \"url\"")
	}
	if _, ok := h["nonce"]; ok {
		return nil, malformed("key change inner JWS must not have a \"nonce\"")
	}
	if _, ok := h["kid"]; ok {
		return nil, malformed("key change inner JWS must not have a \"kid\"")
	}
	jwkRaw, ok := h["jwk"]
	if !ok {
		return nil, malformed("key change inner JWS has no \"jwk\" (the new key)")
	}

	m, err := decodeObject(f.payload)
	if err != nil {
		return nil, malformed("key change inner payload is not a valid JSON object: %v", err)
	}
	account, present, err := stringMember(m, "account")
	if err != nil {
		return nil, err
	}
	if !present || account == "" {
		return nil, malformed("key change inner payload has no \"account\"")
	}
	oldKeyRaw, ok := m["oldKey"]
	if !ok {
		return nil, malformed("key change inner payload has no \"oldKey\"")
	}

	if !allowedAlg(alg) {
		return nil, badSignatureAlgorithm(Algorithms(), "key change inner JWS algorithm %q is not supported", alg)
	}
	newKey, err := parseJWK(jwkRaw, true)
	if err != nil {
		return nil, err
	}
	if err := verifySignature(alg, newKey.Key, f.signingInput(), f.signature); err != nil {
		if e, ok := err.(*Error); ok {
			e.Detail = "key change inner JWS: " + e.Detail
		}
		return nil, err
	}
	if innerURL != outer.URL {
		return nil, unauthorized("key change inner \"url\" %q does not match the outer url %q", innerURL, outer.URL)
	}
	if account != outer.KID {
		return nil, unauthorized("key change inner \"account\" does not match the outer \"kid\"")
	}
	// oldKey is parsed without the size policy: it only has to identify the
	// current key, which may predate the current policy.
	oldKey, err := parseJWK(oldKeyRaw, false)
	if err != nil {
		return nil, err
	}
	oldTP, err := Thumbprint(oldKey)
	if err != nil {
		return nil, err
	}
	if oldTP != currentTP {
		return nil, unauthorized("key change inner \"oldKey\" is not the account's current key")
	}
	return newKey, nil
}
