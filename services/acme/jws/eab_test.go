package jws

import (
	"crypto/hmac"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	newAccountURL = "https://acme.example/acme/new-account"
	eabKID        = "kid-1"
)

var eabMACKey = []byte("0123456789abcdef0123456789abcdef")

// makeEAB builds an externalAccountBinding JWS by hand.
func makeEAB(alg, hdr string, payload []byte, macKey []byte) json.RawMessage {
	j := handJWS{Protected: b64([]byte(hdr)), Payload: b64(payload)}
	mac := hmac.New(hashFor(alg).New, macKey)
	mac.Write([]byte(j.Protected + "." + j.Payload))
	j.Signature = b64(mac.Sum(nil))
	return j.body()
}

func TestEAB(t *testing.T) {
	k := testKeys()
	acct := k.p256.Public()
	acctJWK := &jose.JSONWebKey{Key: acct}
	acctJSON := []byte(jwkJSON(t, acct))
	std := func(alg string) json.RawMessage {
		return makeEAB(alg, header("alg", alg, "kid", eabKID, "url", newAccountURL), acctJSON, eabMACKey)
	}
	type tc struct {
		name     string
		raw      json.RawMessage
		outerURL string
		outerJWK *jose.JSONWebKey
		macKey   []byte
		wantErr  string // from ParseEAB
		wantMAC  string // from VerifyHMAC
	}
	tests := []tc{
		{name: "ok/HS256", raw: std(AlgHS256)},
		{name: "ok/HS384", raw: std(AlgHS384)},
		{name: "ok/HS512", raw: std(AlgHS512)},
		{name: "ok/rsa-account-key", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL), []byte(jwkJSON(t, k.rsa2048.Public())), eabMACKey), outerJWK: &jose.JSONWebKey{Key: k.rsa2048.Public()}},
		// Thumbprint equality, not byte equality: other member order and
		// extra members are the same key.
		{name: "ok/payload-jwk-reordered", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL),
			[]byte(`{"y":"`+jwkField(t, acctJSON, "y")+`","x":"`+jwkField(t, acctJSON, "x")+`","kty":"EC","crv":"P-256","use":"sig"}`), eabMACKey)},
		{name: "fail/wrong-mac-key", raw: std(AlgHS256), macKey: []byte("another key entirely"), wantMAC: TypeUnauthorized},
		{name: "fail/empty-mac-key", raw: std(AlgHS256), macKey: []byte{}, wantMAC: TypeUnauthorized},
		{name: "fail/url-mismatch", raw: std(AlgHS256), outerURL: "https://acme.example/acme/new-acct", wantErr: TypeUnauthorized},
		{name: "fail/payload-jwk-differs", raw: std(AlgHS256), outerJWK: &jose.JSONWebKey{Key: k.p256b.Public()}, wantErr: TypeUnauthorized},
		{name: "fail/payload-jwk-private", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL), []byte(mustJSON(t, jose.JSONWebKey{Key: k.p256})), eabMACKey), wantErr: TypeBadPublicKey},
		{name: "fail/payload-empty", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL), nil, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/payload-not-jwk", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL), []byte(`"key"`), eabMACKey), wantErr: TypeMalformed},
		{name: "fail/nonce-present", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "nonce", testNonce, "url", newAccountURL), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/jwk-present", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "jwk", json.RawMessage(acctJSON), "url", newAccountURL), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/missing-kid", raw: makeEAB(AlgHS256, header("alg", "HS256", "url", newAccountURL), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/missing-url", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/missing-alg", raw: makeEAB(AlgHS256, header("kid", eabKID, "url", newAccountURL), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/alg-ES256", raw: signHand(t, "ES256", k.p256, header("alg", "ES256", "kid", eabKID, "url", newAccountURL), acctJSON).body(), wantErr: TypeBadSignatureAlgorithm},
		{name: "fail/alg-RS256", raw: signHand(t, "RS256", k.rsa2048, header("alg", "RS256", "kid", eabKID, "url", newAccountURL), acctJSON).body(), wantErr: TypeBadSignatureAlgorithm},
		{name: "fail/alg-none", raw: makeEAB(AlgHS256, header("alg", "none", "kid", eabKID, "url", newAccountURL), acctJSON, eabMACKey), wantErr: TypeBadSignatureAlgorithm},
		{name: "fail/crit", raw: makeEAB(AlgHS256, header("alg", "HS256", "kid", eabKID, "url", newAccountURL, "crit", []string{"x"}), acctJSON, eabMACKey), wantErr: TypeMalformed},
		{name: "fail/unprotected-header", raw: mutate(t, std(AlgHS256), func(m map[string]any) { m["header"] = map[string]any{"kid": eabKID} }), wantErr: TypeMalformed},
		{name: "fail/null", raw: json.RawMessage("null"), wantErr: TypeMalformed},
		{name: "fail/empty", raw: nil, wantErr: TypeMalformed},
		{name: "fail/compact-string", raw: json.RawMessage(jsonString("a.b.c")), wantErr: TypeMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outerURL == "" {
				tc.outerURL = newAccountURL
			}
			if tc.outerJWK == nil {
				tc.outerJWK = acctJWK
			}
			if tc.macKey == nil {
				tc.macKey = eabMACKey
			}
			e, err := ParseEAB(tc.raw, tc.outerURL, tc.outerJWK)
			wantErr(t, err, tc.wantErr)
			if tc.wantErr != "" {
				return
			}
			if e.KID != eabKID {
				t.Fatalf("kid = %q", e.KID)
			}
			wantErr(t, e.VerifyHMAC(tc.macKey), tc.wantMAC)
		})
	}

	t.Run("fail/no-outer-jwk", func(t *testing.T) {
		_, err := ParseEAB(std(AlgHS256), newAccountURL, nil)
		wantErr(t, err, TypeMalformed)
	})
	t.Run("fail/tampered-alg-field", func(t *testing.T) {
		e, err := ParseEAB(std(AlgHS256), newAccountURL, acctJWK)
		wantErr(t, err, "")
		e.Alg = "none"
		wantErr(t, e.VerifyHMAC(eabMACKey), TypeBadSignatureAlgorithm)
		var nilEAB *EAB
		wantErr(t, nilEAB.VerifyHMAC(eabMACKey), TypeMalformed)
	})
	t.Run("fail/truncated-mac", func(t *testing.T) {
		raw := mutate(t, std(AlgHS256), func(m map[string]any) {
			s, _ := decodeBase64URL(m["signature"].(string))
			m["signature"] = b64(s[:16])
		})
		e, err := ParseEAB(raw, newAccountURL, acctJWK)
		wantErr(t, err, "")
		wantErr(t, e.VerifyHMAC(eabMACKey), TypeUnauthorized)
	})
}

func jwkField(t *testing.T, jwk []byte, name string) string {
	var m map[string]string
	if err := json.Unmarshal(jwk, &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
