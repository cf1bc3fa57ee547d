package soft

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/ca-core/keys"
)

var secret = []byte("correct horse battery staple")

func TestGeneratedKeyLoadsAndSigns(t *testing.T) {
	ctx := context.Background()
	b, err := New(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []keys.Type{keys.RSA2048, keys.P256, keys.P384, keys.P521} {
		t.Run("ok/"+string(kt), func(t *testing.T) {
			ref, s, err := b.Generate(ctx, kt, "t/ca")
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := keys.Of(s.Public()); got != kt {
				t.Fatalf("generated %v, want %v", got, kt)
			}
			// A new backend with the same secret stands for a restarted process.
			b2, _ := New(secret, nil)
			loaded, err := b2.Load(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("tbs"))
			sig, err := loaded.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := s.Public().(type) {
			case *rsa.PublicKey:
				err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, digest[:], sig) {
					err = errors.New("ECDSA signature does not verify")
				}
			}
			if err != nil {
				t.Fatalf("signature from the loaded key does not verify with the generated public key: %v", err)
			}
		})
	}
}

func TestRefDoesNotContainKeyInClear(t *testing.T) {
	b, _ := New(secret, nil)
	ref, s, err := b.Generate(context.Background(), keys.P256, "x")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ref, string(d)) || strings.Contains(ref, base64.RawURLEncoding.EncodeToString(d)) {
		t.Fatal("ref contains the private scalar")
	}
}

func TestLoadFailures(t *testing.T) {
	ctx := context.Background()
	b, _ := New(secret, nil)
	ref, _, err := b.Generate(ctx, keys.P256, "x")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New([]byte("another operator secret!"), nil)
	tampered := ref[:len(ref)-2] + "AA"
	if tampered == ref {
		tampered = ref[:len(ref)-2] + "BB"
	}
	for name, tc := range map[string]struct {
		b   *Backend
		ref string
	}{
		"fail/wrong-secret":   {other, ref},
		"fail/tampered":       {b, tampered},
		"fail/not-soft":       {b, "pkcs11:id=00"},
		"fail/truncated":      {b, "soft:v1:AAAA"},
		"fail/invalid-base64": {b, "soft:v1:!!!"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.b.Load(ctx, tc.ref); err == nil {
				t.Fatal("Load succeeded")
			}
		})
	}
	if _, err := New([]byte("short"), nil); err == nil {
		t.Error("a short secret was accepted")
	}
}

func BenchmarkSign(b *testing.B) {
	for _, kt := range []keys.Type{keys.P256, keys.RSA2048} {
		b.Run(string(kt), func(b *testing.B) {
			be, _ := New(secret, nil)
			_, s, err := be.Generate(context.Background(), kt, "bench")
			if err != nil {
				b.Fatal(err)
			}
			digest := sha256.Sum256([]byte("tbs"))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
