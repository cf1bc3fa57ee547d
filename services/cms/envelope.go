// Package cms builds CMS EnvelopedData (RFC 5652 §6) with the content
// cipher chosen per message. github.com/smallstep/pkcs7 reads every
// variant but encrypts with a process-wide cipher setting; SCEP must answer
// each client in the cipher it used, so the encrypting half lives here.
package cms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Cipher is a content-encryption algorithm.
type Cipher int

// Content ciphers, weakest last. DES exists only for SCEP clients that
// offer nothing else.
const (
	AES256CBC Cipher = iota
	AES128CBC
	DES3CBC
	DESCBC
)

// OIDs of the ciphers and structures.
var (
	OIDAES256CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	OIDAES128CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	OIDAES128GCM = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}
	OIDAES256GCM = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	OIDDES3CBC   = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	OIDDESCBC    = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}

	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

var ciphers = map[Cipher]struct {
	oid     asn1.ObjectIdentifier
	keyLen  int
	block   func([]byte) (cipher.Block, error)
	display string
}{
	AES256CBC: {OIDAES256CBC, 32, aes.NewCipher, "AES-256-CBC"},
	AES128CBC: {OIDAES128CBC, 16, aes.NewCipher, "AES-128-CBC"},
	DES3CBC:   {OIDDES3CBC, 24, des.NewTripleDESCipher, "3DES-CBC"},
	DESCBC:    {OIDDESCBC, 8, des.NewCipher, "DES-CBC"},
}

func (c Cipher) String() string { return ciphers[c].display }

// CipherOf maps a content-encryption OID to the cipher an answer should
// use: the same family and strength (GCM requests get CBC answers of the
// same key size, which every client that sends GCM reads).
func CipherOf(oid asn1.ObjectIdentifier) (Cipher, bool) {
	switch {
	case oid.Equal(OIDAES256CBC), oid.Equal(OIDAES256GCM):
		return AES256CBC, true
	case oid.Equal(OIDAES128CBC), oid.Equal(OIDAES128GCM), oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}),
		oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 26}):
		// AES-192 (CBC, GCM) is answered with AES-128: no client offers
		// AES-192 only, and RFC 8894's "AES" capability means AES-128.
		return AES128CBC, true
	case oid.Equal(OIDDES3CBC):
		return DES3CBC, true
	case oid.Equal(OIDDESCBC):
		return DESCBC, true
	}
	return 0, false
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type envelopedData struct {
	Version              int
	RecipientInfos       []keyTransRecipientInfo `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
}

type keyTransRecipientInfo struct {
	Version                int
	IssuerAndSerialNumber  issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type issuerAndSerial struct {
	Issuer       asn1.RawValue
	SerialNumber asn1.RawValue
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           []byte `asn1:"tag:0,optional"`
}

// Envelope encrypts content with a fresh key in cipher c and the key to
// recipient's RSA public key (PKCS #1 v1.5 key transport, which every SCEP
// and EST client decrypts), and returns a DER ContentInfo.
func Envelope(content []byte, recipient *x509.Certificate, c Cipher) ([]byte, error) {
	spec, ok := ciphers[c]
	if !ok {
		return nil, fmt.Errorf("cms: unknown cipher %d", c)
	}
	pub, ok := recipient.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("cms: the recipient's key is not RSA")
	}
	key := make([]byte, spec.keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := spec.block(key)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, block.BlockSize())
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	// PKCS #7 padding (RFC 5652 §6.3): always at least one byte.
	pad := block.BlockSize() - len(content)%block.BlockSize()
	buf := make([]byte, len(content)+pad)
	copy(buf, content)
	for i := len(content); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	//lint:ignore SA1019 SCEP and EST clients decrypt only PKCS #1 v1.5 key transport (RFC 8894 §3.2.2)
	encKey, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	if err != nil {
		return nil, err
	}
	ivParam, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	ed := envelopedData{
		RecipientInfos: []keyTransRecipientInfo{{
			IssuerAndSerialNumber:  issuerAndSerial{Issuer: asn1.RawValue{FullBytes: recipient.RawIssuer}, SerialNumber: mustSerial(recipient)},
			KeyEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
			EncryptedKey:           encKey,
		}},
		EncryptedContentInfo: encryptedContentInfo{ContentType: oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: spec.oid, Parameters: asn1.RawValue{FullBytes: ivParam}},
			EncryptedContent:           buf},
	}
	inner, err := asn1.Marshal(ed)
	if err != nil {
		return nil, err
	}
	return ContentInfo(oidEnvelopedData, inner)
}

// ContentInfo wraps DER content of type oid (RFC 5652 §3).
func ContentInfo(oid asn1.ObjectIdentifier, content []byte) ([]byte, error) {
	return asn1.Marshal(contentInfo{ContentType: oid, Content: asn1.RawValue{FullBytes: explicit0(content)}})
}

func mustSerial(c *x509.Certificate) asn1.RawValue {
	b, _ := asn1.Marshal(c.SerialNumber)
	return asn1.RawValue{FullBytes: b}
}

// explicit0 wraps DER in a context-specific constructed [0] tag.
func explicit0(der []byte) []byte {
	b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der})
	return b
}
