package acme

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"math/big"
	"net/netip"
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

// Lifetimes (Let's Encrypt's, which clients are tuned for).
const (
	NonceLifetime        = time.Hour
	PendingAuthzLifetime = 7 * 24 * time.Hour
	OrderLifetime        = 7 * 24 * time.Hour
	// ValidAuthzLifetime is how long an authorization stays valid after
	// its challenge passed.
	ValidAuthzLifetime = 30 * 24 * time.Hour
	// ReuseMargin: a valid authorization is only reused if it outlives
	// the new order by this much, so for ValidAuthzLifetime -
	// OrderLifetime - ReuseMargin (22 days) after its validation.
	ReuseMargin      = 24 * time.Hour
	MaxIdentifiers   = 100
	finalizeStale    = 10 * time.Minute
	errorTypePrefix  = "urn:ietf:params:acme:error:"
	challengeHTTP01  = "http-01"
	challengeDNS01   = "dns-01"
	challengeTLSALPN = "tls-alpn-01"
)

// Store is what the ACME state needs from the store.
type Store interface {
	GetEndpoint(ctx context.Context, tenant, id string) (*store.Endpoint, error)
	GetCertificate(ctx context.Context, tenant, serial string) (*store.Certificate, error)
	CreateAcmeNonces(ctx context.Context, tenant, endpoint string, nonces []string, expires time.Time) error
	LookupAcmeAccount(ctx context.Context, tenant, endpoint, id, thumbprint string) (*store.AcmeAccount, error)
	NewAcmeAccount(ctx context.Context, a *store.AcmeAccount, onlyExisting bool, checkEAB func([]byte) error, ev *audit.Event) (*store.AcmeAccount, bool, error)
	UpdateAcmeAccount(ctx context.Context, r *store.AcmeReq, setContact bool, contact []string, deactivate bool, ev *audit.Event) (*store.AcmeAccount, error)
	ChangeAcmeAccountKey(ctx context.Context, r *store.AcmeReq, jwk []byte, thumbprint string, ev *audit.Event) (*store.AcmeAccount, error)
	ListAcmeOrders(ctx context.Context, r *store.AcmeReq) ([]string, error)
	NewAcmeOrder(ctx context.Context, r *store.AcmeReq, o *store.AcmeOrder, authzIdents []store.AcmeIdentifier, wildcards []bool, newAuthz store.NewOrderAuthz, reuseUntil time.Time, ev *audit.Event) (*store.AcmeOrder, error)
	GetAcmeOrder(ctx context.Context, r *store.AcmeReq, id string) (*store.AcmeOrder, error)
	GetAcmeAuthz(ctx context.Context, r *store.AcmeReq, id string, deactivate bool) (*store.AcmeAuthz, error)
	StartAcmeChallenge(ctx context.Context, r *store.AcmeReq, challengeID string) (*store.AcmeAuthz, *store.AcmeChallenge, bool, error)
	CompleteAcmeChallenge(ctx context.Context, tenant, endpoint, challengeID string, valid bool, validFor time.Duration, problem []byte) (*store.AcmeAuthz, error)
	BeginAcmeFinalize(ctx context.Context, r *store.AcmeReq, id string, staleAfter time.Duration) (*store.AcmeOrder, error)
	EndAcmeFinalize(ctx context.Context, tenant, endpoint, id, status, serial string, problem []byte) error
	AcmeCertificateOrder(ctx context.Context, r *store.AcmeReq, serial string) error
	UseAcmeNonce(ctx context.Context, tenant, endpoint, nonce string) error
	CheckAcmeAccount(ctx context.Context, r *store.AcmeReq) (*store.AcmeAccount, error)
	CreateEABKey(ctx context.Context, k *store.EABKey, ev *audit.Event) error
	ListEABKeys(ctx context.Context, tenant, endpoint string) ([]*store.EABKey, error)
	DeleteEABKey(ctx context.Context, tenant, endpoint, kid string, ev *audit.Event) error
}

// Issuer is the issuance pipeline.
type Issuer interface {
	Issue(ctx context.Context, r *issuance.Request) (*issuance.Result, error)
}

// Chains hands out CA chains.
type Chains interface {
	Chain(ctx context.Context, tenant, id string) ([][]byte, error)
}

// Revoker revokes certificates.
type Revoker interface {
	Revoke(ctx context.Context, actor, tenant, serial string, reason int, invalidity time.Time, publish bool) (*store.Certificate, error)
}

// Service is the ACME state of every endpoint.
type Service struct {
	store   Store
	issuer  Issuer
	chains  Chains
	revoker Revoker
	now     func() time.Time
}

// New returns a service.
func New(st Store, issuer Issuer, chains Chains, revoker Revoker, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, issuer: issuer, chains: chains, revoker: revoker, now: now}
}

// Problem is an RFC 7807 problem as ACME objects carry it.
type Problem struct {
	Type        string      `json:"type"`
	Detail      string      `json:"detail,omitempty"`
	Identifier  *Identifier `json:"identifier,omitempty"`
	Subproblems []Problem   `json:"subproblems,omitempty"`
}

// Identifier is an ACME identifier.
type Identifier = store.AcmeIdentifier

func problem(typ, detail string) *Problem {
	return &Problem{Type: errorTypePrefix + typ, Detail: detail}
}

func (p *Problem) json() []byte {
	if p == nil {
		return nil
	}
	b, _ := json.Marshal(p)
	return b
}

func acmeErr(reason fault.Reason, typ, format string, args ...any) error {
	return &fault.Error{Reason: reason, Rule: "acme." + typ, Detail: fmt.Sprintf(format, args...)}
}

// endpoint loads an ACME endpoint the caller may use.
func (s *Service) endpoint(ctx context.Context, tenant, id string) (*store.Endpoint, error) {
	e, err := s.store.GetEndpoint(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if e.Protocol != "acme" {
		return nil, fault.NotFoundf("ACME endpoint %q does not exist", id)
	}
	if e.Disabled {
		return nil, acmeErr(fault.Conflict, "unauthorized", "endpoint %q is disabled", id)
	}
	return e, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// spendNonce spends a request's nonce. Every method serving a signed
// request calls it before any other check: RFC 8555 §6.5 makes a nonce
// invalid once it has appeared in a request, refused or not.
func (s *Service) spendNonce(ctx context.Context, tenant, endpoint, nonce string) error {
	return s.store.UseAcmeNonce(ctx, tenant, endpoint, nonce)
}

// Nonces mints count nonces for an endpoint.
func (s *Service) Nonces(ctx context.Context, tenant, endpoint string, count int) ([]string, error) {
	if count < 1 || count > 1000 {
		return nil, fault.Field("count", "count must be 1-1000")
	}
	out := make([]string, count)
	for i := range out {
		out[i] = randomID(16)
	}
	return out, s.store.CreateAcmeNonces(ctx, tenant, endpoint, out, s.now().Add(NonceLifetime))
}

// NewAccountRequest is a verified newAccount request.
type NewAccountRequest struct {
	Actor, Tenant, Endpoint, Nonce string
	JWK                            []byte
	Thumbprint                     string
	Contact                        []string
	TermsAgreed                    bool
	OnlyReturnExisting             bool
	// EAB, when present, carries the binding's kid, alg, signing input
	// and MAC; the front-end checked its structure.
	EAB *EAB
}

// EAB is an external account binding to check with its key.
type EAB struct {
	KID, Alg                string
	SigningInput, Signature []byte
}

// NewAccount implements RFC 8555 §7.3. An existing account of the key is
// returned (created=false) without checking terms or EAB again, as
// clients look their accounts up with newAccount.
func (s *Service) NewAccount(ctx context.Context, r *NewAccountRequest) (*store.AcmeAccount, bool, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, false, err
	}
	e, err := s.endpoint(ctx, r.Tenant, r.Endpoint)
	if err != nil {
		return nil, false, err
	}
	if err := checkContacts(r.Contact); err != nil {
		return nil, false, err
	}
	if acct, err := s.store.LookupAcmeAccount(ctx, r.Tenant, r.Endpoint, "", r.Thumbprint); err == nil && acct.Status == store.AcmeValid {
		return acct, false, nil
	}
	a := &store.AcmeAccount{Tenant: r.Tenant, Endpoint: r.Endpoint, ID: randomID(12), KeyThumbprint: r.Thumbprint, JWK: r.JWK,
		Contact: r.Contact, TermsAgreed: r.TermsAgreed}
	check := func([]byte) error { return nil }
	if !r.OnlyReturnExisting {
		if tos := termsOf(e); tos != "" && !r.TermsAgreed {
			return nil, false, acmeErr(fault.BadRequest, "malformed", "agree to the terms of service at %s (termsOfServiceAgreed: true)", tos)
		}
		if e.AuthMethod == "external_account_binding" && r.EAB == nil {
			return nil, false, acmeErr(fault.Unauthenticated, "externalAccountRequired", "this endpoint requires external account binding")
		}
		if r.EAB != nil {
			a.EABKID = r.EAB.KID
			check = func(key []byte) error { return verifyMAC(r.EAB, key) }
		}
	}
	ev := &audit.Event{Tenant: r.Tenant, Actor: r.Actor, Action: "acme.account.create", Endpoint: r.Endpoint, EndEntity: a.ID, Target: a.ID,
		Detail: "eab=" + a.EABKID}
	return s.store.NewAcmeAccount(ctx, a, r.OnlyReturnExisting, check, ev)
}

func termsOf(e *store.Endpoint) string {
	if e.Settings.ACME == nil {
		return ""
	}
	return e.Settings.ACME.TermsOfService
}

func verifyMAC(e *EAB, key []byte) error {
	var h func() hash.Hash
	switch e.Alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return fmt.Errorf("unsupported EAB algorithm %q", e.Alg)
	}
	m := hmac.New(h, key)
	m.Write(e.SigningInput)
	if !hmac.Equal(m.Sum(nil), e.Signature) {
		return fmt.Errorf("MAC mismatch")
	}
	return nil
}

// checkContacts accepts mailto: URLs only (RFC 8555 §7.3: servers choose).
func checkContacts(contacts []string) error {
	if len(contacts) > 10 {
		return acmeErr(fault.BadRequest, "invalidContact", "at most 10 contacts")
	}
	for _, c := range contacts {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return acmeErr(fault.BadRequest, "unsupportedContact", "contact %q is not a mailto: URL", c)
		}
		if _, err := policyEmail(addr); err != nil || strings.ContainsAny(addr, ",?") {
			return acmeErr(fault.BadRequest, "invalidContact", "contact %q is not a valid e-mail address", c)
		}
	}
	return nil
}

func policyEmail(addr string) (string, error) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || len(addr) > 254 {
		return "", fmt.Errorf("bad address")
	}
	if err := checkDNSName(domain); err != nil {
		return "", err
	}
	return addr, nil
}

// Lookup returns an account for JWS verification.
func (s *Service) Lookup(ctx context.Context, tenant, endpoint, id, thumbprint string) (*store.AcmeAccount, error) {
	return s.store.LookupAcmeAccount(ctx, tenant, endpoint, id, thumbprint)
}

// UpdateAccount changes contacts or deactivates.
func (s *Service) UpdateAccount(ctx context.Context, actor string, r *store.AcmeReq, setContact bool, contact []string, deactivate bool) (*store.AcmeAccount, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	if setContact {
		if err := checkContacts(contact); err != nil {
			return nil, err
		}
	}
	action := "acme.account.update"
	if deactivate {
		action = "acme.account.deactivate"
	}
	return s.store.UpdateAcmeAccount(ctx, r, setContact, contact, deactivate, &audit.Event{Tenant: r.Tenant, Actor: actor, Action: action,
		Endpoint: r.Endpoint, EndEntity: r.AccountID, Target: r.AccountID})
}

// ChangeKey replaces an account's key.
func (s *Service) ChangeKey(ctx context.Context, actor string, r *store.AcmeReq, jwk []byte, thumbprint string) (*store.AcmeAccount, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	return s.store.ChangeAcmeAccountKey(ctx, r, jwk, thumbprint, &audit.Event{Tenant: r.Tenant, Actor: actor, Action: "acme.account.key_change",
		Endpoint: r.Endpoint, EndEntity: r.AccountID, Target: r.AccountID})
}

// Orders lists an account's orders.
func (s *Service) Orders(ctx context.Context, r *store.AcmeReq) ([]string, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	return s.store.ListAcmeOrders(ctx, r)
}

// NewOrderRequest is a verified newOrder request.
type NewOrderRequest struct {
	Actor               string
	Req                 *store.AcmeReq
	Identifiers         []Identifier
	NotBefore, NotAfter time.Time
	Profile             string
	Replaces            string
}

// NewOrder implements RFC 8555 §7.4 with RFC 9773 replaces and ACME
// profiles.
func (s *Service) NewOrder(ctx context.Context, r *NewOrderRequest) (*store.AcmeOrder, error) {
	if err := s.spendNonce(ctx, r.Req.Tenant, r.Req.Endpoint, r.Req.Nonce); err != nil {
		return nil, err
	}
	e, err := s.endpoint(ctx, r.Req.Tenant, r.Req.Endpoint)
	if err != nil {
		return nil, err
	}
	if len(r.Identifiers) == 0 || len(r.Identifiers) > MaxIdentifiers {
		return nil, acmeErr(fault.BadRequest, "malformed", "an order needs 1-%d identifiers", MaxIdentifiers)
	}
	idents, wildcards, err := normalizeIdentifiers(r.Identifiers)
	if err != nil {
		return nil, err
	}
	prof := r.Profile
	if prof == "" {
		prof = e.DefaultProfile
	} else if prof != e.DefaultProfile && !slices.Contains(e.AllowedProfiles, prof) {
		return nil, acmeErr(fault.BadRequest, "invalidProfile", "profile %q is not offered by this endpoint", prof)
	}
	now := s.now().UTC().Truncate(time.Second)
	if !r.NotAfter.IsZero() && !r.NotAfter.After(now) {
		return nil, acmeErr(fault.BadRequest, "malformed", "notAfter is in the past")
	}
	if !r.NotBefore.IsZero() && !r.NotAfter.IsZero() && !r.NotAfter.After(r.NotBefore) {
		return nil, acmeErr(fault.BadRequest, "malformed", "notAfter is not after notBefore")
	}
	if r.Replaces != "" {
		c, err := s.certByARIID(ctx, r.Req.Tenant, r.Replaces)
		if err != nil {
			return nil, err
		}
		if c.Endpoint != r.Req.Endpoint || c.EndEntity != r.Req.AccountID {
			return nil, acmeErr(fault.BadRequest, "malformed", "the certificate to replace was not issued to this account")
		}
	}
	expires := now.Add(OrderLifetime)
	// The order lists identifiers as asked ("*.example.com"); its
	// authorizations take the base name and a wildcard flag.
	orderIdents := make([]Identifier, len(idents))
	for i, id := range idents {
		orderIdents[i] = id
		if wildcards[i] {
			orderIdents[i].Value = "*." + id.Value
		}
	}
	o := &store.AcmeOrder{Tenant: r.Req.Tenant, Endpoint: r.Req.Endpoint, ID: randomID(12), AccountID: r.Req.AccountID, Identifiers: orderIdents,
		NotBefore: r.NotBefore, NotAfter: r.NotAfter, Profile: prof, Replaces: r.Replaces, Expires: expires}
	newAuthz := func(id Identifier, wildcard bool) *store.AcmeAuthz {
		a := &store.AcmeAuthz{Tenant: o.Tenant, Endpoint: o.Endpoint, ID: randomID(12), AccountID: o.AccountID, Identifier: id,
			Wildcard: wildcard, Status: store.AcmePending, Expires: now.Add(PendingAuthzLifetime)}
		for _, typ := range challengeTypes(id, wildcard) {
			a.Challenges = append(a.Challenges, store.AcmeChallenge{ID: randomID(12), Type: typ, Token: randomID(32), Status: store.AcmePending})
		}
		return a
	}
	ev := &audit.Event{Tenant: o.Tenant, Actor: r.Actor, Action: "acme.order.create", Endpoint: o.Endpoint, EndEntity: o.AccountID, Target: o.ID,
		Detail: fmt.Sprintf("identifiers=%s profile=%s", identList(orderIdents), prof)}
	return s.store.NewAcmeOrder(ctx, r.Req, o, idents, wildcards, newAuthz, expires.Add(ReuseMargin), ev)
}

// challengeTypes lists the challenges of an authorization: wildcards only
// by dns-01 (RFC 8555 §7.1.3), IP addresses not by dns-01 (RFC 8738 §7).
func challengeTypes(id Identifier, wildcard bool) []string {
	switch {
	case wildcard:
		return []string{challengeDNS01}
	case id.Type == "ip":
		return []string{challengeHTTP01, challengeTLSALPN}
	}
	return []string{challengeHTTP01, challengeDNS01, challengeTLSALPN}
}

// normalizeIdentifiers lowercases DNS names, strips the wildcard label into
// a flag, canonicalises IPs and merges identifiers that are equal once
// normalized. Order identifiers keep the "*." prefix; authorizations get
// the base name and the flag.
func normalizeIdentifiers(in []Identifier) ([]Identifier, []bool, error) {
	var out []Identifier
	var wild []bool
	seen := map[Identifier]bool{}
	var sub []Problem
	for _, id := range in {
		norm, wildcard, err := normalizeIdentifier(id)
		if err != nil {
			p := err.(*Problem)
			idCopy := id
			p.Identifier = &idCopy
			sub = append(sub, *p)
			continue
		}
		key := norm
		if wildcard {
			key.Value = "*." + key.Value
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, norm)
		wild = append(wild, wildcard)
	}
	if len(sub) > 0 {
		return nil, nil, subproblems(sub)
	}
	return out, wild, nil
}

// subproblems reports per-identifier problems (RFC 8555 §6.7.1): the
// top-level type is the subproblems' own when there is one, "compound"
// otherwise; the subproblems travel as JSON in the fault's metadata.
func subproblems(sub []Problem) error {
	typ := "compound"
	if len(sub) == 1 {
		typ = strings.TrimPrefix(sub[0].Type, errorTypePrefix)
	}
	parts := make([]string, len(sub))
	for i, p := range sub {
		parts[i] = p.Identifier.Type + " " + p.Identifier.Value + ": " + p.Detail
	}
	b, _ := json.Marshal(sub)
	return &fault.Error{Reason: fault.BadRequest, Rule: "acme." + typ, Detail: strings.Join(parts, "; "), Meta: map[string]string{"subproblems": string(b)}}
}

func (p *Problem) Error() string { return p.Type + ": " + p.Detail }

func normalizeIdentifier(id Identifier) (Identifier, bool, error) {
	switch id.Type {
	case "dns":
		v := strings.ToLower(strings.TrimSuffix(id.Value, "."))
		wildcard := false
		if rest, ok := strings.CutPrefix(v, "*."); ok {
			v, wildcard = rest, true
		}
		if err := checkDNSName(v); err != nil {
			return id, false, problem("rejectedIdentifier", fmt.Sprintf("%q is not a valid DNS name: %v", id.Value, err))
		}
		if !strings.Contains(v, ".") {
			return id, false, problem("rejectedIdentifier", fmt.Sprintf("%q is not a fully qualified domain name", id.Value))
		}
		if _, err := netip.ParseAddr(v); err == nil {
			return id, false, problem("malformed", fmt.Sprintf("%q is an IP address: use identifier type ip", id.Value))
		}
		return Identifier{Type: "dns", Value: v}, wildcard, nil
	case "ip":
		ip, err := netip.ParseAddr(id.Value)
		if err != nil || ip.Zone() != "" {
			return id, false, problem("malformed", fmt.Sprintf("%q is not an IP address", id.Value))
		}
		return Identifier{Type: "ip", Value: ip.Unmap().String()}, false, nil
	}
	return id, false, problem("unsupportedIdentifier", fmt.Sprintf("identifier type %q is not supported (dns, ip)", id.Type))
}

// checkDNSName follows RFC 1034 preferred syntax.
func checkDNSName(name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("length %d", len(name))
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("bad label %q", l)
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("bad character %q", c)
			}
		}
	}
	return nil
}

func identList(ids []Identifier) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.Value
	}
	return strings.Join(parts, ",")
}

// Order reads an order.
func (s *Service) Order(ctx context.Context, r *store.AcmeReq, id string) (*store.AcmeOrder, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	return s.store.GetAcmeOrder(ctx, r, id)
}

// Authorization reads (or deactivates) an authorization.
func (s *Service) Authorization(ctx context.Context, r *store.AcmeReq, id string, deactivate bool) (*store.AcmeAuthz, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	return s.store.GetAcmeAuthz(ctx, r, id, deactivate)
}

// StartChallenge moves a challenge to processing.
func (s *Service) StartChallenge(ctx context.Context, r *store.AcmeReq, id string) (*store.AcmeAuthz, *store.AcmeChallenge, bool, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, nil, false, err
	}
	return s.store.StartAcmeChallenge(ctx, r, id)
}

// CompleteChallenge records a validation outcome.
func (s *Service) CompleteChallenge(ctx context.Context, tenant, endpoint, id string, valid bool, p *Problem) (*store.AcmeAuthz, error) {
	return s.store.CompleteAcmeChallenge(ctx, tenant, endpoint, id, valid, ValidAuthzLifetime, p.json())
}

// Finalize issues the certificate of a ready order (RFC 8555 §7.4).
func (s *Service) Finalize(ctx context.Context, actor, frontend string, r *store.AcmeReq, id string, csrDER []byte) (*store.AcmeOrder, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, err
	}
	csr, err := policy.ParseCSR(csrDER)
	if err != nil {
		return nil, acmeErr(fault.BadCSR, "badCSR", "%s", fault.As(err).Detail)
	}
	o, err := s.store.BeginAcmeFinalize(ctx, r, id, finalizeStale)
	if err != nil {
		return nil, err
	}
	sans, subject, err := checkCSRAgainstOrder(csr, o)
	if err != nil {
		s.store.EndAcmeFinalize(context.WithoutCancel(ctx), r.Tenant, r.Endpoint, id, store.AcmeReady, "", nil)
		return nil, err
	}
	req := &issuance.Request{Actor: actor, Frontend: frontend, Tenant: r.Tenant, Endpoint: r.Endpoint, Profile: o.Profile, CSR: csrDER, ParsedCSR: csr,
		RequestKey: "acme-order:" + r.Endpoint + ":" + o.ID, Subject: subject, SANs: sans, EndEntity: o.AccountID, NotBefore: o.NotBefore}
	if !o.NotAfter.IsZero() {
		start := o.NotBefore
		if start.IsZero() {
			start = s.now()
		}
		req.Validity = o.NotAfter.Sub(start) + time.Second
	}
	res, err := s.issuer.Issue(ctx, req)
	if err != nil {
		status, p := store.AcmeReady, []byte(nil)
		switch fault.ReasonOf(err) {
		case fault.BadCSR, fault.PolicyRejected:
			// The order cannot succeed with this CSR and profile; RFC 8555
			// §7.4 makes it invalid.
			status = store.AcmeInvalid
			fe := fault.As(err)
			p = problem("badCSR", fe.Detail).json()
		}
		s.store.EndAcmeFinalize(context.WithoutCancel(ctx), r.Tenant, r.Endpoint, id, status, "", p)
		return nil, err
	}
	if err := s.store.EndAcmeFinalize(ctx, r.Tenant, r.Endpoint, id, store.AcmeValid, res.Certificate.Serial, nil); err != nil {
		return nil, err
	}
	o.Status, o.CertSerial = store.AcmeValid, res.Certificate.Serial
	return o, nil
}

// checkCSRAgainstOrder requires the CSR's SANs (and CN, if any) to be
// exactly the order's identifiers, and returns the SANs and subject to
// issue with.
func checkCSRAgainstOrder(csr *x509.CertificateRequest, o *store.AcmeOrder) ([]policy.SAN, string, error) {
	want := map[string]bool{}
	var sans []policy.SAN
	for _, id := range o.Identifiers {
		v := id.Value
		if id.Type == "dns" {
			v = strings.ToLower(v)
		}
		want[id.Type+":"+v] = true
		t := profile.SANDNS
		if id.Type == "ip" {
			t = profile.SANIP
		}
		sans = append(sans, policy.SAN{Type: t, Value: v})
	}
	got := map[string]bool{}
	for _, d := range csr.DNSNames {
		got["dns:"+strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	for _, ip := range csr.IPAddresses {
		a, _ := netip.AddrFromSlice(ip)
		got["ip:"+a.Unmap().String()] = true
	}
	if len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		return nil, "", acmeErr(fault.BadCSR, "badCSR", "the CSR requests e-mail or URI SANs, which ACME orders cannot contain")
	}
	cn := csr.Subject.CommonName
	if cn != "" {
		cnKey := "dns:" + strings.ToLower(cn)
		if a, err := netip.ParseAddr(cn); err == nil {
			cnKey = "ip:" + a.Unmap().String()
		}
		if !want[cnKey] {
			return nil, "", acmeErr(fault.BadCSR, "badCSR", "the CSR's CN %q is not an identifier of the order", cn)
		}
		got[cnKey] = true
	}
	for k := range want {
		if !got[k] {
			return nil, "", acmeErr(fault.BadCSR, "badCSR", "the CSR does not request %s, an identifier of the order", k)
		}
	}
	for k := range got {
		if !want[k] {
			return nil, "", acmeErr(fault.BadCSR, "badCSR", "the CSR requests %s, which the order does not contain", k)
		}
	}
	subject := ""
	if cn != "" {
		subject = "CN=" + escapeDN(cn)
	} else if len(o.Identifiers) > 0 && o.Identifiers[0].Type == "dns" && len(o.Identifiers[0].Value) <= 64 {
		subject = "CN=" + escapeDN(o.Identifiers[0].Value)
	}
	return sans, subject, nil
}

func escapeDN(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `+`, `\+`, `"`, `\"`, `<`, `\<`, `>`, `\>`, `;`, `\;`, `=`, `\=`).Replace(s)
}

// OrderCertificate returns the certificate of an order of the account.
func (s *Service) OrderCertificate(ctx context.Context, r *store.AcmeReq, serial string) (*store.Certificate, [][]byte, error) {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return nil, nil, err
	}
	if err := s.store.AcmeCertificateOrder(ctx, r, serial); err != nil {
		return nil, nil, err
	}
	c, err := s.store.GetCertificate(ctx, r.Tenant, serial)
	if err != nil {
		return nil, nil, err
	}
	chain, err := s.chains.Chain(ctx, r.Tenant, c.CA)
	return c, chain, err
}

// RevokeRequest is a verified revokeCert request.
type RevokeRequest struct {
	Actor, Tenant, Endpoint, Nonce string
	// Account-signed requests name the account and key ...
	AccountID, Thumbprint string
	// ... key-signed ones give the certificate key's SPKI.
	CertKeySPKI []byte
	CertDER     []byte
	Reason      int
}

// Revoke implements RFC 8555 §7.6.
func (s *Service) Revoke(ctx context.Context, r *RevokeRequest) error {
	if err := s.spendNonce(ctx, r.Tenant, r.Endpoint, r.Nonce); err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(r.CertDER)
	if err != nil {
		return acmeErr(fault.BadRequest, "malformed", "the certificate does not parse")
	}
	if r.Reason < 0 || r.Reason == 7 || r.Reason == 6 || r.Reason > 10 {
		return acmeErr(fault.BadRequest, "badRevocationReason", "reason code %d is not allowed", r.Reason)
	}
	serial := ca.SerialHex(cert.SerialNumber)
	stored, err := s.store.GetCertificate(ctx, r.Tenant, serial)
	if err != nil || !bytes.Equal(stored.DER, r.CertDER) || stored.Endpoint != r.Endpoint {
		return acmeErr(fault.NotFound, "malformed", "this endpoint did not issue the certificate")
	}
	if r.AccountID != "" {
		if _, err := s.store.CheckAcmeAccount(ctx, &store.AcmeReq{Tenant: r.Tenant, Endpoint: r.Endpoint, AccountID: r.AccountID, KeyThumbprint: r.Thumbprint}); err != nil {
			return err
		}
		if stored.EndEntity != r.AccountID {
			// RFC 8555 §7.6 also allows accounts holding valid authorizations
			// for every identifier; certgate keeps to the issuing account
			// and the certificate key.
			return acmeErr(fault.PermissionDenied, "unauthorized", "this account did not order the certificate")
		}
	} else if !bytes.Equal(cert.RawSubjectPublicKeyInfo, r.CertKeySPKI) {
		return acmeErr(fault.PermissionDenied, "unauthorized", "the request is not signed by the certificate's key")
	}
	if stored.Status == store.CertRevoked {
		return acmeErr(fault.Conflict, "alreadyRevoked", "the certificate is already revoked")
	}
	_, err = s.revoker.Revoke(ctx, r.Actor, r.Tenant, serial, r.Reason, time.Time{}, false)
	if fe := fault.As(err); fe != nil && fe.Rule == "revocation.transition" {
		return acmeErr(fault.Conflict, "alreadyRevoked", "%s", fe.Detail)
	}
	return err
}

// RenewalWindow is RFC 9773's suggested window.
type RenewalWindow struct{ Start, End time.Time }

// RenewalInfo suggests when to renew (RFC 9773 §4.2): from two thirds to
// five sixths of the certificate's lifetime (the first half of its last
// third), or at once when it is revoked.
func (s *Service) RenewalInfo(ctx context.Context, tenant, endpoint, certID string) (RenewalWindow, error) {
	c, err := s.certByARIID(ctx, tenant, certID)
	if err != nil {
		return RenewalWindow{}, err
	}
	if c.Endpoint != endpoint {
		return RenewalWindow{}, acmeErr(fault.NotFound, "malformed", "unknown certificate")
	}
	if c.Status == store.CertRevoked || c.Status == store.CertOnHold {
		now := s.now().UTC().Truncate(time.Second)
		return RenewalWindow{Start: now.Add(-time.Hour), End: now}, nil
	}
	life := c.NotAfter.Sub(c.NotBefore)
	return RenewalWindow{Start: c.NotBefore.Add(life * 2 / 3), End: c.NotBefore.Add(life * 5 / 6)}, nil
}

// certByARIID finds a certificate by its RFC 9773 §4.1 id:
// base64url(AKI keyIdentifier) "." base64url(serial DER contents).
func (s *Service) certByARIID(ctx context.Context, tenant, id string) (*store.Certificate, error) {
	aki, serialPart, ok := strings.Cut(id, ".")
	akiBytes, err1 := base64.RawURLEncoding.DecodeString(aki)
	serialBytes, err2 := base64.RawURLEncoding.DecodeString(serialPart)
	if !ok || err1 != nil || err2 != nil || len(serialBytes) == 0 || len(serialBytes) > 21 {
		return nil, acmeErr(fault.BadRequest, "malformed", "%q is not an ARI certificate identifier", id)
	}
	c, err := s.store.GetCertificate(ctx, tenant, ca.SerialHex(new(big.Int).SetBytes(serialBytes)))
	if err != nil {
		return nil, acmeErr(fault.NotFound, "malformed", "unknown certificate")
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil || !bytes.Equal(cert.AuthorityKeyId, akiBytes) {
		return nil, acmeErr(fault.NotFound, "malformed", "unknown certificate")
	}
	return c, nil
}

// CreateEABKey makes an EAB key; the HMAC key is returned once.
func (s *Service) CreateEABKey(ctx context.Context, actor, tenant, endpoint, label string) (*store.EABKey, error) {
	if _, err := s.endpoint(ctx, tenant, endpoint); err != nil {
		return nil, err
	}
	if len(label) > 256 {
		return nil, fault.Field("label", "label is longer than 256 bytes")
	}
	key := make([]byte, 32)
	rand.Read(key)
	k := &store.EABKey{Tenant: tenant, Endpoint: endpoint, KID: randomID(12), HMACKey: key, Label: label}
	return k, s.store.CreateEABKey(ctx, k, &audit.Event{Tenant: tenant, Actor: actor, Action: "acme.eab.create", Endpoint: endpoint, Target: k.KID, Detail: label})
}

// EABKeys lists an endpoint's EAB keys.
func (s *Service) EABKeys(ctx context.Context, tenant, endpoint string) ([]*store.EABKey, error) {
	return s.store.ListEABKeys(ctx, tenant, endpoint)
}

// DeleteEABKey removes an unused EAB key.
func (s *Service) DeleteEABKey(ctx context.Context, actor, tenant, endpoint, kid string) error {
	return s.store.DeleteEABKey(ctx, tenant, endpoint, kid, &audit.Event{Tenant: tenant, Actor: actor, Action: "acme.eab.delete", Endpoint: endpoint, Target: kid})
}
