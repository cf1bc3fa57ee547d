package server

import (
	"encoding/base64"
	"google.golang.org/protobuf/types/known/durationpb"
	"time"

	"github.com/certgate/certgate/ca-core/ca"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

var keyTypes = map[keys.Type]pb.KeyType{
	keys.RSA2048: pb.KeyType_KEY_TYPE_RSA_2048, keys.RSA3072: pb.KeyType_KEY_TYPE_RSA_3072, keys.RSA4096: pb.KeyType_KEY_TYPE_RSA_4096,
	keys.P256: pb.KeyType_KEY_TYPE_EC_P256, keys.P384: pb.KeyType_KEY_TYPE_EC_P384, keys.P521: pb.KeyType_KEY_TYPE_EC_P521,
}

func keyTypeFromPB(k pb.KeyType) (keys.Type, error) {
	for t, v := range keyTypes {
		if v == k {
			return t, nil
		}
	}
	return "", fault.Field("key_type", "key_type is required (RSA 2048/3072/4096 or EC P-256/384/521)")
}

var caTypes = map[profile.CAType]pb.CAType{
	profile.Root: pb.CAType_CA_TYPE_ROOT, profile.ExternalRoot: pb.CAType_CA_TYPE_EXTERNAL_ROOT,
	profile.Intermediate: pb.CAType_CA_TYPE_INTERMEDIATE, profile.Issuing: pb.CAType_CA_TYPE_ISSUING,
}

var protocols = map[string]pb.Protocol{
	"acme": pb.Protocol_PROTOCOL_ACME, "scep": pb.Protocol_PROTOCOL_SCEP, "est": pb.Protocol_PROTOCOL_EST,
	"mdmws": pb.Protocol_PROTOCOL_MDMWS, "wstep": pb.Protocol_PROTOCOL_WSTEP, "api": pb.Protocol_PROTOCOL_API,
}

func protocolName(p pb.Protocol) string {
	for n, v := range protocols {
		if v == p {
			return n
		}
	}
	return ""
}

var authMethods = map[string]pb.EndpointAuth_Method{
	"none": pb.EndpointAuth_METHOD_NONE, "shared_secret": pb.EndpointAuth_METHOD_SHARED_SECRET,
	"one_time_challenge": pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE, "external_account_binding": pb.EndpointAuth_METHOD_EXTERNAL_ACCOUNT_BINDING,
	"client_certificate": pb.EndpointAuth_METHOD_CLIENT_CERTIFICATE, "intune": pb.EndpointAuth_METHOD_INTUNE,
	"webhook": pb.EndpointAuth_METHOD_WEBHOOK,
}

func authMethodName(m pb.EndpointAuth_Method) string {
	for n, v := range authMethods {
		if v == m {
			return n
		}
	}
	return ""
}

var sanTypes = map[profile.SANType]pb.SubjectAltName_Type{
	profile.SANDNS: pb.SubjectAltName_TYPE_DNS, profile.SANIP: pb.SubjectAltName_TYPE_IP, profile.SANEmail: pb.SubjectAltName_TYPE_EMAIL,
	profile.SANURI: pb.SubjectAltName_TYPE_URI, profile.SANUPN: pb.SubjectAltName_TYPE_UPN,
}

func sansFromPB(in []*pb.SubjectAltName) ([]policy.SAN, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]policy.SAN, 0, len(in))
	for _, n := range in {
		var t profile.SANType
		for k, v := range sanTypes {
			if v == n.GetType() {
				t = k
			}
		}
		if t == "" {
			return nil, fault.Field("subject_alt_names", "SAN %q has no type", n.GetValue())
		}
		out = append(out, policy.SAN{Type: t, Value: n.GetValue()})
	}
	return out, nil
}

func sansToPB(in []store.SAN) []*pb.SubjectAltName {
	out := make([]*pb.SubjectAltName, 0, len(in))
	for _, n := range in {
		out = append(out, &pb.SubjectAltName{Type: sanTypes[profile.SANType(n.Type)], Value: n.Value})
	}
	return out
}

func storeSANs(in []policy.SAN) []store.SAN {
	out := make([]store.SAN, 0, len(in))
	for _, n := range in {
		out = append(out, store.SAN{Type: string(n.Type), Value: n.Value})
	}
	return out
}

func tenantToPB(t *store.Tenant) *pb.Tenant {
	return &pb.Tenant{Id: t.ID, DisplayName: t.DisplayName, CreatedAt: ts(t.CreatedAt),
		Quota: &pb.Quota{MaxActiveCertificates: t.MaxActive, IssueRequestsPerWindow: t.RatePerWindow}}
}

func caToPB(c *store.CA, urls ca.URLs) *pb.CA {
	out := &pb.CA{
		CrlEnabled: c.CRLEnabled, OcspEnabled: c.OCSPEnabled, CrlUrl: urls.CRL, OcspUrl: urls.OCSP, CaIssuersUrl: urls.Issuer,
		Tenant: c.Tenant, Id: c.ID, FriendlyName: c.FriendlyName, Type: caTypes[profile.CAType(c.Type)], Parent: c.Parent,
		KeyType: keyTypes[c.KeyType], RsaPss: c.RSAPSS, SignatureAlgorithm: c.KeyType.SignatureAlgorithm(c.RSAPSS).String(),
		Subject: c.Subject, Serial: c.Serial, NotAfter: ts(c.NotAfter), Certificate: c.Cert, Profiles: c.Profiles,
		KeyBackend: c.KeyBackend, CreatedAt: ts(c.CreatedAt), Status: pb.CAStatus_CA_STATUS_ACTIVE,
	}
	if c.Status == store.CAPendingCertificate {
		out.Status = pb.CAStatus_CA_STATUS_PENDING_CERTIFICATE
	} else {
		out.NotBefore = ts(c.NotBefore)
		if !time.Now().Before(c.NotAfter) {
			out.Status = pb.CAStatus_CA_STATUS_EXPIRED
		}
	}
	if len(c.Cert) > 0 {
		if ski, err := skiOf(c.Cert); err == nil {
			out.SubjectKeyId = ski
		}
	}
	return out
}

var certStatuses = map[store.CertStatus]pb.CertificateStatus{
	store.CertIssued: pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED, store.CertOnHold: pb.CertificateStatus_CERTIFICATE_STATUS_ON_HOLD,
	store.CertRevoked: pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED, store.CertExpired: pb.CertificateStatus_CERTIFICATE_STATUS_EXPIRED,
}

func certStatusFromPB(s pb.CertificateStatus) store.CertStatus {
	for k, v := range certStatuses {
		if v == s {
			return k
		}
	}
	return ""
}

func certToPB(c *store.Certificate, now time.Time) *pb.Certificate {
	out := &pb.Certificate{
		Tenant: c.Tenant, Serial: c.Serial, Ca: c.CA, Profile: c.Profile, Endpoint: c.Endpoint, EndEntity: c.EndEntity,
		Status: certStatuses[c.EffectiveStatus(now)], Subject: c.Subject, SubjectAltNames: sansToPB(c.SANs),
		NotBefore: ts(c.NotBefore), NotAfter: ts(c.NotAfter), Der: c.DER, Requester: c.Requester, IssuedAt: ts(c.IssuedAt),
		KeyType: keyTypes[c.KeyType], Sha256: c.SHA256,
	}
	if c.Status == store.CertRevoked || c.Status == store.CertOnHold {
		out.RevocationReason = pb.RevocationReason(c.RevocationReason + 1)
		out.RevokedAt, out.InvalidityDate = ts(c.RevokedAt), ts(c.InvalidityDate)
	}
	return out
}

// reasonFromPB maps the contract's reason (RFC code + 1) to the RFC code;
// NONE means unspecified.
func reasonFromPB(r pb.RevocationReason) int {
	if r == pb.RevocationReason_REVOCATION_REASON_NONE {
		return 0
	}
	return int(r) - 1
}

func endpointToPB(e *store.Endpoint) *pb.Endpoint {
	return &pb.Endpoint{
		Tenant: e.Tenant, Id: e.ID, Protocol: protocols[e.Protocol], Description: e.Description, Ca: e.CA,
		DefaultProfile: e.DefaultProfile, AllowedProfiles: e.AllowedProfiles, Frontend: e.Frontend, Disabled: e.Disabled,
		Auth:                         &pb.EndpointAuth{Method: authMethods[e.AuthMethod], Username: e.AuthUsername, SecretSet: e.SecretHash != ""},
		IssueRequestsPerWindow:       e.RatePerWindow,
		RequireRegisteredEndEntities: e.RequireRegistered, CreatedAt: ts(e.CreatedAt),
		Acme: acmeSettingsToPB(e.Settings.ACME), RequireApproval: e.Settings.RequireApproval, Scep: scepSettingsToPB(e.Settings.SCEP),
		Mdmws: mdmwsSettingsToPB(e.Settings.MDMWS), Wstep: wstepSettingsToPB(e.Settings.WSTEP),
	}
}

func acmeSettingsToPB(a *store.ACMESettings) *pb.AcmeSettings {
	if a == nil {
		return nil
	}
	return &pb.AcmeSettings{TermsOfService: a.TermsOfService, Website: a.Website}
}

func scepSettingsToPB(s *store.SCEPSettings) *pb.ScepSettings {
	if s == nil {
		return nil
	}
	return &pb.ScepSettings{NextCa: s.NextCA, WebhookUrl: s.WebhookURL}
}

func mdmwsSettingsToPB(m *store.MDMWSSettings) *pb.MdmwsSettings {
	if m == nil {
		return nil
	}
	return &pb.MdmwsSettings{Platform: m.Platform, DefaultDigitalId: m.DefaultDigitalID, ScepFrontend: m.SCEPFrontend}
}

func wstepSettingsToPB(w *store.WSTEPSettings) *pb.WstepSettings {
	if w == nil {
		return nil
	}
	out := &pb.WstepSettings{PolicyId: w.PolicyID, PolicyFriendlyName: w.PolicyFriendlyName}
	for _, t := range w.Templates {
		out.Templates = append(out.Templates, &pb.WstepTemplate{Name: t.Name, Oid: t.OID, DisplayName: t.DisplayName, Profile: t.Profile,
			MajorRevision: t.MajorRevision, MinorRevision: t.MinorRevision, SubjectFromDirectory: t.SubjectFromDirectory, Machine: t.Machine,
			Autoenroll: t.Autoenroll, EnrollGroups: t.EnrollGroups, RenewalPeriod: durationpb.New(t.RenewalPeriod), Supersedes: t.Supersedes})
	}
	return out
}

func wstepSettingsFromPB(w *pb.WstepSettings) *store.WSTEPSettings {
	if w == nil {
		return nil
	}
	out := &store.WSTEPSettings{PolicyID: w.GetPolicyId(), PolicyFriendlyName: w.GetPolicyFriendlyName()}
	for _, t := range w.GetTemplates() {
		out.Templates = append(out.Templates, store.WSTEPTemplate{Name: t.GetName(), OID: t.GetOid(), DisplayName: t.GetDisplayName(),
			Profile: t.GetProfile(), MajorRevision: t.GetMajorRevision(), MinorRevision: t.GetMinorRevision(),
			SubjectFromDirectory: t.GetSubjectFromDirectory(), Machine: t.GetMachine(), Autoenroll: t.GetAutoenroll(),
			EnrollGroups: t.GetEnrollGroups(), RenewalPeriod: t.GetRenewalPeriod().AsDuration(), Supersedes: t.GetSupersedes()})
	}
	return out
}

func endpointFromPB(e *pb.Endpoint) *store.Endpoint {
	return &store.Endpoint{
		Tenant: e.GetTenant(), ID: e.GetId(), Protocol: protocolName(e.GetProtocol()), Description: e.GetDescription(), CA: e.GetCa(),
		DefaultProfile: e.GetDefaultProfile(), AllowedProfiles: e.GetAllowedProfiles(), Frontend: e.GetFrontend(), Disabled: e.GetDisabled(),
		AuthMethod: authMethodName(e.GetAuth().GetMethod()), AuthUsername: e.GetAuth().GetUsername(), RatePerWindow: e.GetIssueRequestsPerWindow(),
		RequireRegistered: e.GetRequireRegisteredEndEntities(),
		Settings:          endpointSettingsFromPB(e),
	}
}

func endpointSettingsFromPB(e *pb.Endpoint) store.EndpointSettings {
	s := store.EndpointSettings{RequireApproval: e.GetRequireApproval()}
	if a := e.GetAcme(); a != nil {
		s.ACME = &store.ACMESettings{TermsOfService: a.GetTermsOfService(), Website: a.GetWebsite()}
	}
	s.WSTEP = wstepSettingsFromPB(e.GetWstep())
	if m := e.GetMdmws(); m != nil {
		s.MDMWS = &store.MDMWSSettings{Platform: m.GetPlatform(), DefaultDigitalID: m.GetDefaultDigitalId(), SCEPFrontend: m.GetScepFrontend()}
	}
	if sc := e.GetScep(); sc.GetNextCa() != "" || sc.GetWebhookUrl() != "" {
		s.SCEP = &store.SCEPSettings{NextCA: sc.GetNextCa(), WebhookURL: sc.GetWebhookUrl()}
	}
	return s
}

var entityStatuses = map[store.EndEntityStatus]pb.EndEntityStatus{
	store.EntityActive: pb.EndEntityStatus_END_ENTITY_STATUS_ACTIVE, store.EntityDeactivated: pb.EndEntityStatus_END_ENTITY_STATUS_DEACTIVATED,
	store.EntityDecommissioned: pb.EndEntityStatus_END_ENTITY_STATUS_DECOMMISSIONED,
}

func entityToPB(e *store.EndEntity) *pb.EndEntity {
	return &pb.EndEntity{Tenant: e.Tenant, Endpoint: e.Endpoint, Id: e.ID, Protocol: protocols[e.Protocol], Status: entityStatuses[e.Status],
		ExpiresAt: ts(e.ExpiresAt), CreatedAt: ts(e.CreatedAt), UpdatedAt: ts(e.UpdatedAt), LastEnrolledAt: ts(e.LastEnrolledAt)}
}

var pendingStatuses = map[store.PendingStatus]pb.PendingStatus{
	store.PendingWaiting: pb.PendingStatus_PENDING_STATUS_PENDING, store.PendingIssued: pb.PendingStatus_PENDING_STATUS_ISSUED,
	store.PendingRejected: pb.PendingStatus_PENDING_STATUS_REJECTED,
}

func pendingToPB(p *store.PendingRequest) *pb.PendingRequest {
	return &pb.PendingRequest{Tenant: p.Tenant, Endpoint: p.Endpoint, Id: p.ID, TransactionId: p.TransactionID, Status: pendingStatuses[p.Status],
		Csr: p.CSR, Profile: p.Profile, EndEntity: p.EndEntity, Subject: p.Subject, SubjectAltNames: sansToPB(p.SANs), Reason: p.Reason,
		Requester: p.Requester, CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), DecidedBy: p.DecidedBy}
}

var auditResults = map[audit.Result]pb.AuditResult{audit.Success: pb.AuditResult_AUDIT_RESULT_SUCCESS, audit.Failure: pb.AuditResult_AUDIT_RESULT_FAILURE}

func auditToPB(e *audit.Event) *pb.AuditEvent {
	return &pb.AuditEvent{Tenant: e.Tenant, Seq: e.Seq, Time: ts(e.Time), Actor: e.Actor, Action: e.Action, Endpoint: e.Endpoint,
		EndEntity: e.EndEntity, Target: e.Target, Result: auditResults[e.Result], Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
}

func profileToPB(p *profile.Profile) *pb.Profile {
	out := &pb.Profile{
		Id: p.ID, Group: p.Group, Description: p.Description, BuiltIn: p.BuiltIn, Tenant: p.Tenant, ClonedFrom: p.ClonedFrom,
		DefaultValidity: p.DefaultValidity.String(), MaxValidity: p.MaxValidity.String(), KeyUsages: profile.KeyUsageNames(p.KeyUsage),
		Ca: p.CA, PathLen: int32(p.PathLen), ServerSideKeygen: p.ServerSideKeygen,
		Subject:    &pb.SubjectRules{Required: p.Subject.Required, Allowed: p.Subject.Allowed, AllowOverride: p.Subject.AllowOverride},
		San:        &pb.SANRules{Required: p.SAN.Required, FromCn: p.SAN.FromCN, AllowOverride: p.SAN.AllowOverride, Max: int32(p.SAN.Max)},
		Extensions: &pb.ExtensionRules{RejectUnknown: p.Extensions.RejectUnknown},
		Kind:       pb.Profile_KIND_SUBSCRIBER,
	}
	if p.Kind == profile.Authority {
		out.Kind = pb.Profile_KIND_AUTHORITY
	}
	for _, t := range p.AllowedCATypes {
		out.AllowedCaTypes = append(out.AllowedCaTypes, caTypes[t])
	}
	for _, t := range p.KeyTypes {
		out.KeyTypes = append(out.KeyTypes, keyTypes[t])
	}
	for _, o := range p.ExtKeyUsage {
		out.ExtendedKeyUsages = append(out.ExtendedKeyUsages, profile.EKUName(o))
	}
	for _, t := range p.SAN.Types {
		out.San.Types = append(out.San.Types, sanTypes[t])
	}
	for _, o := range p.Extensions.Allowed {
		out.Extensions.Allowed = append(out.Extensions.Allowed, o.String())
	}
	return out
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
