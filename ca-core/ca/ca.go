package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/store"
)

// Store is what the authority needs from the store.
type Store interface {
	GetTenant(ctx context.Context, id string) (*store.Tenant, error)
	CreateCA(ctx context.Context, c *store.CA, inventory *store.Certificate, ev *audit.Event) error
	GetCA(ctx context.Context, tenant, id string) (*store.CA, error)
	ListCAs(ctx context.Context, tenant string) ([]*store.CA, error)
	ActivateCA(ctx context.Context, c *store.CA, inventory *store.Certificate, ev *audit.Event) error
	SetCAProfiles(ctx context.Context, tenant, id string, profiles []string, ev *audit.Event) error
	SetCARevocation(ctx context.Context, tenant, id string, crl, ocsp bool, ev *audit.Event) error
}

// Profiles resolves profile ids for a tenant.
type Profiles interface {
	Resolve(ctx context.Context, tenant, id string) (*profile.Profile, error)
	Global() *profile.Set
}

// Deps are the authority's collaborators.
type Deps struct {
	Store    Store
	Profiles Profiles
	// Backends by name; DefaultBackend names the one used when a request
	// names none.
	Backends       map[string]signer.Backend
	DefaultBackend string
	// PublicURL is the base of the status URLs put in certificates
	// ("http://pki.example.com"); empty leaves them out.
	PublicURL string
	Now       func() time.Time
	Rand      io.Reader
}

// Authority creates CAs and hands out issuers.
type Authority struct {
	deps Deps

	mu      sync.Mutex // guards loaded
	loaded  map[string]*loadedCA
	signers map[string]crypto.Signer
}

// loadedCA is the expensive part of an issuer, keyed by tenant, id and
// serial: it never changes for a given certificate.
type loadedCA struct {
	cert  *x509.Certificate
	chain [][]byte
}

// New returns an authority.
func New(d Deps) (*Authority, error) {
	if d.Store == nil || d.Profiles == nil || len(d.Backends) == 0 {
		return nil, fmt.Errorf("ca: Store, Profiles and at least one Backend are required")
	}
	if _, ok := d.Backends[d.DefaultBackend]; !ok {
		return nil, fmt.Errorf("ca: default backend %q is not configured", d.DefaultBackend)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	return &Authority{deps: d, loaded: map[string]*loadedCA{}, signers: map[string]crypto.Signer{}}, nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{2,18}$`)

// ValidID reports whether s is a valid CA (or tenant, or endpoint) id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Defaults from the seeds: 20-year roots, 10-year subordinates.
var (
	defaultRootValidity = 20
	defaultSubValidity  = 10
)

// authorityProfile names the built-in profile a CA certificate of type t
// is issued under.
func authorityProfile(t profile.CAType) string {
	switch t {
	case profile.Root:
		return "basic-ca-root"
	case profile.Intermediate:
		return "basic-ca-intermediate"
	}
	return "basic-ca-subord"
}

// CreateRequest describes a new CA.
type CreateRequest struct {
	Tenant       string
	ID           string
	FriendlyName string
	Type         profile.CAType
	Parent       string
	KeyType      keys.Type
	RSAPSS       bool
	Subject      string
	// NotAfter, when set, is the CA's expiry; zero picks the default.
	NotAfter   time.Time
	Profiles   []string
	PathLen    *int
	KeyBackend string
	// CRLEnabled defaults to true; OCSPEnabled to true for issuing CAs
	// only (the status of roots and intermediates is on their parent's CRL).
	CRLEnabled  *bool
	OCSPEnabled *bool
	Actor       string
}

// Create makes a CA as described by r.
func (a *Authority) Create(ctx context.Context, r *CreateRequest) (*store.CA, error) {
	if !ValidID(r.ID) {
		return nil, fault.Field("id", "CA id %q must be 2-18 characters of a-z, 0-9, _ and -", r.ID)
	}
	if len(r.FriendlyName) > 256 {
		return nil, fault.Field("friendly_name", "friendly name is longer than 256 bytes")
	}
	if r.Type != profile.Root && r.Type != profile.Intermediate && r.Type != profile.Issuing {
		return nil, fault.Field("type", "type must be root, intermediate or issuing (import external roots with ImportExternalRoot)")
	}
	if !r.KeyType.Valid() {
		return nil, fault.Field("key_type", "key type must be one of %v", keys.All)
	}
	if r.RSAPSS && !r.KeyType.IsRSA() {
		return nil, fault.Field("rsa_pss", "RSASSA-PSS needs an RSA key type")
	}
	rdns, err := dn.Parse(r.Subject)
	if err != nil {
		return nil, fault.Field("subject", "%v", err)
	}
	if !hasCN(rdns) {
		return nil, fault.Field("subject", "a CA subject needs a CN")
	}
	rawSubject, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fault.Field("subject", "cannot encode subject: %v", err)
	}
	backendName := r.KeyBackend
	if backendName == "" {
		backendName = a.deps.DefaultBackend
	}
	backend, ok := a.deps.Backends[backendName]
	if !ok {
		return nil, fault.Field("key_backend", "key backend %q is not configured", backendName)
	}
	if _, err := a.deps.Store.GetTenant(ctx, r.Tenant); err != nil {
		return nil, err
	}
	profiles, err := a.checkProfiles(ctx, r.Tenant, r.Type, r.Profiles)
	if err != nil {
		return nil, err
	}

	now := a.deps.Now().UTC().Truncate(time.Second)
	authProfile, _ := a.deps.Profiles.Global().Get(authorityProfile(r.Type))
	// pathLen: the request's, else the profile's (0 for issuing CAs).
	pathLen := authProfile.PathLen
	if r.PathLen != nil {
		if *r.PathLen < 0 || *r.PathLen > 16 {
			return nil, fault.Field("path_len", "path_len must be 0-16")
		}
		if r.Type == profile.Issuing && *r.PathLen != 0 {
			return nil, fault.Policy("ca.path_len", "an issuing CA signs end entities only; its pathLenConstraint is 0")
		}
		pathLen = *r.PathLen
	}

	var parent *store.CA
	var parentCert *x509.Certificate
	var parentSigner crypto.Signer
	if r.Type != profile.Root {
		if r.Parent == "" {
			return nil, fault.Field("parent", "an %s CA needs a parent", r.Type)
		}
		if parent, err = a.deps.Store.GetCA(ctx, r.Tenant, r.Parent); err != nil {
			return nil, err
		}
		switch profile.CAType(parent.Type) {
		case profile.Root, profile.Intermediate, profile.ExternalRoot:
		default:
			return nil, fault.Policy("ca.parent_type", "CA %q is an issuing CA; only roots and intermediates certify CAs", parent.ID)
		}
		if parent.Status != store.CAActive {
			return nil, fault.Conflictf("ca.parent_pending", "parent CA %q is waiting for its certificate", parent.ID)
		}
		if parentCert, err = x509.ParseCertificate(parent.Cert); err != nil {
			return nil, fmt.Errorf("ca: stored certificate of %s: %w", parent.ID, err)
		}
		if !now.Before(parentCert.NotAfter) {
			return nil, fault.Conflictf("ca.parent_expired", "parent CA %q expired at %s", parent.ID, parentCert.NotAfter.Format(time.RFC3339))
		}
		// RFC 5280 §4.2.1.9: each CA below a constrained parent uses up one.
		switch {
		case parentCert.MaxPathLenZero:
			return nil, fault.Policy("ca.parent_path_len", "parent CA %q has pathLenConstraint 0 and cannot certify CAs", parent.ID)
		case parentCert.MaxPathLen > 0 && pathLen < 0:
			pathLen = parentCert.MaxPathLen - 1
		case parentCert.MaxPathLen > 0 && pathLen >= parentCert.MaxPathLen:
			return nil, fault.Policy("ca.parent_path_len", "parent CA %q allows at most %d CA levels below it", parent.ID, parentCert.MaxPathLen)
		}
		if profile.CAType(parent.Type) != profile.ExternalRoot {
			if !slices.Contains(parent.Profiles, authProfile.ID) {
				return nil, fault.Policy("ca.parent_profile", "parent CA %q does not have profile %s enabled", parent.ID, authProfile.ID)
			}
			if parentSigner, err = a.signer(ctx, parent); err != nil {
				return nil, err
			}
		}
	}

	notAfter, err := a.caNotAfter(r, authProfile, now, parentCert)
	if err != nil {
		return nil, err
	}
	ref, key, err := backend.Generate(ctx, r.KeyType, r.Tenant+"/"+r.ID)
	if err != nil {
		return nil, fmt.Errorf("ca: generating the key of %s: %w", r.ID, err)
	}
	ski, err := keys.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	rec := &store.CA{
		Tenant: r.Tenant, ID: r.ID, FriendlyName: r.FriendlyName, Type: string(r.Type), Parent: r.Parent,
		KeyType: r.KeyType, RSAPSS: r.RSAPSS, KeyBackend: backend.Name(), KeyRef: ref, Subject: dn.FormatText(rdns),
		Profiles: profiles, PathLen: pathLen, CRLEnabled: true, OCSPEnabled: r.Type == profile.Issuing,
	}
	if r.CRLEnabled != nil {
		rec.CRLEnabled = *r.CRLEnabled
	}
	if r.OCSPEnabled != nil {
		rec.OCSPEnabled = *r.OCSPEnabled
	}
	ev := &audit.Event{Tenant: r.Tenant, Actor: r.Actor, Action: audit.ActionCACreate, Target: r.ID,
		Detail: fmt.Sprintf("type=%s parent=%s key=%s backend=%s", r.Type, r.Parent, r.KeyType, backend.Name())}

	if parent != nil && profile.CAType(parent.Type) == profile.ExternalRoot {
		// The external root signs offline: export a CSR and wait.
		csr, err := x509.CreateCertificateRequest(a.deps.Rand, &x509.CertificateRequest{RawSubject: rawSubject,
			SignatureAlgorithm: r.KeyType.SignatureAlgorithm(r.RSAPSS)}, key)
		if err != nil {
			return nil, fmt.Errorf("ca: CSR for %s: %w", r.ID, err)
		}
		rec.Status, rec.CSR, rec.NotAfter = store.CAPendingCertificate, csr, notAfter
		ev.Detail += " status=pending_certificate"
		return rec, a.deps.Store.CreateCA(ctx, rec, nil, ev)
	}

	tmpl := &x509.Certificate{
		RawSubject: rawSubject, NotBefore: now, NotAfter: notAfter, SubjectKeyId: ski,
		KeyUsage:              authProfile.KeyUsage,
		BasicConstraintsValid: true, IsCA: true,
		MaxPathLen: pathLen, MaxPathLenZero: pathLen == 0,
	}
	if tmpl.SerialNumber, err = RandomSerial(a.deps.Rand); err != nil {
		return nil, err
	}
	issuerCert, issuerKey, sigKeyType, sigPSS := tmpl, key, r.KeyType, r.RSAPSS
	if parent != nil {
		issuerCert, issuerKey, sigKeyType, sigPSS = parentCert, parentSigner, parent.KeyType, parent.RSAPSS
		a.URLs(parent).Apply(tmpl)
	}
	tmpl.SignatureAlgorithm = sigKeyType.SignatureAlgorithm(sigPSS)
	der, err := x509.CreateCertificate(a.deps.Rand, tmpl, issuerCert, key.Public(), issuerKey)
	if err != nil {
		return nil, fmt.Errorf("ca: signing the certificate of %s: %w", r.ID, err)
	}
	rec.Status, rec.Cert, rec.Serial, rec.NotBefore, rec.NotAfter = store.CAActive, der, SerialHex(tmpl.SerialNumber), now, notAfter
	ev.Detail += " serial=" + rec.Serial
	if err := a.deps.Store.CreateCA(ctx, rec, a.inventoryEntry(rec, authProfile.ID, r.Actor, issuerOf(r, parent)), ev); err != nil {
		return nil, err
	}
	return rec, nil
}

// issuerOf names the CA a new CA's certificate belongs to in the inventory.
func issuerOf(r *CreateRequest, parent *store.CA) string {
	if parent == nil {
		return r.ID
	}
	return parent.ID
}

func (a *Authority) inventoryEntry(c *store.CA, profileID, actor, issuer string) *store.Certificate {
	sum := sha256.Sum256(c.Cert)
	return &store.Certificate{
		Serial: c.Serial, Tenant: c.Tenant, CA: issuer, Profile: profileID, Subject: c.Subject, KeyType: c.KeyType,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, DER: c.Cert, SHA256: hex.EncodeToString(sum[:]), Requester: actor,
	}
}

func (a *Authority) caNotAfter(r *CreateRequest, p *profile.Profile, now time.Time, parent *x509.Certificate) (time.Time, error) {
	years := defaultSubValidity
	if r.Type == profile.Root {
		years = defaultRootValidity
	}
	maxEnd := p.MaxValidity.AddTo(now)
	if r.NotAfter.IsZero() {
		na := now.AddDate(years, 0, 0).Add(-time.Second)
		if parent != nil && na.After(parent.NotAfter) {
			na = parent.NotAfter
		}
		return na, nil
	}
	na := r.NotAfter.UTC().Truncate(time.Second)
	switch {
	case !na.After(now):
		return na, fault.Field("not_after", "not_after %s is in the past", na.Format(time.RFC3339))
	case na.After(maxEnd):
		return na, fault.Policy("ca.validity", "profile %s allows at most %s", p.ID, p.MaxValidity)
	case parent != nil && na.After(parent.NotAfter):
		return na, fault.Policy("ca.outlives_parent", "not_after %s is after the parent's expiry %s", na.Format(time.RFC3339), parent.NotAfter.Format(time.RFC3339))
	}
	return na, nil
}

// checkProfiles validates (or defaults) the profiles enabled on a CA of
// type t.
func (a *Authority) checkProfiles(ctx context.Context, tenant string, t profile.CAType, ids []string) ([]string, error) {
	if ids == nil {
		kind := profile.Subscriber
		if t != profile.Issuing {
			kind = profile.Authority
		}
		for _, p := range a.deps.Profiles.Global().All() {
			if p.Kind == kind && p.BuiltIn && p.AllowsCAType(t) {
				ids = append(ids, p.ID)
			}
		}
		return ids, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, err := a.deps.Profiles.Resolve(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		if !p.AllowsCAType(t) {
			return nil, fault.Policy("ca.profile_type", "profile %q cannot be used on a %s CA (allowed: %v)", id, t, p.AllowedCATypes)
		}
		out = append(out, id)
	}
	return out, nil
}

// SetProfiles replaces the profiles enabled on a CA.
func (a *Authority) SetProfiles(ctx context.Context, actor, tenant, id string, ids []string) (*store.CA, error) {
	c, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if profile.CAType(c.Type) == profile.ExternalRoot {
		return nil, fault.Policy("ca.profile_type", "an external root signs outside certgate; it has no profiles")
	}
	if ids == nil {
		ids = []string{}
	}
	if ids, err = a.checkProfiles(ctx, tenant, profile.CAType(c.Type), ids); err != nil {
		return nil, err
	}
	ev := &audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionCAProfiles, Target: id, Detail: fmt.Sprint(ids)}
	if err := a.deps.Store.SetCAProfiles(ctx, tenant, id, ids, ev); err != nil {
		return nil, err
	}
	c.Profiles = ids
	return c, nil
}

// ImportExternalRoot registers a CA certificate whose key is outside
// certgate, to be the parent of CAs certified through a CSR.
func (a *Authority) ImportExternalRoot(ctx context.Context, actor, tenant, id, name string, certBytes []byte) (*store.CA, error) {
	if !ValidID(id) {
		return nil, fault.Field("id", "CA id %q must be 2-18 characters of a-z, 0-9, _ and -", id)
	}
	cert, err := parseCert(certBytes)
	if err != nil {
		return nil, err
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fault.Policy("ca.import.not_ca", "the certificate is not a CA certificate (basicConstraints cA=TRUE)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fault.Policy("ca.import.key_usage", "the certificate's key usage lacks keyCertSign")
	}
	now := a.deps.Now()
	if now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
		return nil, fault.Policy("ca.import.validity", "the certificate is not valid now (%s to %s)", cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	kt, err := keys.Of(cert.PublicKey)
	if err != nil {
		return nil, fault.Policy("ca.import.key_type", "%v", err)
	}
	if _, err := a.deps.Store.GetTenant(ctx, tenant); err != nil {
		return nil, err
	}
	subject, _ := dn.FormatDER(cert.RawSubject)
	rec := &store.CA{
		Tenant: tenant, ID: id, FriendlyName: name, Type: string(profile.ExternalRoot), Status: store.CAActive,
		KeyType: kt, RSAPSS: isPSS(cert.SignatureAlgorithm), Subject: subject, Serial: SerialHex(cert.SerialNumber),
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Cert: cert.Raw, Profiles: []string{}, PathLen: pathLenOf(cert),
	}
	ev := &audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionCAImportRoot, Target: id, Detail: "serial=" + rec.Serial + " subject=" + subject}
	return rec, a.deps.Store.CreateCA(ctx, rec, nil, ev)
}

// SetRevocation turns a CA's CRL and OCSP publication on or off.
func (a *Authority) SetRevocation(ctx context.Context, actor, tenant, id string, crl, ocsp bool) (*store.CA, error) {
	c, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if profile.CAType(c.Type) == profile.ExternalRoot && (crl || ocsp) {
		return nil, fault.Policy("ca.external", "an external root's key is outside certgate; it publishes its own status")
	}
	ev := &audit.Event{Tenant: tenant, Actor: actor, Action: "ca.revocation.update", Target: id, Detail: fmt.Sprintf("crl=%v ocsp=%v", crl, ocsp)}
	if err := a.deps.Store.SetCARevocation(ctx, tenant, id, crl, ocsp, ev); err != nil {
		return nil, err
	}
	c.CRLEnabled, c.OCSPEnabled = crl, ocsp
	return c, nil
}

// CSR returns the PKCS#10 request of a CA waiting for its certificate.
func (a *Authority) CSR(ctx context.Context, tenant, id string) ([]byte, error) {
	c, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if len(c.CSR) == 0 {
		return nil, fault.Conflictf("ca.no_csr", "CA %q was not created under an external root", id)
	}
	return c.CSR, nil
}

// ImportCertificate completes a CA created under an external root with
// the certificate the external root signed.
func (a *Authority) ImportCertificate(ctx context.Context, actor, tenant, id string, certBytes []byte) (*store.CA, error) {
	c, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if c.Status != store.CAPendingCertificate {
		return nil, fault.Conflictf("ca.not_pending", "CA %q is not waiting for a certificate", id)
	}
	cert, err := parseCert(certBytes)
	if err != nil {
		return nil, err
	}
	parent, err := a.deps.Store.GetCA(ctx, tenant, c.Parent)
	if err != nil {
		return nil, err
	}
	parentCert, err := x509.ParseCertificate(parent.Cert)
	if err != nil {
		return nil, fmt.Errorf("ca: stored certificate of %s: %w", parent.ID, err)
	}
	csr, err := x509.ParseCertificateRequest(c.CSR)
	if err != nil {
		return nil, fmt.Errorf("ca: stored CSR of %s: %w", id, err)
	}
	now := a.deps.Now()
	switch {
	case !publicKeysEqual(cert.PublicKey, csr.PublicKey):
		return nil, fault.Policy("ca.import.key_mismatch", "the certificate's public key is not the key of CA %q's CSR", id)
	case !bytes.Equal(cert.RawIssuer, parentCert.RawSubject):
		return nil, fault.Policy("ca.import.issuer", "the certificate's issuer is not the subject of parent %q", parent.ID)
	case cert.CheckSignatureFrom(parentCert) != nil:
		return nil, fault.Policy("ca.import.signature", "the certificate is not signed by parent %q's key: %v", parent.ID, cert.CheckSignatureFrom(parentCert))
	case !cert.BasicConstraintsValid || !cert.IsCA:
		return nil, fault.Policy("ca.import.not_ca", "the certificate lacks basicConstraints cA=TRUE")
	case cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, fault.Policy("ca.import.key_usage", "the certificate's key usage lacks keyCertSign")
	case now.Before(cert.NotBefore.Add(-5*time.Minute)) || !now.Before(cert.NotAfter):
		return nil, fault.Policy("ca.import.validity", "the certificate is not valid now (%s to %s)", cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	case cert.NotAfter.After(parentCert.NotAfter):
		return nil, fault.Policy("ca.import.outlives_parent", "the certificate expires after parent %q", parent.ID)
	}
	c.Cert, c.Serial, c.NotBefore, c.NotAfter = cert.Raw, SerialHex(cert.SerialNumber), cert.NotBefore.UTC(), cert.NotAfter.UTC()
	if s, err := dn.FormatDER(cert.RawSubject); err == nil {
		c.Subject = s
	}
	ev := &audit.Event{Tenant: tenant, Actor: actor, Action: audit.ActionCAImportCert, Target: id, Detail: "serial=" + c.Serial}
	if err := a.deps.Store.ActivateCA(ctx, c, a.inventoryEntry(c, authorityProfile(profile.CAType(c.Type)), actor, parent.ID), ev); err != nil {
		return nil, err
	}
	return c, nil
}

// Issuer is a CA ready to sign.
type Issuer struct {
	Record *store.CA
	Cert   *x509.Certificate
	Signer crypto.Signer
	// Chain is DER, the CA's certificate first and the root last.
	Chain  [][]byte
	SigAlg x509.SignatureAlgorithm
	// URLs go into what the CA signs.
	URLs URLs
}

// Issuer returns CA id of tenant ready to sign. The record is read from the
// store on every call; certificate, chain and signer are cached.
func (a *Authority) Issuer(ctx context.Context, tenant, id string) (*Issuer, error) {
	rec, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.Status != store.CAActive {
		return nil, fault.Conflictf("ca.pending", "CA %q is waiting for its certificate from its external root", id)
	}
	if profile.CAType(rec.Type) == profile.ExternalRoot {
		return nil, fault.Policy("ca.external", "CA %q is an external root; its key is not in certgate", id)
	}
	l, err := a.load(ctx, rec)
	if err != nil {
		return nil, err
	}
	s, err := a.signer(ctx, rec)
	if err != nil {
		return nil, err
	}
	return &Issuer{Record: rec, Cert: l.cert, Signer: s, Chain: l.chain, SigAlg: rec.KeyType.SignatureAlgorithm(rec.RSAPSS), URLs: a.URLs(rec)}, nil
}

// Chain returns the DER chain of an active CA, the CA first.
func (a *Authority) Chain(ctx context.Context, tenant, id string) ([][]byte, error) {
	rec, err := a.deps.Store.GetCA(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.Status != store.CAActive {
		return nil, fault.Conflictf("ca.pending", "CA %q is waiting for its certificate from its external root", id)
	}
	l, err := a.load(ctx, rec)
	if err != nil {
		return nil, err
	}
	return l.chain, nil
}

func (a *Authority) load(ctx context.Context, rec *store.CA) (*loadedCA, error) {
	key := rec.Tenant + "/" + rec.ID + "/" + rec.Serial
	a.mu.Lock()
	l, ok := a.loaded[key]
	a.mu.Unlock()
	if ok {
		return l, nil
	}
	cert, err := x509.ParseCertificate(rec.Cert)
	if err != nil {
		return nil, fmt.Errorf("ca: stored certificate of %s: %w", rec.ID, err)
	}
	chain := [][]byte{rec.Cert}
	for p, depth := rec.Parent, 0; p != ""; depth++ {
		if depth > 16 {
			return nil, fmt.Errorf("ca: chain of %s is longer than 16 CAs", rec.ID)
		}
		parent, err := a.deps.Store.GetCA(ctx, rec.Tenant, p)
		if err != nil {
			return nil, fmt.Errorf("ca: parent of %s: %w", rec.ID, err)
		}
		chain = append(chain, parent.Cert)
		p = parent.Parent
	}
	l = &loadedCA{cert: cert, chain: chain}
	a.mu.Lock()
	a.loaded[key] = l
	a.mu.Unlock()
	return l, nil
}

func (a *Authority) signer(ctx context.Context, rec *store.CA) (crypto.Signer, error) {
	a.mu.Lock()
	s, ok := a.signers[rec.KeyRef]
	a.mu.Unlock()
	if ok {
		return s, nil
	}
	backend, ok := a.deps.Backends[rec.KeyBackend]
	if !ok {
		return nil, &fault.Error{Reason: fault.Unavailable, Rule: "ca.backend", Detail: fmt.Sprintf("the key backend %q of CA %q is not configured on this ca-core", rec.KeyBackend, rec.ID)}
	}
	s, err := backend.Load(ctx, rec.KeyRef)
	if err != nil {
		return nil, fmt.Errorf("ca: loading the key of %s: %w", rec.ID, err)
	}
	a.mu.Lock()
	a.signers[rec.KeyRef] = s
	a.mu.Unlock()
	return s, nil
}

// RandomSerial returns a positive serial of exactly 20 octets (RFC 5280
// §4.1.2.2 allows at most 20): 159 random bits with the top octet non-zero
// and its high bit clear.
func RandomSerial(r io.Reader) (*big.Int, error) {
	var b [20]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("ca: reading serial randomness: %w", err)
	}
	b[0] &= 0x7f
	if b[0] == 0 {
		b[0] = 0x01
	}
	return new(big.Int).SetBytes(b[:]), nil
}

// SerialHex formats a serial as lowercase hex of its big-endian octets.
func SerialHex(n *big.Int) string {
	s := n.Text(16)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func parseCert(b []byte) (*x509.Certificate, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fault.Field("certificate", "PEM block is a %s, not a CERTIFICATE", blk.Type)
		}
		b = blk.Bytes
	}
	cert, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, fault.Field("certificate", "the certificate does not parse: %v", err)
	}
	return cert, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func hasCN(rdns pkix.RDNSequence) bool {
	for _, a := range dn.Names(rdns) {
		if a.OID.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}) {
			return true
		}
	}
	return false
}

func isPSS(alg x509.SignatureAlgorithm) bool {
	return alg == x509.SHA256WithRSAPSS || alg == x509.SHA384WithRSAPSS || alg == x509.SHA512WithRSAPSS
}

func pathLenOf(c *x509.Certificate) int {
	if c.MaxPathLen == 0 && !c.MaxPathLenZero {
		return -1
	}
	return c.MaxPathLen
}

// URLs are the public addresses of a CA's status services.
type URLs struct {
	CRL, OCSP, Issuer string
}

// URLs returns a CA's status URLs under the configured public URL, empty
// for services that are off (DESIGN.md §4 paths).
func (a *Authority) URLs(c *store.CA) URLs {
	base := strings.TrimSuffix(a.deps.PublicURL, "/")
	if base == "" {
		return URLs{}
	}
	var u URLs
	path := url.PathEscape(c.Tenant) + "/" + url.PathEscape(c.ID)
	if c.CRLEnabled {
		u.CRL = base + "/crl/" + path + ".crl"
	}
	if c.OCSPEnabled {
		u.OCSP = base + "/ocsp/" + path
	}
	if c.CRLEnabled || c.OCSPEnabled {
		u.Issuer = base + "/ca/" + path + ".crt"
	}
	return u
}

// Apply puts the URLs in a certificate template signed by their CA: CRL
// distribution point and authority information access (RFC 5280
// §4.2.1.13, §4.2.2.1).
func (u URLs) Apply(t *x509.Certificate) {
	if u.CRL != "" {
		t.CRLDistributionPoints = []string{u.CRL}
	}
	if u.OCSP != "" {
		t.OCSPServer = []string{u.OCSP}
	}
	if u.Issuer != "" {
		t.IssuingCertificateURL = []string{u.Issuer}
	}
}

// NormalizeSerial accepts a hex serial in any case, with or without
// leading zeros, colons or spaces, and returns the canonical form SerialHex
// produces.
func NormalizeSerial(s string) (string, error) {
	s = strings.ToLower(strings.NewReplacer(":", "", " ", "", "0x", "").Replace(strings.TrimSpace(s)))
	s = strings.TrimLeft(s, "0")
	if s == "" || len(s) > 40 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", fault.Field("serial", "serial %q is not a hex number of at most 20 octets", s)
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s, nil
}
