package jws

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

type algCase struct {
	name string
	alg  jose.SignatureAlgorithm
	key  crypto.Signer
}

func algCases() []algCase {
	k := testKeys()
	return []algCase{
		{"RS256-2048", jose.RS256, k.rsa2048},
		{"RS256-4096", jose.RS256, k.rsa4096},
		{"ES256", jose.ES256, k.p256},
		{"ES384", jose.ES384, k.p384},
		{"ES512", jose.ES512, k.p521},
		{"EdDSA", jose.EdDSA, k.ed},
	}
}

func TestParseVerifyOK(t *testing.T) {
	payload := []byte(`{"identifiers":[{"type":"dns","value":"example.org"}]}`)
	for _, ac := range algCases() {
		for _, mode := range []struct {
			name    string
			kid     string
			payload []byte
		}{
			{"jwk", "", payload},
			{"kid", testKID, payload},
			{"jwk-post-as-get", "", []byte{}},
			{"kid-post-as-get", testKID, []byte{}},
		} {
			t.Run("ok/"+ac.name+"/"+mode.name, func(t *testing.T) {
				body := joseSign(t, ac.alg, ac.key, mode.kid, testNonce, testURL, mode.payload)
				r, err := Parse(body)
				wantErr(t, err, "")
				if r.Alg != string(ac.alg) || r.Nonce != testNonce || r.URL != testURL {
					t.Fatalf("got alg=%q nonce=%q url=%q", r.Alg, r.Nonce, r.URL)
				}
				if mode.kid != "" {
					if r.KID != mode.kid || r.JWK != nil {
						t.Fatalf("got kid=%q jwk=%v", r.KID, r.JWK)
					}
				} else {
					if r.KID != "" || r.JWK == nil {
						t.Fatalf("got kid=%q jwk=%v", r.KID, r.JWK)
					}
					if !ac.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(r.JWK.Key) {
						t.Fatal("jwk is not the signing key")
					}
					wantErr(t, r.Verify(r.JWK), "")
				}
				if r.PostAsGet != (len(mode.payload) == 0) {
					t.Fatalf("PostAsGet = %v", r.PostAsGet)
				}
				if !bytes.Equal(r.Payload, mode.payload) {
					t.Fatalf("payload = %q", r.Payload)
				}
				wantErr(t, r.Verify(ac.key.Public()), "")
				wantErr(t, r.Verify(&jose.JSONWebKey{Key: ac.key.Public()}), "")
				wantErr(t, r.CheckURL(testURL), "")
			})
		}
	}
}

// TestParseFail covers the structural rules. Each body would otherwise be a
// valid ES256 request.
func TestParseFail(t *testing.T) {
	k := testKeys()
	p256JWK := json.RawMessage(jwkJSON(t, k.p256.Public()))
	okPayload := []byte(`{"status":"deactivated"}`)
	valid := joseSign(t, jose.ES256, k.p256, "", testNonce, testURL, okPayload)
	es := func(h string) []byte { return signHand(t, "ES256", k.p256, h, okPayload).body() }
	bigBody := signHand(t, "ES256", k.p256, header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL),
		[]byte(`{"x":"`+strings.Repeat("a", MaxBodySize)+`"}`)).body()

	// An RSA key of 1024 bits, properly signed.
	rsa1024 := signHand(t, "RS256", k.rsa1024,
		header("alg", "RS256", "jwk", json.RawMessage(jwkJSON(t, k.rsa1024.Public())), "nonce", testNonce, "url", testURL), okPayload).body()
	// An RSA modulus above the maximum (the signature does not matter).
	hugeN := new(big.Int).Lsh(big.NewInt(1), 8199)
	hugeN.Or(hugeN, big.NewInt(0xffff))
	hugeRSA := es(header("alg", "RS256", "jwk", json.RawMessage(jwkJSON(t, &rsa.PublicKey{N: hugeN, E: 65537})), "nonce", testNonce, "url", testURL))
	evenE := es(header("alg", "RS256", "jwk", json.RawMessage(jwkJSON(t, &rsa.PublicKey{N: k.rsa2048.N, E: 65536})), "nonce", testNonce, "url", testURL))

	// The jwk with its private part.
	privJWK, err := jose.JSONWebKey{Key: k.p256}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	privRSA, err := jose.JSONWebKey{Key: k.rsa2048}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// A P-256 point moved off the curve.
	var offCurve map[string]string
	_ = json.Unmarshal(p256JWK, &offCurve)
	y, _ := decodeBase64URL(offCurve["y"])
	y[len(y)-1] ^= 1
	offCurve["y"] = b64(y)
	offCurveJWK, _ := json.Marshal(offCurve)

	compact := func() []byte {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.p256},
			(&jose.SignerOptions{EmbedJWK: true, NonceSource: staticNonce(testNonce)}).WithHeader("url", testURL))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(okPayload)
		if err != nil {
			t.Fatal(err)
		}
		s, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
	multi := func() []byte {
		signer, err := jose.NewMultiSigner([]jose.SigningKey{
			{Algorithm: jose.ES256, Key: k.p256},
			{Algorithm: jose.ES384, Key: k.p384},
		}, (&jose.SignerOptions{EmbedJWK: true, NonceSource: staticNonce(testNonce)}).WithHeader("url", testURL))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(okPayload)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(obj.FullSerialize())
	}
	b64false := func() []byte {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.p256},
			(&jose.SignerOptions{EmbedJWK: true, NonceSource: staticNonce(testNonce)}).WithHeader("url", testURL).WithBase64(false))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(okPayload)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(obj.FullSerialize())
	}

	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"fail/empty", nil, TypeMalformed},
		{"fail/not-json", []byte("hello"), TypeMalformed},
		{"fail/compact-serialization", compact(), TypeMalformed},
		{"fail/signatures-array", multi(), TypeMalformed},
		{"fail/unprotected-header", mutate(t, valid, func(m map[string]any) { m["header"] = map[string]any{"kid": testKID} }), TypeMalformed},
		{"fail/empty-unprotected-header", mutate(t, valid, func(m map[string]any) { m["header"] = map[string]any{} }), TypeMalformed},
		{"fail/unknown-outer-member", mutate(t, valid, func(m map[string]any) { m["extra"] = 1 }), TypeMalformed},
		{"fail/detached-payload", mutate(t, valid, func(m map[string]any) { delete(m, "payload") }), TypeMalformed},
		{"fail/no-protected", mutate(t, valid, func(m map[string]any) { delete(m, "protected") }), TypeMalformed},
		{"fail/no-signature", mutate(t, valid, func(m map[string]any) { delete(m, "signature") }), TypeMalformed},
		{"fail/empty-signature", mutate(t, valid, func(m map[string]any) { m["signature"] = "" }), TypeMalformed},
		{"fail/payload-not-string", mutate(t, valid, func(m map[string]any) { m["payload"] = map[string]any{} }), TypeMalformed},
		{"fail/payload-null", mutate(t, valid, func(m map[string]any) { m["payload"] = nil }), TypeMalformed},
		{"fail/duplicate-outer-member", []byte(strings.Replace(string(valid), `"payload":`, `"payload":"e30","payload":`, 1)), TypeMalformed},
		{"fail/trailing-garbage", append(append([]byte{}, valid...), []byte(" x")...), TypeMalformed},
		{"fail/trailing-object", append(append([]byte{}, valid...), []byte("{}")...), TypeMalformed},
		{"fail/outer-array", append(append([]byte("["), valid...), ']'), TypeMalformed},
		{"fail/over-max-body-size", bigBody, TypeMalformed},
		{"fail/bad-base64-protected", mutate(t, valid, func(m map[string]any) { m["protected"] = m["protected"].(string) + "!" }), TypeMalformed},
		{"fail/padded-base64-protected", mutate(t, valid, func(m map[string]any) { m["protected"] = m["protected"].(string) + "==" }), TypeMalformed},
		{"fail/std-base64-signature", mutate(t, valid, func(m map[string]any) {
			m["signature"] = strings.NewReplacer("-", "+", "_", "/").Replace(m["signature"].(string)) + "+/"
		}), TypeMalformed},
		{"fail/newline-in-base64", mutate(t, valid, func(m map[string]any) { s := m["payload"].(string); m["payload"] = s[:4] + "\n" + s[4:] }), TypeMalformed},
		{"fail/bad-base64-payload", mutate(t, valid, func(m map[string]any) { m["payload"] = "e30*" }), TypeMalformed},
		{"fail/payload-not-object", signHand(t, "ES256", k.p256, header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL), []byte(`["x"]`)).body(), TypeMalformed},
		{"fail/payload-not-json", signHand(t, "ES256", k.p256, header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL), []byte(`hello`)).body(), TypeMalformed},
		{"fail/payload-duplicate-member", signHand(t, "ES256", k.p256, header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL), []byte(`{"status":"valid","status":"deactivated"}`)).body(), TypeMalformed},
		{"fail/protected-not-object", es(`"ES256"`), TypeMalformed},
		{"fail/protected-invalid-utf8", es("{\"alg\":\"ES256\",\"jwk\":" + string(p256JWK) + ",\"nonce\":\"" + testNonce + "\",\"url\":\"" + testURL + "\",\"x\":\"\xff\"}"), TypeMalformed},
		{"fail/duplicate-alg", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL, "alg", "none")), TypeMalformed},
		{"fail/duplicate-alg-escaped", es(`{"alg":"ES256","\u0061lg":"none","jwk":` + string(p256JWK) + `,"nonce":"` + testNonce + `","url":"` + testURL + `"}`), TypeMalformed},
		{"fail/duplicate-in-jwk", es(header("alg", "ES256", "jwk", json.RawMessage(strings.Replace(string(p256JWK), `"kty":"EC"`, `"kty":"EC","kty":"RSA"`, 1)), "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/missing-alg", es(header("jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/alg-wrong-case-member", es(header("ALG", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/alg-not-string", es(header("alg", 256, "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/missing-nonce", es(header("alg", "ES256", "jwk", p256JWK, "url", testURL)), TypeBadNonce},
		{"fail/empty-nonce", es(header("alg", "ES256", "jwk", p256JWK, "nonce", "", "url", testURL)), TypeBadNonce},
		{"fail/nonce-not-base64url", es(header("alg", "ES256", "jwk", p256JWK, "nonce", "a+b/c=", "url", testURL)), TypeMalformed},
		{"fail/nonce-not-string", es(header("alg", "ES256", "jwk", p256JWK, "nonce", 12, "url", testURL)), TypeMalformed},
		{"fail/nonce-null", es(header("alg", "ES256", "jwk", p256JWK, "nonce", nil, "url", testURL)), TypeMalformed},
		{"fail/missing-url", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce)), TypeMalformed},
		{"fail/empty-url", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", "")), TypeMalformed},
		{"fail/relative-url", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", "/acme/new-order")), TypeMalformed},
		{"fail/url-with-fragment", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL+"#x")), TypeMalformed},
		{"fail/url-with-userinfo", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", "https://u:p@acme.example/x")), TypeMalformed},
		{"fail/url-ftp", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", "ftp://acme.example/x")), TypeMalformed},
		{"fail/url-not-string", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", []string{testURL})), TypeMalformed},
		{"fail/both-jwk-and-kid", es(header("alg", "ES256", "jwk", p256JWK, "kid", testKID, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/neither-jwk-nor-kid", es(header("alg", "ES256", "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/empty-kid", es(header("alg", "ES256", "kid", "", "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/kid-not-url", es(header("alg", "ES256", "kid", "17", "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/kid-not-string", es(header("alg", "ES256", "kid", 17, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/jwk-null", es(header("alg", "ES256", "jwk", nil, "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/jwk-string", es(header("alg", "ES256", "jwk", "key", "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/jwk-no-kty", es(header("alg", "ES256", "jwk", json.RawMessage(`{"crv":"P-256","x":"AA","y":"AA"}`), "nonce", testNonce, "url", testURL)), TypeMalformed},
		{"fail/alg-none", es(header("alg", "none", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/alg-HS256", es(header("alg", "HS256", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/alg-HS256-kid", es(header("alg", "HS256", "kid", testKID, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/alg-PS256", es(header("alg", "PS256", "kid", testKID, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/alg-lowercase", es(header("alg", "es256", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/ES256-with-P384-jwk", signHand(t, "ES256", k.p384, header("alg", "ES256", "jwk", json.RawMessage(jwkJSON(t, k.p384.Public())), "nonce", testNonce, "url", testURL), okPayload).body(), TypeBadSignatureAlgorithm},
		{"fail/ES384-with-P256-jwk", es(header("alg", "ES384", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/RS256-with-EC-jwk", es(header("alg", "RS256", "jwk", p256JWK, "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/EdDSA-with-RSA-jwk", es(header("alg", "EdDSA", "jwk", json.RawMessage(jwkJSON(t, k.rsa2048.Public())), "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/ES256-with-Ed25519-jwk", es(header("alg", "ES256", "jwk", json.RawMessage(jwkJSON(t, k.ed.Public())), "nonce", testNonce, "url", testURL)), TypeBadSignatureAlgorithm},
		{"fail/rsa-1024", rsa1024, TypeBadPublicKey},
		{"fail/rsa-8200", hugeRSA, TypeBadPublicKey},
		{"fail/rsa-even-exponent", evenE, TypeBadPublicKey},
		{"fail/jwk-private-ec-d", es(header("alg", "ES256", "jwk", json.RawMessage(privJWK), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-private-rsa", es(header("alg", "RS256", "jwk", json.RawMessage(privRSA), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-oct", es(header("alg", "ES256", "jwk", json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-off-curve", es(header("alg", "ES256", "jwk", json.RawMessage(offCurveJWK), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-P-224", es(header("alg", "ES256", "jwk", json.RawMessage(`{"kty":"EC","crv":"P-224","x":"AA","y":"AA"}`), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-X25519", es(header("alg", "EdDSA", "jwk", json.RawMessage(`{"kty":"OKP","crv":"X25519","x":"`+b64(make([]byte, 32))+`"}`), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/jwk-ed25519-small-order", es(header("alg", "EdDSA", "jwk", json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"`+b64(append([]byte{1}, make([]byte, 31)...))+`"}`), "nonce", testNonce, "url", testURL)), TypeBadPublicKey},
		{"fail/b64-false", b64false(), TypeMalformed},
		{"fail/b64-true", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL, "b64", true)), TypeMalformed},
		{"fail/crit", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL, "crit", []string{"exp"}, "exp", 1)), TypeMalformed},
		{"fail/crit-empty", es(header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL, "crit", []string{})), TypeMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.body)
			t.Log(err)
			wantErr(t, err, tc.want)
			if r != nil {
				t.Fatalf("got request %+v with error", r)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	k := testKeys()
	payload := []byte(`{"status":"deactivated"}`)
	p256JWK := json.RawMessage(jwkJSON(t, k.p256.Public()))
	kidES256 := joseSign(t, jose.ES256, k.p256, testKID, testNonce, testURL, payload)
	kidRS256 := joseSign(t, jose.RS256, k.rsa2048, testKID, testNonce, testURL, payload)
	kidEdDSA := joseSign(t, jose.EdDSA, k.ed, testKID, testNonce, testURL, payload)

	// An ES256 request whose signature is ASN.1 DER, as crypto.Signer returns it.
	derHdr := header("alg", "ES256", "jwk", p256JWK, "nonce", testNonce, "url", testURL)
	der := handJWS{Protected: b64([]byte(derHdr)), Payload: b64(payload)}
	der.Signature = b64(rawSign(t, "ES256", k.p256, []byte(der.Protected+"."+der.Payload), true))

	tampered := mutate(t, kidES256, func(m map[string]any) { m["payload"] = b64([]byte(`{"status":"valid"}`)) })
	tamperedHeader := mutate(t, kidES256, func(m map[string]any) {
		m["protected"] = b64([]byte(header("alg", "ES256", "kid", testKID, "nonce", testNonce, "url", "https://acme.example/acme/revoke-cert")))
	})
	flipSig := mutate(t, kidEdDSA, func(m map[string]any) {
		s, _ := decodeBase64URL(m["signature"].(string))
		s[0] ^= 0x80
		m["signature"] = b64(s)
	})
	// An ES256 signature with r = 0.
	zeroR := mutate(t, kidES256, func(m map[string]any) {
		s, _ := decodeBase64URL(m["signature"].(string))
		clear(s[:32])
		m["signature"] = b64(s)
	})

	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		body []byte
		key  crypto.PublicKey
		want string
	}{
		{"ok/ES256", kidES256, k.p256.Public(), ""},
		{"ok/RS256", kidRS256, k.rsa2048.Public(), ""},
		{"ok/EdDSA", kidEdDSA, k.ed.Public(), ""},
		{"ok/jose-jwk-value", kidES256, jose.JSONWebKey{Key: k.p256.Public()}, ""},
		{"fail/ES256-wrong-P256-key", kidES256, k.p256b.Public(), TypeUnauthorized},
		{"fail/ES256-with-P384-key", kidES256, k.p384.Public(), TypeBadSignatureAlgorithm},
		{"fail/ES256-with-RSA-key", kidES256, k.rsa2048.Public(), TypeBadSignatureAlgorithm},
		{"fail/RS256-with-EC-key", kidRS256, k.p256.Public(), TypeBadSignatureAlgorithm},
		{"fail/RS256-wrong-RSA-key", kidRS256, k.rsa4096.Public(), TypeUnauthorized},
		{"fail/EdDSA-with-EC-key", kidEdDSA, k.p256.Public(), TypeBadSignatureAlgorithm},
		{"fail/EdDSA-wrong-key", kidEdDSA, k.edb.Public(), TypeUnauthorized},
		{"fail/EdDSA-flipped-signature", flipSig, k.ed.Public(), TypeUnauthorized},
		{"fail/DER-ECDSA-signature", der.body(), k.p256.Public(), TypeUnauthorized},
		{"fail/tampered-payload", tampered, k.p256.Public(), TypeUnauthorized},
		{"fail/tampered-protected", tamperedHeader, k.p256.Public(), TypeUnauthorized},
		{"fail/zero-r", zeroR, k.p256.Public(), TypeUnauthorized},
		{"fail/private-key", kidES256, k.p256, TypeBadPublicKey},
		{"fail/ed25519-private-key", kidEdDSA, k.ed, TypeBadPublicKey},
		{"fail/symmetric-key", kidES256, []byte("secret"), TypeBadPublicKey},
		{"fail/nil-key", kidES256, nil, TypeBadPublicKey},
		{"fail/nil-jose-key", kidES256, (*jose.JSONWebKey)(nil), TypeBadPublicKey},
		{"fail/ecdsa-nil-curve", kidES256, &ecdsa.PublicKey{}, TypeBadPublicKey},
		{"fail/ecdsa-no-point", kidES256, &ecdsa.PublicKey{Curve: elliptic.P256()}, TypeBadPublicKey},
		{"fail/ecdsa-P224", kidES256, p224.Public(), TypeBadPublicKey},
		{"fail/rsa-zero-exponent", kidRS256, &rsa.PublicKey{N: k.rsa2048.N}, TypeBadPublicKey},
		{"fail/rsa-nil-modulus", kidRS256, &rsa.PublicKey{E: 65537}, TypeBadPublicKey},
		{"fail/rsa-even-modulus", kidRS256, &rsa.PublicKey{N: big.NewInt(1 << 20), E: 65537}, TypeBadPublicKey},
		{"fail/short-ed25519-key", kidEdDSA, ed25519.PublicKey(make([]byte, 31)), TypeBadPublicKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.body)
			wantErr(t, err, "")
			err = r.Verify(tc.key)
			t.Log(err)
			wantErr(t, err, tc.want)
		})
	}

	t.Run("fail/zero-request", func(t *testing.T) {
		wantErr(t, (&Request{Alg: "ES256"}).Verify(k.p256.Public()), TypeMalformed)
		var nilReq *Request
		wantErr(t, nilReq.Verify(k.p256.Public()), TypeMalformed)
		wantErr(t, nilReq.CheckURL(testURL), TypeMalformed)
	})
}

func TestCheckURL(t *testing.T) {
	k := testKeys()
	tests := []struct {
		name     string
		signed   string
		received string
		want     string
	}{
		{"ok/exact", "https://acme.example/acme/order/1", "https://acme.example/acme/order/1", ""},
		{"ok/with-query", "https://acme.example/acme/cert?alt=2", "https://acme.example/acme/cert?alt=2", ""},
		{"ok/host-case", "https://ACME.example/acme/order/1", "https://acme.example/acme/order/1", ""},
		{"ok/scheme-case", "HTTPS://acme.example/acme/order/1", "https://acme.example/acme/order/1", ""},
		{"ok/explicit-default-port", "https://acme.example:443/acme/order/1", "https://acme.example/acme/order/1", ""},
		{"ok/port", "https://acme.example:14000/dir", "https://acme.example:14000/dir", ""},
		{"ok/ipv6", "https://[::1]:14000/dir", "https://[::1]:14000/dir", ""},
		{"fail/other-path", "https://acme.example/acme/order/2", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/path-case", "https://acme.example/acme/Order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/trailing-slash", "https://acme.example/acme/order/1/", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/percent-encoded", "https://acme.example/acme/order/%31", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/dot-segment", "https://acme.example/acme/x/../order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/other-host", "https://evil.example/acme/order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/other-scheme", "http://acme.example/acme/order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/other-port", "https://acme.example:8443/acme/order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/http-port-443", "http://acme.example:443/acme/order/1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/extra-query", "https://acme.example/acme/order/1?x=1", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/empty-query", "https://acme.example/acme/order/1?", "https://acme.example/acme/order/1", TypeUnauthorized},
		{"fail/received-relative", "https://acme.example/acme/order/1", "/acme/order/1", TypeUnauthorized},
		{"fail/received-empty", "https://acme.example/acme/order/1", "", TypeUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := joseSign(t, jose.ES256, k.p256, testKID, testNonce, tc.signed, []byte{})
			r, err := Parse(body)
			wantErr(t, err, "")
			wantErr(t, r.CheckURL(tc.received), tc.want)
		})
	}
}

func TestErrorURN(t *testing.T) {
	e := &Error{Type: TypeBadNonce, Detail: "x"}
	if e.URN() != "urn:ietf:params:acme:error:badNonce" {
		t.Fatal(e.URN())
	}
	if !strings.Contains(e.Error(), "badNonce") {
		t.Fatal(e.Error())
	}
	_, err := Parse([]byte(`{"protected":"` + b64([]byte(`{"alg":"none","kid":"https://a.example/acct/1","nonce":"AA","url":"https://a.example/x"}`)) + `","payload":"","signature":"AA"}`))
	wantErr(t, err, TypeBadSignatureAlgorithm)
	var be *Error
	if !errors.As(err, &be) || strings.Join(be.Algorithms, ",") != strings.Join(Algorithms(), ",") {
		t.Fatalf("algorithms = %v", be.Algorithms)
	}
}
