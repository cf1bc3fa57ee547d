package pkcs11_test

import (
	"crypto"
	"crypto/rand"
	"testing"

	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer/pkcs11/softhsmtest"
)

// BenchmarkSign measures the raw token signing rate of one key from many
// goroutines over the default session pool: a SHA-256 digest signed with
// ECDSA P-256 or RSA-2048 PKCS #1 v1.5.
func BenchmarkSign(b *testing.B) {
	for _, kt := range []keys.Type{keys.P256, keys.RSA2048} {
		b.Run(string(kt), func(b *testing.B) {
			cfg := softhsmtest.NewToken(b)
			be := open(b, cfg)
			_, s := generate(b, be, kt)
			d := digest(crypto.SHA256, "benchmark")
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
