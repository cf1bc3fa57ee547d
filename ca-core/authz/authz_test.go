package authz

import (
	"crypto/x509"
	"net/url"
	"testing"

	"github.com/certgate/certgate/ca-core/fault"
)

func certWith(uris ...string) *x509.Certificate {
	c := &x509.Certificate{}
	for _, u := range uris {
		p, _ := url.Parse(u)
		c.URIs = append(c.URIs, p)
	}
	return c
}

func TestIdentify(t *testing.T) {
	p, err := NewPolicy([]Binding{{Name: "ops", Tenants: []string{"*"}, Roles: []Role{Owner}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert   *x509.Certificate
		actor  string
		reason fault.Reason
	}{
		"ok/frontend":        {certWith("urn:certgate:frontend:acme"), "frontend:acme", 0},
		"ok/admin":           {certWith("urn:certgate:admin:ops", "https://example.com"), "admin:ops", 0},
		"fail/no-identity":   {certWith("https://example.com"), "", fault.Unauthenticated},
		"fail/two":           {certWith("urn:certgate:admin:ops", "urn:certgate:frontend:acme"), "", fault.Unauthenticated},
		"fail/bad-name":      {certWith("urn:certgate:frontend:ACME!"), "", fault.Unauthenticated},
		"fail/unbound-admin": {certWith("urn:certgate:admin:mallory"), "", fault.PermissionDenied},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := p.Identify(tc.cert)
			if tc.actor != "" {
				if err != nil || c.Actor() != tc.actor {
					t.Fatalf("got %v, %v; want %s", c, err, tc.actor)
				}
				return
			}
			if fault.ReasonOf(err) != tc.reason {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
		})
	}
}

func TestRoleMatrix(t *testing.T) {
	p, err := NewPolicy([]Binding{
		{Name: "root", Tenants: []string{"*"}, Roles: []Role{Owner}},
		{Name: "certs", Tenants: []string{"t1"}, Roles: []Role{CertAdmin}},
		{Name: "proto", Tenants: []string{"t1"}, Roles: []Role{ProtocolOperator}},
		{Name: "audit", Tenants: []string{"t1", "t2"}, Roles: []Role{CAAuditor}},
		{Name: "t1owner", Tenants: []string{"t1"}, Roles: []Role{Owner}},
	})
	if err != nil {
		t.Fatal(err)
	}
	who := func(name string) *Caller {
		c, err := p.Identify(certWith(AdminURI(name)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, tc := range map[string]struct {
		admin  string
		perm   Permission
		tenant string
		ok     bool
	}{
		"ok/supervisor-creates-tenants":    {"root", TenantManage, "", true},
		"fail/tenant-owner-cannot":         {"t1owner", TenantManage, "", false},
		"ok/tenant-owner-runs-cas":         {"t1owner", CAWrite, "t1", true},
		"fail/tenant-owner-other-tenant":   {"t1owner", CARead, "t2", false},
		"ok/cert-admin-issues":             {"certs", CertIssue, "t1", true},
		"fail/cert-admin-cannot-make-cas":  {"certs", CAWrite, "t1", false},
		"ok/protocol-operator-configures":  {"proto", EnrollWrite, "t1", true},
		"fail/protocol-operator-no-issue":  {"proto", CertIssue, "t1", false},
		"ok/auditor-reads-audit":           {"audit", AuditRead, "t2", true},
		"fail/auditor-cannot-download-cas": {"audit", CADownload, "t1", false},
	} {
		t.Run(name, func(t *testing.T) {
			err := who(tc.admin).Check(tc.perm, tc.tenant)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && fault.ReasonOf(err) != fault.PermissionDenied {
				t.Fatalf("got %v, want PERMISSION_DENIED", err)
			}
		})
	}
	fe := &Caller{Kind: Frontend, Name: "acme"}
	if fe.CanUseEndpoint(servedBy("acme"), "e") != nil || fault.ReasonOf(fe.CanUseEndpoint(servedBy("scep"), "e")) != fault.NotFound {
		t.Error("front-end endpoint assignment is not enforced")
	}
	if _, err := NewPolicy([]Binding{{Name: "x", Tenants: []string{"*"}, Roles: []Role{"god"}}}); err == nil {
		t.Error("an unknown role was accepted")
	}
}

// servedBy is an endpoint assigned to one front-end.
type servedBy string

func (s servedBy) ServedBy(name string) bool { return string(s) == name }
