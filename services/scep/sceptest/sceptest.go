// Package sceptest builds SCEP requests (RFC 8894 pkiMessages) for tests:
// every message type, with the content cipher a test picks, which the
// smallstep client cannot (it knows PKCSReq-style requests only and
// encrypts with a process-wide cipher).
package sceptest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/cms"
)

// SCEP's authenticated attributes.
var (
	OIDMessageType   = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	OIDSenderNonce   = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	OIDTransactionID = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
)

// Message types.
const (
	PKCSReq    = "19"
	RenewalReq = "17"
	CertPoll   = "20"
	GetCert    = "21"
	GetCRL     = "22"
)

// Request describes a pkiMessage.
type Request struct {
	Type          string
	TransactionID string
	// Content is encrypted to Recipient: a DER CSR, IssuerAndSubject or
	// IssuerAndSerialNumber.
	Content   []byte
	Recipient *x509.Certificate
	// Cipher is a cms.Cipher, or a pkcs7.EncryptionAlgorithm* int for the
	// AES-GCM variants cms does not write.
	Cipher any
	// Signer signs the message: a self-signed certificate or the one
	// being renewed.
	Signer    *x509.Certificate
	SignerKey crypto.Signer
	// Digest defaults to SHA-256.
	Digest asn1.ObjectIdentifier
}

// Build returns the DER pkiMessage.
func Build(r Request) ([]byte, error) {
	var env []byte
	var err error
	switch c := r.Cipher.(type) {
	case cms.Cipher:
		env, err = cms.Envelope(r.Content, r.Recipient, c)
	case int:
		// pkcs7 encrypts with a package variable; tests run this
		// sequentially.
		old := pkcs7.ContentEncryptionAlgorithm
		pkcs7.ContentEncryptionAlgorithm = c
		env, err = pkcs7.Encrypt(r.Content, []*x509.Certificate{r.Recipient})
		pkcs7.ContentEncryptionAlgorithm = old
	default:
		return nil, fmt.Errorf("sceptest: cipher %T", r.Cipher)
	}
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.NewSignedData(env)
	if err != nil {
		return nil, err
	}
	if r.Digest == nil {
		r.Digest = pkcs7.OIDDigestAlgorithmSHA256
	}
	sd.SetDigestAlgorithm(r.Digest)
	nonce := make([]byte, 16)
	rand.Read(nonce)
	attrs := []pkcs7.Attribute{
		{Type: OIDTransactionID, Value: printable(r.TransactionID)},
		{Type: OIDMessageType, Value: printable(r.Type)},
		{Type: OIDSenderNonce, Value: nonce},
	}
	if err := sd.AddSigner(r.Signer, r.SignerKey, pkcs7.SignerInfoConfig{ExtraSignedAttributes: attrs}); err != nil {
		return nil, err
	}
	return sd.Finish()
}

func printable(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(s)}
}
