package scep

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/cms"
)

// messageType values (RFC 8894 §3.2.1.2).
const (
	typeCertRep    = "3"
	typeRenewalReq = "17"
	typeUpdateReq  = "18"
	typePKCSReq    = "19"
	typeCertPoll   = "20"
	typeGetCert    = "21"
	typeGetCRL     = "22"
)

// pkiStatus values (§3.2.1.3).
const (
	statusSuccess = "0"
	statusFailure = "2"
	statusPending = "3"
)

// failInfo values (§3.2.1.4).
const (
	failBadAlg          = "0"
	failBadMessageCheck = "1"
	failBadRequest      = "2"
	failBadTime         = "3"
	failBadCertID       = "4"
)

// SCEP's authenticated attributes (§3.2.1).
var (
	oidMessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidPKIStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidFailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidRecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidTransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
)

// message is a parsed pkiMessage: the signed outer layer, read before
// anything is decrypted, and the inner content once decrypted.
type message struct {
	Type          string
	TransactionID string
	SenderNonce   []byte
	// Signer is the certificate that signed the request: self-signed for a
	// first enrollment, an issued one for a renewal.
	Signer *x509.Certificate
	// Digest is the request's digest algorithm, reused for the answer.
	Digest asn1.ObjectIdentifier
	// Cipher is the content cipher the request was encrypted with.
	Cipher cms.Cipher
	// RecipientSerial names the RA certificate the request was encrypted to.
	RecipientSerial *big.Int

	envelope *pkcs7.PKCS7

	// After decryption, one of:
	CSR             *x509.CertificateRequest // PKCSReq, RenewalReq, UpdateReq
	IssuerAndSubj   *issuerAndSubject        // CertPoll
	IssuerAndSerial *issuerAndSerial         // GetCert, GetCRL
}

type issuerAndSubject struct {
	Issuer  asn1.RawValue
	Subject asn1.RawValue
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// parseError is a message that cannot be answered with a CertRep: without
// a verified signer and transaction ID there is nobody to answer.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

func parseErrorf(format string, a ...any) error { return &parseError{fmt.Sprintf(format, a...)} }

// refusal is a message refused with a CertRep FAILURE.
type refusal struct {
	failInfo string
	msg      string
}

func (e *refusal) Error() string { return e.msg }

func refuse(failInfo, format string, a ...any) error {
	return &refusal{failInfo: failInfo, msg: fmt.Sprintf(format, a...)}
}

// parsePKCS7 is pkcs7.Parse made safe for untrusted bytes: its BER
// reader indexes past the end of some truncated inputs (found by
// FuzzParseMessage), and a panic must not stand in for an answer.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("malformed CMS structure")
		}
	}()
	return pkcs7.Parse(der)
}

// parseMessage reads and verifies the signed layer of a pkiMessage.
func parseMessage(der []byte) (*message, error) {
	p7, err := parsePKCS7(der)
	if err != nil {
		return nil, parseErrorf("the body is not a CMS SignedData pkiMessage: %v", err)
	}
	if len(p7.Signers) != 1 {
		return nil, parseErrorf("a pkiMessage has exactly one signer, this one %d", len(p7.Signers))
	}
	// Verify finds the signer certificate among the message's own and
	// checks the signature over the authenticated attributes; whether that
	// certificate is worth anything is decided later.
	if err := p7.Verify(); err != nil {
		return nil, parseErrorf("the pkiMessage signature does not verify: %v", err)
	}
	m := &message{Signer: p7.GetOnlySigner(), Digest: p7.Signers[0].DigestAlgorithm.Algorithm}
	if m.Signer == nil {
		return nil, parseErrorf("the pkiMessage does not carry its signer's certificate")
	}
	if err := p7.UnmarshalSignedAttribute(oidMessageType, &m.Type); err != nil {
		return nil, parseErrorf("no messageType: %v", err)
	}
	if err := p7.UnmarshalSignedAttribute(oidTransactionID, &m.TransactionID); err != nil || m.TransactionID == "" {
		return nil, parseErrorf("no transactionID")
	}
	if len(m.TransactionID) > 256 {
		return nil, parseErrorf("the transactionID is longer than 256 characters")
	}
	if err := p7.UnmarshalSignedAttribute(oidSenderNonce, &m.SenderNonce); err != nil {
		return nil, parseErrorf("no senderNonce: %v", err)
	}
	switch m.Type {
	case typePKCSReq, typeRenewalReq, typeUpdateReq, typeCertPoll, typeGetCert, typeGetCRL:
	default:
		return nil, parseErrorf("messageType %q is not a request", m.Type)
	}
	if len(p7.Content) == 0 {
		return m, refuse(failBadRequest, "the pkiMessage has no pkcsPKIEnvelope")
	}
	if err := m.readEnvelope(p7.Content); err != nil {
		return m, err
	}
	return m, nil
}

// envelopeHeader is what the service needs of an EnvelopedData before
// decrypting it: the recipient and the content cipher.
type envelopeHeader struct {
	Version        int
	RecipientInfos []asn1.RawValue `asn1:"set"`
	Content        struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
	}
}

type keyTransRecipient struct {
	Version   int
	Recipient issuerAndSerial
}

func (m *message) readEnvelope(content []byte) error {
	env, err := parsePKCS7(content)
	if err != nil {
		return refuse(failBadMessageCheck, "the pkcsPKIEnvelope is not CMS EnvelopedData: %v", err)
	}
	m.envelope = env
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	var hdr envelopeHeader
	if _, err := asn1.Unmarshal(content, &ci); err != nil {
		return refuse(failBadMessageCheck, "the pkcsPKIEnvelope does not parse: %v", err)
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &hdr); err != nil {
		return refuse(failBadMessageCheck, "the pkcsPKIEnvelope does not parse: %v", err)
	}
	var ok bool
	if m.Cipher, ok = cms.CipherOf(hdr.Content.Algorithm.Algorithm); !ok {
		return refuse(failBadAlg, "content cipher %v is not supported (AES-128/256 CBC or GCM, 3DES, DES)", hdr.Content.Algorithm.Algorithm)
	}
	for _, raw := range hdr.RecipientInfos {
		var r keyTransRecipient
		if _, err := asn1.Unmarshal(raw.FullBytes, &r); err == nil && r.Recipient.Serial != nil {
			m.RecipientSerial = r.Recipient.Serial
			return nil
		}
	}
	return refuse(failBadAlg, "the pkcsPKIEnvelope has no key-transport recipient (RSA is required)")
}

// decrypt opens the envelope with the RA certificate it was encrypted to
// and parses the inner request.
func (m *message) decrypt(ra *x509.Certificate, key any) error {
	plain, err := m.envelope.Decrypt(ra, key)
	if err != nil {
		return refuse(failBadMessageCheck, "the pkcsPKIEnvelope does not decrypt with the RA key")
	}
	switch m.Type {
	case typePKCSReq, typeRenewalReq, typeUpdateReq:
		csr, err := x509.ParseCertificateRequest(plain)
		if err != nil {
			return refuse(failBadRequest, "the request does not hold a PKCS #10 CSR: %v", err)
		}
		if err := csr.CheckSignature(); err != nil {
			return refuse(failBadMessageCheck, "the CSR's signature does not verify: %v", err)
		}
		m.CSR = csr
	case typeCertPoll:
		var v issuerAndSubject
		if rest, err := asn1.Unmarshal(plain, &v); err != nil || len(rest) > 0 {
			return refuse(failBadRequest, "CertPoll does not hold an IssuerAndSubject")
		}
		m.IssuerAndSubj = &v
	case typeGetCert, typeGetCRL:
		var v issuerAndSerial
		if rest, err := asn1.Unmarshal(plain, &v); err != nil || len(rest) > 0 || v.Serial == nil {
			return refuse(failBadRequest, "%s does not hold an IssuerAndSerialNumber", typeName[m.Type])
		}
		m.IssuerAndSerial = &v
	}
	return nil
}

var typeName = map[string]string{typePKCSReq: "PKCSReq", typeRenewalReq: "RenewalReq", typeUpdateReq: "UpdateReq",
	typeCertPoll: "CertPoll", typeGetCert: "GetCert", typeGetCRL: "GetCRL"}
