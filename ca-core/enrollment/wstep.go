package enrollment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/store"
)

// x509KeyUsageUnsupported are the key usages the seed's WSTEP does not
// support in templates: key agreement, certificate and CRL signing,
// encipher and decipher only.
const x509KeyUsageUnsupported = x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign | x509.KeyUsageCRLSign |
	x509.KeyUsageEncipherOnly | x509.KeyUsageDecipherOnly

var (
	templateName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$`)
	dottedOID    = regexp.MustCompile(`^[0-2](\.(0|[1-9][0-9]*)){2,30}$`)
)

// templateArc is where templates without an OID get one: an arc under the
// Microsoft certificate-template branch (1.3.6.1.4.1.311.21.8), as ADCS
// forests allocate theirs, with per-endpoint and per-name components
// derived from a hash so that they are stable.
const templateArc = "1.3.6.1.4.1.311.21.8"

// DefaultRenewalPeriod is when Windows renews before expiry unless a
// template says otherwise; ADCS templates default to six weeks.
const DefaultRenewalPeriod = 6 * 7 * 24 * time.Hour

// checkWSTEP validates a wstep endpoint's policy and fills its defaults:
// a policy ID, template OIDs, renewal periods.
func (s *Service) checkWSTEP(ctx context.Context, e *store.Endpoint) error {
	w := e.Settings.WSTEP
	if e.Protocol != "wstep" {
		if w != nil {
			return fault.Field("wstep", "enrollment policy settings belong to wstep endpoints")
		}
		return nil
	}
	if w == nil {
		w = &store.WSTEPSettings{}
		e.Settings.WSTEP = w
	}
	if w.PolicyID == "" {
		w.PolicyID = newGUID()
	}
	if w.PolicyFriendlyName == "" {
		w.PolicyFriendlyName = "certgate " + e.Tenant + "/" + e.ID
	}
	seen := map[string]bool{}
	for i := range w.Templates {
		t := &w.Templates[i]
		if !templateName.MatchString(t.Name) {
			return fault.Field("wstep.templates.name", "template name %q is not 1-64 letters, digits, spaces, '.', '_' or '-'", t.Name)
		}
		if seen[t.Name] {
			return fault.Field("wstep.templates.name", "template %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.OID == "" {
			t.OID = derivedOID(e.Tenant, e.ID, t.Name)
		}
		if !dottedOID.MatchString(t.OID) {
			return fault.Field("wstep.templates.oid", "template %q: %q is not a dotted OID", t.Name, t.OID)
		}
		if t.Profile == "" {
			t.Profile = e.DefaultProfile
		}
		if t.Profile != e.DefaultProfile && !slices.Contains(e.AllowedProfiles, t.Profile) {
			return fault.Policy("wstep.templates.profile", "template %q: endpoint %q does not allow profile %q", t.Name, e.ID, t.Profile)
		}
		p, err := s.profiles.Resolve(ctx, e.Tenant, t.Profile)
		if err != nil {
			return err
		}
		if p.ServerSideKeygen {
			return fault.Policy("wstep.templates.profile", "template %q: profile %q generates keys; Windows enrolls with its own", t.Name, p.ID)
		}
		// The seed lists templates with these key usages as unsupported.
		if p.KeyUsage&(x509KeyUsageUnsupported) != 0 {
			return fault.Policy("wstep.templates.profile", "template %q: profile %q grants %v, which Windows templates may not use here",
				t.Name, p.ID, profile.KeyUsageNames(p.KeyUsage&x509KeyUsageUnsupported))
		}
		if t.SubjectFromDirectory && !(p.Subject.AllowOverride && p.SAN.AllowOverride) {
			return fault.Policy("wstep.templates.profile", "template %q builds subjects from the directory, which profile %q does not let certgate set", t.Name, p.ID)
		}
		if t.RenewalPeriod == 0 {
			t.RenewalPeriod = DefaultRenewalPeriod
		}
		if t.RenewalPeriod < 0 {
			return fault.Field("wstep.templates.renewal_period", "template %q: the renewal period cannot be negative", t.Name)
		}
		if t.MajorRevision == 0 {
			t.MajorRevision = 100
		}
	}
	for _, t := range w.Templates {
		for _, sup := range t.Supersedes {
			if sup == t.Name {
				return fault.Field("wstep.templates.supersedes", "template %q cannot supersede itself", t.Name)
			}
		}
	}
	return nil
}

// derivedOID is a stable template OID for tenant/endpoint/name.
func derivedOID(tenant, endpoint, name string) string {
	sum := sha256.Sum256([]byte(tenant + "\x00" + endpoint + "\x00" + name))
	a := binary.BigEndian.Uint32(sum[0:4]) & 0x7fffffff
	b := binary.BigEndian.Uint32(sum[4:8]) & 0x7fffffff
	c := binary.BigEndian.Uint32(sum[8:12]) & 0x7fffffff
	return fmt.Sprintf("%s.%d.%d.%d", templateArc, a, b, c)
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
