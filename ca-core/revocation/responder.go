package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/certgate/certgate/ca-core/delegated"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): relying
// parties need not check the responder certificate's own status, which is
// why it is short-lived.
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// responderKind is the delegated responder: CN=<tenant>_<ca>,
// OU=Validation Authorities, O=<tenant> (the seeds' VA), RSA-2048 whatever
// the CA's key type, id-kp-OCSPSigning and id-pkix-ocsp-nocheck.
func (s *Service) responderKind() delegated.Kind {
	nocheck, _ := asn1.Marshal(asn1.NullRawValue)
	return delegated.Kind{Purpose: store.PurposeOCSP, Unit: "Validation Authorities", KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, Extra: []pkix.Extension{{Id: oidOCSPNoCheck, Value: nocheck}},
		Validity: s.d.Config.ResponderValidity, Action: "ocsp.responder.issue"}
}

// ensureResponder issues a new delegated responder certificate when the CA
// has none or the current one is past half its life.
func (s *Service) ensureResponder(ctx context.Context, caRec *store.CA) error {
	_, err := s.delegated.Ensure(ctx, s.responderKind(), caRec.Tenant, caRec.ID)
	if fe := fault.As(err); fe != nil && fe.Rule == "delegated.renewing" {
		return nil // another replica is at it
	}
	return err
}

// IssueResponder makes a new delegated responder for a CA, valid for
// ResponderValidity but never past the CA.
func (s *Service) IssueResponder(ctx context.Context, tenant, caID string) (*store.Delegated, error) {
	return s.delegated.Issue(ctx, s.responderKind(), tenant, caID)
}

// loadedResponder is a responder ready to sign.
type loadedResponder struct {
	cert   *x509.Certificate
	signer crypto.Signer
	alg    x509.SignatureAlgorithm
}
