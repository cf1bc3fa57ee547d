package cms_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/cms"
)

func recipient(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x01ff), Subject: pkix.Name{CommonName: "device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// Every cipher round-trips through an independent CMS reader, with the
// algorithm identifier the client asked for.
func TestEnvelopeDecryptsElsewhere(t *testing.T) {
	cert, key := recipient(t)
	for _, c := range []cms.Cipher{cms.AES256CBC, cms.AES128CBC, cms.DES3CBC, cms.DESCBC} {
		for _, size := range []int{0, 1, 15, 16, 17, 1000} {
			content := bytes.Repeat([]byte{0xa5}, size)
			der, err := cms.Envelope(content, cert, c)
			if err != nil {
				t.Fatalf("%v: %v", c, err)
			}
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatalf("%v/%d: parse: %v", c, size, err)
			}
			got, err := p7.Decrypt(cert, key)
			if err != nil {
				t.Fatalf("%v/%d: decrypt: %v", c, size, err)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("%v/%d: got %x", c, size, got)
			}
		}
	}
}

func TestCipherOf(t *testing.T) {
	for _, tc := range []struct {
		oid  []int
		want cms.Cipher
	}{
		{cms.OIDAES256CBC, cms.AES256CBC}, {cms.OIDAES256GCM, cms.AES256CBC}, {cms.OIDAES128CBC, cms.AES128CBC},
		{cms.OIDAES128GCM, cms.AES128CBC}, {cms.OIDDES3CBC, cms.DES3CBC}, {cms.OIDDESCBC, cms.DESCBC},
	} {
		if got, ok := cms.CipherOf(tc.oid); !ok || got != tc.want {
			t.Errorf("CipherOf(%v) = %v, %v; want %v", tc.oid, got, ok, tc.want)
		}
	}
	if _, ok := cms.CipherOf([]int{1, 2, 3}); ok {
		t.Error("an unknown OID maps to a cipher")
	}
}
