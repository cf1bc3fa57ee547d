package xcep

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Extension is an X.509 v3 extension that a policy asks clients to put in
// their requests ([MS-XCEP] §3.1.4.1.3.12).
type Extension struct {
	OID      string // dotted, e.g. 2.5.29.15
	Critical bool
	Value    []byte // DER extnValue; nil is sent as xsi:nil

	// err is set by the helpers below when their input cannot be encoded.
	// They keep a plain Extension result so that a template can be written
	// as one literal; BuildResponse reports the error instead.
	err error
}

// Extension and algorithm OIDs this package names.
const (
	oidKeyUsage          = "2.5.29.15"
	oidExtKeyUsage       = "2.5.29.37"
	oidApplicationPolicy = "1.3.6.1.4.1.311.21.10" // szOID_APPLICATION_CERT_POLICIES
	oidTemplateInfo      = "1.3.6.1.4.1.311.21.7"  // szOID_CERTIFICATE_TEMPLATE
	oidTemplateName      = "1.3.6.1.4.1.311.20.2"  // szOID_ENROLL_CERTTYPE_EXTENSION
	oidSMIMECapabilities = "1.2.840.113549.1.9.15"
	oidSubjectAltName    = "2.5.29.17"
	oidBasicConstraints  = "2.5.29.19"
	oidCertificatePolicy = "2.5.29.32"
	oidRSA               = "1.2.840.113549.1.1.1"
	oidECPublicKey       = "1.2.840.10045.2.1"
	oidSHA1              = "1.3.14.3.2.26"
	oidSHA256            = "2.16.840.1.101.3.4.2.1"
	oidSHA384            = "2.16.840.1.101.3.4.2.2"
	oidSHA512            = "2.16.840.1.101.3.4.2.3"
)

// oidNames gives oID/defaultName for well-known OIDs; §3.1.4.1.3.16 wants a
// name for every OID, and the OID itself stands in for unknown ones.
var oidNames = map[string]string{
	oidKeyUsage:          "Key Usage",
	oidExtKeyUsage:       "Enhanced Key Usage",
	oidApplicationPolicy: "Application Policies",
	oidTemplateInfo:      "Certificate Template Information",
	oidTemplateName:      "Certificate Template Name",
	oidSMIMECapabilities: "SMIME Capabilities",
	oidSubjectAltName:    "Subject Alternative Name",
	oidBasicConstraints:  "Basic Constraints",
	oidCertificatePolicy: "Certificate Policies",
	oidRSA:               "RSA",
	oidECPublicKey:       "ECC",
	oidSHA1:              "sha1",
	oidSHA256:            "sha256",
	oidSHA384:            "sha384",
	oidSHA512:            "sha512",
}

// KeyUsageExtension returns a critical key usage extension (RFC 5280
// §4.2.1.3) with the bits of ku. DigitalSignature|KeyEncipherment encodes
// as AwIFoA==, the value in [MS-XCEP] §4.1.1.2.
func KeyUsageExtension(ku x509.KeyUsage) Extension {
	// x509.KeyUsage numbers the bits as RFC 5280 does: bit 0 is
	// digitalSignature, which DER puts in the high bit of the first byte.
	var b [2]byte
	for i := 0; i < 9; i++ {
		if ku&(1<<i) != 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	// DER drops trailing zero bits of a named bit list (X.690 §11.2.2).
	n := 16
	for n > 0 && b[(n-1)/8]&(0x80>>((n-1)%8)) == 0 {
		n--
	}
	return extension(oidKeyUsage, true, asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})
}

// EKUExtension returns a non-critical extended key usage extension (RFC 5280
// §4.2.1.12) listing oids. Windows clients also expect the matching
// ApplicationPoliciesExtension on schema 2 and 3 templates.
func EKUExtension(oids []asn1.ObjectIdentifier) Extension {
	if len(oids) == 0 {
		return Extension{OID: oidExtKeyUsage, err: errors.New("xcep: EKU extension needs at least one OID")}
	}
	return extension(oidExtKeyUsage, false, oids)
}

// ApplicationPoliciesExtension returns Microsoft's application policies
// extension (1.3.6.1.4.1.311.21.10), which has the syntax of certificate
// policies (RFC 5280 §4.2.1.4) and carries the EKU OIDs as policy
// identifiers without qualifiers.
func ApplicationPoliciesExtension(oids []asn1.ObjectIdentifier) Extension {
	if len(oids) == 0 {
		return Extension{OID: oidApplicationPolicy, err: errors.New("xcep: application policies extension needs at least one OID")}
	}
	type policyInformation struct{ ID asn1.ObjectIdentifier }
	infos := make([]policyInformation, len(oids))
	for i, o := range oids {
		infos[i].ID = o
	}
	return extension(oidApplicationPolicy, false, infos)
}

// TemplateInfoExtension returns Microsoft's certificate template
// information extension (1.3.6.1.4.1.311.21.7):
//
//	CertificateTemplate ::= SEQUENCE {
//	    templateID           OBJECT IDENTIFIER,
//	    templateMajorVersion INTEGER,
//	    templateMinorVersion INTEGER OPTIONAL }
//
// oid is the template's dotted OID. If it is not valid, or a version is
// negative, the returned Extension makes BuildResponse fail.
func TemplateInfoExtension(oid string, major, minor int) Extension {
	id, err := parseOID(oid)
	if err == nil && (major < 0 || minor < 0) {
		err = fmt.Errorf("negative template version %d.%d", major, minor)
	}
	if err != nil {
		return Extension{OID: oidTemplateInfo, err: fmt.Errorf("xcep: template information extension: %w", err)}
	}
	return extension(oidTemplateInfo, false, struct {
		ID           asn1.ObjectIdentifier
		Major, Minor int
	}{id, major, minor})
}

// extension DER-encodes v as the value of a new Extension.
func extension(oid string, critical bool, v any) Extension {
	der, err := asn1.Marshal(v)
	if err != nil {
		return Extension{OID: oid, Critical: critical, err: fmt.Errorf("xcep: encoding extension %s: %w", oid, err)}
	}
	return Extension{OID: oid, Critical: critical, Value: der}
}

// parseOID parses a dotted object identifier with the constraints of X.690
// §8.19: at least two arcs, the first 0, 1 or 2, the second below 40 unless
// the first is 2, and decimal arcs without leading zeros. Arcs are limited
// to 31 bits, which every OID of a Windows template fits, so that
// encoding/asn1 never sees an arc it would overflow.
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 1 && p[0] == '0' || strings.TrimLeft(p, "0123456789") != "" {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a dotted OID: arc %q out of range", s, p)
		}
		oid[i] = int(n)
	}
	if oid[0] > 2 || oid[0] < 2 && oid[1] >= 40 {
		return nil, fmt.Errorf("%q is not a valid OID", s)
	}
	return oid, nil
}
