package policy

import (
	"crypto/x509"
	"encoding/pem"

	"github.com/certgate/certgate/ca-core/fault"
)

// MaxCSRSize bounds a PKCS#10 request. Real CSRs are a few KiB; RSA-4096
// with many extensions stays well under.
const MaxCSRSize = 64 << 10

// ParseCSR parses a DER (or PEM) PKCS#10 request and verifies its
// self-signature, the proof that the requester holds the private key.
func ParseCSR(b []byte) (*x509.CertificateRequest, error) {
	if len(b) == 0 {
		return nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.missing", Field: "csr", Detail: "no certificate request was sent"}
	}
	if len(b) > MaxCSRSize {
		return nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.too_large", Field: "csr",
			Detail: "the certificate request is larger than 64 KiB"}
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.malformed", Field: "csr", Detail: "PEM block is a " + blk.Type + ", not a CERTIFICATE REQUEST"}
		}
		b = blk.Bytes
	}
	csr, err := x509.ParseCertificateRequest(b)
	if err != nil {
		return nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.malformed", Field: "csr", Detail: "the certificate request does not parse: " + err.Error()}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.signature", Field: "csr",
			Detail: "the certificate request's signature does not verify with its public key (no proof of possession): " + err.Error()}
	}
	return csr, nil
}
