package jws

import (
	"crypto"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const keyChangeURL = "https://acme.example/acme/key-change"

// keyChangeSpec describes a key rollover request; zero fields take the
// correct value.
type keyChangeSpec struct {
	oldKey, newKey crypto.Signer
	newAlg         string
	innerHeader    string // overrides the inner protected header
	innerPayload   string // overrides the inner payload
	innerURL       string
	account        string
	oldKeyJWK      string
	corruptInner   bool
}

func buildKeyChange(t *testing.T, s keyChangeSpec) []byte {
	t.Helper()
	if s.innerURL == "" {
		s.innerURL = keyChangeURL
	}
	if s.account == "" {
		s.account = testKID
	}
	if s.oldKeyJWK == "" {
		s.oldKeyJWK = jwkJSON(t, s.oldKey.Public())
	}
	hdr := s.innerHeader
	if hdr == "" {
		hdr = header("alg", s.newAlg, "jwk", json.RawMessage(jwkJSON(t, s.newKey.Public())), "url", s.innerURL)
	}
	payload := s.innerPayload
	if payload == "" {
		payload = header("account", s.account, "oldKey", json.RawMessage(s.oldKeyJWK))
	}
	inner := signHand(t, s.newAlg, s.newKey, hdr, []byte(payload))
	if s.corruptInner {
		sig, _ := decodeBase64URL(inner.Signature)
		sig[len(sig)/2] ^= 0x01
		inner.Signature = b64(sig)
	}
	return inner.body()
}

func TestParseKeyChange(t *testing.T) {
	k := testKeys()
	outerFor := func(oldKey crypto.Signer, alg jose.SignatureAlgorithm, inner []byte) *Request {
		t.Helper()
		r, err := Parse(joseSign(t, alg, oldKey, testKID, testNonce, keyChangeURL, inner))
		wantErr(t, err, "")
		return r
	}
	std := keyChangeSpec{oldKey: k.p256, newKey: k.ed, newAlg: AlgEdDSA}
	with := func(f func(s *keyChangeSpec)) keyChangeSpec {
		s := std
		f(&s)
		return s
	}
	newJWK := json.RawMessage(jwkJSON(t, k.ed.Public()))

	tests := []struct {
		name    string
		spec    keyChangeSpec
		current crypto.PublicKey // defaults to spec.oldKey's public key
		want    string
	}{
		{name: "ok/P256-to-Ed25519", spec: std},
		{name: "ok/RSA-to-P384", spec: keyChangeSpec{oldKey: k.rsa2048, newKey: k.p384, newAlg: AlgES384}},
		{name: "ok/Ed25519-to-RSA4096", spec: keyChangeSpec{oldKey: k.ed, newKey: k.rsa4096, newAlg: AlgRS256}},
		{name: "ok/P521-to-P256", spec: keyChangeSpec{oldKey: k.p521, newKey: k.p256b, newAlg: AlgES256}},
		{name: "fail/inner-url-mismatch", spec: with(func(s *keyChangeSpec) { s.innerURL = "https://acme.example/acme/new-order" }), want: TypeUnauthorized},
		{name: "fail/account-mismatch", spec: with(func(s *keyChangeSpec) { s.account = "https://acme.example/acme/acct/18" }), want: TypeUnauthorized},
		{name: "fail/oldkey-mismatch", spec: with(func(s *keyChangeSpec) { s.oldKeyJWK = jwkJSON(t, k.p256b.Public()) }), want: TypeUnauthorized},
		{name: "fail/oldkey-private", spec: with(func(s *keyChangeSpec) { s.oldKeyJWK = mustJSON(t, jose.JSONWebKey{Key: k.p256}) }), want: TypeBadPublicKey},
		{name: "fail/inner-nonce-present", spec: with(func(s *keyChangeSpec) {
			s.innerHeader = header("alg", AlgEdDSA, "jwk", newJWK, "nonce", testNonce, "url", keyChangeURL)
		}), want: TypeMalformed},
		{name: "fail/inner-kid-present", spec: with(func(s *keyChangeSpec) {
			s.innerHeader = header("alg", AlgEdDSA, "jwk", newJWK, "kid", testKID, "url", keyChangeURL)
		}), want: TypeMalformed},
		{name: "fail/inner-no-jwk", spec: with(func(s *keyChangeSpec) { s.innerHeader = header("alg", AlgEdDSA, "url", keyChangeURL) }), want: TypeMalformed},
		{name: "fail/inner-no-url", spec: with(func(s *keyChangeSpec) { s.innerHeader = header("alg", AlgEdDSA, "jwk", newJWK) }), want: TypeMalformed},
		{name: "fail/inner-b64-false", spec: with(func(s *keyChangeSpec) {
			s.innerHeader = header("alg", AlgEdDSA, "jwk", newJWK, "url", keyChangeURL, "b64", false, "crit", []string{"b64"})
		}), want: TypeMalformed},
		{name: "fail/inner-signature-bad", spec: with(func(s *keyChangeSpec) { s.corruptInner = true }), want: TypeUnauthorized},
		{name: "fail/inner-alg-mismatch", spec: with(func(s *keyChangeSpec) {
			s.innerHeader = header("alg", AlgES256, "jwk", newJWK, "url", keyChangeURL)
		}), want: TypeBadSignatureAlgorithm},
		{name: "fail/inner-alg-HS256", spec: with(func(s *keyChangeSpec) {
			s.innerHeader = header("alg", AlgHS256, "jwk", newJWK, "url", keyChangeURL)
		}), want: TypeBadSignatureAlgorithm},
		{name: "fail/inner-signed-by-old-key", spec: with(func(s *keyChangeSpec) {
			// Claims the new key but is signed by the old one.
			s.newKey = k.p256
			s.newAlg = AlgES256
			s.innerHeader = header("alg", AlgES256, "jwk", json.RawMessage(jwkJSON(t, k.p256b.Public())), "url", keyChangeURL)
		}), want: TypeUnauthorized},
		{name: "fail/new-key-rsa-1024", spec: with(func(s *keyChangeSpec) { s.newKey = k.rsa1024; s.newAlg = AlgRS256 }), want: TypeBadPublicKey},
		{name: "fail/payload-missing-account", spec: with(func(s *keyChangeSpec) {
			s.innerPayload = header("oldKey", json.RawMessage(jwkJSON(t, k.p256.Public())))
		}), want: TypeMalformed},
		{name: "fail/payload-missing-oldkey", spec: with(func(s *keyChangeSpec) { s.innerPayload = header("account", testKID) }), want: TypeMalformed},
		{name: "fail/payload-duplicate-account", spec: with(func(s *keyChangeSpec) {
			s.innerPayload = `{"account":"https://acme.example/acme/acct/18","account":"` + testKID + `","oldKey":` + jwkJSON(t, k.p256.Public()) + `}`
		}), want: TypeMalformed},
		{name: "fail/outer-signed-by-other-key", spec: std, current: k.p256b.Public(), want: TypeUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner := buildKeyChange(t, tc.spec)
			outer := outerFor(tc.spec.oldKey, joseAlgFor(tc.spec.oldKey), inner)
			current := tc.current
			if current == nil {
				current = tc.spec.oldKey.Public()
			}
			got, err := ParseKeyChange(outer, current)
			t.Log(err)
			wantErr(t, err, tc.want)
			if tc.want == "" {
				if !tc.spec.newKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Key) {
					t.Fatal("returned key is not the new key")
				}
			}
		})
	}

	t.Run("fail/outer-uses-jwk", func(t *testing.T) {
		inner := buildKeyChange(t, std)
		outer, err := Parse(joseSign(t, jose.ES256, k.p256, "", testNonce, keyChangeURL, inner))
		wantErr(t, err, "")
		_, err = ParseKeyChange(outer, k.p256.Public())
		wantErr(t, err, TypeMalformed)
	})
	t.Run("fail/outer-post-as-get", func(t *testing.T) {
		_, err := ParseKeyChange(outerFor(k.p256, jose.ES256, []byte{}), k.p256.Public())
		wantErr(t, err, TypeMalformed)
	})
	t.Run("fail/inner-not-jws", func(t *testing.T) {
		_, err := ParseKeyChange(outerFor(k.p256, jose.ES256, []byte(`{"account":"x"}`)), k.p256.Public())
		wantErr(t, err, TypeMalformed)
	})
	t.Run("fail/nil-outer", func(t *testing.T) {
		_, err := ParseKeyChange(nil, k.p256.Public())
		wantErr(t, err, TypeMalformed)
	})
}

func joseAlgFor(key crypto.Signer) jose.SignatureAlgorithm {
	pub := key.Public()
	for _, alg := range Algorithms() {
		if keyMatchesAlg(alg, pub) {
			return jose.SignatureAlgorithm(alg)
		}
	}
	return ""
}
