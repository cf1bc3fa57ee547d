package enrollment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

// Protocols an endpoint may speak.
var Protocols = []string{"acme", "scep", "est", "mdmws", "wstep", "api"}

// AuthMethods an endpoint may use.
var AuthMethods = []string{"none", "shared_secret", "one_time_challenge", "external_account_binding", "client_certificate", "intune", "webhook"}

// Store is what enrollment needs from the store.
type Store interface {
	GetCA(ctx context.Context, tenant, id string) (*store.CA, error)
	CreateEndpoint(ctx context.Context, e *store.Endpoint, ev *audit.Event) error
	UpdateEndpoint(ctx context.Context, e *store.Endpoint, ev *audit.Event) error
	GetEndpoint(ctx context.Context, tenant, id string) (*store.Endpoint, error)
	DeleteEndpoint(ctx context.Context, tenant, id string, ev *audit.Event) error
	AppendAudit(ctx context.Context, e *audit.Event) error
	CreateChallenge(ctx context.Context, c *store.Challenge, ev *audit.Event) error
	ConsumeChallenge(ctx context.Context, tenant, endpoint, hash, endEntity string, ev *audit.Event) (*store.Challenge, error)
	CreateEndEntity(ctx context.Context, e *store.EndEntity, ev *audit.Event) error
	SetEndEntityStatus(ctx context.Context, tenant, endpoint, id string, status store.EndEntityStatus, ev *audit.Event) (*store.EndEntity, error)
	CreatePending(ctx context.Context, p *store.PendingRequest, ev *audit.Event) (*store.PendingRequest, bool, error)
	GetPending(ctx context.Context, tenant, endpoint, id, transactionID string) (*store.PendingRequest, error)
	DecidePending(ctx context.Context, tenant, id string, status store.PendingStatus, serial, reason, decidedBy string, ev *audit.Event) error
	CreateDigitalID(ctx context.Context, d *store.DigitalID, ev *audit.Event) error
	GetDigitalID(ctx context.Context, tenant, endpoint, name string) (*store.DigitalID, error)
	ListDigitalIDs(ctx context.Context, tenant, endpoint string) ([]*store.DigitalID, error)
	DeleteDigitalID(ctx context.Context, tenant, endpoint, name string, ev *audit.Event) error
}

// Profiles resolves profile ids.
type Profiles interface {
	Resolve(ctx context.Context, tenant, id string) (*profile.Profile, error)
}

// Issuer issues certificates (the pipeline).
type Issuer interface {
	Issue(ctx context.Context, r *issuance.Request) (*issuance.Result, error)
}

// Service manages enrollment state.
type Service struct {
	store    Store
	profiles Profiles
	issuer   Issuer
	now      func() time.Time
}

// New returns a service.
func New(st Store, profiles Profiles, issuer Issuer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, profiles: profiles, issuer: issuer, now: now}
}

// CreateEndpoint validates and stores an endpoint; a non-empty secret is
// stored hashed.
func (s *Service) CreateEndpoint(ctx context.Context, actor string, e *store.Endpoint, secret string) error {
	if !ca.ValidID(e.ID) {
		return fault.Field("id", "endpoint id %q must be 2-18 characters of a-z, 0-9, _ and -", e.ID)
	}
	if !slices.Contains(Protocols, e.Protocol) {
		return fault.Field("protocol", "protocol must be one of %v", Protocols)
	}
	if err := s.check(ctx, e); err != nil {
		return err
	}
	if secret != "" {
		h, err := HashSecret(secret)
		if err != nil {
			return err
		}
		e.SecretHash = h
	}
	if e.AuthMethod == "shared_secret" && e.SecretHash == "" {
		return fault.Field("secret", "shared_secret authentication needs a secret")
	}
	return s.store.CreateEndpoint(ctx, e, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionEndpointCreate,
		Endpoint: e.ID, Target: e.ID, Detail: describe(e)})
}

// UpdateEndpoint replaces an endpoint's mutable settings. The protocol
// cannot change; an empty secret keeps the stored one.
func (s *Service) UpdateEndpoint(ctx context.Context, actor string, e *store.Endpoint, secret string) error {
	old, err := s.store.GetEndpoint(ctx, e.Tenant, e.ID)
	if err != nil {
		return err
	}
	if e.Protocol != "" && e.Protocol != old.Protocol {
		return fault.Field("protocol", "an endpoint's protocol cannot change (it is %s)", old.Protocol)
	}
	e.Protocol, e.SecretHash, e.CreatedAt = old.Protocol, old.SecretHash, old.CreatedAt
	if err := s.check(ctx, e); err != nil {
		return err
	}
	if secret != "" {
		if e.SecretHash, err = HashSecret(secret); err != nil {
			return err
		}
	}
	if e.AuthMethod == "shared_secret" && e.SecretHash == "" {
		return fault.Field("secret", "shared_secret authentication needs a secret")
	}
	return s.store.UpdateEndpoint(ctx, e, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionEndpointUpdate,
		Endpoint: e.ID, Target: e.ID, Detail: describe(e)})
}

func describe(e *store.Endpoint) string {
	return fmt.Sprintf("protocol=%s ca=%s profile=%s allowed=%v frontend=%s auth=%s disabled=%v", e.Protocol, e.CA, e.DefaultProfile,
		e.AllowedProfiles, e.Frontend, e.AuthMethod, e.Disabled)
}

// check validates the settings shared by create and update.
func (s *Service) check(ctx context.Context, e *store.Endpoint) error {
	if len(e.Description) > 1024 {
		return fault.Field("description", "description is longer than 1024 bytes")
	}
	if e.Frontend == "" {
		e.Frontend = e.Protocol
	}
	if e.AuthMethod == "" {
		e.AuthMethod = "none"
	}
	if !slices.Contains(AuthMethods, e.AuthMethod) {
		return fault.Field("auth.method", "authentication method must be one of %v", AuthMethods)
	}
	if e.RatePerWindow < 0 {
		return fault.Field("issue_requests_per_window", "the rate limit cannot be negative")
	}
	if err := s.checkSCEP(ctx, e); err != nil {
		return err
	}
	if err := checkMDMWS(e); err != nil {
		return err
	}
	if err := s.checkWSTEP(ctx, e); err != nil {
		return err
	}
	c, err := s.activeIssuingCA(ctx, e.Tenant, e.CA, "endpoint.ca")
	if err != nil {
		return err
	}
	if e.DefaultProfile == "" {
		return fault.Field("default_profile", "an endpoint needs a default profile")
	}
	for _, id := range append([]string{e.DefaultProfile}, e.AllowedProfiles...) {
		p, err := s.profiles.Resolve(ctx, e.Tenant, id)
		if err != nil {
			return err
		}
		if p.Kind != profile.Subscriber {
			return fault.Policy("endpoint.profile", "profile %q is a CA profile", id)
		}
		if !slices.Contains(c.Profiles, id) {
			return fault.Policy("endpoint.profile", "profile %q is not enabled on CA %q", id, e.CA)
		}
	}
	return nil
}

func (s *Service) activeIssuingCA(ctx context.Context, tenant, id, rule string) (*store.CA, error) {
	c, err := s.store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if profile.CAType(c.Type) != profile.Issuing || c.Status != store.CAActive {
		return nil, fault.Policy(rule, "CA %q is not an active issuing CA", id)
	}
	return c, nil
}

// checkSCEP validates the SCEP settings: a next CA that can take over, and
// a webhook URL where (and only where) the webhook method needs one.
func (s *Service) checkSCEP(ctx context.Context, e *store.Endpoint) error {
	sc := e.Settings.SCEP
	if sc == nil {
		sc = &store.SCEPSettings{}
	}
	if e.AuthMethod == "webhook" && sc.WebhookURL == "" {
		return fault.Field("scep.webhook_url", "auth method webhook needs a webhook URL")
	}
	if sc.WebhookURL != "" {
		u, err := url.Parse(sc.WebhookURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return fault.Field("scep.webhook_url", "the webhook URL must be https:// (http:// only on loopback)")
		}
	}
	if sc.NextCA != "" {
		if sc.NextCA == e.CA {
			return fault.Field("scep.next_ca", "the next CA must differ from the endpoint's CA")
		}
		if _, err := s.activeIssuingCA(ctx, e.Tenant, sc.NextCA, "scep.next_ca"); err != nil {
			return err
		}
	}
	return nil
}

// Platforms an MDM configuration may name.
var Platforms = []string{"jamf", "workspace_one", "ivanti", "maas360", "other"}

// checkMDMWS requires an MDM configuration to authenticate its MDM with a
// credential whose user name follows the seeds' rule.
func checkMDMWS(e *store.Endpoint) error {
	if e.Protocol != "mdmws" {
		if e.Settings.MDMWS != nil {
			return fault.Field("mdmws", "MDM settings belong to mdmws endpoints")
		}
		return nil
	}
	if e.AuthMethod != "shared_secret" || !nameRule.MatchString(e.AuthUsername) {
		return fault.Field("auth", "an MDM configuration authenticates its MDM with a credential: auth shared_secret and a user name of 2-18 of a-z, 0-9, '-' and '_'")
	}
	if m := e.Settings.MDMWS; m != nil && m.Platform != "" && !slices.Contains(Platforms, m.Platform) {
		return fault.Field("mdmws.platform", "platform must be one of %v", Platforms)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DeleteEndpoint removes an endpoint.
func (s *Service) DeleteEndpoint(ctx context.Context, actor, tenant, id string) error {
	return s.store.DeleteEndpoint(ctx, tenant, id, &audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionEndpointDelete, Endpoint: id, Target: id})
}

// VerifyCredential checks a username/secret pair against an endpoint.
// Failures are audited; successes are not (they happen on every
// enrollment and the issuance is audited).
func (s *Service) VerifyCredential(ctx context.Context, actor string, e *store.Endpoint, username, secret string) error {
	ok := e.SecretHash != "" && (e.AuthUsername == "" || e.AuthUsername == username) && CheckSecret(e.SecretHash, secret)
	if ok {
		return nil
	}
	s.store.AppendAudit(context.WithoutCancel(ctx), &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionCredentialVerify,
		Endpoint: e.ID, Target: username, Result: audit.Failure, Detail: "wrong username or secret"})
	return &fault.Error{Reason: fault.Unauthenticated, Rule: "endpoint.credential", Detail: "wrong username or secret"}
}

// Challenge TTL bounds.
const (
	DefaultChallengeTTL = time.Hour
	MinChallengeTTL     = time.Second
	MaxChallengeTTL     = 30 * 24 * time.Hour
)

// ChallengeOptions shape a challenge.
type ChallengeOptions struct {
	EndEntity string
	TTL       time.Duration
	// Subject and SANs bind the challenge to that identity.
	Subject string
	SANs    []policy.SAN
	// DigitalID and Variables bind it to a rendered Digital ID instead,
	// which its enrollment then gets in place of the CSR's.
	DigitalID string
	Variables map[string]string
	// NDES makes the value 16 upper-case hex characters.
	NDES bool
}

// CreateChallenge stores a fresh challenge for e and returns its value,
// which is shown only this once.
func (s *Service) CreateChallenge(ctx context.Context, actor string, e *store.Endpoint, o ChallengeOptions) (string, *store.Challenge, error) {
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultChallengeTTL
	}
	if ttl < MinChallengeTTL || ttl > MaxChallengeTTL {
		return "", nil, fault.Field("ttl", "ttl must be between %s and %s", MinChallengeTTL, MaxChallengeTTL)
	}
	if len(o.EndEntity) > 255 {
		return "", nil, fault.Field("end_entity", "end-entity id is longer than 255 bytes")
	}
	c := &store.Challenge{EndEntity: o.EndEntity}
	subject, sans := o.Subject, o.SANs
	var bound string
	var err error
	switch {
	case o.DigitalID != "" && (subject != "" || len(sans) > 0):
		return "", nil, fault.Field("digital_id", "give a Digital ID or a subject and SANs, not both")
	case o.DigitalID != "":
		r, err := s.RenderDigitalID(ctx, e, o.DigitalID, o.Variables)
		if err != nil {
			return "", nil, err
		}
		c.ApplyBinding, c.Profile, c.DigitalID = true, r.Profile, o.DigitalID
		if r.Deferred != nil {
			subject = r.Deferred.RDNFormat + "," + r.Deferred.ParentDN
			if bound, err = issuance.DeferredBinding(*r.Deferred); err != nil {
				return "", nil, err
			}
			break
		}
		subject, sans = r.Subject, r.SANs
		fallthrough
	default:
		if bound, err = issuance.BindingOf(subject, sans); err != nil {
			return "", nil, err
		}
	}
	value := randomHex(16)
	if o.NDES {
		value = strings.ToUpper(randomHex(8))
	}
	c.ID, c.Tenant, c.Endpoint, c.Binding = randomHex(8), e.Tenant, e.ID, bound
	c.ValueHash = issuance.ChallengeHash(e.Tenant, e.ID, value)
	c.ExpiresAt = s.now().Add(ttl).UTC().Truncate(time.Microsecond)
	detail := ""
	if o.DigitalID != "" {
		detail = "digital_id=" + o.DigitalID + " subject=" + subject
	}
	if err := s.store.CreateChallenge(ctx, c, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionChallengeCreate,
		Endpoint: e.ID, EndEntity: o.EndEntity, Target: c.ID, Detail: detail}); err != nil {
		return "", nil, err
	}
	return value, c, nil
}

// ConsumeChallenge checks and uses up a challenge.
func (s *Service) ConsumeChallenge(ctx context.Context, actor string, e *store.Endpoint, value, endEntity string) (*store.Challenge, error) {
	return s.store.ConsumeChallenge(ctx, e.Tenant, e.ID, issuance.ChallengeHash(e.Tenant, e.ID, value), endEntity,
		&audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionChallengeConsume, Endpoint: e.ID, EndEntity: endEntity})
}

// CreateEndEntity registers an end-entity on an endpoint.
func (s *Service) CreateEndEntity(ctx context.Context, actor string, e *store.Endpoint, id string, expires time.Time) (*store.EndEntity, error) {
	if id == "" || len(id) > 255 {
		return nil, fault.Field("id", "end-entity id must be 1-255 bytes")
	}
	ee := &store.EndEntity{Tenant: e.Tenant, Endpoint: e.ID, ID: id, Protocol: e.Protocol, ExpiresAt: expires.UTC().Truncate(time.Microsecond)}
	return ee, s.store.CreateEndEntity(ctx, ee, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionEndEntityCreate, Endpoint: e.ID, EndEntity: id, Target: id})
}

// SetEndEntityStatus activates, deactivates or decommissions.
func (s *Service) SetEndEntityStatus(ctx context.Context, actor, tenant, endpoint, id string, status store.EndEntityStatus) (*store.EndEntity, error) {
	action := map[store.EndEntityStatus]string{store.EntityActive: audit.ActionEndEntityActivate, store.EntityDeactivated: audit.ActionEndEntityDeact,
		store.EntityDecommissioned: audit.ActionEndEntityDecom}[status]
	return s.store.SetEndEntityStatus(ctx, tenant, endpoint, id, status, &audit.Event{Tenant: tenant, Actor: actor, Action: action, Endpoint: endpoint, EndEntity: id, Target: id})
}

// CreatePending stores a request for an administrator's decision. The CSR
// is checked now so that nobody is asked to approve garbage.
func (s *Service) CreatePending(ctx context.Context, actor string, e *store.Endpoint, p *store.PendingRequest) (*store.PendingRequest, error) {
	if p.TransactionID == "" || len(p.TransactionID) > 255 {
		return nil, fault.Field("transaction_id", "transaction id must be 1-255 bytes")
	}
	if _, err := policy.ParseCSR(p.CSR); err != nil {
		return nil, err
	}
	if p.Profile != "" && p.Profile != e.DefaultProfile && !slices.Contains(e.AllowedProfiles, p.Profile) {
		return nil, fault.Policy("endpoint.profile", "endpoint %q does not allow profile %q", e.ID, p.Profile)
	}
	p.ID, p.Tenant, p.Endpoint, p.Requester = randomHex(8), e.Tenant, e.ID, actor
	stored, _, err := s.store.CreatePending(ctx, p, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: audit.ActionPendingCreate,
		Endpoint: e.ID, EndEntity: p.EndEntity, Target: p.ID, Detail: "transaction=" + p.TransactionID})
	return stored, err
}

// Approve issues a pending request's certificate through the pipeline.
// The request key derives from the pending id, so concurrent or repeated
// approvals yield one certificate.
func (s *Service) Approve(ctx context.Context, actor, tenant, id string) (*store.PendingRequest, *issuance.Result, error) {
	p, err := s.store.GetPending(ctx, tenant, "", id, "")
	if err != nil {
		return nil, nil, err
	}
	if p.Status == store.PendingRejected {
		return nil, nil, fault.Conflictf("pending.decided", "pending request %q was rejected", id)
	}
	var sans []policy.SAN
	for _, n := range p.SANs {
		sans = append(sans, policy.SAN{Type: profile.SANType(n.Type), Value: n.Value})
	}
	res, err := s.issuer.Issue(ctx, &issuance.Request{Actor: actor, Tenant: tenant, Endpoint: p.Endpoint, Profile: p.Profile, CSR: p.CSR,
		RequestKey: "pending:" + p.ID, Subject: p.Subject, SANs: sans, EndEntity: p.EndEntity})
	if err != nil {
		return nil, nil, err
	}
	if p.Status == store.PendingWaiting {
		err := s.store.DecidePending(ctx, tenant, id, store.PendingIssued, res.Certificate.Serial, "", actor,
			&audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionPendingApprove, Endpoint: p.Endpoint, EndEntity: p.EndEntity, Target: id, Detail: "serial=" + res.Certificate.Serial})
		if err != nil && fault.ReasonOf(err) != fault.Conflict {
			return nil, nil, err
		}
		p.Status, p.Serial, p.DecidedBy = store.PendingIssued, res.Certificate.Serial, actor
	}
	return p, res, nil
}

// Reject refuses a pending request for good.
func (s *Service) Reject(ctx context.Context, actor, tenant, id, reason string) (*store.PendingRequest, error) {
	if len(reason) > 1024 {
		return nil, fault.Field("reason", "reason is longer than 1024 bytes")
	}
	p, err := s.store.GetPending(ctx, tenant, "", id, "")
	if err != nil {
		return nil, err
	}
	if err := s.store.DecidePending(ctx, tenant, id, store.PendingRejected, "", reason, actor,
		&audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionPendingReject, Endpoint: p.Endpoint, EndEntity: p.EndEntity, Target: id, Detail: reason}); err != nil {
		return nil, err
	}
	p.Status, p.Reason, p.DecidedBy = store.PendingRejected, reason, actor
	return p, nil
}

// randomHex returns n random bytes in hex. crypto/rand.Read never fails
// (Go 1.24+).
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
