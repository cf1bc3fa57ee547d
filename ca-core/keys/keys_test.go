package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
)

func TestEveryTypeGeneratesAndIsRecognised(t *testing.T) {
	for _, kt := range All {
		if kt == RSA4096 && testing.Short() {
			continue
		}
		k, err := Generate(rand.Reader, kt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Of(k.Public())
		if err != nil || got != kt {
			t.Errorf("%s: Of = %v, %v", kt, got, err)
		}
		if again, err := Parse(string(kt)); err != nil || again != kt {
			t.Errorf("%s: Parse = %v, %v", kt, again, err)
		}
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Of(pub); err == nil {
		t.Error("Ed25519 was accepted")
	}
}

// TestSubjectKeyIDMatchesOpenSSL checks RFC 7093 method 1 against an
// independent implementation: the SHA-256 of the key's BIT STRING as
// OpenSSL extracts it.
func TestSubjectKeyIDMatchesOpenSSL(t *testing.T) {
	k, err := Generate(rand.Reader, P256)
	if err != nil {
		t.Fatal(err)
	}
	ski, err := SubjectKeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	// For an uncompressed P-256 point the BIT STRING value is the last 65
	// bytes of the SubjectPublicKeyInfo.
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hex")
	cmd.Stdin = strings.NewReader(string(der[len(der)-65:]))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	fields := strings.Fields(string(out))
	want := fields[len(fields)-1][:40]
	if got := hex.EncodeToString(ski); got != want {
		t.Fatalf("SKI %s, want %s", got, want)
	}
}
