package ocspwire

import (
	"crypto"
	encasn1 "encoding/asn1"
	"encoding/hex"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers, as the contents octets of their DER encoding so that
// they compare with what cryptobyte reads without decoding. oid_test.go
// checks each against its dotted form.
const (
	// RFC 6960 §4.4 and Appendix B.
	oidOCSPBasic = "\x2b\x06\x01\x05\x05\x07\x30\x01\x01" // 1.3.6.1.5.5.7.48.1.1 id-pkix-ocsp-basic
	oidOCSPNonce = "\x2b\x06\x01\x05\x05\x07\x30\x01\x02" // 1.3.6.1.5.5.7.48.1.2 id-pkix-ocsp-nonce

	// RFC 3279 §2.1 and RFC 5754 §2: CertID hash algorithms.
	oidSHA1   = "\x2b\x0e\x03\x02\x1a"                 // 1.3.14.3.2.26
	oidSHA256 = "\x60\x86\x48\x01\x65\x03\x04\x02\x01" // 2.16.840.1.101.3.4.2.1
	oidSHA384 = "\x60\x86\x48\x01\x65\x03\x04\x02\x02" // 2.16.840.1.101.3.4.2.2
	oidSHA512 = "\x60\x86\x48\x01\x65\x03\x04\x02\x03" // 2.16.840.1.101.3.4.2.3

	// RFC 4055 §5 and RFC 8017 Appendix C: RSA signatures.
	oidSHA256WithRSA = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b" // 1.2.840.113549.1.1.11
	oidSHA384WithRSA = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c" // 1.2.840.113549.1.1.12
	oidSHA512WithRSA = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d" // 1.2.840.113549.1.1.13
	oidRSASSAPSS     = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a" // 1.2.840.113549.1.1.10
	oidMGF1          = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08" // 1.2.840.113549.1.1.8

	// RFC 5758 §3.2: ECDSA signatures.
	oidECDSAWithSHA256 = "\x2a\x86\x48\xce\x3d\x04\x03\x02" // 1.2.840.10045.4.3.2
	oidECDSAWithSHA384 = "\x2a\x86\x48\xce\x3d\x04\x03\x03" // 1.2.840.10045.4.3.3
	oidECDSAWithSHA512 = "\x2a\x86\x48\xce\x3d\x04\x03\x04" // 1.2.840.10045.4.3.4
)

// hashForOID returns the CertID hash algorithm an OID names.
func hashForOID(oid []byte) (crypto.Hash, bool) {
	switch string(oid) {
	case oidSHA1:
		return crypto.SHA1, true
	case oidSHA256:
		return crypto.SHA256, true
	case oidSHA384:
		return crypto.SHA384, true
	case oidSHA512:
		return crypto.SHA512, true
	}
	return 0, false
}

// oidForHash is the inverse of hashForOID.
func oidForHash(h crypto.Hash) (string, bool) {
	switch h {
	case crypto.SHA1:
		return oidSHA1, true
	case crypto.SHA256:
		return oidSHA256, true
	case crypto.SHA384:
		return oidSHA384, true
	case crypto.SHA512:
		return oidSHA512, true
	}
	return "", false
}

// validOID reports whether b is the contents of a DER OBJECT IDENTIFIER:
// at least one subidentifier, each in minimal base-128 form.
func validOID(b []byte) bool {
	if len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		return false
	}
	start := true
	for _, c := range b {
		if start && c == 0x80 {
			return false // leading 0x80: not minimal
		}
		start = c&0x80 == 0
	}
	return true
}

// oidString formats OID contents for error messages: dotted when the arcs
// fit in an int, hex otherwise.
func oidString(b []byte) string {
	var der cryptobyte.Builder
	der.AddASN1(asn1.OBJECT_IDENTIFIER, func(c *cryptobyte.Builder) { c.AddBytes(b) })
	raw, err := der.Bytes()
	s := cryptobyte.String(raw)
	var oid encasn1.ObjectIdentifier
	if err == nil && s.ReadASN1ObjectIdentifier(&oid) {
		return oid.String()
	}
	return "OID " + hex.EncodeToString(b)
}
