package enrollment

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/digitalid"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

// Digital ID modes.
const (
	ModeSCEP   = "scep"
	ModePKCS12 = "pkcs12"
)

var nameRule = regexp.MustCompile(`^[a-z0-9_-]{2,18}$`)

// CreateDigitalID validates and stores a Digital ID of an mdmws endpoint.
func (s *Service) CreateDigitalID(ctx context.Context, actor string, e *store.Endpoint, d *store.DigitalID) error {
	if e.Protocol != "mdmws" {
		return fault.Policy("digital_id.endpoint", "endpoint %q is a %s endpoint; Digital IDs belong to mdmws endpoints", e.ID, e.Protocol)
	}
	if !nameRule.MatchString(d.Name) {
		return fault.Field("name", "a Digital ID name is 2-18 of a-z, 0-9, '-' and '_'")
	}
	if d.CA == "" {
		d.CA = e.CA
	}
	if d.CA != e.CA {
		return fault.Policy("digital_id.ca", "Digital ID CA %q is not the endpoint's CA %q", d.CA, e.CA)
	}
	if d.Profile == "" {
		d.Profile = e.DefaultProfile
	}
	if d.Profile != e.DefaultProfile && !slices.Contains(e.AllowedProfiles, d.Profile) {
		return fault.Policy("digital_id.profile", "endpoint %q does not allow profile %q", e.ID, d.Profile)
	}
	p, err := s.profiles.Resolve(ctx, e.Tenant, d.Profile)
	if err != nil {
		return err
	}
	switch d.Mode {
	case "", ModeSCEP:
		d.Mode = ModeSCEP
		if p.ServerSideKeygen {
			return fault.Policy("digital_id.mode", "profile %q issues server-generated keys; use mode pkcs12", p.ID)
		}
	case ModePKCS12:
		if !p.ServerSideKeygen {
			return fault.Policy("digital_id.mode", "profile %q takes CSRs; mode pkcs12 needs a server_side_keygen (mdmws-p12-*) profile", p.ID)
		}
	default:
		return fault.Field("mode", "mode is scep or pkcs12")
	}
	if !p.Subject.AllowOverride || (len(d.SANFormats) > 0 && !p.SAN.AllowOverride) {
		return fault.Policy("digital_id.profile", "profile %q does not let certgate set the subject and SANs a Digital ID builds", p.ID)
	}
	tmpl := digitalid.Template{ParentDN: d.ParentDN, RDNFormat: d.RDNFormat, SANFormats: d.SANFormats}
	if err := tmpl.Validate(); err != nil {
		return err
	}
	if d.Mode == ModePKCS12 && tmpl.Deferred() {
		return fault.Policy("digital_id.mode", "a pkcs12 Digital ID has no device CSR to take <%s*> values from", digitalid.CSRPrefix)
	}
	d.Tenant, d.Endpoint = e.Tenant, e.ID
	return s.store.CreateDigitalID(ctx, d, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: "digital_id.create", Endpoint: e.ID,
		Target: d.Name, Detail: "profile=" + d.Profile + " mode=" + d.Mode + " rdn_format=" + d.RDNFormat + " parent_dn=" + d.ParentDN})
}

// DeleteDigitalID removes a Digital ID.
func (s *Service) DeleteDigitalID(ctx context.Context, actor string, e *store.Endpoint, name string) error {
	return s.store.DeleteDigitalID(ctx, e.Tenant, e.ID, name, &audit.Event{Tenant: e.Tenant, Actor: actor, Action: "digital_id.delete",
		Endpoint: e.ID, Target: name})
}

// Rendered is a Digital ID filled in.
type Rendered struct {
	Subject string
	SANs    []policy.SAN
	Profile string
	Mode    string
	// Deferred, instead of Subject and SANs, is the template still
	// waiting for <csr.*> values.
	Deferred *digitalid.Template
}

// RenderDigitalID builds the subject and SANs of Digital ID name of e.
func (s *Service) RenderDigitalID(ctx context.Context, e *store.Endpoint, name string, vars map[string]string) (*Rendered, error) {
	d, err := s.store.GetDigitalID(ctx, e.Tenant, e.ID, name)
	if err != nil {
		return nil, err
	}
	tmpl := digitalid.Template{ParentDN: d.ParentDN, RDNFormat: d.RDNFormat, SANFormats: d.SANFormats}
	r := &Rendered{Profile: d.Profile, Mode: d.Mode}
	if tmpl.Deferred() {
		// The device's CSR fills the rest at issuance.
		part, err := tmpl.Partial(vars)
		if err != nil {
			return nil, err
		}
		r.Deferred = &part
		return r, nil
	}
	subject, pairs, err := tmpl.Render(vars)
	if err != nil {
		return nil, err
	}
	r.Subject, r.SANs = subject, SANsOf(pairs)
	return r, nil
}

// SANsOf turns rendered TYPE:VALUE pairs into SANs.
func SANsOf(pairs [][2]string) []policy.SAN {
	var out []policy.SAN
	for _, p := range pairs {
		out = append(out, policy.SAN{Type: profile.SANType(strings.ToLower(p[0])), Value: p[1]})
	}
	return out
}

// Variables returns the variable names of d.
func Variables(d *store.DigitalID) []string {
	return digitalid.Template{ParentDN: d.ParentDN, RDNFormat: d.RDNFormat, SANFormats: d.SANFormats}.Variables()
}
