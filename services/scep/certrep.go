package scep

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/cms"
)

// reply is what a CertRep says.
type reply struct {
	status   string
	failInfo string
	// certs go back in the encrypted degenerate SignedData (SUCCESS): the
	// issued certificate first, where clients look for it.
	certs []*x509.Certificate
	// crl goes back instead of certs for GetCRL.
	crl []byte
}

// digests the service signs with, by the request's digest OID; anything
// else is answered with SHA-256.
var digests = map[string]asn1.ObjectIdentifier{
	pkcs7.OIDDigestAlgorithmSHA1.String():   pkcs7.OIDDigestAlgorithmSHA1,
	pkcs7.OIDDigestAlgorithmSHA256.String(): pkcs7.OIDDigestAlgorithmSHA256,
	pkcs7.OIDDigestAlgorithmSHA384.String(): pkcs7.OIDDigestAlgorithmSHA384,
	pkcs7.OIDDigestAlgorithmSHA512.String(): pkcs7.OIDDigestAlgorithmSHA512,
}

// certRep builds the CertRep (RFC 8894 §3.3.2) answering req, signed by the
// RA (cert, key) with the request's digest and, on SUCCESS, encrypted to
// the request's signer with the request's cipher.
func certRep(req *message, raCert *x509.Certificate, raKey crypto.Signer, r reply) ([]byte, error) {
	var envelope []byte
	if r.status == statusSuccess {
		var inner []byte
		var err error
		if r.crl != nil {
			inner, err = degenerateCRL(r.crl)
		} else {
			inner, err = degenerate(r.certs)
		}
		if err != nil {
			return nil, err
		}
		if envelope, err = cms.Envelope(inner, req.Signer, req.Cipher); err != nil {
			return nil, err
		}
	}
	sd, err := pkcs7.NewSignedData(envelope)
	if err != nil {
		return nil, err
	}
	digest, ok := digests[req.Digest.String()]
	if !ok {
		digest = pkcs7.OIDDigestAlgorithmSHA256
	}
	sd.SetDigestAlgorithm(digest)
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	attrs := []pkcs7.Attribute{
		{Type: oidTransactionID, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(req.TransactionID)}},
		{Type: oidMessageType, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(typeCertRep)}},
		{Type: oidPKIStatus, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(r.status)}},
		{Type: oidSenderNonce, Value: nonce},
		{Type: oidRecipientNonce, Value: req.SenderNonce},
	}
	if r.status == statusFailure {
		attrs = append(attrs, pkcs7.Attribute{Type: oidFailInfo, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(r.failInfo)}})
	}
	if len(r.certs) > 0 && r.crl == nil {
		// Some clients look for the issued certificate in the outer
		// SignedData too.
		sd.AddCertificate(r.certs[0])
	}
	if err := sd.AddSigner(raCert, raKey, pkcs7.SignerInfoConfig{ExtraSignedAttributes: attrs}); err != nil {
		return nil, err
	}
	return sd.Finish()
}

// degenerate is a certs-only SignedData (RFC 8894 §3.4).
func degenerate(certs []*x509.Certificate) ([]byte, error) {
	var all []byte
	for _, c := range certs {
		all = append(all, c.Raw...)
	}
	return pkcs7.DegenerateCertificate(all)
}

// degenerateCRL is a CRLs-only SignedData, GetCRL's answer (§3.3.2.2).
func degenerateCRL(crl []byte) ([]byte, error) {
	type signedData struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		CRLs             asn1.RawValue // [1] IMPLICIT, set below
		SignerInfos      asn1.RawValue
	}
	emptySet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true}
	sd := signedData{Version: 1, DigestAlgorithms: emptySet, SignerInfos: emptySet,
		CRLs: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: crl}}
	sd.ContentInfo.ContentType = pkcs7.OIDData
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return cms.ContentInfo(pkcs7.OIDSignedData, inner)
}
