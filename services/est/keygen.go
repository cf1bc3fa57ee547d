package est

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"net/http"

	"github.com/smallstep/pkcs7"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/cms"
)

// CSR attributes by which a client asks for its server-generated key to
// be encrypted (RFC 7030 §4.4.1.1, §4.4.1.2).
var (
	oidDecryptKeyID      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 37}
	oidAsymmDecryptKeyID = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 54}
)

// ServerKeyGen answers /serverkeygen (RFC 7030 §4.4): ca-core makes the
// key pair and issues the certificate; the key leaves as PKCS#8, protected
// by TLS, or, when the CSR carries AsymmetricDecryptKeyIdentifier,
// enveloped to the client's TLS certificate and signed by this server.
func (s *Server) ServerKeyGen(ctx context.Context, csr *x509.CertificateRequest, aps string, r *http.Request) (*x509.Certificate, []byte, error) {
	t, err := s.targetOf(ctx, aps)
	if err != nil {
		return nil, nil, err
	}
	req := &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Csr: csr.Raw}
	if err := s.authenticate(ctx, t, csr, r, req); err != nil {
		return nil, nil, err
	}
	if t.ep.GetRequireApproval() {
		return nil, nil, errorf(http.StatusForbidden, "endpoint %q requires approval; server-generated keys are not kept until a decision, use simpleenroll", t.ep.GetId())
	}
	var recipient *x509.Certificate
	switch encryption(csr) {
	case symmetric:
		return nil, nil, errorf(http.StatusNotImplemented, "DecryptKeyIdentifier (symmetric key encryption, RFC 7030 §4.4.1.1) is not offered; use AsymmetricDecryptKeyIdentifier or none")
	case asymmetric:
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, nil, errorf(http.StatusBadRequest, "AsymmetricDecryptKeyIdentifier needs a TLS client certificate to encrypt the key to")
		}
		recipient = r.TLS.PeerCertificates[0]
		if _, ok := recipient.PublicKey.(*rsa.PublicKey); !ok {
			return nil, nil, errorf(http.StatusBadRequest, "the key can only be encrypted to an RSA client certificate (key transport)")
		}
	}
	res, err := s.issuance.IssueWithGeneratedKey(ctx, &pb.IssueWithGeneratedKeyRequest{Request: req})
	if err != nil {
		auditedByCore(ctx)
		return nil, nil, toHTTP(err, s.log)
	}
	cert, err := x509.ParseCertificate(res.GetIssued().GetCertificate().GetDer())
	if err != nil {
		return nil, nil, toHTTP(err, s.log)
	}
	key := res.GetPrivateKey()
	if recipient != nil {
		if key, err = s.envelope(key, recipient); err != nil {
			return nil, nil, toHTTP(err, s.log)
		}
	}
	return cert, key, nil
}

// envelope wraps key for recipient: CMS EnvelopedData (RSA key transport,
// AES-256-CBC) inside a SignedData from this server (RFC 7030 §4.4.2).
func (s *Server) envelope(key []byte, recipient *x509.Certificate) ([]byte, error) {
	env, err := cms.Envelope(key, recipient, cms.AES256CBC)
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.NewSignedData(env)
	if err != nil {
		return nil, err
	}
	sd.GetSignedData().ContentInfo.ContentType = pkcs7.OIDEnvelopedData
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(s.signer.Leaf, s.signer.PrivateKey, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, err
	}
	return sd.Finish()
}

type keyEncryption int

const (
	noEncryption keyEncryption = iota
	symmetric
	asymmetric
)

// encryption reads which key encryption the CSR's attributes ask for.
func encryption(csr *x509.CertificateRequest) keyEncryption {
	var tbs struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue `asn1:"optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(csr.RawTBSCertificateRequest, &tbs); err != nil {
		return noEncryption
	}
	for rest := tbs.Attributes.Bytes; len(rest) > 0; {
		var attr struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		var err error
		if rest, err = asn1.Unmarshal(rest, &attr); err != nil {
			return noEncryption
		}
		switch {
		case attr.Type.Equal(oidAsymmDecryptKeyID):
			return asymmetric
		case attr.Type.Equal(oidDecryptKeyID):
			return symmetric
		}
	}
	return noEncryption
}
