package wstep

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/wstep/xcep"
)

// serveCEP answers MS-XCEP GetPolicies with the endpoint's templates.
func (s *Server) serveCEP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, status, text := readSOAP(r)
	if status != 0 {
		s.observe("GetPolicies", "error", start)
		writeSOAP(w, status, xcep.BuildFault("", xcep.CodeSender, text))
		return
	}
	req, err := xcep.ParseRequest(body)
	if err != nil {
		s.observe("GetPolicies", "error", start)
		code := xcep.CodeSender
		switch {
		case errors.Is(err, xcep.ErrVersionMismatch):
			code = xcep.CodeVersionMismatch
		case errors.Is(err, xcep.ErrMustUnderstand):
			code = xcep.CodeMustUnderstand
		}
		// WCF, and so ADCS, answers every fault with 500, and clients
		// such as cepces read fault bodies only then.
		writeSOAP(w, http.StatusInternalServerError, xcep.BuildFault("", code, err.Error()))
		return
	}
	fail := func(status int, code, reason string) {
		s.observe("GetPolicies", "error", start)
		if status == http.StatusUnauthorized {
			s.challenge(w)
		}
		writeSOAP(w, status, xcep.BuildFault(req.MessageID, code, reason))
	}
	t, err := s.targetOf(r.Context(), r.PathValue("tenant"), r.PathValue("endpoint"))
	if err != nil {
		fail(http.StatusNotFound, xcep.CodeSender, "no enrollment policy here")
		return
	}
	who, err := s.requester(r.Context(), r, req.Username, req.Password)
	if err != nil || who == nil {
		// Policies name templates and groups: only members of the
		// directory see them.
		fail(http.StatusUnauthorized, xcep.CodeSender, errUnauthenticated.Error())
		return
	}
	p, err := s.policy(r.Context(), t)
	if err != nil {
		s.log.Error("wstep: building the policy", "tenant", t.tenant, "endpoint", t.ep.GetId(), "err", err)
		fail(http.StatusInternalServerError, xcep.CodeReceiver, frontend.Describe(err))
		return
	}
	out, err := xcep.BuildResponse(req, p)
	if err != nil {
		fail(http.StatusInternalServerError, xcep.CodeReceiver, err.Error())
		return
	}
	s.observe("GetPolicies", "ok", start)
	writeSOAP(w, http.StatusOK, out)
}

// policyStamps remembers when each endpoint's policy last changed, so
// that clients asking with their lastUpdate get policiesNotChanged.
var policyStamps = struct {
	sync.Mutex
	m map[string]policyStamp
}{m: map[string]policyStamp{}}

type policyStamp struct {
	hash [32]byte
	at   time.Time
}

// changedAt returns when the policy with digest h of key last changed:
// the first time this process saw it.
func changedAt(key string, h [32]byte) time.Time {
	policyStamps.Lock()
	defer policyStamps.Unlock()
	if st, ok := policyStamps.m[key]; ok && st.hash == h {
		return st.at
	}
	at := time.Now().UTC().Truncate(time.Second)
	policyStamps.m[key] = policyStamp{hash: h, at: at}
	return at
}

// policy builds the endpoint's enrollment policy: one CA (the endpoint's,
// reached at this endpoint's CES with every enabled authentication) and
// its templates with what their profiles say.
func (s *Server) policy(ctx context.Context, t *target) (*xcep.Policy, error) {
	ra, err := s.raOf(ctx, t)
	if err != nil {
		return nil, err
	}
	w := t.ep.GetWstep()
	if w == nil || len(w.GetTemplates()) == 0 {
		return nil, errors.New("the endpoint offers no templates; add some with certgate admin templates add")
	}
	ca := xcep.CA{Certificate: ra.Chain[0].Raw, EnrollPermission: true}
	ces := t.base + "/ces"
	if s.keytab != nil {
		ca.URIs = append(ca.URIs, xcep.CAURI{ClientAuthentication: xcep.AuthKerberos, URI: ces, Priority: 1})
	}
	if *s.cfg.UsernamePassword {
		ca.URIs = append(ca.URIs, xcep.CAURI{ClientAuthentication: xcep.AuthUsernamePassword, URI: ces, Priority: 2})
	}
	// Renewals signed with, or presenting over TLS, the current
	// certificate need nothing else.
	ca.URIs = append(ca.URIs, xcep.CAURI{ClientAuthentication: xcep.AuthCertificate, URI: ces, Priority: 3, RenewalOnly: true},
		xcep.CAURI{ClientAuthentication: xcep.AuthAnonymous, URI: ces, Priority: 4, RenewalOnly: true})
	p := &xcep.Policy{ID: w.GetPolicyId(), FriendlyName: w.GetPolicyFriendlyName(), NextUpdateHours: s.cfg.NextUpdateHours, CAs: []xcep.CA{ca}}
	h := sha256.New()
	fmt.Fprint(h, w.String(), ra.Chain[0].SerialNumber)
	for _, tm := range w.GetTemplates() {
		prof, err := s.profileOf(ctx, t, tm.GetProfile())
		if err != nil {
			return nil, err
		}
		fmt.Fprint(h, prof.String())
		x, err := templateOf(tm, prof)
		if err != nil {
			return nil, err
		}
		p.Templates = append(p.Templates, x)
	}
	p.LastUpdate = changedAt(t.tenant+"/"+t.ep.GetId(), [32]byte(h.Sum(nil)))
	return p, nil
}

func (s *Server) profileOf(ctx context.Context, t *target, id string) (*pb.Profile, error) {
	return s.profiles.GetProfile(ctx, &pb.GetProfileRequest{Tenant: t.tenant, Id: id})
}

var keyUsageBits = map[string]x509.KeyUsage{"digitalSignature": x509.KeyUsageDigitalSignature, "nonRepudiation": x509.KeyUsageContentCommitment,
	"keyEncipherment": x509.KeyUsageKeyEncipherment, "dataEncipherment": x509.KeyUsageDataEncipherment, "keyAgreement": x509.KeyUsageKeyAgreement}

var ekuOIDs = map[string]asn1.ObjectIdentifier{"serverAuth": {1, 3, 6, 1, 5, 5, 7, 3, 1}, "clientAuth": {1, 3, 6, 1, 5, 5, 7, 3, 2},
	"codeSigning": {1, 3, 6, 1, 5, 5, 7, 3, 3}, "emailProtection": {1, 3, 6, 1, 5, 5, 7, 3, 4}, "timeStamping": {1, 3, 6, 1, 5, 5, 7, 3, 8},
	"OCSPSigning": {1, 3, 6, 1, 5, 5, 7, 3, 9}, "smartcardLogon": {1, 3, 6, 1, 4, 1, 311, 20, 2, 2}}

// templateOf describes template tm, issued with profile prof, as XCEP
// does: validity from the profile, key requirements from its key types,
// usages and EKUs as extensions, and flags saying where the subject comes
// from.
func templateOf(tm *pb.WstepTemplate, prof *pb.Profile) (xcep.Template, error) {
	validity, err := isoDuration(prof.GetDefaultValidity())
	if err != nil {
		return xcep.Template{}, fmt.Errorf("profile %s: %w", prof.GetId(), err)
	}
	x := xcep.Template{CommonName: tm.GetName(), OID: tm.GetOid(), DisplayName: tm.GetDisplayName(), SchemaVersion: 2,
		MajorRevision: int(tm.GetMajorRevision()), MinorRevision: int(tm.GetMinorRevision()), ValidityPeriod: validity,
		RenewalPeriod: tm.GetRenewalPeriod().AsDuration(), Enroll: true, AutoEnroll: tm.GetAutoenroll(), KeySpec: xcep.KeySpecSignature, CAs: []int{0},
		// Renewals are signed with the certificate they renew.
		EnrollmentFlags: xcep.EnrollmentPreviousApprovalValidateReenrollment}
	if x.DisplayName == "" {
		x.DisplayName = tm.GetName()
	}
	if tm.GetAutoenroll() {
		x.EnrollmentFlags |= xcep.EnrollmentAutoEnrollment
	}
	if tm.GetMachine() {
		x.GeneralFlags |= xcep.GeneralMachineType
	}
	switch {
	case !tm.GetSubjectFromDirectory():
		x.SubjectNameFlags = xcep.SubjectNameEnrolleeSupplies | xcep.SubjectAltNameEnrolleeSupplies
	case tm.GetMachine():
		x.SubjectNameFlags = xcep.SubjectNameRequireDNSAsCN | xcep.SubjectAltNameRequireDNS
	default:
		x.SubjectNameFlags = xcep.SubjectNameRequireCommonName | xcep.SubjectAltNameRequireUPN | xcep.SubjectAltNameRequireEmail
	}
	var ku x509.KeyUsage
	for _, n := range prof.GetKeyUsages() {
		ku |= keyUsageBits[n]
	}
	if ku&(x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment) != 0 {
		x.KeySpec = xcep.KeySpecExchange
	}
	x.MinimalKeyLength = minimalKeyLength(prof.GetKeyTypes())
	x.Extensions = append(x.Extensions, xcep.KeyUsageExtension(ku), xcep.TemplateInfoExtension(tm.GetOid(), x.MajorRevision, x.MinorRevision))
	var ekus []asn1.ObjectIdentifier
	for _, n := range prof.GetExtendedKeyUsages() {
		if oid, ok := ekuOIDs[n]; ok {
			ekus = append(ekus, oid)
		} else if oid, err := dottedOID(n); err == nil {
			ekus = append(ekus, oid)
		}
	}
	if len(ekus) > 0 {
		x.Extensions = append(x.Extensions, xcep.EKUExtension(ekus), xcep.ApplicationPoliciesExtension(ekus))
	}
	return x, nil
}

// minimalKeyLength is the smallest RSA size the profile accepts (what
// Windows' providers need), or an EC size when it takes EC keys only.
func minimalKeyLength(types []pb.KeyType) int {
	best := 0
	for _, kt := range types {
		bits := map[pb.KeyType]int{pb.KeyType_KEY_TYPE_RSA_2048: 2048, pb.KeyType_KEY_TYPE_RSA_3072: 3072, pb.KeyType_KEY_TYPE_RSA_4096: 4096}[kt]
		if bits > 0 && (best == 0 || bits < best) {
			best = bits
		}
	}
	if best == 0 {
		best = 256
	}
	return best
}

func dottedOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not an OID", s)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("%q is not an OID", s)
	}
	return oid, nil
}

var isoPattern = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// isoDuration reads the ISO 8601 durations profiles state validity in,
// with years of 365 and months of 30 days, as Windows counts template
// validity in whole days.
func isoDuration(s string) (time.Duration, error) {
	m := isoPattern.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	day := 24 * time.Hour
	units := []time.Duration{365 * day, 30 * day, 7 * day, day, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * u
		}
	}
	return d, nil
}

// raOf returns t's RA (its CA chain and CMC signing certificate).
func (s *Server) raOf(ctx context.Context, t *target) (*frontend.RA, error) {
	return s.ras.Get(ctx, t.tenant+"/"+t.ep.GetId(), t.tenant, t.ep.GetId())
}
