package server

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"strings"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/enrollment"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

// --- tenants ---------------------------------------------------------------

type tenants struct {
	*Server
	pb.UnimplementedTenantServiceServer
}

// Tier defaults from the seeds (spec/seed-002-part1.md §2.4): 100
// requests per 10 s below one million purchased certificates, 1000 at or
// above it (and without a cap).
func defaultRate(maxActive int64) int64 {
	if maxActive > 0 && maxActive < 1_000_000 {
		return 100
	}
	return 1000
}

func (s tenants) CreateTenant(ctx context.Context, r *pb.CreateTenantRequest) (*pb.Tenant, error) {
	if !ca.ValidID(r.GetId()) {
		return nil, fault.Field("id", "tenant id %q must be 2-18 characters of a-z, 0-9, _ and -", r.GetId())
	}
	if len(r.GetDisplayName()) > 256 {
		return nil, fault.Field("display_name", "display name is longer than 256 bytes")
	}
	t := &store.Tenant{ID: r.GetId(), DisplayName: r.GetDisplayName()}
	if q := r.GetQuota(); q != nil {
		t.MaxActive, t.RatePerWindow = q.GetMaxActiveCertificates(), q.GetIssueRequestsPerWindow()
	} else {
		t.RatePerWindow = defaultRate(0)
	}
	if t.MaxActive < 0 || t.RatePerWindow < 0 {
		return nil, fault.Field("quota", "quota values cannot be negative")
	}
	if t.DisplayName == "" {
		t.DisplayName = t.ID
	}
	ev := &audit.Event{Tenant: t.ID, Actor: callerOf(ctx).Actor(), Action: audit.ActionTenantCreate, Target: t.ID,
		Detail: fmt.Sprintf("max_active=%d rate=%d", t.MaxActive, t.RatePerWindow)}
	if err := s.d.Store.CreateTenant(ctx, t, ev); err != nil {
		return nil, err
	}
	return tenantToPB(t), nil
}

func (s tenants) GetTenant(ctx context.Context, r *pb.GetTenantRequest) (*pb.Tenant, error) {
	t, err := s.d.Store.GetTenant(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return tenantToPB(t), nil
}

func (s tenants) ListTenants(ctx context.Context, _ *pb.ListTenantsRequest) (*pb.ListTenantsResponse, error) {
	all, err := s.d.Store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListTenantsResponse{}
	for _, t := range all {
		if callerOf(ctx).SeesTenant(t.ID) {
			out.Tenants = append(out.Tenants, tenantToPB(t))
		}
	}
	return out, nil
}

func (s tenants) UpdateQuota(ctx context.Context, r *pb.UpdateQuotaRequest) (*pb.Tenant, error) {
	q := r.GetQuota()
	if q == nil || q.GetMaxActiveCertificates() < 0 || q.GetIssueRequestsPerWindow() < 0 {
		return nil, fault.Field("quota", "a non-negative quota is required")
	}
	ev := &audit.Event{Tenant: r.GetTenant(), Actor: callerOf(ctx).Actor(), Action: audit.ActionTenantQuota, Target: r.GetTenant(),
		Detail: fmt.Sprintf("max_active=%d rate=%d", q.GetMaxActiveCertificates(), q.GetIssueRequestsPerWindow())}
	if err := s.d.Store.UpdateQuota(ctx, r.GetTenant(), q.GetMaxActiveCertificates(), q.GetIssueRequestsPerWindow(), ev); err != nil {
		return nil, err
	}
	return s.GetTenant(ctx, &pb.GetTenantRequest{Id: r.GetTenant()})
}

func (s tenants) GetQuotaUsage(ctx context.Context, r *pb.GetQuotaUsageRequest) (*pb.QuotaUsage, error) {
	t, err := s.d.Store.GetTenant(ctx, r.GetTenant())
	if err != nil {
		return nil, err
	}
	u, err := s.d.Store.QuotaUsage(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return &pb.QuotaUsage{Tenant: t.ID, Quota: tenantToPB(t).Quota, ActiveCertificates: u.Active, WindowRequests: u.WindowRequests,
		WindowStart: ts(fromMicros(u.WindowStart))}, nil
}

// --- CAs -------------------------------------------------------------------

type cas struct {
	*Server
	pb.UnimplementedCAServiceServer
}

func (s cas) CreateCA(ctx context.Context, r *pb.CreateCARequest) (*pb.CA, error) {
	var t profile.CAType
	for k, v := range caTypes {
		if v == r.GetType() {
			t = k
		}
	}
	kt, err := keyTypeFromPB(r.GetKeyType())
	if err != nil {
		return nil, err
	}
	req := &ca.CreateRequest{Tenant: r.GetTenant(), ID: r.GetId(), FriendlyName: r.GetFriendlyName(), Type: t, Parent: r.GetParent(),
		KeyType: kt, RSAPSS: r.GetRsaPss(), Subject: r.GetSubject(), NotAfter: fromTS(r.GetNotAfter()), KeyBackend: r.GetKeyBackend(),
		Actor: callerOf(ctx).Actor()}
	if r.Profiles != nil {
		req.Profiles = r.GetProfiles()
	}
	if r.PathLen != nil {
		v := int(r.GetPathLen())
		req.PathLen = &v
	}
	req.CRLEnabled, req.OCSPEnabled = r.CrlEnabled, r.OcspEnabled
	c, err := s.d.Authority.Create(ctx, req)
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

func (s cas) ImportExternalRoot(ctx context.Context, r *pb.ImportExternalRootRequest) (*pb.CA, error) {
	c, err := s.d.Authority.ImportExternalRoot(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetId(), r.GetFriendlyName(), r.GetCertificate())
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

func (s cas) GetCACSR(ctx context.Context, r *pb.GetCACSRRequest) (*pb.GetCACSRResponse, error) {
	csr, err := s.d.Authority.CSR(ctx, r.GetTenant(), r.GetCa())
	if err != nil {
		return nil, err
	}
	return &pb.GetCACSRResponse{Csr: csr}, nil
}

func (s cas) ImportCACertificate(ctx context.Context, r *pb.ImportCACertificateRequest) (*pb.CA, error) {
	c, err := s.d.Authority.ImportCertificate(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetCa(), r.GetCertificate())
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

func (s cas) GetCA(ctx context.Context, r *pb.GetCARequest) (*pb.CA, error) {
	c, err := s.d.Store.GetCA(ctx, r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

func (s cas) ListCAs(ctx context.Context, r *pb.ListCAsRequest) (*pb.ListCAsResponse, error) {
	all, err := s.d.Store.ListCAs(ctx, r.GetTenant())
	if err != nil {
		return nil, err
	}
	out := &pb.ListCAsResponse{}
	for _, c := range all {
		out.Cas = append(out.Cas, caToPB(c, s.d.Authority.URLs(c)))
	}
	return out, nil
}

func (s cas) GetCAChain(ctx context.Context, r *pb.GetCAChainRequest) (*pb.CAChain, error) {
	id := r.GetCa()
	if r.GetEndpoint() != "" || callerOf(ctx).Kind == authz.Frontend {
		e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
		if err != nil {
			return nil, err
		}
		if id != "" && id != e.CA {
			return nil, fault.Field("ca", "endpoint %q uses CA %q", e.ID, e.CA)
		}
		id = e.CA
	}
	if err := require("ca", id); err != nil {
		return nil, err
	}
	chain, err := s.d.Authority.Chain(ctx, r.GetTenant(), id)
	if err != nil {
		return nil, err
	}
	return &pb.CAChain{Certificates: chain}, nil
}

func (s cas) SetCARevocation(ctx context.Context, r *pb.SetCARevocationRequest) (*pb.CA, error) {
	c, err := s.d.Authority.SetRevocation(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetCa(), r.GetCrlEnabled(), r.GetOcspEnabled())
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

func (s cas) SetCAProfiles(ctx context.Context, r *pb.SetCAProfilesRequest) (*pb.CA, error) {
	c, err := s.d.Authority.SetProfiles(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetCa(), r.GetProfiles())
	if err != nil {
		return nil, err
	}
	return caToPB(c, s.d.Authority.URLs(c)), nil
}

// --- profiles ----------------------------------------------------------------

type profiles struct {
	*Server
	pb.UnimplementedProfileServiceServer
}

func (s profiles) ListProfiles(ctx context.Context, r *pb.ListProfilesRequest) (*pb.ListProfilesResponse, error) {
	all, err := s.d.Profiles.List(ctx, r.GetTenant())
	if err != nil {
		return nil, err
	}
	out := &pb.ListProfilesResponse{}
	for _, p := range all {
		if r.GetGroup() == "" || p.Group == r.GetGroup() {
			out.Profiles = append(out.Profiles, profileToPB(p))
		}
	}
	slices.SortFunc(out.Profiles, func(a, b *pb.Profile) int { return strings.Compare(a.Id, b.Id) })
	return out, nil
}

func (s profiles) GetProfile(ctx context.Context, r *pb.GetProfileRequest) (*pb.Profile, error) {
	p, err := s.d.Profiles.Resolve(ctx, r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	return profileToPB(p), nil
}

func (s profiles) CreateProfile(ctx context.Context, r *pb.CreateProfileRequest) (*pb.Profile, error) {
	if _, err := s.d.Store.GetTenant(ctx, r.GetTenant()); err != nil {
		return nil, err
	}
	docs, err := profile.ParseDocuments(r.GetDocument())
	if err != nil {
		return nil, fault.Field("document", "%v", err)
	}
	if len(docs) != 1 {
		return nil, fault.Field("document", "send one profile per request (got %d)", len(docs))
	}
	if docs[0].CloneFrom == "" {
		return nil, fault.Field("document", "a custom profile names the profile it clones in clone_from")
	}
	if _, exists := s.d.Profiles.Global().Get(docs[0].ID); exists {
		return nil, fault.New(fault.AlreadyExists, "profile %q exists already (built-in or configured)", docs[0].ID)
	}
	p, err := profile.Build(docs[0], func(id string) (*profile.Profile, bool) {
		b, err := s.d.Profiles.Resolve(ctx, r.GetTenant(), id)
		return b, err == nil
	})
	if err != nil {
		return nil, fault.Policy("profile.document", "%v", err)
	}
	p.Tenant = r.GetTenant()
	doc, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	ev := &audit.Event{Tenant: r.GetTenant(), Actor: callerOf(ctx).Actor(), Action: audit.ActionProfileCreate, Target: p.ID, Detail: "cloned_from=" + p.ClonedFrom}
	if err := s.d.Store.CreateProfile(ctx, &store.CustomProfile{Tenant: r.GetTenant(), ID: p.ID, Document: doc}, ev); err != nil {
		return nil, err
	}
	return profileToPB(p), nil
}

func (s profiles) DeleteProfile(ctx context.Context, r *pb.DeleteProfileRequest) (*pb.DeleteProfileResponse, error) {
	if _, builtin := s.d.Profiles.Global().Get(r.GetId()); builtin {
		return nil, fault.Policy("profile.builtin", "profile %q is built in or configured; it cannot be deleted", r.GetId())
	}
	ev := &audit.Event{Tenant: r.GetTenant(), Actor: callerOf(ctx).Actor(), Action: audit.ActionProfileDelete, Target: r.GetId()}
	return &pb.DeleteProfileResponse{}, s.d.Store.DeleteProfile(ctx, r.GetTenant(), r.GetId(), ev)
}

// --- endpoints ---------------------------------------------------------------

type endpoints struct {
	*Server
	pb.UnimplementedEndpointServiceServer
}

func (s endpoints) CreateEndpoint(ctx context.Context, r *pb.CreateEndpointRequest) (*pb.Endpoint, error) {
	if r.GetEndpoint() == nil {
		return nil, fault.Field("endpoint", "endpoint is required")
	}
	e := endpointFromPB(r.GetEndpoint())
	if err := s.d.Enrollment.CreateEndpoint(ctx, callerOf(ctx).Actor(), e, r.GetSecret()); err != nil {
		return nil, err
	}
	return endpointToPB(e), nil
}

func (s endpoints) GetEndpoint(ctx context.Context, r *pb.GetEndpointRequest) (*pb.Endpoint, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	return endpointToPB(e), nil
}

func (s endpoints) ListEndpoints(ctx context.Context, r *pb.ListEndpointsRequest) (*pb.ListEndpointsResponse, error) {
	all, err := s.d.Store.ListEndpoints(ctx, r.GetTenant(), protocolName(r.GetProtocol()))
	if err != nil {
		return nil, err
	}
	out := &pb.ListEndpointsResponse{}
	for _, e := range all {
		out.Endpoints = append(out.Endpoints, endpointToPB(e))
	}
	return out, nil
}

func (s endpoints) UpdateEndpoint(ctx context.Context, r *pb.UpdateEndpointRequest) (*pb.Endpoint, error) {
	if r.GetEndpoint() == nil {
		return nil, fault.Field("endpoint", "endpoint is required")
	}
	e := endpointFromPB(r.GetEndpoint())
	if err := s.d.Enrollment.UpdateEndpoint(ctx, callerOf(ctx).Actor(), e, r.GetSecret()); err != nil {
		return nil, err
	}
	return endpointToPB(e), nil
}

func (s endpoints) DeleteEndpoint(ctx context.Context, r *pb.DeleteEndpointRequest) (*pb.DeleteEndpointResponse, error) {
	return &pb.DeleteEndpointResponse{}, s.d.Enrollment.DeleteEndpoint(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetId())
}

func (s endpoints) VerifyEndpointCredential(ctx context.Context, r *pb.VerifyEndpointCredentialRequest) (*pb.VerifyEndpointCredentialResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	return &pb.VerifyEndpointCredentialResponse{}, s.d.Enrollment.VerifyCredential(ctx, callerOf(ctx).Actor(), e, r.GetUsername(), r.GetSecret())
}

// --- issuance and certificates ------------------------------------------------

type issuer struct {
	*Server
	pb.UnimplementedIssuanceServiceServer
}

func (s issuer) Issue(ctx context.Context, r *pb.IssueRequest) (*pb.IssueResponse, error) {
	req, err := issueRequestFromPB(ctx, r)
	if err != nil {
		return nil, err
	}
	res, err := s.d.Issuance.Issue(ctx, req)
	if err != nil {
		return nil, err
	}
	return &pb.IssueResponse{Certificate: certToPB(res.Certificate, s.d.Now()), Chain: res.Chain, Replayed: res.Replayed}, nil
}

func (s issuer) IssueWithGeneratedKey(ctx context.Context, r *pb.IssueWithGeneratedKeyRequest) (*pb.IssueWithGeneratedKeyResponse, error) {
	req, err := issueRequestFromPB(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	var kt keys.Type
	if r.GetKeyType() != pb.KeyType_KEY_TYPE_UNSPECIFIED {
		if kt, err = keyTypeFromPB(r.GetKeyType()); err != nil {
			return nil, err
		}
	}
	res, key, err := s.d.Issuance.IssueWithGeneratedKey(ctx, req, kt)
	if err != nil {
		return nil, err
	}
	return &pb.IssueWithGeneratedKeyResponse{PrivateKey: key,
		Issued: &pb.IssueResponse{Certificate: certToPB(res.Certificate, s.d.Now()), Chain: res.Chain}}, nil
}

func issueRequestFromPB(ctx context.Context, r *pb.IssueRequest) (*issuance.Request, error) {
	c := callerOf(ctx)
	frontend := ""
	if c.Kind == authz.Frontend {
		// The pipeline checks the endpoint's assignment where it loads it.
		frontend = c.Name
	}
	sans, err := sansFromPB(r.GetSubjectAltNames())
	if err != nil {
		return nil, err
	}
	var exts []pkix.Extension
	for _, e := range r.GetExtensions() {
		oid, err := profile.ParseOID(e.GetOid())
		if err != nil {
			return nil, fault.Field("extensions", "%v", err)
		}
		exts = append(exts, pkix.Extension{Id: oid, Critical: e.GetCritical(), Value: e.GetValue()})
	}
	return &issuance.Request{
		Actor: c.Actor(), Frontend: frontend, Tenant: r.GetTenant(), Endpoint: r.GetEndpoint(), CA: r.GetCa(),
		Profile: r.GetProfile(), CSR: r.GetCsr(), RequestKey: r.GetRequestKey(), Subject: r.GetSubject(), SANs: sans, Extensions: exts,
		Validity: r.GetValidity().AsDuration(), NotBefore: fromTS(r.GetNotBefore()), EndEntity: r.GetEndEntity(), Challenge: r.GetChallenge(),
		ClientCertificate: r.GetClientCertificate(), Renewal: r.GetRenewal(), SID: r.GetSid(),
		IdentityFromClientCertificate: r.GetIdentityFromClientCertificate(),
	}, nil
}

type certificates struct {
	*Server
	pb.UnimplementedCertificateServiceServer
}

func (s certificates) GetCertificate(ctx context.Context, r *pb.GetCertificateRequest) (*pb.Certificate, error) {
	serial, err := ca.NormalizeSerial(r.GetSerial())
	if err != nil {
		return nil, err
	}
	c, err := s.d.Store.GetCertificate(ctx, r.GetTenant(), serial)
	if err != nil {
		return nil, err
	}
	if callerOf(ctx).Kind == authz.Frontend {
		// Front-ends see only what their endpoints issued.
		if c.Endpoint == "" {
			return nil, fault.NotFoundf("certificate %q does not exist", serial)
		}
		if _, err := s.endpointFor(ctx, c.Tenant, c.Endpoint); err != nil {
			return nil, fault.NotFoundf("certificate %q does not exist", serial)
		}
	}
	return certToPB(c, s.d.Now()), nil
}

func (s certificates) ListCertificates(ctx context.Context, r *pb.ListCertificatesRequest) (*pb.ListCertificatesResponse, error) {
	f := store.CertFilter{Tenant: r.GetTenant(), CA: r.GetCa(), Profile: r.GetProfile(), Endpoint: r.GetEndpoint(), EndEntity: r.GetEndEntity(),
		Status: certStatusFromPB(r.GetStatus()), ExpiresBefore: fromTS(r.GetExpiresBefore()), PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken()}
	certs, next, err := s.d.Store.ListCertificates(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.ListCertificatesResponse{NextPageToken: next}
	now := s.d.Now()
	for _, c := range certs {
		out.Certificates = append(out.Certificates, certToPB(c, now))
	}
	return out, nil
}

// --- end-entities ------------------------------------------------------------------

type endEntities struct {
	*Server
	pb.UnimplementedEndEntityServiceServer
}

func (s endEntities) CreateEndEntity(ctx context.Context, r *pb.CreateEndEntityRequest) (*pb.EndEntity, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	ee, err := s.d.Enrollment.CreateEndEntity(ctx, callerOf(ctx).Actor(), e, r.GetId(), fromTS(r.GetExpiresAt()))
	if err != nil {
		return nil, err
	}
	return entityToPB(ee), nil
}

func (s endEntities) GetEndEntity(ctx context.Context, r *pb.GetEndEntityRequest) (*pb.EndEntity, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	ee, err := s.d.Store.GetEndEntity(ctx, r.GetTenant(), r.GetEndpoint(), r.GetId())
	if err != nil {
		return nil, err
	}
	return entityToPB(ee), nil
}

func (s endEntities) ListEndEntities(ctx context.Context, r *pb.ListEndEntitiesRequest) (*pb.ListEndEntitiesResponse, error) {
	var status store.EndEntityStatus
	for k, v := range entityStatuses {
		if v == r.GetStatus() {
			status = k
		}
	}
	list, next, err := s.d.Store.ListEndEntities(ctx, r.GetTenant(), r.GetEndpoint(), status, int(r.GetPageSize()), r.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &pb.ListEndEntitiesResponse{NextPageToken: next}
	for _, e := range list {
		out.EndEntities = append(out.EndEntities, entityToPB(e))
	}
	return out, nil
}

func (s endEntities) setStatus(ctx context.Context, r *pb.EndEntityRef, st store.EndEntityStatus) (*pb.EndEntity, error) {
	if err := require("endpoint", r.GetEndpoint(), "id", r.GetId()); err != nil {
		return nil, err
	}
	ee, err := s.d.Enrollment.SetEndEntityStatus(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetEndpoint(), r.GetId(), st)
	if err != nil {
		return nil, err
	}
	return entityToPB(ee), nil
}

func (s endEntities) ActivateEndEntity(ctx context.Context, r *pb.EndEntityRef) (*pb.EndEntity, error) {
	return s.setStatus(ctx, r, store.EntityActive)
}

func (s endEntities) DeactivateEndEntity(ctx context.Context, r *pb.EndEntityRef) (*pb.EndEntity, error) {
	return s.setStatus(ctx, r, store.EntityDeactivated)
}

func (s endEntities) DecommissionEndEntity(ctx context.Context, r *pb.EndEntityRef) (*pb.EndEntity, error) {
	return s.setStatus(ctx, r, store.EntityDecommissioned)
}

// --- challenges ---------------------------------------------------------------------

type challenges struct {
	*Server
	pb.UnimplementedChallengeServiceServer
}

func (s challenges) CreateChallenge(ctx context.Context, r *pb.CreateChallengeRequest) (*pb.Challenge, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	sans, err := sansFromPB(r.GetSubjectAltNames())
	if err != nil {
		return nil, err
	}
	value, c, err := s.d.Enrollment.CreateChallenge(ctx, callerOf(ctx).Actor(), e, enrollment.ChallengeOptions{EndEntity: r.GetEndEntity(),
		TTL: r.GetTtl().AsDuration(), Subject: r.GetSubject(), SANs: sans, DigitalID: r.GetDigitalId(), Variables: r.GetVariables(),
		NDES: r.GetFormat() == pb.ChallengeFormat_CHALLENGE_FORMAT_NDES})
	if err != nil {
		return nil, err
	}
	out := oneTimeChallengeToPB(c)
	out.Value = value
	return out, nil
}

func (s challenges) ConsumeChallenge(ctx context.Context, r *pb.ConsumeChallengeRequest) (*pb.Challenge, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	c, err := s.d.Enrollment.ConsumeChallenge(ctx, callerOf(ctx).Actor(), e, r.GetValue(), r.GetEndEntity())
	if err != nil {
		return nil, err
	}
	return oneTimeChallengeToPB(c), nil
}

func oneTimeChallengeToPB(c *store.Challenge) *pb.Challenge {
	subject, sans := issuance.ParseBinding(c.Binding)
	return &pb.Challenge{Tenant: c.Tenant, Endpoint: c.Endpoint, Id: c.ID, EndEntity: c.EndEntity, ExpiresAt: ts(c.ExpiresAt), CreatedAt: ts(c.CreatedAt),
		Subject: subject, SubjectAltNames: sansToPB(storeSANs(sans)), DigitalId: c.DigitalID, Profile: c.Profile}
}

// --- pending requests ---------------------------------------------------------------

type pending struct {
	*Server
	pb.UnimplementedPendingRequestServiceServer
}

func (s pending) withCertificate(ctx context.Context, p *store.PendingRequest) (*pb.PendingRequest, error) {
	out := pendingToPB(p)
	if p.Serial != "" {
		c, err := s.d.Store.GetCertificate(ctx, p.Tenant, p.Serial)
		if err != nil {
			return nil, err
		}
		if out.Chain, err = s.d.Authority.Chain(ctx, c.Tenant, c.CA); err != nil {
			return nil, err
		}
		out.Certificate = certToPB(c, s.d.Now())
	}
	return out, nil
}

func (s pending) CreatePendingRequest(ctx context.Context, r *pb.CreatePendingRequestRequest) (*pb.PendingRequest, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	sans, err := sansFromPB(r.GetSubjectAltNames())
	if err != nil {
		return nil, err
	}
	p, err := s.d.Enrollment.CreatePending(ctx, callerOf(ctx).Actor(), e, &store.PendingRequest{TransactionID: r.GetTransactionId(), CSR: r.GetCsr(),
		Profile: r.GetProfile(), EndEntity: r.GetEndEntity(), Subject: r.GetSubject(), SANs: storeSANs(sans)})
	if err != nil {
		return nil, err
	}
	return s.withCertificate(ctx, p)
}

func (s pending) GetPendingRequest(ctx context.Context, r *pb.GetPendingRequestRequest) (*pb.PendingRequest, error) {
	if r.GetId() == "" && r.GetTransactionId() == "" {
		return nil, fault.Field("id", "id or transaction_id is required")
	}
	p, err := s.d.Store.GetPending(ctx, r.GetTenant(), r.GetEndpoint(), r.GetId(), r.GetTransactionId())
	if err != nil {
		return nil, err
	}
	if callerOf(ctx).Kind == authz.Frontend {
		if _, err := s.endpointFor(ctx, p.Tenant, p.Endpoint); err != nil {
			return nil, err
		}
	}
	return s.withCertificate(ctx, p)
}

func (s pending) ListPendingRequests(ctx context.Context, r *pb.ListPendingRequestsRequest) (*pb.ListPendingRequestsResponse, error) {
	var status store.PendingStatus
	for k, v := range pendingStatuses {
		if v == r.GetStatus() {
			status = k
		}
	}
	list, next, err := s.d.Store.ListPending(ctx, r.GetTenant(), r.GetEndpoint(), status, int(r.GetPageSize()), r.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &pb.ListPendingRequestsResponse{NextPageToken: next}
	for _, p := range list {
		out.Requests = append(out.Requests, pendingToPB(p))
	}
	return out, nil
}

func (s pending) ApprovePendingRequest(ctx context.Context, r *pb.ApprovePendingRequestRequest) (*pb.PendingRequest, error) {
	p, res, err := s.d.Enrollment.Approve(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	out := pendingToPB(p)
	out.Certificate, out.Chain = certToPB(res.Certificate, s.d.Now()), res.Chain
	return out, nil
}

func (s pending) RejectPendingRequest(ctx context.Context, r *pb.RejectPendingRequestRequest) (*pb.PendingRequest, error) {
	p, err := s.d.Enrollment.Reject(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetId(), r.GetReason())
	if err != nil {
		return nil, err
	}
	return pendingToPB(p), nil
}

// --- audit --------------------------------------------------------------------------

type auditor struct {
	*Server
	pb.UnimplementedAuditServiceServer
}

func (s auditor) ListAuditEvents(ctx context.Context, r *pb.ListAuditEventsRequest) (*pb.ListAuditEventsResponse, error) {
	var result audit.Result
	for k, v := range auditResults {
		if v == r.GetResult() {
			result = k
		}
	}
	events, next, err := s.d.Store.ListAudit(ctx, store.AuditFilter{Tenant: r.GetTenant(), Action: r.GetAction(), Endpoint: r.GetEndpoint(),
		EndEntity: r.GetEndEntity(), Result: result, Since: fromTS(r.GetSince()), PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &pb.ListAuditEventsResponse{NextPageToken: next}
	for _, e := range events {
		out.Events = append(out.Events, auditToPB(e))
	}
	return out, nil
}

func (s auditor) RecordRefusal(ctx context.Context, r *pb.RecordRefusalRequest) (*pb.RecordRefusalResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	detail := r.GetDetail()
	if r.GetClient() != "" {
		detail = "client " + r.GetClient() + ": " + detail
	}
	if len(detail) > 1024 {
		detail = strings.ToValidUTF8(detail[:1024], "")
	}
	op := r.GetOperation()
	if len(op) > 64 {
		op = strings.ToValidUTF8(op[:64], "")
	}
	err = s.d.Store.AppendAudit(ctx, &audit.Event{Tenant: e.Tenant, Actor: callerOf(ctx).Actor(), Action: audit.ActionRequestRefuse,
		Endpoint: e.ID, Target: op, Result: audit.Failure, Detail: detail})
	if err != nil {
		return nil, err
	}
	return &pb.RecordRefusalResponse{}, nil
}

func (s auditor) VerifyAuditChain(ctx context.Context, r *pb.VerifyAuditChainRequest) (*pb.VerifyAuditChainResponse, error) {
	tenants := []string{r.GetTenant()}
	if r.GetTenant() == "" {
		all, err := s.d.Store.AuditTenants(ctx)
		if err != nil {
			return nil, err
		}
		tenants = all
	}
	out := &pb.VerifyAuditChainResponse{Ok: true}
	for _, t := range tenants {
		n, err := s.d.Store.VerifyAudit(ctx, t)
		out.EventsChecked += n
		if b, ok := err.(*audit.Break); ok {
			out.Ok, out.Tenant, out.Seq, out.Problem = false, b.Tenant, b.Seq, b.Problem
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// --- helpers ------------------------------------------------------------------------

func skiOf(der []byte) ([]byte, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if len(c.SubjectKeyId) > 0 {
		return c.SubjectKeyId, nil
	}
	return keys.SubjectKeyID(c.PublicKey)
}
