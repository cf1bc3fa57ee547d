package ocspwire

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// CertStatus is the certStatus of a SingleResponse (RFC 6960 §4.2.1):
//
//	CertStatus ::= CHOICE {
//	    good        [0]     IMPLICIT NULL,
//	    revoked     [1]     IMPLICIT RevokedInfo,
//	    unknown     [2]     IMPLICIT UnknownInfo }
type CertStatus int

// Certificate statuses; the values are the CHOICE tag numbers.
const (
	Good CertStatus = iota
	Revoked
	Unknown
)

func (s CertStatus) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("CertStatus(%d)", int(s))
}

// NoRevocationReason in SingleResponse.RevocationReason omits
// revocationReason from RevokedInfo.
const NoRevocationReason = -1

// SingleResponse is the status of one certificate (RFC 6960 §4.2.1):
//
//	SingleResponse ::= SEQUENCE {
//	    certID                       CertID,
//	    certStatus                   CertStatus,
//	    thisUpdate                   GeneralizedTime,
//	    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
//	    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
//
//	RevokedInfo ::= SEQUENCE {
//	    revocationTime              GeneralizedTime,
//	    revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
//
// Times are written in UTC with fractional seconds dropped.
type SingleResponse struct {
	// ID is written from ID.Raw when it is set, so that the response
	// echoes the request's bytes exactly; from the other fields otherwise,
	// with NULL hash parameters. When Raw is set the fields must describe
	// the same CertID.
	ID     CertID
	Status CertStatus
	// RevokedAt is the revocationTime; Revoked only, and required there.
	RevokedAt time.Time
	// RevocationReason is NoRevocationReason (-1) or an RFC 5280 §5.3.1
	// CRLReason, 0 to 10 except 7 (unused). Revoked only. RFC 5280 says
	// to omit rather than send unspecified (0).
	RevocationReason int
	// ThisUpdate is required.
	ThisUpdate time.Time
	// NextUpdate is omitted when zero; otherwise it must not be before
	// ThisUpdate.
	NextUpdate time.Time
}

// Response is what CreateResponse signs (RFC 6960 §4.2.1):
//
//	BasicOCSPResponse ::= SEQUENCE {
//	    tbsResponseData      ResponseData,
//	    signatureAlgorithm   AlgorithmIdentifier,
//	    signature            BIT STRING,
//	    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//
//	ResponseData ::= SEQUENCE {
//	    version              [0] EXPLICIT Version DEFAULT v1,
//	    responderID              ResponderID,
//	    producedAt               GeneralizedTime,
//	    responses                SEQUENCE OF SingleResponse,
//	    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
//
//	ResponderID ::= CHOICE {
//	    byName   [1] Name,
//	    byKey    [2] KeyHash }
type Response struct {
	// Responses holds one SingleResponse per CertID; at least one.
	Responses []SingleResponse
	// ProducedAt is required.
	ProducedAt time.Time
	// Nonce, when not empty, is written as the content of the extnValue of
	// an id-pkix-ocsp-nonce response extension. Set it to Request.Nonce
	// to echo the client's nonce byte for byte.
	Nonce []byte
	// ResponderCert is the certificate of the key that signs: a delegated
	// responder certificate (id-kp-OCSPSigning, issued by the CA), or the
	// CA certificate when the CA signs itself. It must hold the signer's
	// public key. The ResponderID is byKey, the SHA-1 hash of its
	// subjectPublicKey BIT STRING value. When nil, the hash is taken from
	// signer.Public().
	ResponderCert *x509.Certificate
	// Certs are written to BasicOCSPResponse.certs, in order, so that
	// clients can find and check the responder certificate; normally
	// just ResponderCert. The field is omitted when Certs is empty.
	Certs []*x509.Certificate
}

// CreateResponse returns a DER OCSPResponse with responseStatus successful
// and responseBytes of type id-pkix-ocsp-basic holding r signed by signer
// with alg: x509.SHA256WithRSA, SHA384WithRSA, SHA512WithRSA (PKCS #1 v1.5,
// NULL parameters), SHA256WithRSAPSS, SHA384WithRSAPSS, SHA512WithRSAPSS
// (RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash,
// RFC 4055 §3.1), or ECDSAWithSHA256, ECDSAWithSHA384, ECDSAWithSHA512
// (absent parameters, RFC 5758 §3.2). The signature is verified with the
// signer's public key before the response is returned, so that a faulty
// signer cannot produce a bad response.
func CreateResponse(r *Response, signer crypto.Signer, alg x509.SignatureAlgorithm) ([]byte, error) {
	if r == nil || signer == nil {
		return nil, errors.New("ocspwire: CreateResponse: nil response or signer")
	}
	if len(r.Responses) == 0 {
		return nil, errors.New("ocspwire: CreateResponse: no SingleResponse")
	}
	if r.ProducedAt.IsZero() {
		return nil, errors.New("ocspwire: CreateResponse: ProducedAt is zero")
	}
	pub := signer.Public()
	sa, err := signatureAlgorithmFor(alg, pub)
	if err != nil {
		return nil, err
	}
	keyHash, err := responderID(r.ResponderCert, pub)
	if err != nil {
		return nil, err
	}
	if len(r.Nonce) > 0 {
		if err := checkNonce(r.Nonce); err != nil {
			return nil, fmt.Errorf("ocspwire: CreateResponse: Nonce is not one ParseRequest accepts: %s", err.Detail)
		}
	}
	for i, c := range r.Certs {
		if c == nil || len(c.Raw) == 0 {
			return nil, fmt.Errorf("ocspwire: CreateResponse: Certs[%d] is nil or has no Raw DER", i)
		}
	}

	var tbs cryptobyte.Builder
	tbs.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagExplicit2, func(b *cryptobyte.Builder) { b.AddASN1OctetString(keyHash) })
		addTime(b, r.ProducedAt)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for i := range r.Responses {
				if err := addSingleResponse(b, &r.Responses[i], i); err != nil {
					b.SetError(err)
					return
				}
			}
		})
		if len(r.Nonce) > 0 {
			b.AddASN1(tagExplicit1, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidOCSPNonce)
						b.AddASN1OctetString(r.Nonce)
					})
				})
			})
		}
	})
	tbsDER, err := tbs.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ocspwire: CreateResponse: %w", err)
	}
	sig, err := sa.sign(signer, pub, tbsDER)
	if err != nil {
		return nil, err
	}

	var basic cryptobyte.Builder
	basic.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbsDER)
		sa.addAlgorithmIdentifier(b)
		b.AddASN1BitString(sig)
		if len(r.Certs) > 0 {
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, c := range r.Certs {
						b.AddBytes(c.Raw)
					}
				})
			})
		}
	})
	basicDER, err := basic.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ocspwire: CreateResponse: %w", err)
	}

	// OCSPResponse ::= SEQUENCE {
	//     responseStatus         OCSPResponseStatus,
	//     responseBytes      [0] EXPLICIT ResponseBytes OPTIONAL }
	// ResponseBytes ::= SEQUENCE {
	//     responseType   OBJECT IDENTIFIER,
	//     response       OCTET STRING }
	var out cryptobyte.Builder
	out.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(int64(Successful))
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidOCSPBasic)
				b.AddASN1OctetString(basicDER)
			})
		})
	})
	der, err := out.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ocspwire: CreateResponse: %w", err)
	}
	return der, nil
}

// responderID returns the byKey ResponderID for the responder certificate,
// or for pub when cert is nil.
func responderID(cert *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if cert == nil {
		return ResponderKeyHash(pub)
	}
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(cert.PublicKey) {
		return nil, errors.New("ocspwire: CreateResponse: ResponderCert does not hold the signer's public key")
	}
	return KeyHash(crypto.SHA1, cert.RawSubjectPublicKeyInfo)
}

// addSingleResponse appends responses[i].
func addSingleResponse(b *cryptobyte.Builder, s *SingleResponse, i int) error {
	certID := s.ID.Raw
	if len(certID) == 0 {
		var err error
		if certID, err = s.ID.marshal(); err != nil {
			return fmt.Errorf("responses[%d]: %w", i, err)
		}
	} else {
		parsed, err := parseCertID(certID, "responses[%d].ID.Raw", i)
		if err != nil {
			return errors.New(err.Detail)
		}
		if parsed.Key() != s.ID.Key() {
			return fmt.Errorf("responses[%d]: ID.Raw is CertID %s but the fields say %s", i, parsed.Key(), s.ID.Key())
		}
	}
	if s.ThisUpdate.IsZero() {
		return fmt.Errorf("responses[%d]: ThisUpdate is zero", i)
	}
	if !s.NextUpdate.IsZero() && s.NextUpdate.Truncate(time.Second).Before(s.ThisUpdate.Truncate(time.Second)) {
		return fmt.Errorf("responses[%d]: NextUpdate %v is before ThisUpdate %v", i, s.NextUpdate, s.ThisUpdate)
	}
	switch s.Status {
	case Good, Unknown:
	case Revoked:
		if s.RevokedAt.IsZero() {
			return fmt.Errorf("responses[%d]: revoked without RevokedAt", i)
		}
		if r := s.RevocationReason; r != NoRevocationReason && (r < 0 || r > 10 || r == 7) {
			return fmt.Errorf("responses[%d]: RevocationReason %d is not a CRLReason (0-10 except 7) or NoRevocationReason", i, r)
		}
	default:
		return fmt.Errorf("responses[%d]: invalid Status %v", i, s.Status)
	}

	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(certID)
		switch s.Status {
		case Good:
			b.AddASN1(asn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
		case Revoked:
			b.AddASN1(asn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				addTime(b, s.RevokedAt)
				if s.RevocationReason != NoRevocationReason {
					b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
						b.AddASN1Enum(int64(s.RevocationReason))
					})
				}
			})
		case Unknown:
			b.AddASN1(asn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
		}
		addTime(b, s.ThisUpdate)
		if !s.NextUpdate.IsZero() {
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) { addTime(b, s.NextUpdate) })
		}
	})
	return nil
}

// addTime appends t as a DER GeneralizedTime: UTC, whole seconds, "Z".
func addTime(b *cryptobyte.Builder, t time.Time) {
	b.AddASN1GeneralizedTime(t.UTC().Truncate(time.Second))
}

// addOID appends an OBJECT IDENTIFIER given as its contents octets.
func addOID(b *cryptobyte.Builder, oid string) {
	b.AddASN1(asn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes([]byte(oid)) })
}

// ResponseStatus is the OCSPResponseStatus (RFC 6960 §4.2.1).
type ResponseStatus int

// Response statuses; 4 is not used.
const (
	Successful       ResponseStatus = 0 // response has valid confirmations
	MalformedRequest ResponseStatus = 1 // illegal confirmation request
	InternalError    ResponseStatus = 2 // internal error in issuer
	TryLater         ResponseStatus = 3 // try again later
	SigRequired      ResponseStatus = 5 // must sign the request
	Unauthorized     ResponseStatus = 6 // request unauthorized
)

func (s ResponseStatus) String() string {
	switch s {
	case Successful:
		return "successful"
	case MalformedRequest:
		return "malformedRequest"
	case InternalError:
		return "internalError"
	case TryLater:
		return "tryLater"
	case SigRequired:
		return "sigRequired"
	case Unauthorized:
		return "unauthorized"
	}
	return fmt.Sprintf("ResponseStatus(%d)", int(s))
}

// ErrorResponse returns the DER OCSPResponse for an error status: the
// responseStatus alone, without responseBytes, unsigned. s must be
// MalformedRequest, InternalError, TryLater, SigRequired or Unauthorized;
// any other value (Successful included, which requires responseBytes) is
// answered as InternalError, so the result is always a valid response.
func ErrorResponse(s ResponseStatus) []byte {
	switch s {
	case MalformedRequest, InternalError, TryLater, SigRequired, Unauthorized:
	default:
		s = InternalError
	}
	// SEQUENCE { ENUMERATED s }
	return []byte{0x30, 0x03, 0x0a, 0x01, byte(s)}
}
