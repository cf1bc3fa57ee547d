package issuance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/digitalid"
	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

// Store is what the pipeline needs from the store.
type Store interface {
	GetEndpoint(ctx context.Context, tenant, id string) (*store.Endpoint, error)
	ListCAs(ctx context.Context, tenant string) ([]*store.CA, error)
	GetCertificate(ctx context.Context, tenant, serial string) (*store.Certificate, error)
	Reserve(ctx context.Context, r *store.Reservation) (*store.Certificate, error)
	Finalize(ctx context.Context, f *store.Finalization, ev *audit.Event) error
	Release(ctx context.Context, serial string, ev *audit.Event) error
	AppendAudit(ctx context.Context, e *audit.Event) error
	UsableChallenge(ctx context.Context, tenant, endpoint, hash, endEntity string) (*store.Challenge, error)
}

// Issuers hands out CAs ready to sign.
type Issuers interface {
	Issuer(ctx context.Context, tenant, id string) (*ca.Issuer, error)
}

// Profiles resolves profile ids.
type Profiles interface {
	Resolve(ctx context.Context, tenant, id string) (*profile.Profile, error)
}

// Observer receives one call per Issue, for metrics.
type Observer interface {
	Issued(tenant string, replayed bool, d time.Duration)
	Refused(tenant string, reason fault.Reason, d time.Duration)
}

// Deps are the pipeline's collaborators.
type Deps struct {
	Store    Store
	Issuers  Issuers
	Profiles Profiles
	Now      func() time.Time
	Rand     io.Reader
	Logger   *slog.Logger
	Observer Observer
}

// Service runs the pipeline.
type Service struct{ d Deps }

// New returns a pipeline.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Issuers == nil || d.Profiles == nil {
		return nil, fmt.Errorf("issuance: Store, Issuers and Profiles are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}, nil
}

// Request is one issuance.
type Request struct {
	// Actor is the caller's identity for the audit trail ("frontend:acme").
	Actor string
	// Frontend is the calling front-end's name, empty for administrators.
	// A front-end must name an endpoint assigned to it, and the endpoint's
	// authentication rules are enforced here too.
	Frontend string
	Tenant   string
	Endpoint string
	CA       string
	Profile  string
	CSR      []byte
	// ParsedCSR, when set, is CSR as policy.ParseCSR returned it, so that
	// a caller that checked the CSR already does not pay for it twice.
	ParsedCSR  *x509.CertificateRequest
	RequestKey string
	Subject    string
	// SANs, when non-nil, replace the CSR's.
	SANs       []policy.SAN
	Extensions []pkix.Extension
	Validity   time.Duration
	NotBefore  time.Time
	EndEntity  string
	Challenge  string
	// ClientCertificate is the DER certificate the client authenticated
	// with; Renewal says the request renews it (see clientcert.go).
	ClientCertificate []byte
	Renewal           bool
	// SID is the requester's Windows SID for the SID extension.
	SID string
	// IdentityFromClientCertificate makes a renewal take subject and SANs
	// from ClientCertificate instead of the CSR.
	IdentityFromClientCertificate bool
	// GeneratedKey is set by IssueWithGeneratedKey: ca-core made the CSR.
	GeneratedKey bool
}

// Result is an issued (or replayed) certificate.
type Result struct {
	Certificate *store.Certificate
	// Chain is DER, the issuing CA first.
	Chain    [][]byte
	Replayed bool
}

// MaxRequestKey bounds request keys.
const MaxRequestKey = 128

// Issue runs the pipeline. Every outcome is audited.
func (s *Service) Issue(ctx context.Context, r *Request) (*Result, error) {
	start := time.Now()
	res, target, err := s.issue(ctx, r)
	d := time.Since(start)
	if err != nil {
		s.auditFailure(ctx, r, target, err)
		if s.d.Observer != nil {
			s.d.Observer.Refused(r.Tenant, fault.ReasonOf(err), d)
		}
		return nil, err
	}
	if s.d.Observer != nil {
		s.d.Observer.Issued(r.Tenant, res.Replayed, d)
	}
	return res, nil
}

func (s *Service) issue(ctx context.Context, r *Request) (*Result, string, error) {
	if err := validate(r); err != nil {
		return nil, "", err
	}
	var ep *store.Endpoint
	caID, profileID := r.CA, r.Profile
	if r.Endpoint != "" {
		var err error
		if ep, err = s.d.Store.GetEndpoint(ctx, r.Tenant, r.Endpoint); err != nil {
			return nil, "", err
		}
		if r.Frontend != "" && !ep.ServedBy(r.Frontend) {
			// Indistinguishable from a missing endpoint: front-ends cannot
			// probe each other's endpoints.
			return nil, "", fault.NotFoundf("endpoint %q does not exist", r.Endpoint)
		}
		if ep.Disabled {
			return nil, "", fault.Conflictf("endpoint.disabled", "endpoint %q is disabled", ep.ID)
		}
		if r.CA != "" && r.CA != ep.CA {
			return nil, "", fault.Policy("endpoint.ca", "endpoint %q issues from CA %q only", ep.ID, ep.CA)
		}
		caID = ep.CA
		if r.Challenge != "" {
			if err := s.applyChallenge(ctx, r, &profileID); err != nil {
				return nil, "", err
			}
		}
		if profileID == "" {
			profileID = ep.DefaultProfile
		} else if profileID != ep.DefaultProfile && !slices.Contains(ep.AllowedProfiles, profileID) {
			return nil, "", fault.Policy("endpoint.profile", "endpoint %q does not allow profile %q", ep.ID, profileID)
		}
		if r.Frontend != "" {
			if err := frontendAuth(ep, r); err != nil {
				return nil, "", err
			}
		}
	} else if r.Frontend != "" {
		return nil, "", fault.Field("endpoint", "front-ends must name an enrollment endpoint")
	} else if r.EndEntity != "" || r.Challenge != "" {
		return nil, "", fault.Field("endpoint", "end_entity and challenge belong to an endpoint; name one")
	}
	if caID == "" {
		var err error
		if caID, err = s.onlyIssuingCA(ctx, r.Tenant); err != nil {
			return nil, "", err
		}
	}
	var presented *x509.Certificate
	if len(r.ClientCertificate) > 0 || r.Renewal {
		var err error
		if presented, err = s.checkClientCertificate(ctx, r, caID); err != nil {
			return nil, "", err
		}
	}
	if profileID == "" {
		return nil, "", fault.Field("profile", "name a profile")
	}
	iss, err := s.d.Issuers.Issuer(ctx, r.Tenant, caID)
	if err != nil {
		return nil, "", err
	}
	if profile.CAType(iss.Record.Type) != profile.Issuing {
		return nil, "", fault.Policy("ca.type", "CA %q is a %s CA; only issuing CAs sign end-entity certificates", caID, iss.Record.Type)
	}
	now := s.d.Now()
	if !now.Before(iss.Cert.NotAfter) {
		return nil, "", fault.Conflictf("ca.expired", "CA %q expired at %s", caID, iss.Cert.NotAfter.Format(time.RFC3339))
	}
	if !slices.Contains(iss.Record.Profiles, profileID) {
		return nil, "", fault.Policy("ca.profile_not_enabled", "profile %q is not enabled on CA %q", profileID, caID)
	}
	prof, err := s.d.Profiles.Resolve(ctx, r.Tenant, profileID)
	if err != nil {
		return nil, "", err
	}
	csr := r.ParsedCSR
	if csr == nil {
		if csr, err = policy.ParseCSR(r.CSR); err != nil {
			return nil, "", err
		}
	}
	if r.Renewal {
		if r.IdentityFromClientCertificate {
			if r.Subject, err = dn.FormatDER(presented.RawSubject); err != nil {
				return nil, "", err
			}
			if r.SANs, err = policy.CertificateSANs(presented); err != nil {
				return nil, "", err
			}
		} else if err := sameIdentity(csr, presented); err != nil {
			return nil, "", err
		}
	} else if r.IdentityFromClientCertificate {
		return nil, "", fault.Field("identity_from_client_certificate", "only renewals take their identity from the client certificate")
	}
	dec, err := policy.Apply(prof, &policy.Request{CSR: csr, Subject: r.Subject, SANs: r.SANs, Extensions: r.Extensions,
		Validity: r.Validity, NotBefore: r.NotBefore, GeneratedKey: r.GeneratedKey, SID: r.SID}, policy.Issuer{NotAfter: iss.Cert.NotAfter}, now)
	if err != nil {
		return nil, "", err
	}
	serialNumber, err := ca.RandomSerial(s.d.Rand)
	if err != nil {
		return nil, "", err
	}
	tmpl := dec.Template
	tmpl.SerialNumber = serialNumber
	tmpl.SignatureAlgorithm = iss.SigAlg
	iss.URLs.Apply(tmpl)
	serial := ca.SerialHex(serialNumber)

	cert := &store.Certificate{
		Serial: serial, Tenant: r.Tenant, CA: caID, Profile: profileID, Endpoint: r.Endpoint, EndEntity: r.EndEntity,
		Subject: dec.Subject, SANs: storeSANs(dec.SANs), KeyType: dec.KeyType, NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter,
		Requester: r.Actor, RequestKey: r.RequestKey, RequestHash: requestHash(r, caID, profileID), CountsQuota: true,
	}
	res := &store.Reservation{Cert: cert}
	if ep != nil {
		res.EndpointRate = ep.RatePerWindow
		res.EndEntity, res.Protocol, res.CreateEndEntity = r.EndEntity, ep.Protocol, !ep.RequireRegistered
		if r.Challenge != "" {
			res.ChallengeHash = ChallengeHash(r.Tenant, r.Endpoint, r.Challenge)
			if res.ChallengeBinding, err = BindingOf(dec.Subject, dec.SANs); err != nil {
				return nil, "", err
			}
		}
	}
	existing, err := s.reserve(ctx, res)
	if err != nil {
		return nil, "", err
	}
	if existing != nil {
		return &Result{Certificate: existing, Chain: iss.Chain, Replayed: true}, existing.Serial, nil
	}

	der, err := x509.CreateCertificate(s.d.Rand, tmpl, iss.Cert, csr.PublicKey, iss.Signer)
	if err == nil {
		err = lint(der, iss.Cert)
	}
	if err != nil {
		s.d.Logger.Error("signing failed", "tenant", r.Tenant, "ca", caID, "serial", serial, "err", err)
		ferr := &fault.Error{Reason: fault.Unavailable, Rule: "signer", Detail: "the CA's signer failed; retry", RetryAfter: time.Second}
		s.release(ctx, r, serial, ferr)
		return nil, serial, ferr
	}
	sum := sha256.Sum256(der)
	cert.DER, cert.SHA256, cert.Status = der, hex.EncodeToString(sum[:]), store.CertIssued
	ev := &audit.Event{Tenant: r.Tenant, Actor: r.Actor, Action: audit.ActionCertIssue, Endpoint: r.Endpoint, EndEntity: r.EndEntity,
		Target: serial, Result: audit.Success, Detail: fmt.Sprintf("ca=%s profile=%s subject=%s", caID, profileID, dec.Subject)}
	if err := s.d.Store.Finalize(ctx, &store.Finalization{Serial: serial, DER: der, SHA256: cert.SHA256, NotBefore: tmpl.NotBefore,
		NotAfter: tmpl.NotAfter, Tenant: r.Tenant, Endpoint: r.Endpoint, EndEntity: r.EndEntity, ChallengeHash: res.ChallengeHash}, ev); err != nil {
		s.release(ctx, r, serial, err)
		return nil, serial, err
	}
	return &Result{Certificate: cert, Chain: iss.Chain}, serial, nil
}

// applyChallenge gives a request whose challenge was rendered from a
// Digital ID that challenge's subject, SANs and profile: MDMs put a
// placeholder subject in device CSRs. An unusable challenge is left for
// Reserve to refuse, with the same answer as any other.
func (s *Service) applyChallenge(ctx context.Context, r *Request, profileID *string) error {
	ch, err := s.d.Store.UsableChallenge(ctx, r.Tenant, r.Endpoint, ChallengeHash(r.Tenant, r.Endpoint, r.Challenge), r.EndEntity)
	if err != nil {
		if fault.ReasonOf(err) == fault.Unauthenticated {
			return nil
		}
		return err
	}
	if !ch.ApplyBinding {
		return nil
	}
	if tmpl, ok := parseDeferred(ch.Binding); ok {
		csr := r.ParsedCSR
		if csr == nil {
			if csr, err = policy.ParseCSR(r.CSR); err != nil {
				return err
			}
		}
		upns, err := policy.CSRUPNs(csr)
		if err != nil {
			return err
		}
		subject, pairs, err := tmpl.Render(digitalid.CSRValues(csr, upns))
		if err != nil {
			return err
		}
		r.Subject = subject
		r.SANs = nil
		for _, p := range pairs {
			r.SANs = append(r.SANs, policy.SAN{Type: profile.SANType(p[0]), Value: p[1]})
		}
	} else {
		r.Subject, r.SANs = ParseBinding(ch.Binding)
	}
	if ch.Profile != "" {
		*profileID = ch.Profile
	}
	return nil
}

// reserve admits the request; when the same request key is being signed by
// a concurrent call it waits briefly for that result.
func (s *Service) reserve(ctx context.Context, res *store.Reservation) (*store.Certificate, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		existing, err := s.d.Store.Reserve(ctx, res)
		fe := fault.As(err)
		if fe == nil || fe.Rule != "request_key.in_progress" || time.Now().After(deadline) {
			return existing, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// release gives back a reservation after a failure; the failure event is
// written with it.
func (s *Service) release(ctx context.Context, r *Request, serial string, cause error) {
	ev := failureEvent(r, serial, cause)
	if err := s.d.Store.Release(context.WithoutCancel(ctx), serial, ev); err != nil {
		s.d.Logger.Error("releasing a reservation failed; the janitor will release it", "serial", serial, "err", err)
	}
}

// auditFailure records a refusal that happened before a reservation. A
// failure after the reservation was recorded by release.
func (s *Service) auditFailure(ctx context.Context, r *Request, serial string, err error) {
	if serial != "" || r.Tenant == "" {
		return
	}
	if e := s.d.Store.AppendAudit(context.WithoutCancel(ctx), failureEvent(r, "", err)); e != nil {
		s.d.Logger.Error("writing an audit event failed", "err", e, "cause", err)
	}
}

func failureEvent(r *Request, serial string, err error) *audit.Event {
	detail := "INTERNAL"
	if fe := fault.As(err); fe != nil {
		detail = fe.Reason.String()
		if fe.Rule != "" {
			detail += " [" + fe.Rule + "]"
		}
		if fe.Detail != "" {
			detail += ": " + fe.Detail
		}
	}
	return &audit.Event{Tenant: r.Tenant, Actor: r.Actor, Action: audit.ActionCertIssue, Endpoint: r.Endpoint, EndEntity: r.EndEntity,
		Target: serial, Result: audit.Failure, Detail: detail}
}

func (s *Service) onlyIssuingCA(ctx context.Context, tenant string) (string, error) {
	cas, err := s.d.Store.ListCAs(ctx, tenant)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, c := range cas {
		if profile.CAType(c.Type) == profile.Issuing && c.Status == store.CAActive {
			ids = append(ids, c.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fault.NotFoundf("tenant %q has no active issuing CA", tenant)
	case 1:
		return ids[0], nil
	}
	return "", fault.Field("ca", "tenant %q has several issuing CAs (%v); name one", tenant, ids)
}

func validate(r *Request) error {
	switch {
	case r.Tenant == "":
		return fault.Field("tenant", "tenant is required")
	case len(r.RequestKey) > MaxRequestKey:
		return fault.Field("request_key", "request key is longer than %d bytes", MaxRequestKey)
	case len(r.EndEntity) > 255:
		return fault.Field("end_entity", "end-entity id is longer than 255 bytes")
	case len(r.Subject) > 4096:
		return fault.Field("subject", "subject is longer than 4096 bytes")
	case len(r.SANs) > 1000:
		return fault.Field("subject_alt_names", "more than 1000 SANs")
	}
	return nil
}

// requestHash identifies what a request key stands for, so that a key
// reused for a different request is refused instead of replayed.
func requestHash(r *Request, caID, profileID string) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, s := range []string{r.Tenant, r.Endpoint, caID, profileID, r.Subject, r.EndEntity, r.SID} {
		field([]byte(s))
	}
	field(r.CSR)
	for _, n := range r.SANs {
		field([]byte(string(n.Type) + ":" + n.Value))
	}
	for _, e := range r.Extensions {
		field([]byte(e.Id.String()))
		field(e.Value)
	}
	field([]byte(r.Validity.String()))
	// A renewal is another request than the enrollment it renews, even
	// with the same CSR.
	field(r.ClientCertificate)
	field([]byte(strconv.FormatBool(r.Renewal)))
	return hex.EncodeToString(h.Sum(nil))
}

// ChallengeHash is how one-time challenges are stored and looked up: bound
// to their tenant and endpoint, so that a value is only good where it was
// issued. Challenges are 128-bit random values, so a fast hash suffices.
func ChallengeHash(tenant, endpoint, value string) string {
	sum := sha256.Sum256([]byte("certgate-challenge-v1\x00" + tenant + "\x00" + endpoint + "\x00" + value))
	return hex.EncodeToString(sum[:])
}

func storeSANs(in []policy.SAN) []store.SAN {
	out := make([]store.SAN, len(in))
	for i, n := range in {
		out[i] = store.SAN{Type: string(n.Type), Value: n.Value}
	}
	return out
}

// lint re-parses what was signed and checks it chains to the issuer, so a
// broken signer or template never reaches a client.
func lint(der []byte, issuer *x509.Certificate) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("issued certificate does not parse: %w", err)
	}
	if err := c.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("issued certificate does not verify against its CA: %w", err)
	}
	return nil
}
