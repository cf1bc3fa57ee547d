package ocspwire

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// CertID names one certificate in a request and in the SingleResponse that
// answers it (RFC 6960 §4.1.1):
//
//	CertID ::= SEQUENCE {
//	    hashAlgorithm   AlgorithmIdentifier,
//	    issuerNameHash  OCTET STRING, -- Hash of issuer's DN
//	    issuerKeyHash   OCTET STRING, -- Hash of issuer's public key
//	    serialNumber    CertificateSerialNumber }
//
// The hashes are those of the issuer's DER subject Name and of the value of
// the BIT STRING subjectPublicKey in its SubjectPublicKeyInfo (tag, length
// and unused-bits octet excluded).
type CertID struct {
	// HashAlgorithm is crypto.SHA1, SHA256, SHA384 or SHA512.
	HashAlgorithm  crypto.Hash
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	// SerialNumber is zero or positive.
	SerialNumber *big.Int
	// Raw is the DER CertID as received (ParseRequest) or as encoded
	// (NewCertID). CreateResponse writes it unchanged, so that a response
	// echoes the client's exact bytes (hash parameters NULL or absent).
	Raw []byte
}

// NewCertID returns the CertID of the certificate with the given serial
// number issued by issuer, hashed with h, with Raw set. The hash algorithm
// is written with NULL parameters, as OpenSSL and the RFC 6960 examples do.
func NewCertID(h crypto.Hash, issuer *x509.Certificate, serial *big.Int) (CertID, error) {
	if issuer == nil || serial == nil {
		return CertID{}, errors.New("ocspwire: NewCertID: nil issuer or serial number")
	}
	keyHash, err := KeyHash(h, issuer.RawSubjectPublicKeyInfo)
	if err != nil {
		return CertID{}, err
	}
	id := CertID{
		HashAlgorithm:  h,
		IssuerNameHash: hashSum(h, issuer.RawSubject),
		IssuerKeyHash:  keyHash,
		SerialNumber:   new(big.Int).Set(serial),
	}
	if id.Raw, err = id.marshal(); err != nil {
		return CertID{}, err
	}
	return id, nil
}

// IssuerMatches reports whether id names a certificate issued by issuer:
// both hashes, computed with id.HashAlgorithm from issuer's subject and
// public key, equal those in id. The serial number is not looked at. The
// comparison is not constant-time; the hashes are public.
func IssuerMatches(id CertID, issuer *x509.Certificate) bool {
	if issuer == nil {
		return false
	}
	keyHash, err := KeyHash(id.HashAlgorithm, issuer.RawSubjectPublicKeyInfo)
	if err != nil {
		return false
	}
	return bytes.Equal(keyHash, id.IssuerKeyHash) &&
		bytes.Equal(hashSum(id.HashAlgorithm, issuer.RawSubject), id.IssuerNameHash)
}

// Key returns a string that is equal for two CertIDs exactly when their
// hash algorithm, hashes and serial number are equal, whatever their Raw
// encoding; use it as a map key. It is also readable in logs.
func (id CertID) Key() string {
	serial := "<nil>"
	if id.SerialNumber != nil {
		serial = id.SerialNumber.Text(16)
	}
	return fmt.Sprintf("%s/%s/%s/%s", id.HashAlgorithm, hex.EncodeToString(id.IssuerNameHash),
		hex.EncodeToString(id.IssuerKeyHash), serial)
}

// KeyHash returns the hash, with h, of the subjectPublicKey BIT STRING value
// of a DER SubjectPublicKeyInfo (x509.Certificate.RawSubjectPublicKeyInfo):
// the issuerKeyHash of a CertID, and with crypto.SHA1 the byKey
// ResponderID (RFC 6960 §4.1.1 and §4.2.1).
func KeyHash(h crypto.Hash, spki []byte) ([]byte, error) {
	if _, ok := oidForHash(h); !ok {
		return nil, fmt.Errorf("ocspwire: unsupported CertID hash algorithm %v", h)
	}
	in := cryptobyte.String(spki)
	var seq cryptobyte.String
	var key []byte
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.SkipASN1(asn1.SEQUENCE) || !seq.ReadASN1BitStringAsBytes(&key) || !seq.Empty() {
		return nil, errors.New("ocspwire: invalid SubjectPublicKeyInfo")
	}
	return hashSum(h, key), nil
}

// ResponderKeyHash returns the byKey ResponderID of a responder with public
// key pub: the SHA-1 hash of its subjectPublicKey BIT STRING value (RFC 6960
// §4.2.1). For a certificate, KeyHash(crypto.SHA1,
// cert.RawSubjectPublicKeyInfo) gives the same bytes.
func ResponderKeyHash(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ocspwire: responder key: %w", err)
	}
	return KeyHash(crypto.SHA1, spki)
}

// hashSum hashes data with one of the CertID hash algorithms; nil for any
// other.
func hashSum(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA1:
		s := sha1.Sum(data)
		return s[:]
	case crypto.SHA256:
		s := sha256.Sum256(data)
		return s[:]
	case crypto.SHA384:
		s := sha512.Sum384(data)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(data)
		return s[:]
	}
	return nil
}

// marshal encodes id from its fields, ignoring Raw.
func (id CertID) marshal() ([]byte, error) {
	oid, ok := oidForHash(id.HashAlgorithm)
	if !ok {
		return nil, fmt.Errorf("ocspwire: CertID: unsupported hash algorithm %v", id.HashAlgorithm)
	}
	if n := id.HashAlgorithm.Size(); len(id.IssuerNameHash) != n || len(id.IssuerKeyHash) != n {
		return nil, fmt.Errorf("ocspwire: CertID: %v hashes must be %d octets, got %d and %d",
			id.HashAlgorithm, n, len(id.IssuerNameHash), len(id.IssuerKeyHash))
	}
	if id.SerialNumber == nil || id.SerialNumber.Sign() < 0 {
		return nil, errors.New("ocspwire: CertID: serial number missing or negative")
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes([]byte(oid)) })
			b.AddASN1NULL()
		})
		b.AddASN1OctetString(id.IssuerNameHash)
		b.AddASN1OctetString(id.IssuerKeyHash)
		b.AddASN1BigInt(id.SerialNumber)
	})
	return b.Bytes()
}

// parseCertID parses one DER CertID element; the returned CertID's Raw and
// hashes alias raw. Errors name the field as fmt.Sprintf(field, i).
func parseCertID(raw []byte, field string, i int) (CertID, *MalformedError) {
	where := func() string { return fmt.Sprintf(field, i) }
	in := cryptobyte.String(raw)
	var seq, algID, oid, nameHash, keyHash cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&algID, asn1.SEQUENCE) ||
		!algID.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || !validOID(oid) {
		return CertID{}, malformed(MalformedSyntax, "%s: hashAlgorithm is not an AlgorithmIdentifier", where())
	}
	if !algID.Empty() {
		var null cryptobyte.String
		if !algID.ReadASN1(&null, asn1.NULL) || !null.Empty() || !algID.Empty() {
			return CertID{}, malformed(MalformedCertID, "%s: hashAlgorithm parameters must be NULL or absent", where())
		}
	}
	h, ok := hashForOID(oid)
	if !ok {
		return CertID{}, malformed(MalformedHashAlgorithm, "%s: hashAlgorithm %s (want SHA-1, SHA-256, SHA-384 or SHA-512)",
			where(), oidString(oid))
	}
	id := CertID{HashAlgorithm: h, SerialNumber: new(big.Int), Raw: raw}
	if !seq.ReadASN1(&nameHash, asn1.OCTET_STRING) || !seq.ReadASN1(&keyHash, asn1.OCTET_STRING) ||
		!seq.ReadASN1Integer(id.SerialNumber) || !seq.Empty() {
		return CertID{}, malformed(MalformedSyntax, "%s: want issuerNameHash, issuerKeyHash and serialNumber", where())
	}
	if len(nameHash) != h.Size() || len(keyHash) != h.Size() {
		return CertID{}, malformed(MalformedCertID, "%s: %v hashes must be %d octets, got %d and %d",
			where(), h, h.Size(), len(nameHash), len(keyHash))
	}
	if id.SerialNumber.Sign() < 0 {
		return CertID{}, malformed(MalformedCertID, "%s: negative serialNumber", where())
	}
	id.IssuerNameHash, id.IssuerKeyHash = nameHash, keyHash
	return id, nil
}
