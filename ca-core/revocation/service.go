package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/delegated"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/store"
)

// Store is what revocation needs from the store.
type Store interface {
	ChangeStatus(ctx context.Context, ch *store.StatusChange, ev *audit.Event) (*store.Certificate, error)
	GetCertificate(ctx context.Context, tenant, serial string) (*store.Certificate, error)
	StatusVersion(ctx context.Context, tenant, ca string) (int64, error)
	RevokedEntries(ctx context.Context, tenant, ca string, fn func(store.RevokedEntry) error) error
	GetCRL(ctx context.Context, tenant, ca string) (*store.CRL, error)
	RevocationTargets(ctx context.Context) ([]store.RevocationTarget, error)
	PublishCRL(ctx context.Context, c *store.CRL, prevNumber int64, startedAt time.Time, ev *audit.Event) error
	RequestCRL(ctx context.Context, tenant, ca string) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	delegated.Store
	GetCA(ctx context.Context, tenant, id string) (*store.CA, error)

	CreateBulkJob(ctx context.Context, j *store.BulkJob, items []store.BulkItem, ev *audit.Event) error
	GetBulkJob(ctx context.Context, tenant, id string) (*store.BulkJob, error)
	ListBulkItems(ctx context.Context, jobID string, failedOnly bool, size int, token string) ([]store.BulkItem, string, error)
	RunningBulkJobs(ctx context.Context) ([]*store.BulkJob, error)
	PendingBulkItems(ctx context.Context, jobID string, n int) ([]store.BulkItem, error)
	RevokeBatch(ctx context.Context, j *store.BulkJob, items []store.BulkItem) (map[string]bool, error)
	FinishBulkJob(ctx context.Context, j *store.BulkJob, ev *audit.Event) error
	SelectSerials(ctx context.Context, tenant string, sel store.BulkSelector) ([]string, error)
}

// Issuers hands out CAs ready to sign.
type Issuers interface {
	Issuer(ctx context.Context, tenant, id string) (*ca.Issuer, error)
}

// Config tunes publication. Zero values take the defaults.
type Config struct {
	// CRLValidity is nextUpdate - thisUpdate. Default: 7 days (the seeds').
	CRLValidity time.Duration
	// CRLRefresh regenerates a CRL at least this often. Default: 24h.
	CRLRefresh time.Duration
	// CRLDelay is how long after a status change the CRL is regenerated,
	// batching bursts of revocations. Default: 1m.
	CRLDelay time.Duration
	// OCSPValidity is the nextUpdate of OCSP responses and how long a
	// pre-signed response is reused. Default: 10m.
	OCSPValidity time.Duration
	// ResponderValidity is the lifetime of delegated responder
	// certificates, renewed at half. Default: 30 days.
	ResponderValidity time.Duration
	// Tick is how often the maintainer looks for work. Default: 2s.
	Tick time.Duration
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.CRLValidity, 7*24*time.Hour)
	set(&c.CRLRefresh, 24*time.Hour)
	set(&c.CRLDelay, time.Minute)
	set(&c.OCSPValidity, 10*time.Minute)
	set(&c.ResponderValidity, 30*24*time.Hour)
	set(&c.Tick, 2*time.Second)
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store    Store
	Issuers  Issuers
	Backends map[string]signer.Backend
	Config   Config
	// Holder names this replica in leases.
	Holder string
	Now    func() time.Time
	Logger *slog.Logger
}

// Service changes status and publishes it.
type Service struct {
	d Deps
	// responders caches loaded responder signers and OCSP answers.
	ocsp      *ocspCache
	delegated *delegated.Issuer
}

// New returns a service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Issuers == nil || d.Holder == "" {
		return nil, fmt.Errorf("revocation: Store, Issuers and Holder are required")
	}
	d.Config.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, ocsp: newOCSPCache(), delegated: &delegated.Issuer{Store: d.Store, Issuers: d.Issuers, Backends: d.Backends,
		Holder: d.Holder, Now: d.Now, Logger: d.Logger}}, nil
}

// Revoke revokes a certificate for good.
func (s *Service) Revoke(ctx context.Context, actor, tenant, serial string, reason int, invalidity time.Time, publish bool) (*store.Certificate, error) {
	if !ValidRevocationReason(reason) {
		return nil, fault.Field("reason", "%s is not a revocation reason (hold certificates with HoldCertificate)", ReasonName(reason))
	}
	if !invalidity.IsZero() && invalidity.After(s.d.Now().Add(time.Minute)) {
		return nil, fault.Field("invalidity_date", "the invalidity date cannot be in the future")
	}
	return s.change(ctx, actor, &store.StatusChange{Tenant: tenant, Serial: serial, To: store.CertRevoked, Reason: reason,
		InvalidityDate: invalidity, Publish: publish}, "certificate.revoke", "reason="+ReasonName(reason))
}

// Hold suspends a certificate.
func (s *Service) Hold(ctx context.Context, actor, tenant, serial string, publish bool) (*store.Certificate, error) {
	return s.change(ctx, actor, &store.StatusChange{Tenant: tenant, Serial: serial, To: store.CertOnHold, Reason: CertificateHold, Publish: publish},
		"certificate.hold", "reason=certificateHold")
}

// Release ends a hold.
func (s *Service) Release(ctx context.Context, actor, tenant, serial string, publish bool) (*store.Certificate, error) {
	return s.change(ctx, actor, &store.StatusChange{Tenant: tenant, Serial: serial, To: store.CertIssued, Reason: -1, Publish: publish},
		"certificate.release", "")
}

func (s *Service) change(ctx context.Context, actor string, ch *store.StatusChange, action, detail string) (*store.Certificate, error) {
	ev := &audit.Event{Tenant: ch.Tenant, Actor: actor, Action: action, Target: ch.Serial, Detail: detail}
	c, err := s.d.Store.ChangeStatus(ctx, ch, ev)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RequestCRL asks for a CA's CRL at once.
func (s *Service) RequestCRL(ctx context.Context, tenant, caID string) error {
	c, err := s.d.Store.GetCA(ctx, tenant, caID)
	if err != nil {
		return err
	}
	if !c.CRLEnabled {
		return fault.Conflictf("crl.disabled", "CA %q does not publish a CRL", caID)
	}
	return s.d.Store.RequestCRL(ctx, tenant, caID)
}

// signerFor loads a key through its backend.
func (s *Service) signerFor(ctx context.Context, backend, ref string) (crypto.Signer, error) {
	b, ok := s.d.Backends[backend]
	if !ok {
		return nil, fmt.Errorf("revocation: key backend %q is not configured", backend)
	}
	return b.Load(ctx, ref)
}

// sigAlgFor picks the signature algorithm of a responder key, following
// the CA's choice of RSA-PSS (spec/seed-002-part1.md §4.3).
func sigAlgFor(caRec *store.CA) x509.SignatureAlgorithm {
	if caRec.RSAPSS {
		return x509.SHA256WithRSAPSS
	}
	return x509.SHA256WithRSA
}
