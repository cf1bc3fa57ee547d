package jws

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// RFC 7638 §3.1 example RSA key (also RFC 7517 Appendix A.1).
const (
	rfc7638N          = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	// RFC 8037 Appendix A.1–A.4.
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037JWS        = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

func rfc7638Key(t *testing.T) *rsa.PublicKey {
	n, err := decodeBase64URL(rfc7638N)
	if err != nil {
		t.Fatal(err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
}

func TestThumbprintVectors(t *testing.T) {
	t.Run("ok/rfc7638-rsa", func(t *testing.T) {
		got, err := Thumbprint(rfc7638Key(t))
		wantErr(t, err, "")
		if got != rfc7638Thumbprint {
			t.Fatalf("thumbprint = %s, want %s", got, rfc7638Thumbprint)
		}
		// The same key as a JWK with extra members and other member order,
		// as RFC 7517 Appendix A.1 lists it.
		k, err := parseJWK(json.RawMessage(`{"kty":"RSA","n":"`+rfc7638N+`","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`), true)
		wantErr(t, err, "")
		got, err = Thumbprint(k)
		wantErr(t, err, "")
		if got != rfc7638Thumbprint {
			t.Fatalf("thumbprint via jwk = %s", got)
		}
		// Leading zero octets in n and e do not change the thumbprint.
		n, _ := decodeBase64URL(rfc7638N)
		k, err = parseJWK(json.RawMessage(`{"kty":"RSA","n":"`+b64(append([]byte{0}, n...))+`","e":"AAEAAQ"}`), true)
		wantErr(t, err, "")
		got, _ = Thumbprint(k)
		if got != rfc7638Thumbprint {
			t.Fatalf("thumbprint with leading zeros = %s", got)
		}
	})
	t.Run("ok/rfc8037-ed25519", func(t *testing.T) {
		k, err := parseJWK(json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"`+rfc8037X+`"}`), true)
		wantErr(t, err, "")
		got, err := Thumbprint(k)
		wantErr(t, err, "")
		if got != rfc8037Thumbprint {
			t.Fatalf("thumbprint = %s, want %s", got, rfc8037Thumbprint)
		}
		seed, _ := decodeBase64URL(rfc8037D)
		if !ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey).Equal(k.Key) {
			t.Fatal("RFC 8037 d and x disagree")
		}
	})
	t.Run("ok/rfc8037-signature", func(t *testing.T) {
		parts := strings.Split(rfc8037JWS, ".")
		sig, _ := decodeBase64URL(parts[2])
		k, err := parseJWK(json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"`+rfc8037X+`"}`), true)
		wantErr(t, err, "")
		wantErr(t, verifySignature(AlgEdDSA, k.Key, []byte(parts[0]+"."+parts[1]), sig), "")
		sig[63] ^= 1
		wantErr(t, verifySignature(AlgEdDSA, k.Key, []byte(parts[0]+"."+parts[1]), sig), TypeUnauthorized)
	})
}

func TestThumbprint(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name string
		key  crypto.PublicKey
		want string
	}{
		{"ok/rsa", k.rsa2048.Public(), ""},
		{"ok/p256", k.p256.Public(), ""},
		{"ok/p384", k.p384.Public(), ""},
		{"ok/p521", k.p521.Public(), ""},
		{"ok/ed25519", k.ed.Public(), ""},
		{"ok/jose-pointer", &jose.JSONWebKey{Key: k.p256.Public()}, ""},
		{"ok/jose-value", jose.JSONWebKey{Key: k.ed.Public()}, ""},
		{"fail/private-rsa", k.rsa2048, TypeBadPublicKey},
		{"fail/private-ed25519", k.ed, TypeBadPublicKey},
		{"fail/symmetric", []byte("k"), TypeBadPublicKey},
		{"fail/nil", nil, TypeBadPublicKey},
		{"fail/string", "key", TypeBadPublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Thumbprint(tc.key)
			wantErr(t, err, tc.want)
			if tc.want != "" {
				return
			}
			if len(got) != 43 || !isBase64URL(got) {
				t.Fatalf("thumbprint %q is not 43 base64url characters", got)
			}
			// Agree with go-jose's own computation.
			pub, _ := publicKey(tc.key)
			sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
			if err != nil || b64(sum) != got {
				t.Fatalf("go-jose thumbprint %s, err %v; got %s", b64(sum), err, got)
			}
		})
	}
}

func TestKeyAuthorization(t *testing.T) {
	key := rfc7638Key(t)
	for _, tc := range []struct {
		name, token, want, wantErr string
	}{
		{"ok/token", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." + rfc7638Thumbprint, ""},
		{"fail/empty-token", "", "", TypeMalformed},
		{"fail/token-with-dot", "abc.def", "", TypeMalformed},
		{"fail/token-with-padding", "abc=", "", TypeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KeyAuthorization(tc.token, key)
			wantErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("fail/private-key", func(t *testing.T) {
		_, err := KeyAuthorization("abc", testKeys().p256)
		wantErr(t, err, TypeBadPublicKey)
	})
}

func TestParseJWK(t *testing.T) {
	k := testKeys()
	p521 := jwkJSON(t, k.p521.Public())
	var p521m map[string]string
	_ = json.Unmarshal([]byte(p521), &p521m)
	x, _ := decodeBase64URL(p521m["x"])
	shortX := `{"kty":"EC","crv":"P-521","x":"` + b64(x[1:]) + `","y":"` + p521m["y"] + `"}`
	for _, tc := range []struct {
		name   string
		jwk    string
		policy bool
		want   string
	}{
		{"ok/p521", p521, true, ""},
		{"ok/rsa-4096", jwkJSON(t, k.rsa4096.Public()), true, ""},
		{"ok/rsa-e3", `{"kty":"RSA","n":"` + rfc7638N + `","e":"Aw"}`, true, ""},
		{"ok/extra-members-ignored", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","use":"sig","key_ops":["verify"]}`, true, ""},
		{"ok/rsa-1024-without-policy", jwkJSON(t, k.rsa1024.Public()), false, ""},
		{"fail/rsa-1024-with-policy", jwkJSON(t, k.rsa1024.Public()), true, TypeBadPublicKey},
		{"fail/rsa-e1", `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQ"}`, true, TypeBadPublicKey},
		{"fail/rsa-e-huge", `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAAAAAB"}`, true, TypeBadPublicKey},
		{"fail/rsa-e-2^31+1", `{"kty":"RSA","n":"` + rfc7638N + `","e":"gAAAAQ"}`, true, TypeBadPublicKey},
		{"fail/rsa-even-n", `{"kty":"RSA","n":"` + rfc7638N[:len(rfc7638N)-1] + `g","e":"AQAB"}`, true, TypeBadPublicKey},
		{"fail/rsa-missing-e", `{"kty":"RSA","n":"` + rfc7638N + `"}`, true, TypeMalformed},
		{"fail/rsa-n-not-base64url", `{"kty":"RSA","n":"a+b","e":"AQAB"}`, true, TypeMalformed},
		{"fail/rsa-n-number", `{"kty":"RSA","n":12,"e":"AQAB"}`, true, TypeMalformed},
		{"fail/ec-short-x", shortX, true, TypeBadPublicKey},
		{"fail/ec-missing-crv", `{"kty":"EC","x":"AA","y":"AA"}`, true, TypeBadPublicKey},
		{"fail/ec-identity", `{"kty":"EC","crv":"P-256","x":"` + b64(make([]byte, 32)) + `","y":"` + b64(make([]byte, 32)) + `"}`, true, TypeBadPublicKey},
		{"fail/ed25519-short", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X[:40] + `"}`, true, TypeBadPublicKey},
		{"fail/ed25519-private", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":"` + rfc8037D + `"}`, false, TypeBadPublicKey},
		{"fail/ed448", `{"kty":"OKP","crv":"Ed448","x":"AA"}`, true, TypeBadPublicKey},
		{"fail/akp-private", `{"kty":"AKP","alg":"ML-DSA-44","pub":"AA","priv":"AA"}`, true, TypeBadPublicKey},
		{"fail/akp", `{"kty":"AKP","alg":"ML-DSA-44","pub":"AA"}`, true, TypeBadPublicKey},
		{"fail/kty-number", `{"kty":1}`, true, TypeMalformed},
		{"fail/kty-empty", `{"kty":""}`, true, TypeMalformed},
		{"fail/rsa-private-p-only", `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","p":"AQ"}`, true, TypeBadPublicKey},
		{"fail/array", `[]`, true, TypeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := parseJWK(json.RawMessage(tc.jwk), tc.policy)
			wantErr(t, err, tc.want)
			if tc.want == "" && (key == nil || !key.IsPublic()) {
				t.Fatalf("got %v", key)
			}
		})
	}
}

func TestParseJWKExported(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name string
		jwk  string
		want string
	}{
		{"ok/rsa-4096", jwkJSON(t, k.rsa4096.Public()), ""},
		{"ok/rsa-1024-stored-before-policy", jwkJSON(t, k.rsa1024.Public()), ""},
		{"ok/ed25519", jwkJSON(t, k.ed.Public()), ""},
		{"fail/private", mustJSON(t, jose.JSONWebKey{Key: k.p384}), TypeBadPublicKey},
		{"fail/not-json", "{", TypeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseJWK([]byte(tc.jwk))
			wantErr(t, err, tc.want)
			if tc.want == "" && !key.IsPublic() {
				t.Fatal("not a public key")
			}
		})
	}
	t.Run("ok/rsa-8192-round-trip", func(t *testing.T) {
		// go-jose's own UnmarshalJSON refuses moduli above 4096 bits.
		n := new(big.Int).Lsh(big.NewInt(1), 8191)
		n.Or(n, big.NewInt(0xfff1))
		pub := &rsa.PublicKey{N: n, E: 65537}
		b, err := jose.JSONWebKey{Key: pub}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var viaJose jose.JSONWebKey
		if viaJose.UnmarshalJSON(b) == nil {
			t.Log("go-jose now accepts 8192-bit RSA JWKs")
		}
		key, err := ParseJWK(b)
		wantErr(t, err, "")
		if !pub.Equal(key.Key) {
			t.Fatal("round trip changed the key")
		}
	})
}

func TestAlgorithmListsAreFresh(t *testing.T) {
	a := Algorithms()
	a[0] = "none"
	if Algorithms()[0] == "none" {
		t.Fatal("Algorithms shares its backing array")
	}
	for _, alg := range Algorithms() {
		if !allowedAlg(alg) || hashFor(alg) == 0 && alg != AlgEdDSA {
			t.Fatalf("inconsistent algorithm %s", alg)
		}
	}
	for _, alg := range MACAlgorithms() {
		if allowedAlg(alg) || hashFor(alg) == 0 {
			t.Fatalf("inconsistent MAC algorithm %s", alg)
		}
	}
}
