package issuance

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

// frontendAuth enforces the endpoint's rules a front-end cannot bypass:
// whatever the front-end checked, ca-core still wants the one-time
// challenge or the client certificate, and sends approval endpoints'
// requests to an administrator.
func frontendAuth(ep *store.Endpoint, r *Request) error {
	switch {
	case ep.Settings.RequireApproval:
		return &fault.Error{Reason: fault.PermissionDenied, Rule: "endpoint.require_approval",
			Detail: fmt.Sprintf("endpoint %q issues only what an administrator approves; file a pending request", ep.ID)}
	case ep.AuthMethod == "one_time_challenge" && r.Challenge == "" && !r.Renewal:
		// A renewal proves itself with the certificate it renews.
		return &fault.Error{Reason: fault.Unauthenticated, Rule: "challenge.required", Detail: fmt.Sprintf("endpoint %q requires a one-time challenge", ep.ID)}
	case ep.Protocol == "mdmws" && r.Frontend != ep.Frontend && r.Challenge == "" && !r.Renewal:
		// Devices of an MDM configuration enroll (over SCEP) with the
		// challenges the MDM obtained, never with its credential.
		return &fault.Error{Reason: fault.Unauthenticated, Rule: "challenge.required",
			Detail: fmt.Sprintf("devices of MDM configuration %q enroll with a challenge from its MDM web service", ep.ID)}
	case ep.AuthMethod == "client_certificate" && len(r.ClientCertificate) == 0:
		return &fault.Error{Reason: fault.Unauthenticated, Rule: "client_certificate.required",
			Detail: fmt.Sprintf("endpoint %q requires a client certificate from its CA", ep.ID)}
	}
	return nil
}

// checkClientCertificate requires the certificate a client authenticated
// with to be in the inventory, byte for byte, issued by caID, within its
// validity and neither revoked nor on hold. A renewal keeps its
// end-entity.
func (s *Service) checkClientCertificate(ctx context.Context, r *Request, caID string) (*x509.Certificate, error) {
	refuse := func(format string, a ...any) error {
		return &fault.Error{Reason: fault.Unauthenticated, Rule: "client_certificate", Detail: fmt.Sprintf(format, a...)}
	}
	if len(r.ClientCertificate) == 0 {
		return nil, refuse("a renewal needs the certificate being renewed")
	}
	cert, err := x509.ParseCertificate(r.ClientCertificate)
	if err != nil {
		return nil, refuse("the client certificate does not parse: %v", err)
	}
	serial := ca.SerialHex(cert.SerialNumber)
	rec, err := s.d.Store.GetCertificate(ctx, r.Tenant, serial)
	if fault.ReasonOf(err) == fault.NotFound || (err == nil && !bytes.Equal(rec.DER, r.ClientCertificate)) {
		return nil, refuse("the client certificate (serial %s) was not issued by certgate for this tenant", serial)
	}
	if err != nil {
		return nil, err
	}
	if rec.CA != caID {
		return nil, refuse("the client certificate (serial %s) comes from CA %q, not the endpoint's CA %q", serial, rec.CA, caID)
	}
	if st := rec.EffectiveStatus(s.d.Now()); st != store.CertIssued {
		return nil, refuse("the client certificate (serial %s) is %s", serial, st)
	}
	if now := s.d.Now(); now.Before(rec.NotBefore) {
		return nil, refuse("the client certificate (serial %s) is not valid before %s", serial, rec.NotBefore)
	}
	if r.Renewal && r.EndEntity == "" {
		r.EndEntity = rec.EndEntity
	}
	return cert, nil
}

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

// sameIdentity requires a renewal's CSR to carry the subject and
// subjectAltNames of the certificate it renews (RFC 7030 §4.2.2; RFC 8894
// §3.3.1.2 for SCEP).
func sameIdentity(csr *x509.CertificateRequest, old *x509.Certificate) error {
	san := func(exts []pkix.Extension) []byte {
		for _, e := range exts {
			if e.Id.Equal(oidSAN) {
				return e.Value
			}
		}
		return nil
	}
	if !bytes.Equal(csr.RawSubject, old.RawSubject) || !bytes.Equal(san(csr.Extensions), san(old.Extensions)) {
		return &fault.Error{Reason: fault.BadCSR, Rule: "renewal.identity",
			Detail: "a renewal's CSR must carry the subject and subjectAltNames of the certificate it renews"}
	}
	return nil
}
