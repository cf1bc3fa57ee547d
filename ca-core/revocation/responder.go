package revocation

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/store"
)

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): relying
// parties need not check the responder certificate's own status, which is
// why it is short-lived.
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// ensureResponder issues a new delegated responder certificate when the CA
// has none or the current one is past half its life.
func (s *Service) ensureResponder(ctx context.Context, caRec *store.CA, now time.Time) error {
	cur, err := s.d.Store.CurrentResponder(ctx, caRec.Tenant, caRec.ID)
	if err != nil && fault.ReasonOf(err) != fault.NotFound {
		return err
	}
	if cur != nil && now.Before(cur.NotBefore.Add(cur.NotAfter.Sub(cur.NotBefore)/2)) {
		return nil
	}
	lease := "ocsp:" + caRec.Tenant + "/" + caRec.ID
	ok, err := s.d.Store.AcquireLease(ctx, lease, s.d.Holder, leaseTTL)
	if err != nil || !ok {
		return err
	}
	defer s.d.Store.ReleaseLease(context.WithoutCancel(ctx), lease, s.d.Holder)
	// Another replica may have renewed it while we waited for the lease.
	if cur, err := s.d.Store.CurrentResponder(ctx, caRec.Tenant, caRec.ID); err == nil && now.Before(cur.NotBefore.Add(cur.NotAfter.Sub(cur.NotBefore)/2)) {
		return nil
	}
	_, err = s.IssueResponder(ctx, caRec.Tenant, caRec.ID)
	return err
}

// IssueResponder makes a new delegated responder for a CA: an RSA-2048 key
// (the seeds' VA key, whatever the CA's key type) in the CA's backend and a
// certificate CN=<tenant>_<ca>, OU=Validation Authorities, O=<tenant> with
// id-kp-OCSPSigning and id-pkix-ocsp-nocheck, valid for ResponderValidity
// but never past the CA.
func (s *Service) IssueResponder(ctx context.Context, tenant, caID string) (*store.Responder, error) {
	iss, err := s.d.Issuers.Issuer(ctx, tenant, caID)
	if err != nil {
		return nil, err
	}
	backend, ok := s.d.Backends[iss.Record.KeyBackend]
	if !ok {
		return nil, fmt.Errorf("revocation: key backend %q is not configured", iss.Record.KeyBackend)
	}
	ref, key, err := backend.Generate(ctx, keys.RSA2048, tenant+"/"+caID+"/ocsp")
	if err != nil {
		return nil, fmt.Errorf("revocation: responder key for %s/%s: %w", tenant, caID, err)
	}
	ski, err := keys.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	serial, err := ca.RandomSerial(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := s.d.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(s.d.Config.ResponderValidity)
	if notAfter.After(iss.Cert.NotAfter) {
		notAfter = iss.Cert.NotAfter
	}
	nocheck, _ := asn1.Marshal(asn1.NullRawValue)
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: tenant + "_" + caID, OrganizationalUnit: []string{"Validation Authorities"}, Organization: []string{tenant}},
		NotBefore:          now.Add(-time.Minute),
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		SubjectKeyId:       ski,
		ExtraExtensions:    []pkix.Extension{{Id: oidOCSPNoCheck, Value: nocheck}},
		SignatureAlgorithm: iss.SigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, key.Public(), iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("revocation: signing the responder of %s/%s: %w", tenant, caID, err)
	}
	sum := sha256.Sum256(der)
	hexSerial := ca.SerialHex(serial)
	r := &store.Responder{Tenant: tenant, CA: caID, Serial: hexSerial, Cert: der, KeyBackend: backend.Name(), KeyRef: ref,
		NotBefore: tmpl.NotBefore, NotAfter: notAfter}
	inv := &store.Certificate{Serial: hexSerial, Tenant: tenant, CA: caID, Subject: tmpl.Subject.String(), KeyType: keys.RSA2048,
		NotBefore: tmpl.NotBefore, NotAfter: notAfter, DER: der, SHA256: hex.EncodeToString(sum[:]), Requester: "system"}
	ev := &audit.Event{Tenant: tenant, Actor: "system", Action: "ocsp.responder.issue", Target: caID,
		Detail: "serial=" + hexSerial + " not_after=" + notAfter.Format(time.RFC3339)}
	if err := s.d.Store.AddResponder(ctx, r, inv, ev); err != nil {
		return nil, err
	}
	s.d.Logger.Info("issued OCSP responder certificate", "tenant", tenant, "ca", caID, "serial", hexSerial, "not_after", notAfter)
	return r, nil
}

// loadedResponder is a responder ready to sign.
type loadedResponder struct {
	cert   *x509.Certificate
	signer crypto.Signer
	alg    x509.SignatureAlgorithm
}
