package mdmws

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	page := s.instrument("mscep_admin", s.challengePage)
	for _, p := range []string{"/certsrv/mscep_admin/", "/certsrv/mscep_admin", "/mdmws/{tenant}/{endpoint}/certsrv/mscep_admin/",
		"/mdmws/{tenant}/{endpoint}/certsrv/mscep_admin"} {
		m.HandleFunc("GET "+p, page)
	}
	api := func(method, path, op string, h func(*http.Request, *target) (int, any, error)) {
		m.HandleFunc(method+" /mdmws/{tenant}/{endpoint}/v1/"+path, s.instrument(op, func(w http.ResponseWriter, r *http.Request) int {
			t, err := s.authenticate(r, r.PathValue("tenant"), r.PathValue("endpoint"))
			if err == nil {
				var status int
				var v any
				if status, v, err = h(r, t); err == nil {
					writeJSON(w, status, v)
					return status
				}
			}
			ae := s.fromCore(err)
			writeAPIError(w, ae)
			return ae.status
		}))
	}
	api("GET", "ping", "ping", s.ping)
	api("GET", "cas", "cas", s.listCAs)
	api("GET", "profiles", "profiles", s.listProfiles)
	api("GET", "digital-ids", "digital_ids", s.listDigitalIDs)
	api("GET", "digital-ids/{name}", "digital_id", s.getDigitalID)
	api("POST", "challenges", "challenge", s.createChallenge)
	api("POST", "certificates", "issue", s.issueFromCSR)
	api("POST", "pkcs12", "pkcs12", s.issuePKCS12)
	api("GET", "certificates/{serial}", "certificate", s.getCertificate)
	api("POST", "certificates/{serial}/renew", "renew", s.renew)
	api("POST", "certificates/{serial}/revoke", "revoke", s.revoke)
	s.mux = m
}

// decode reads a JSON body into v, strictly.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "send application/json, not %s", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "reading the request: %v", err)
	}
	if len(body) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "the request exceeds %d bytes", maxBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "the request is not the expected JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "the request holds more than one JSON value")
	}
	return nil
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func (s *Server) ping(r *http.Request, t *target) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok", "tenant": t.tenant, "endpoint": t.ep.GetId(), "ca": t.ep.GetCa(),
		"platform": t.ep.GetMdmws().GetPlatform(), "scep_url": s.scepURL(t)}, nil
}

type caJSON struct {
	ID      string   `json:"id"`
	Subject string   `json:"subject"`
	Chain   []string `json:"chain_pem"`
}

// listCAs names the configuration's CA: Digital IDs issue from it only.
func (s *Server) listCAs(r *http.Request, t *target) (int, any, error) {
	chain, err := s.cas.GetCAChain(r.Context(), &pb.GetCAChainRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()})
	if err != nil {
		return 0, nil, err
	}
	out := caJSON{ID: t.ep.GetCa()}
	for i, der := range chain.GetCertificates() {
		if i == 0 {
			if c, err := x509.ParseCertificate(der); err == nil {
				out.Subject = c.Subject.String()
			}
		}
		out.Chain = append(out.Chain, pemOf(der))
	}
	return http.StatusOK, map[string]any{"cas": []caJSON{out}}, nil
}

func (s *Server) listProfiles(r *http.Request, t *target) (int, any, error) {
	type profileJSON struct {
		ID               string   `json:"id"`
		Description      string   `json:"description"`
		KeyTypes         []string `json:"key_types"`
		ServerSideKeygen bool     `json:"server_side_keygen"`
		Default          bool     `json:"default"`
	}
	var out []profileJSON
	for _, id := range append([]string{t.ep.GetDefaultProfile()}, t.ep.GetAllowedProfiles()...) {
		p, err := s.profiles.GetProfile(r.Context(), &pb.GetProfileRequest{Tenant: t.tenant, Id: id})
		if err != nil {
			return 0, nil, err
		}
		pj := profileJSON{ID: p.GetId(), Description: p.GetDescription(), ServerSideKeygen: p.GetServerSideKeygen(), Default: id == t.ep.GetDefaultProfile()}
		for _, k := range p.GetKeyTypes() {
			pj.KeyTypes = append(pj.KeyTypes, strings.ToLower(strings.TrimPrefix(k.String(), "KEY_TYPE_")))
		}
		out = append(out, pj)
	}
	return http.StatusOK, map[string]any{"profiles": out}, nil
}

type digitalIDJSON struct {
	Name       string   `json:"name"`
	ParentDN   string   `json:"parent_dn"`
	RDNFormat  string   `json:"rdn_format"`
	SANFormats []string `json:"san_formats,omitempty"`
	Variables  []string `json:"variables"`
	CA         string   `json:"ca"`
	Profile    string   `json:"profile"`
	Mode       string   `json:"mode"`
}

func digitalIDOut(d *pb.DigitalID) digitalIDJSON {
	return digitalIDJSON{Name: d.GetName(), ParentDN: d.GetParentDn(), RDNFormat: d.GetRdnFormat(), SANFormats: d.GetSanFormats(),
		Variables: append([]string{}, d.GetVariables()...), CA: d.GetCa(), Profile: d.GetProfile(),
		Mode: strings.ToLower(strings.TrimPrefix(d.GetMode().String(), "DIGITAL_ID_MODE_"))}
}

func (s *Server) listDigitalIDs(r *http.Request, t *target) (int, any, error) {
	list, err := s.digitalIDs.ListDigitalIDs(r.Context(), &pb.ListDigitalIDsRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()})
	if err != nil {
		return 0, nil, err
	}
	out := []digitalIDJSON{}
	for _, d := range list.GetDigitalIds() {
		out = append(out, digitalIDOut(d))
	}
	return http.StatusOK, map[string]any{"digital_ids": out}, nil
}

func (s *Server) getDigitalID(r *http.Request, t *target) (int, any, error) {
	d, err := s.digitalIDs.GetDigitalID(r.Context(), &pb.GetDigitalIDRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Name: r.PathValue("name")})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, digitalIDOut(d), nil
}

type challengeRequest struct {
	DigitalID  string            `json:"digital_id"`
	Variables  map[string]string `json:"variables"`
	TTLSeconds int               `json:"ttl_seconds"`
}

// createChallenge hands out a SCEP challenge, bound to a Digital ID and
// its variables when the request names one.
func (s *Server) createChallenge(r *http.Request, t *target) (int, any, error) {
	var req challengeRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	ttl := s.cfg.ChallengeTTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	ch, err := s.challenges.CreateChallenge(r.Context(), &pb.CreateChallengeRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
		DigitalId: req.DigitalID, Variables: req.Variables, Ttl: durationpb.New(ttl), Format: pb.ChallengeFormat_CHALLENGE_FORMAT_NDES})
	if err != nil {
		return 0, nil, err
	}
	s.log.Info("mdmws: challenge issued", "tenant", t.tenant, "endpoint", t.ep.GetId(), "user", t.user, "digital_id", req.DigitalID, "challenge_id", ch.GetId())
	return http.StatusCreated, map[string]any{"challenge": ch.GetValue(), "expires_at": ch.GetExpiresAt().AsTime().UTC().Format(time.RFC3339),
		"subject": ch.GetSubject(), "scep_url": s.scepURL(t)}, nil
}

// identity is what a Digital ID renders to, or nothing.
func (s *Server) identity(r *http.Request, t *target, digitalID string, vars map[string]string, mode pb.DigitalIDMode) (*pb.RenderedDigitalID, error) {
	if digitalID == "" {
		return &pb.RenderedDigitalID{}, nil
	}
	out, err := s.digitalIDs.RenderDigitalID(r.Context(), &pb.RenderDigitalIDRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Name: digitalID, Variables: vars})
	if err != nil {
		return nil, err
	}
	if out.GetMode() != mode {
		return nil, errorf(http.StatusConflict, "Digital ID %q is for %s enrollment", digitalID,
			strings.ToLower(strings.TrimPrefix(out.GetMode().String(), "DIGITAL_ID_MODE_")))
	}
	return out, nil
}

type certificateJSON struct {
	Serial      string   `json:"serial"`
	Status      string   `json:"status,omitempty"`
	Subject     string   `json:"subject"`
	NotAfter    string   `json:"not_after"`
	Certificate string   `json:"certificate"`
	Chain       []string `json:"chain,omitempty"`
	PKCS12      string   `json:"pkcs12,omitempty"`
}

func certOut(c *pb.Certificate, chain [][]byte) certificateJSON {
	out := certificateJSON{Serial: c.GetSerial(), Subject: c.GetSubject(), NotAfter: c.GetNotAfter().AsTime().UTC().Format(time.RFC3339),
		Certificate: pemOf(c.GetDer()), Status: strings.ToLower(strings.TrimPrefix(c.GetStatus().String(), "CERTIFICATE_STATUS_"))}
	for _, der := range chain {
		out.Chain = append(out.Chain, pemOf(der))
	}
	return out
}

type issueRequest struct {
	CSR       string            `json:"csr"`
	DigitalID string            `json:"digital_id"`
	Variables map[string]string `json:"variables"`
}

// parseCSR accepts PEM or base64 DER.
func parseCSR(s string) ([]byte, error) {
	if b, _ := pem.Decode([]byte(s)); b != nil {
		return b.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(der) == 0 {
		return nil, errorf(http.StatusBadRequest, "csr is neither PEM nor base64 DER")
	}
	return der, nil
}

// issueFromCSR issues for a CSR the MDM made or relays, its subject and
// SANs from a Digital ID when one is named.
func (s *Server) issueFromCSR(r *http.Request, t *target) (int, any, error) {
	var req issueRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		return 0, nil, err
	}
	id, err := s.identity(r, t, req.DigitalID, req.Variables, pb.DigitalIDMode_DIGITAL_ID_MODE_SCEP)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.issuance.Issue(r.Context(), &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Csr: csr, Profile: id.GetProfile(),
		Subject: id.GetSubject(), SubjectAltNames: id.GetSubjectAltNames()})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, certOut(res.GetCertificate(), res.GetChain()), nil
}

type pkcs12Request struct {
	DigitalID string            `json:"digital_id"`
	Variables map[string]string `json:"variables"`
	Password  string            `json:"password"`
	// Encryption is "aes" (AES-256, PBKDF2-SHA-256, the default) or
	// "legacy" (3DES, SHA-1), for agents that predate AES PKCS#12.
	Encryption string `json:"encryption"`
}

// issuePKCS12 issues with a key ca-core generates and returns both as a
// password-protected PKCS#12. The key is not stored anywhere.
func (s *Server) issuePKCS12(r *http.Request, t *target) (int, any, error) {
	var req pkcs12Request
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.DigitalID == "" {
		return 0, nil, errorf(http.StatusBadRequest, "digital_id is required: it says what the certificate holds")
	}
	id, err := s.identity(r, t, req.DigitalID, req.Variables, pb.DigitalIDMode_DIGITAL_ID_MODE_PKCS12)
	if err != nil {
		return 0, nil, err
	}
	return s.pkcs12For(r, t, &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Profile: id.GetProfile(), Subject: id.GetSubject(),
		SubjectAltNames: id.GetSubjectAltNames()}, req.Password, req.Encryption)
}

func (s *Server) pkcs12For(r *http.Request, t *target, ir *pb.IssueRequest, password, encryption string) (int, any, error) {
	var enc *pkcs12.Encoder
	switch encryption {
	case "", "aes":
		enc = pkcs12.Modern2023
	case "legacy":
		enc = pkcs12.LegacyDES
	default:
		return 0, nil, errorf(http.StatusBadRequest, "encryption is aes or legacy")
	}
	if len(password) < 4 {
		return 0, nil, errorf(http.StatusBadRequest, "a PKCS#12 password of at least 4 characters is required")
	}
	res, err := s.issuance.IssueWithGeneratedKey(r.Context(), &pb.IssueWithGeneratedKeyRequest{Request: ir})
	if err != nil {
		return 0, nil, err
	}
	cert, err := x509.ParseCertificate(res.GetIssued().GetCertificate().GetDer())
	if err != nil {
		return 0, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(res.GetPrivateKey())
	if err != nil {
		return 0, nil, err
	}
	var cas []*x509.Certificate
	for _, der := range res.GetIssued().GetChain() {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return 0, nil, err
		}
		cas = append(cas, c)
	}
	pfx, err := enc.Encode(key, cert, cas, password)
	if err != nil {
		return 0, nil, errors.Join(errors.New("mdmws: encoding the PKCS#12"), err)
	}
	out := certOut(res.GetIssued().GetCertificate(), res.GetIssued().GetChain())
	out.PKCS12 = base64.StdEncoding.EncodeToString(pfx)
	s.log.Info("mdmws: PKCS#12 issued", "tenant", t.tenant, "endpoint", t.ep.GetId(), "user", t.user, "serial", out.Serial)
	return http.StatusCreated, out, nil
}

func (s *Server) getCertificate(r *http.Request, t *target) (int, any, error) {
	c, err := s.ownCertificate(r, t)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, certOut(c, nil), nil
}

// ownCertificate loads a certificate this configuration issued.
func (s *Server) ownCertificate(r *http.Request, t *target) (*pb.Certificate, error) {
	c, err := s.certs.GetCertificate(r.Context(), &pb.GetCertificateRequest{Tenant: t.tenant, Serial: r.PathValue("serial")})
	if err != nil {
		return nil, err
	}
	if c.GetEndpoint() != t.ep.GetId() {
		return nil, errorf(http.StatusNotFound, "MDM configuration %s issued no certificate %s", t.ep.GetId(), r.PathValue("serial"))
	}
	return c, nil
}

type renewRequest struct {
	// CSR renews with a new key the MDM supplies; otherwise Password
	// (and Encryption) renews as a PKCS#12 with a new generated key.
	CSR        string `json:"csr"`
	Password   string `json:"password"`
	Encryption string `json:"encryption"`
}

// renew issues a successor with the same subject, SANs and profile.
func (s *Server) renew(r *http.Request, t *target) (int, any, error) {
	var req renewRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	old, err := s.ownCertificate(r, t)
	if err != nil {
		return 0, nil, err
	}
	if old.GetStatus() != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED {
		return 0, nil, errorf(http.StatusConflict, "certificate %s is %s; only certificates in force are renewed", old.GetSerial(),
			strings.ToLower(strings.TrimPrefix(old.GetStatus().String(), "CERTIFICATE_STATUS_")))
	}
	ir := &pb.IssueRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Profile: old.GetProfile(), Subject: old.GetSubject(),
		SubjectAltNames: old.GetSubjectAltNames(), EndEntity: old.GetEndEntity()}
	if req.CSR == "" {
		return s.pkcs12For(r, t, ir, req.Password, req.Encryption)
	}
	if ir.Csr, err = parseCSR(req.CSR); err != nil {
		return 0, nil, err
	}
	res, err := s.issuance.Issue(r.Context(), ir)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, certOut(res.GetCertificate(), res.GetChain()), nil
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

var reasons = map[string]pb.RevocationReason{"": pb.RevocationReason_REVOCATION_REASON_UNSPECIFIED,
	"unspecified": pb.RevocationReason_REVOCATION_REASON_UNSPECIFIED, "keyCompromise": pb.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE,
	"affiliationChanged": pb.RevocationReason_REVOCATION_REASON_AFFILIATION_CHANGED, "superseded": pb.RevocationReason_REVOCATION_REASON_SUPERSEDED,
	"cessationOfOperation": pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION,
	"privilegeWithdrawn":   pb.RevocationReason_REVOCATION_REASON_PRIVILEGE_WITHDRAWN}

func (s *Server) revoke(r *http.Request, t *target) (int, any, error) {
	var req revokeRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	reason, ok := reasons[req.Reason]
	if !ok {
		return 0, nil, errorf(http.StatusBadRequest, "reason %q is not one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn", req.Reason)
	}
	if _, err := s.ownCertificate(r, t); err != nil {
		return 0, nil, err
	}
	c, err := s.revoker.RevokeCertificate(r.Context(), &pb.RevokeCertificateRequest{Tenant: t.tenant, Serial: r.PathValue("serial"), Reason: reason})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, certOut(c, nil), nil
}
