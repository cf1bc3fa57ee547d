// Package authz identifies ca-core's callers and decides what they may do.
// Every caller presents a TLS client certificate whose URI SAN names it:
//
//	urn:certgate:frontend:<name>   a protocol front-end (acme, scep, ...)
//	urn:certgate:admin:<name>      an administrator or API credential
//
// Front-ends may call the enrollment RPCs, and only for endpoints assigned
// to their name. Administrators hold the seeds' six roles per tenant
// (spec/seed-002-part1.md §3.3), bound in ca-core's configuration; "*"
// binds a role on every tenant, and owner of "*" is the supervisor who
// creates tenants and sets quotas.
package authz

import (
	"crypto/x509"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/certgate/certgate/ca-core/fault"
)

// Kind is a caller's kind.
type Kind int

const (
	Frontend Kind = iota + 1
	Admin
)

// Caller is an authenticated caller.
type Caller struct {
	Kind Kind
	Name string
	// roles by tenant ("*" for every tenant); administrators only.
	roles map[string][]Role
}

// Actor is the caller's name in the audit trail: "frontend:acme",
// "admin:ops".
func (c *Caller) Actor() string {
	if c.Kind == Frontend {
		return "frontend:" + c.Name
	}
	return "admin:" + c.Name
}

// Role is one of the seeds' fixed roles.
type Role string

const (
	Owner            Role = "owner"
	CAAdmin          Role = "ca_admin"
	CertAdmin        Role = "cert_admin"
	CAAuditor        Role = "ca_auditor"
	ProtocolOperator Role = "protocol_operator"
	ProtocolAuditor  Role = "protocol_auditor"
)

var allRoles = []Role{Owner, CAAdmin, CertAdmin, CAAuditor, ProtocolOperator, ProtocolAuditor}

// Permission is what an RPC needs.
type Permission string

const (
	// TenantManage creates tenants and sets quotas: owner of "*" only.
	TenantManage Permission = "tenant.manage"
	TenantRead   Permission = "tenant.read"
	CARead       Permission = "ca.read"
	CAWrite      Permission = "ca.write"
	CADownload   Permission = "ca.download"
	ProfileRead  Permission = "profile.read"
	ProfileWrite Permission = "profile.write"
	EnrollRead   Permission = "enrollment.read"
	EnrollWrite  Permission = "enrollment.write"
	CertRead     Permission = "cert.read"
	CertIssue    Permission = "cert.issue"
	// CertStatus revokes, holds and releases certificates.
	CertStatus     Permission = "cert.status"
	PendingDecide  Permission = "pending.decide"
	AuditRead      Permission = "audit.read"
	EndpointVerify Permission = "endpoint.verify"
)

// grants is the seeds' permission matrix: which roles hold a permission.
// Browsing is open to every role; writes follow the matrix (protocol
// operators configure enrollment, certificate administrators issue and
// decide, CA administrators run CAs and profiles).
var grants = map[Permission][]Role{
	TenantRead:    allRoles,
	CARead:        allRoles,
	CAWrite:       {Owner, CAAdmin},
	CADownload:    {Owner, CAAdmin, CertAdmin},
	ProfileRead:   allRoles,
	ProfileWrite:  {Owner, CAAdmin},
	EnrollRead:    allRoles,
	EnrollWrite:   {Owner, CAAdmin, ProtocolOperator},
	CertRead:      allRoles,
	CertIssue:     {Owner, CertAdmin},
	CertStatus:    {Owner, CertAdmin},
	PendingDecide: {Owner, CertAdmin},
	AuditRead:     allRoles,
}

// Binding gives an administrator roles on tenants.
type Binding struct {
	Name    string   `yaml:"name"`
	Tenants []string `yaml:"tenants"`
	Roles   []Role   `yaml:"roles"`
}

// Policy holds the administrator bindings.
type Policy struct {
	admins map[string]map[string][]Role
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// NewPolicy validates bindings.
func NewPolicy(bindings []Binding) (*Policy, error) {
	p := &Policy{admins: map[string]map[string][]Role{}}
	for _, b := range bindings {
		if !namePattern.MatchString(b.Name) {
			return nil, fmt.Errorf("authz: administrator name %q must be 1-64 characters of a-z, 0-9, _, . and -", b.Name)
		}
		if len(b.Tenants) == 0 || len(b.Roles) == 0 {
			return nil, fmt.Errorf("authz: administrator %s needs tenants and roles", b.Name)
		}
		m := p.admins[b.Name]
		if m == nil {
			m = map[string][]Role{}
			p.admins[b.Name] = m
		}
		for _, r := range b.Roles {
			if !slices.Contains(allRoles, r) {
				return nil, fmt.Errorf("authz: administrator %s: unknown role %q (want one of %v)", b.Name, r, allRoles)
			}
			for _, t := range b.Tenants {
				m[t] = append(m[t], r)
			}
		}
	}
	return p, nil
}

const (
	frontendPrefix = "urn:certgate:frontend:"
	adminPrefix    = "urn:certgate:admin:"
)

// FrontendURI and AdminURI are the identities to put in client
// certificates.
func FrontendURI(name string) string { return frontendPrefix + name }

// AdminURI returns an administrator's identity URI.
func AdminURI(name string) string { return adminPrefix + name }

// Identify reads the caller's identity from its verified client
// certificate. An administrator must have a binding.
func (p *Policy) Identify(cert *x509.Certificate) (*Caller, error) {
	var found []*Caller
	for _, u := range cert.URIs {
		s := u.String()
		switch {
		case strings.HasPrefix(s, frontendPrefix):
			found = append(found, &Caller{Kind: Frontend, Name: strings.TrimPrefix(s, frontendPrefix)})
		case strings.HasPrefix(s, adminPrefix):
			found = append(found, &Caller{Kind: Admin, Name: strings.TrimPrefix(s, adminPrefix)})
		}
	}
	if len(found) != 1 || !namePattern.MatchString(found[0].Name) {
		return nil, &fault.Error{Reason: fault.Unauthenticated, Rule: "authz.identity",
			Detail: "the client certificate must carry exactly one urn:certgate:frontend:<name> or urn:certgate:admin:<name> URI"}
	}
	c := found[0]
	if c.Kind == Admin {
		roles, ok := p.admins[c.Name]
		if !ok {
			return nil, &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.unknown_admin", Detail: fmt.Sprintf("administrator %q has no role binding", c.Name)}
		}
		c.roles = roles
	}
	return c, nil
}

// Check decides whether an administrator holds perm on tenant. Front-ends
// are checked by the RPC table and CanUseEndpoint instead.
func (c *Caller) Check(perm Permission, tenant string) error {
	if c.Kind != Admin {
		return &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.permission", Detail: fmt.Sprintf("front-ends may not use %s", perm)}
	}
	roles := append(slices.Clone(c.roles["*"]), c.roles[tenant]...)
	if perm == TenantManage {
		roles = c.roles["*"]
		if slices.Contains(roles, Owner) {
			return nil
		}
	} else if slices.Contains(roles, Owner) || slices.ContainsFunc(grants[perm], func(r Role) bool { return slices.Contains(roles, r) }) {
		return nil
	}
	return &fault.Error{Reason: fault.PermissionDenied, Rule: "authz.permission",
		Detail: fmt.Sprintf("administrator %q lacks %s on tenant %q", c.Name, perm, tenant)}
}

// SeesTenant reports whether an administrator has any role on tenant.
func (c *Caller) SeesTenant(tenant string) bool {
	return len(c.roles["*"]) > 0 || len(c.roles[tenant]) > 0
}

// Endpoint is what CanUseEndpoint needs to know of an endpoint.
type Endpoint interface {
	// ServedBy reports whether the named front-end may use the endpoint.
	ServedBy(frontend string) bool
}

// CanUseEndpoint refuses a front-end an endpoint not assigned to it. The
// refusal is NOT_FOUND, so that front-ends cannot probe other services'
// endpoints. Administrators may use every endpoint.
func (c *Caller) CanUseEndpoint(e Endpoint, id string) error {
	if c.Kind == Admin || e.ServedBy(c.Name) {
		return nil
	}
	return fault.NotFoundf("endpoint %q does not exist", id)
}
