package jws

import (
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzParse checks that Parse never panics and that every accepted request
// satisfies the invariants callers rely on.
func FuzzParse(f *testing.F) {
	k := testKeys()
	payload := []byte(`{"identifiers":[{"type":"dns","value":"example.org"}]}`)
	for _, ac := range algCases() {
		f.Add(joseSign(f, ac.alg, ac.key, "", testNonce, testURL, payload))
		f.Add(joseSign(f, ac.alg, ac.key, testKID, testNonce, testURL, []byte{}))
	}
	f.Add(signHand(f, "ES256", k.p256, `{"alg": "ES256", "kid": "`+testKID+`", "nonce": "`+testNonce+`", "url": "`+testURL+`"}`, nil).body())
	f.Add(signHand(f, "ES256", k.p256, header("alg", "ES256", "jwk", json.RawMessage(jwkJSON(f, k.p256.Public())), "url", testURL), payload).body())
	f.Add(signHand(f, "RS256", k.rsa1024, header("alg", "RS256", "jwk", json.RawMessage(jwkJSON(f, k.rsa1024.Public())), "nonce", testNonce, "url", testURL), payload).body())
	f.Add([]byte(`{"protected":"eyJhbGciOiJub25lIn0","payload":"","signature":""}`))
	f.Add([]byte(`eyJhbGciOiJFUzI1NiJ9.e30.AAAA`))
	f.Add([]byte(`{"protected":"e30","payload":"e30","signature":"AA","header":{}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		if err != nil {
			if r != nil {
				t.Fatal("request returned with an error")
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if (r.KID == "") == (r.JWK == nil) {
			t.Fatalf("want exactly one of kid/jwk: kid=%q jwk=%v", r.KID, r.JWK)
		}
		if !allowedAlg(r.Alg) {
			t.Fatalf("accepted alg %q", r.Alg)
		}
		if r.URL == "" || r.Nonce == "" {
			t.Fatalf("empty url %q or nonce %q", r.URL, r.Nonce)
		}
		if r.PostAsGet != (len(r.Payload) == 0) {
			t.Fatalf("PostAsGet=%v with %d payload bytes", r.PostAsGet, len(r.Payload))
		}
		if err := r.CheckURL(r.URL); err != nil {
			t.Fatalf("url %q does not match itself: %v", r.URL, err)
		}
		if r.JWK != nil {
			if !keyMatchesAlg(r.Alg, r.JWK.Key) {
				t.Fatalf("jwk %T does not match alg %s", r.JWK.Key, r.Alg)
			}
			if _, err := Thumbprint(r.JWK); err != nil {
				t.Fatalf("thumbprint of accepted jwk: %v", err)
			}
			// Must not panic; usually fails.
			_ = r.Verify(r.JWK)
		}
	})
}

// FuzzParseEAB checks that ParseEAB never panics on arbitrary bindings.
func FuzzParseEAB(f *testing.F) {
	k := testKeys()
	acct := &jose.JSONWebKey{Key: k.p256.Public()}
	acctJSON := []byte(jwkJSON(f, k.p256.Public()))
	f.Add([]byte(makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL), acctJSON, eabMACKey)))
	f.Add([]byte(makeEAB(AlgHS512, header("alg", "HS512", "kid", eabKID, "url", newAccountURL, "nonce", "x"), acctJSON, eabMACKey)))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := ParseEAB(raw, newAccountURL, acct)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if e.KID == "" || hashFor(e.Alg) == 0 || allowedAlg(e.Alg) {
			t.Fatalf("accepted binding %+v", e)
		}
		_ = e.VerifyHMAC(eabMACKey)
	})
}
