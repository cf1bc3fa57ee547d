package wstep

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/wstep/directory"
	"github.com/certgate/certgate/services/wstep/wstepmsg"
)

// HRESULTs CES answers with besides those of wstepmsg, as ADCS does.
const (
	hrInvalidArg        int32 = -2147024809 // 0x80070057 E_INVALIDARG
	hrServerTooBusy     int32 = -2147023173 // 0x800706BB RPC_S_SERVER_TOO_BUSY
	hrServerUnavailable int32 = -2147023174 // 0x800706BA RPC_S_SERVER_UNAVAILABLE
	hrNotFound          int32 = -2146877438 // 0x80094002 CERTSRV_E_NO_REQUEST
)

// cesError is a refusal CES answers with a SOAP fault.
type cesError struct {
	status  int
	hresult int32
	reason  string
	// invalid marks a request the issuer refused (InvalidRequest).
	invalid bool
}

func (e *cesError) Error() string { return e.reason }

func refuse(hr int32, format string, a ...any) *cesError {
	return &cesError{status: http.StatusInternalServerError, hresult: hr, reason: fmt.Sprintf(format, a...), invalid: true}
}

// serveCES answers MS-WSTEP RequestSecurityToken: Issue (new and
// renewal) and QueryTokenStatus.
func (s *Server) serveCES(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, status, text := readSOAP(r)
	if status != 0 {
		s.observe("RST", "error", start)
		writeSOAP(w, status, wstepmsg.Fault(nil, "", hrInvalidArg, text, true, nil))
		return
	}
	req, err := wstepmsg.ParseRequest(body)
	if err != nil {
		s.observe("RST", "error", start)
		hr, reason := hrInvalidArg, "the request is not a WS-Trust RequestSecurityToken"
		var re *wstepmsg.RequestError
		var relates *wstepmsg.Request
		if errors.As(err, &re) {
			hr, reason = re.HResult, re.Reason
			relates = &wstepmsg.Request{MessageID: re.MessageID}
		}
		writeSOAP(w, http.StatusInternalServerError, wstepmsg.Fault(relates, "", hr, reason, true, nil))
		return
	}
	op := map[wstepmsg.RequestType]string{wstepmsg.Issue: "Issue", wstepmsg.QueryTokenStatus: "QueryTokenStatus", wstepmsg.KET: "KET"}[req.Type]
	out, err := s.handle(r, req)
	if err != nil {
		var ce *cesError
		if !errors.As(err, &ce) {
			ce = s.fromCore(err)
		}
		s.observe(op, "refused", start)
		if ce.status == http.StatusUnauthorized {
			s.challenge(w)
		}
		s.log.Info("wstep: refused", "operation", op, "reason", ce.reason)
		writeSOAP(w, ce.status, wstepmsg.Fault(req, req.RequestID, ce.hresult, ce.reason, ce.invalid, nil))
		return
	}
	s.observe(op, "ok", start)
	writeSOAP(w, http.StatusOK, out)
}

// fromCore maps a ca-core error to a fault.
func (s *Server) fromCore(err error) *cesError {
	e := frontend.Decode(err)
	switch e.Reason {
	case pb.ErrorReason_ERROR_REASON_UNAVAILABLE:
		return &cesError{status: http.StatusServiceUnavailable, hresult: hrServerUnavailable, reason: e.Detail}
	case pb.ErrorReason_ERROR_REASON_RATE_LIMITED, pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED:
		return &cesError{status: http.StatusServiceUnavailable, hresult: hrServerTooBusy, reason: e.Detail}
	case pb.ErrorReason_ERROR_REASON_INTERNAL:
		s.log.Error("wstep: ca-core failed", "err", err)
		return &cesError{status: http.StatusInternalServerError, hresult: wstepmsg.EFail, reason: frontend.Describe(err)}
	case pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED, pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED:
		return refuse(wstepmsg.EAccessDenied, "%s", e.Detail)
	}
	msg := e.Detail
	if e.Rule != "" {
		msg = e.Rule + ": " + msg
	}
	return refuse(wstepmsg.CertsrvETemplateDenied, "%s", msg)
}

func (s *Server) handle(r *http.Request, req *wstepmsg.Request) ([]byte, error) {
	ctx := r.Context()
	t, err := s.targetOf(ctx, r.PathValue("tenant"), r.PathValue("endpoint"))
	if err != nil {
		return nil, &cesError{status: http.StatusNotFound, hresult: hrInvalidArg, reason: "no enrollment service here"}
	}
	switch req.Type {
	case wstepmsg.QueryTokenStatus:
		if _, err := s.authenticated(ctx, r, req); err != nil {
			return nil, err
		}
		return s.queryStatus(ctx, t, req)
	case wstepmsg.Issue:
		return s.issue(ctx, r, t, req)
	}
	return nil, refuse(wstepmsg.CertsrvEUnsupportedCertType, "key exchange certificates (KET) are not offered: certgate does not archive keys")
}

// authenticated requires a requester.
func (s *Server) authenticated(ctx context.Context, r *http.Request, req *wstepmsg.Request) (*directory.Identity, error) {
	who, err := s.requester(ctx, r, req.Username, req.Password)
	switch {
	case errors.Is(err, directory.ErrInvalidCredentials):
		return nil, &cesError{status: http.StatusUnauthorized, hresult: wstepmsg.EAccessDenied, reason: "wrong user name or password", invalid: true}
	case err != nil:
		s.log.Warn("wstep: directory", "err", err)
		return nil, &cesError{status: http.StatusServiceUnavailable, hresult: hrServerUnavailable, reason: "the directory could not be asked"}
	case who == nil:
		return nil, &cesError{status: http.StatusUnauthorized, hresult: wstepmsg.EAccessDenied, reason: errUnauthenticated.Error(), invalid: true}
	}
	return who, nil
}

// template finds the template a request names.
func template(t *target, req *wstepmsg.Request) (*pb.WstepTemplate, error) {
	for _, tm := range t.ep.GetWstep().GetTemplates() {
		if (req.TemplateName != "" && strings.EqualFold(tm.GetName(), req.TemplateName)) || (req.TemplateOID != "" && tm.GetOid() == req.TemplateOID) {
			return tm, nil
		}
	}
	name := req.TemplateName
	if name == "" {
		name = req.TemplateOID
	}
	if name == "" {
		return nil, refuse(wstepmsg.CertsrvEUnsupportedCertType, "the request names no certificate template")
	}
	return nil, refuse(wstepmsg.CertsrvEUnsupportedCertType, "template %q is not offered by this enrollment policy", name)
}

// issue enrolls: a renewal is authorised by the certificate that signed
// it; anything else by the requester, who must be allowed the template.
func (s *Server) issue(ctx context.Context, r *http.Request, t *target, req *wstepmsg.Request) ([]byte, error) {
	tm, err := template(t, req)
	if err != nil {
		return nil, err
	}
	ir := &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Csr: req.CSR.Raw, Profile: tm.GetProfile()}
	ra, err := s.raOf(ctx, t)
	if err != nil {
		return nil, err
	}
	if renewing := renewalCertificate(r, req, ra); renewing != nil {
		// MS-WSTEP renewal: ca-core checks the certificate is in force
		// and keeps its identity.
		ir.ClientCertificate, ir.Renewal, ir.IdentityFromClientCertificate = renewing.Raw, true, true
	} else {
		who, err := s.authenticated(ctx, r, req)
		if err != nil {
			return nil, err
		}
		if err := allowed(tm, who); err != nil {
			return nil, err
		}
		ir.EndEntity, ir.Sid = who.Name, who.SID
		if tm.GetSubjectFromDirectory() {
			if ir.Subject, ir.SubjectAltNames, err = fromDirectory(tm, who); err != nil {
				return nil, err
			}
		}
	}
	// Retries of one request by one requester get one certificate; the
	// same bytes from another requester, or as a renewal, are another
	// request (PKCS #1 v1.5 signatures make a reused key's CSR repeat).
	h := sha256.New()
	h.Write(req.Token)
	h.Write(ir.ClientCertificate)
	h.Write([]byte(ir.EndEntity))
	requestKey := "wstep/" + t.ep.GetId() + "/" + hex.EncodeToString(h.Sum(nil)[:16])
	if t.ep.GetRequireApproval() {
		p, err := s.pending.CreatePendingRequest(ctx, &pb.CreatePendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
			TransactionId: requestKey, Csr: ir.Csr, Profile: ir.Profile, EndEntity: ir.EndEntity, Subject: ir.Subject, SubjectAltNames: ir.SubjectAltNames})
		if err != nil {
			return nil, err
		}
		return s.decision(ctx, t, ra, req, p)
	}
	ir.RequestKey = requestKey
	res, err := s.issuance.Issue(ctx, ir)
	if err != nil {
		return nil, err
	}
	return s.issued(ctx, t, ra, req, requestIDOf(res.GetCertificate().GetSerial()), res.GetCertificate().GetDer(), res.GetChain())
}

// renewalCertificate is the certificate a request renews: the one that
// signed it (MS-WSTEP §3.1.4.1.3.2), or the TLS client certificate the
// client proved it holds (XCEP's X.509 authentication), when the
// endpoint's CA issued it.
func renewalCertificate(r *http.Request, req *wstepmsg.Request, ra *frontend.RA) *x509.Certificate {
	if req.Signer != nil && req.Signer.CheckSignatureFrom(ra.Chain[0]) == nil {
		return req.Signer
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].CheckSignatureFrom(ra.Chain[0]) == nil {
		return r.TLS.PeerCertificates[0]
	}
	return nil
}

// allowed checks a template's enroll groups.
func allowed(tm *pb.WstepTemplate, who *directory.Identity) error {
	if groups := tm.GetEnrollGroups(); len(groups) > 0 && !slices.ContainsFunc(groups, who.InGroup) {
		return refuse(wstepmsg.CertsrvETemplateDenied, "%s may not enroll for template %s (not in %s)", who.Name, tm.GetName(), strings.Join(groups, ", "))
	}
	if tm.GetMachine() != who.Computer {
		kind := map[bool]string{true: "computers", false: "users"}[tm.GetMachine()]
		return refuse(wstepmsg.CertsrvETemplateDenied, "template %s is for %s", tm.GetName(), kind)
	}
	return nil
}

// fromDirectory builds subject and SANs as the template's flags say:
// computers get their DNS name as CN and SAN; users their name as CN and
// UPN and mail as SANs.
func fromDirectory(tm *pb.WstepTemplate, who *directory.Identity) (string, []*pb.SubjectAltName, error) {
	if tm.GetMachine() {
		if who.DNSHostName == "" {
			return "", nil, refuse(wstepmsg.CertsrvETemplateDenied, "computer %s has no dNSHostName in the directory", who.Name)
		}
		return "CN=" + escapeDN(who.DNSHostName), []*pb.SubjectAltName{{Type: pb.SubjectAltName_TYPE_DNS, Value: who.DNSHostName}}, nil
	}
	var sans []*pb.SubjectAltName
	if who.UPN != "" {
		sans = append(sans, &pb.SubjectAltName{Type: pb.SubjectAltName_TYPE_UPN, Value: who.UPN})
	}
	if who.Mail != "" {
		sans = append(sans, &pb.SubjectAltName{Type: pb.SubjectAltName_TYPE_EMAIL, Value: who.Mail})
	}
	if len(sans) == 0 {
		return "", nil, refuse(wstepmsg.CertsrvETemplateDenied, "user %s has neither a UPN nor mail in the directory", who.Name)
	}
	return "CN=" + escapeDN(who.Name), sans, nil
}

// escapeDN escapes an RFC 4514 attribute value.
func escapeDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		if strings.ContainsRune(`,+"\<>;=`, r) || (i == 0 && (r == ' ' || r == '#')) || (i == len(v)-1 && r == ' ') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// requestIDOf is the RequestID of an issued certificate: the serial's
// first 12 hex digits as a decimal, since Windows shows request IDs as
// numbers.
func requestIDOf(serial string) string {
	if len(serial) > 12 {
		serial = serial[:12]
	}
	var n uint64
	for _, c := range serial {
		n = n<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
	}
	return strconv.FormatUint(n, 10)
}

// issued answers with the certificate, its chain and the CMC response
// signed by the RA.
func (s *Server) issued(ctx context.Context, t *target, ra *frontend.RA, req *wstepmsg.Request, requestID string, der []byte, chainDER [][]byte) ([]byte, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	chain, err := frontend.ParseCerts(chainDER)
	if err != nil {
		return nil, err
	}
	key := frontend.NewRAKey(ctx, s.scep, t.tenant, t.ep.GetId(), ra.Current())
	cmc, err := wstepmsg.CMCResponse(wstepmsg.CMCSuccess, "Issued", []int{req.BodyPartID}, cert, chain, ra.Current(), key)
	if err != nil {
		return nil, err
	}
	return wstepmsg.Issued(req, requestID, cert, chain, cmc)
}

// decision answers a filed request by its state.
func (s *Server) decision(ctx context.Context, t *target, ra *frontend.RA, req *wstepmsg.Request, p *pb.PendingRequest) ([]byte, error) {
	switch p.GetStatus() {
	case pb.PendingStatus_PENDING_STATUS_ISSUED:
		return s.issued(ctx, t, ra, req, p.GetId(), p.GetCertificate().GetDer(), p.GetChain())
	case pb.PendingStatus_PENDING_STATUS_REJECTED:
		return nil, refuse(wstepmsg.CertsrvETemplateDenied, "denied by %s: %s", p.GetDecidedBy(), p.GetReason())
	}
	key := frontend.NewRAKey(ctx, s.scep, t.tenant, t.ep.GetId(), ra.Current())
	cmc, err := wstepmsg.CMCResponse(wstepmsg.CMCPending, wstepmsg.DispositionPending, []int{req.BodyPartID}, nil, nil, ra.Current(), key)
	if err != nil {
		return nil, err
	}
	return wstepmsg.Pending(req, p.GetId(), t.base+"/ces", cmc)
}

// queryStatus answers QueryTokenStatus for a pending request.
func (s *Server) queryStatus(ctx context.Context, t *target, req *wstepmsg.Request) ([]byte, error) {
	if req.RequestID == "" {
		return nil, refuse(hrInvalidArg, "QueryTokenStatus needs a RequestID")
	}
	p, err := s.pending.GetPendingRequest(ctx, &pb.GetPendingRequestRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Id: req.RequestID})
	if err != nil {
		if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
			return nil, refuse(hrNotFound, "no request %s", req.RequestID)
		}
		return nil, err
	}
	ra, err := s.raOf(ctx, t)
	if err != nil {
		return nil, err
	}
	return s.decision(ctx, t, ra, req, p)
}
