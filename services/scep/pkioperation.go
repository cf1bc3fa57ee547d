package scep

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// pkiOperation answers PKIOperation (RFC 8894 §3.3): every request that
// verifies gets a CertRep, FAILURE included; only messages without a
// verified signer and transaction ID, and ca-core outages, get HTTP
// errors. It returns the message type and outcome for the metrics.
func (s *Server) pkiOperation(w http.ResponseWriter, r *http.Request, tenant, id string) (op, outcome string, err error) {
	op = "PKIOperation"
	ctx := r.Context()
	t, err := s.targetOf(ctx, tenant, id)
	if err != nil {
		return op, "", err
	}
	der, err := readMessage(r)
	if err != nil {
		s.recordRefusal(t, op, r, err.Error())
		return op, "", err
	}
	m, perr := parseMessage(der)
	var pe *parseError
	if errors.As(perr, &pe) {
		s.recordRefusal(t, op, r, pe.msg)
		return op, "", httpErrorf(http.StatusBadRequest, "%s", pe.msg)
	}
	op = typeName[m.Type]
	ra, err := s.raOf(ctx, t)
	if err != nil {
		return op, "", err
	}
	// The answer is signed by the RA certificate the client encrypted to,
	// which is the one it trusts; a request to none of the valid ones is
	// answered by the current one.
	raCert := ra.BySerial(m.RecipientSerial)
	if raCert == nil && m.RecipientSerial != nil {
		// The RA may have been renewed since the cache was filled.
		s.ras.Drop(s.raKey(t))
		if ra, err = s.raOf(ctx, t); err != nil {
			return op, "", err
		}
		raCert = ra.BySerial(m.RecipientSerial)
	}
	signer := raCert
	if signer == nil {
		signer = ra.Current()
	}
	var rep reply
	switch {
	case perr != nil:
		rep = s.refused(t, m, r, perr)
	case raCert == nil:
		rep = s.refused(t, m, r, refuse(failBadMessageCheck, "the request is encrypted to a certificate that is not a valid RA certificate of %s/%s; fetch GetCACert again", tenant, id))
	default:
		if err := m.decrypt(raCert, s.keyOf(ctx, t, raCert)); err != nil {
			var re *refusal
			if !errors.As(err, &re) {
				return op, "", err
			}
			rep = s.refused(t, m, r, err)
			break
		}
		if rep, err = s.answer(ctx, t, ra, m, r); err != nil {
			return op, "", err
		}
	}
	body, err := certRep(m, signer, s.keyOf(ctx, t, signer), rep)
	if err != nil {
		return op, "", err
	}
	write(w, http.StatusOK, "application/x-pki-message", body)
	return op, map[string]string{statusSuccess: "success", statusFailure: "failure", statusPending: "pending"}[rep.status], nil
}

// answer decides a decrypted request. An error is for HTTP (ca-core
// unreachable); refusals come back as FAILURE replies.
func (s *Server) answer(ctx context.Context, t *target, ra *frontend.RA, m *message, r *http.Request) (reply, error) {
	var rep reply
	var err error
	switch m.Type {
	case typePKCSReq, typeRenewalReq, typeUpdateReq:
		rep, err = s.enroll(ctx, t, ra, m, r)
	case typeCertPoll:
		rep, err = s.poll(ctx, t, ra, m)
	case typeGetCert:
		rep, err = s.getCert(ctx, t, ra, m)
	case typeGetCRL:
		rep, err = s.getCRL(ctx, t, ra, m)
	}
	var re *refusal
	if errors.As(err, &re) {
		return s.refused(t, m, r, err), nil
	}
	return rep, err
}

// refused turns a refusal into a FAILURE reply, audited unless ca-core
// decided it (and audited it) itself.
func (s *Server) refused(t *target, m *message, r *http.Request, err error) reply {
	var re *refusal
	if !errors.As(err, &re) {
		re = &refusal{failInfo: failBadRequest, msg: err.Error()}
	}
	if !errors.Is(err, errAuditedByCore) {
		s.recordRefusal(t, typeName[m.Type], r, fmt.Sprintf("transaction %s: %s", m.TransactionID, re.msg))
	}
	s.log.Info("scep: refused", "tenant", t.tenant, "endpoint", t.ep.GetId(), "type", typeName[m.Type], "transaction", m.TransactionID, "reason", re.msg)
	return reply{status: statusFailure, failInfo: re.failInfo}
}

// errAuditedByCore marks refusals ca-core decided.
var errAuditedByCore = errors.New("audited by ca-core")

type coreRefusal struct {
	refusal
}

func (e *coreRefusal) Unwrap() []error { return []error{&e.refusal, errAuditedByCore} }

// fromCoreRefusal maps a ca-core error to a refusal, or returns it for
// HTTP when it is transient: a FAILURE would make the device give up
// where a retry will do.
func fromCoreRefusal(err error, failInfo string) error {
	e := frontend.Decode(err)
	switch e.Reason {
	case pb.ErrorReason_ERROR_REASON_UNAVAILABLE, pb.ErrorReason_ERROR_REASON_RATE_LIMITED, pb.ErrorReason_ERROR_REASON_INTERNAL:
		return err
	}
	msg := e.Detail
	if e.Rule != "" {
		msg = e.Rule + ": " + msg
	}
	return &coreRefusal{refusal{failInfo: failInfo, msg: msg}}
}

// selfSigned reports a requester's throw-away certificate (§2.3).
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// issuedByEndpointCA reports a signer certificate from the endpoint's CA:
// the request is then a renewal, authorised by that certificate.
func issuedByEndpointCA(c *x509.Certificate, ra *frontend.RA) bool {
	return len(ra.Chain) > 0 && !selfSigned(c) && c.CheckSignatureFrom(ra.Chain[0]) == nil
}

// requestKey makes retries of one transaction idempotent in ca-core: the
// same message type, signer and CSR get the same certificate. Clients
// such as micromdm's derive the transaction ID from the key and resend
// the first CSR when they renew, so the signer must count: a RenewalReq
// signed with the issued certificate is a new request.
func requestKey(t *target, m *message) string {
	h := sha256.New()
	h.Write([]byte(m.Type))
	h.Write(m.Signer.Raw)
	h.Write(m.CSR.Raw)
	return "scep/" + t.ep.GetId() + "/" + m.TransactionID + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}

// enroll answers PKCSReq, RenewalReq and UpdateReq.
func (s *Server) enroll(ctx context.Context, t *target, ra *frontend.RA, m *message, r *http.Request) (reply, error) {
	req := &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Csr: m.CSR.Raw, RequestKey: requestKey(t, m)}
	renewal := issuedByEndpointCA(m.Signer, ra)
	switch {
	case m.Type != typePKCSReq && !renewal:
		return reply{}, refuse(failBadRequest, "a %s must be signed with the certificate it renews, issued by the endpoint's CA", typeName[m.Type])
	case renewal:
		// RFC 8894 §3.3.1.2: the signature with the current certificate
		// is the authorisation; ca-core checks it is valid and unrevoked
		// and keeps the identity. Intune decides every issuance, renewals
		// included: a device whose profile was withdrawn must not renew.
		req.ClientCertificate, req.Renewal = m.Signer.Raw, true
		if t.ep.GetAuth().GetMethod() == pb.EndpointAuth_METHOD_INTUNE {
			if err := s.authenticate(ctx, t, m, req); err != nil {
				return reply{}, err
			}
		}
	default:
		if err := s.authenticate(ctx, t, m, req); err != nil {
			return reply{}, err
		}
	}
	if t.ep.GetRequireApproval() {
		return s.file(ctx, t, ra, m)
	}
	issued, err := s.issuance.Issue(ctx, req)
	if err != nil {
		s.notifyFailure(ctx, t, m, err)
		return reply{}, fromCoreRefusal(err, failBadRequest)
	}
	if st := issued.GetCertificate().GetStatus(); st != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED {
		// A retry of a transaction whose certificate was revoked since
		// (e.g. because Intune could not be told of it) gets no
		// certificate; a new transaction gets a new one.
		return reply{}, refuse(failBadRequest, "transaction %s already produced certificate %s, which is now %s; start a new transaction",
			m.TransactionID, issued.GetCertificate().GetSerial(), strings.TrimPrefix(st.String(), "CERTIFICATE_STATUS_"))
	}
	cert, chain, err := parseIssued(issued.GetCertificate().GetDer(), issued.GetChain())
	if err != nil {
		return reply{}, err
	}
	if err := s.notifySuccess(ctx, t, m, cert); err != nil {
		return reply{}, err
	}
	s.log.Info("scep: issued", "tenant", t.tenant, "endpoint", t.ep.GetId(), "type", typeName[m.Type], "transaction", m.TransactionID,
		"serial", issued.GetCertificate().GetSerial(), "replayed", issued.GetReplayed())
	return reply{status: statusSuccess, certs: append([]*x509.Certificate{cert}, chain...)}, nil
}

func parseIssued(der []byte, chainDER [][]byte) (*x509.Certificate, []*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("scep: ca-core issued a certificate that does not parse: %w", err)
	}
	chain, err := frontend.ParseCerts(chainDER)
	return cert, chain, err
}

// file sends the request to an administrator (§3.3.2.1: PENDING), or
// answers with the decision when this transaction was filed before.
func (s *Server) file(ctx context.Context, t *target, ra *frontend.RA, m *message) (reply, error) {
	p, err := s.pending.CreatePendingRequest(ctx, &pb.CreatePendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
		TransactionId: m.TransactionID, Csr: m.CSR.Raw})
	if err != nil {
		return reply{}, fromCoreRefusal(err, failBadRequest)
	}
	if !bytes.Equal(p.GetCsr(), m.CSR.Raw) {
		return reply{}, refuse(failBadRequest, "transaction %s was filed with another CSR", m.TransactionID)
	}
	return s.decision(ctx, t, m, p)
}

// poll answers CertPoll (GetCertInitial, §3.3.3) for a filed request.
func (s *Server) poll(ctx context.Context, t *target, ra *frontend.RA, m *message) (reply, error) {
	if len(ra.Chain) == 0 || !bytes.Equal(m.IssuerAndSubj.Issuer.FullBytes, ra.Chain[0].RawSubject) {
		return reply{}, refuse(failBadCertID, "CertPoll names another issuer than the endpoint's CA")
	}
	p, err := s.pending.GetPendingRequest(ctx, &pb.GetPendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), TransactionId: m.TransactionID})
	if err != nil {
		return reply{}, fromCoreRefusal(err, failBadCertID)
	}
	// Only the requester polls: the CertPoll is signed with the key of
	// the CSR it filed.
	csr, err := x509.ParseCertificateRequest(p.GetCsr())
	if err != nil {
		return reply{}, err
	}
	if !samePublicKey(csr.PublicKey, m.Signer.PublicKey) {
		return reply{}, refuse(failBadCertID, "CertPoll for transaction %s is not signed with the requester's key", m.TransactionID)
	}
	m.CSR = csr
	return s.decision(ctx, t, m, p)
}

func samePublicKey(a, b any) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

// decision is a pending request's state as a reply.
func (s *Server) decision(ctx context.Context, t *target, m *message, p *pb.PendingRequest) (reply, error) {
	switch p.GetStatus() {
	case pb.PendingStatus_PENDING_STATUS_ISSUED:
		cert, chain, err := parseIssued(p.GetCertificate().GetDer(), p.GetChain())
		if err != nil {
			return reply{}, err
		}
		return reply{status: statusSuccess, certs: append([]*x509.Certificate{cert}, chain...)}, nil
	case pb.PendingStatus_PENDING_STATUS_REJECTED:
		return reply{}, &coreRefusal{refusal{failInfo: failBadRequest, msg: "rejected by " + p.GetDecidedBy() + ": " + p.GetReason()}}
	}
	return reply{status: statusPending}, nil
}

// getCert answers GetCert (§3.3.4): any certificate of the endpoint's CA
// by issuer and serial.
func (s *Server) getCert(ctx context.Context, t *target, ra *frontend.RA, m *message) (reply, error) {
	if len(ra.Chain) == 0 || !bytes.Equal(m.IssuerAndSerial.Issuer.FullBytes, ra.Chain[0].RawSubject) {
		return reply{}, refuse(failBadCertID, "GetCert names another issuer than the endpoint's CA")
	}
	c, err := s.certs.GetCertificate(ctx, &pb.GetCertificateRequest{Tenant: t.tenant, Serial: frontend.SerialHex(m.IssuerAndSerial.Serial)})
	if err != nil {
		return reply{}, fromCoreRefusal(err, failBadCertID)
	}
	cert, err := x509.ParseCertificate(c.GetDer())
	if err != nil {
		return reply{}, err
	}
	return reply{status: statusSuccess, certs: []*x509.Certificate{cert}}, nil
}

// getCRL answers GetCRL (§3.3.5) with the endpoint CA's current CRL.
func (s *Server) getCRL(ctx context.Context, t *target, ra *frontend.RA, m *message) (reply, error) {
	if len(ra.Chain) == 0 || !bytes.Equal(m.IssuerAndSerial.Issuer.FullBytes, ra.Chain[0].RawSubject) {
		return reply{}, refuse(failBadCertID, "GetCRL names another issuer than the endpoint's CA")
	}
	crl, err := s.revoker.GetCRL(ctx, &pb.GetCRLRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()})
	if err != nil {
		return reply{}, fromCoreRefusal(err, failBadRequest)
	}
	return reply{status: statusSuccess, crl: crl.GetDer()}, nil
}

// recordRefusal reports a refusal the service decided to ca-core's audit
// trail, in the background: the client has its answer already.
func (s *Server) recordRefusal(t *target, op string, r *http.Request, detail string) {
	req := &pb.RecordRefusalRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Operation: op, Client: r.RemoteAddr,
		Detail: strings.TrimSpace(detail)}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.audit.RecordRefusal(ctx, req); err != nil {
			s.log.Warn("scep: recording a refusal", "err", err)
		}
	}()
}
