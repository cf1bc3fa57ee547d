package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	testURL   = "https://acme.example/acme/new-order"
	testKID   = "https://acme.example/acme/acct/17"
	testNonce = "oFvnlFP1wIhRlYS2jTaXbA"
)

// testKeySet holds the private keys the tests sign with. Generating RSA keys
// is slow, so they are made once per test binary.
type testKeySet struct {
	rsa1024, rsa2048, rsa4096 *rsa.PrivateKey
	p256, p256b, p384, p521   *ecdsa.PrivateKey
	ed, edb                   ed25519.PrivateKey
}

var testKeys = sync.OnceValue(func() *testKeySet {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var k testKeySet
	var err error
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa4096, err = rsa.GenerateKey(rand.Reader, 4096)
	must(err)
	k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p256b, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.edb, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return &k
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkJSON returns the public JWK of pub as go-jose serializes it.
func jwkJSON(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	b, err := jose.JSONWebKey{Key: pub}.MarshalJSON()
	if err != nil {
		t.Fatalf("marshal jwk: %v", err)
	}
	return string(b)
}

// rawSign signs input the way RFC 7518 specifies for alg, using key. der
// selects the (wrong, for JWS) ASN.1 DER form of ECDSA signatures.
func rawSign(t testing.TB, alg string, key crypto.Signer, input []byte, der bool) []byte {
	t.Helper()
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input)
	case *rsa.PrivateKey:
		h := hashFor(alg)
		if h == 0 {
			h = crypto.SHA256
		}
		d := h.New()
		d.Write(input)
		sig, err := rsa.SignPKCS1v15(nil, k, h, d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		h := hashFor(alg)
		if h == 0 {
			h = crypto.SHA256
		}
		d := h.New()
		d.Write(input)
		if der {
			sig, err := ecdsa.SignASN1(rand.Reader, k, d.Sum(nil))
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		size := coordSize(k.Curve)
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
	t.Fatalf("unsupported key %T", key)
	return nil
}

// handJWS is a flattened JWS assembled by hand, for inputs go-jose refuses to
// produce.
type handJWS struct {
	Protected string `json:"protected"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func (j handJWS) body() []byte {
	b, err := json.Marshal(j)
	if err != nil {
		panic(err)
	}
	return b
}

// signHand builds a flattened JWS from a literal protected header and payload
// bytes, signed with key for alg.
func signHand(t testing.TB, alg string, key crypto.Signer, header string, payload []byte) handJWS {
	t.Helper()
	j := handJWS{Protected: b64([]byte(header)), Payload: b64(payload)}
	j.Signature = b64(rawSign(t, alg, key, []byte(j.Protected+"."+j.Payload), false))
	return j
}

// header renders a protected header. Values are JSON-encoded unless they are
// json.RawMessage; members are emitted in the given order.
func header(kv ...any) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte(',')
		}
		name, _ := json.Marshal(kv[i].(string))
		sb.Write(name)
		sb.WriteByte(':')
		if raw, ok := kv[i+1].(json.RawMessage); ok {
			sb.Write(raw)
		} else {
			v, err := json.Marshal(kv[i+1])
			if err != nil {
				panic(err)
			}
			sb.Write(v)
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

type staticNonce string

func (n staticNonce) Nonce() (string, error) { return string(n), nil }

// joseSign produces a request with go-jose's signer, as lego does. An empty
// kid embeds the jwk instead.
func joseSign(t testing.TB, alg jose.SignatureAlgorithm, key crypto.Signer, kid, nonce, url string, payload []byte) []byte {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: kid == ""}
	if nonce != "" {
		opts.NonceSource = staticNonce(nonce)
	}
	if url != "" {
		opts = opts.WithHeader("url", url)
	}
	var sk any = key
	if kid != "" {
		sk = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: sk}, opts)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return []byte(obj.FullSerialize())
}

// mutate decodes a flattened JWS body, lets f edit its members and
// re-encodes it.
func mutate(t testing.TB, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantErr fails unless err is an *Error of type typ ("" means no error).
func wantErr(t testing.TB, err error, typ string) {
	t.Helper()
	if typ == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error of type %s, got %v (%T)", typ, err, err)
	}
	if e.Type != typ {
		t.Fatalf("want error type %s, got %s: %s", typ, e.Type, e.Detail)
	}
	if typ == TypeBadSignatureAlgorithm && len(e.Algorithms) == 0 {
		t.Fatalf("badSignatureAlgorithm without algorithms: %v", e)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
