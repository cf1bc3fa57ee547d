package profile

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/keys"
)

// Kind separates end-entity profiles from CA profiles.
type Kind string

const (
	Subscriber Kind = "subscriber"
	Authority  Kind = "authority"
)

// CAType names a kind of CA a profile may be used on.
type CAType string

const (
	Root         CAType = "root"
	ExternalRoot CAType = "external_root"
	Intermediate CAType = "intermediate"
	Issuing      CAType = "issuing"
)

// SANType names a subjectAltName type.
type SANType string

const (
	SANDNS   SANType = "dns"
	SANIP    SANType = "ip"
	SANEmail SANType = "email"
	SANURI   SANType = "uri"
	SANUPN   SANType = "upn"
)

var sanTypes = []SANType{SANDNS, SANIP, SANEmail, SANURI, SANUPN}

// Profile is a validated certificate profile. Values are immutable once
// built: callers share them.
type Profile struct {
	ID          string
	Group       string
	Description string
	Kind        Kind
	// BuiltIn marks the shipped catalogue.
	BuiltIn bool
	// Tenant owns a custom profile; empty for built-in and configured ones.
	Tenant     string
	ClonedFrom string

	AllowedCATypes  []CAType
	DefaultValidity Duration
	MaxValidity     Duration
	KeyTypes        []keys.Type

	KeyUsage    x509.KeyUsage
	ExtKeyUsage []asn1.ObjectIdentifier
	// CA and PathLen are the basicConstraints of authority profiles;
	// PathLen -1 means absent.
	CA      bool
	PathLen int

	Subject    SubjectRules
	SAN        SANRules
	Extensions ExtensionRules

	// ServerSideKeygen marks the seeds' "p12" profiles: the key is made by
	// certgate, so CSR issuance is refused.
	ServerSideKeygen bool
	// SIDExtension writes the requester's Windows SID, taken from a SAN
	// URI tag:microsoft.com,2022-09-14:sid:<SID> (Intune) or supplied by
	// the front-end (WSTEP), as the 1.3.6.1.4.1.311.25.2 extension that
	// strong certificate mapping (KB5014754) reads.
	SIDExtension bool
}

// SubjectRules constrain the subject DN.
type SubjectRules struct {
	// Required attributes by canonical short name (dn.ShortName), e.g. "CN".
	Required []string
	// Allowed attributes; empty allows every attribute package dn knows.
	Allowed []string
	// AllowOverride lets the caller replace the CSR's subject.
	AllowOverride bool
}

// SANRules constrain subjectAltName.
type SANRules struct {
	Types         []SANType
	Required      bool
	FromCN        bool
	AllowOverride bool
	// Max SAN entries; 0 means DefaultMaxSANs.
	Max int
}

// DefaultMaxSANs is the SAN limit of profiles that set none.
const DefaultMaxSANs = 100

// MaxSANs returns the effective SAN limit.
func (r SANRules) MaxSANs() int {
	if r.Max > 0 {
		return r.Max
	}
	return DefaultMaxSANs
}

// Allows reports whether SAN type t is allowed.
func (r SANRules) Allows(t SANType) bool { return slices.Contains(r.Types, t) }

// ExtensionRules decide which requested extensions are copied.
type ExtensionRules struct {
	Allowed       []asn1.ObjectIdentifier
	RejectUnknown bool
}

// Allows reports whether extension oid may be copied from a request.
func (r ExtensionRules) Allows(oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(r.Allowed, oid.Equal)
}

// AllowsCAType reports whether the profile may be used on a CA of type t.
func (p *Profile) AllowsCAType(t CAType) bool { return slices.Contains(p.AllowedCATypes, t) }

// AllowsKey reports whether subject keys of type t are accepted.
func (p *Profile) AllowsKey(t keys.Type) bool { return slices.Contains(p.KeyTypes, t) }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,63}$`)

// Validate checks that p is complete and coherent.
func (p *Profile) Validate() error {
	if !idPattern.MatchString(p.ID) {
		return fmt.Errorf("profile: id %q must be 2-64 characters of a-z, 0-9 and -", p.ID)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("profile %s: %s", p.ID, fmt.Sprintf(format, args...))
	}
	if !idPattern.MatchString(p.Group) {
		return bad("group %q must be 2-64 characters of a-z, 0-9 and -", p.Group)
	}
	if p.Kind != Subscriber && p.Kind != Authority {
		return bad("kind %q must be subscriber or authority", p.Kind)
	}
	if len(p.AllowedCATypes) == 0 {
		return bad("allowed_ca_types is empty")
	}
	for _, t := range p.AllowedCATypes {
		switch t {
		case Root, ExternalRoot, Intermediate, Issuing:
		default:
			return bad("unknown CA type %q", t)
		}
		if p.Kind == Subscriber && t != Issuing {
			return bad("subscriber profiles are only for issuing CAs, not %q", t)
		}
	}
	if p.DefaultValidity.IsZero() {
		return bad("default_validity is required")
	}
	if p.MaxValidity.IsZero() {
		return bad("max_validity is required")
	}
	if p.DefaultValidity.Approx(refTime) > p.MaxValidity.Approx(refTime) {
		return bad("default_validity %s exceeds max_validity %s", p.DefaultValidity, p.MaxValidity)
	}
	if p.MaxValidity.Approx(refTime) > maxValidity.Approx(refTime) {
		return bad("max_validity %s exceeds %s", p.MaxValidity, maxValidity)
	}
	if len(p.KeyTypes) == 0 {
		return bad("key_types is empty")
	}
	for _, t := range p.KeyTypes {
		if !t.Valid() {
			return bad("unknown key type %q", t)
		}
	}
	if p.KeyUsage == 0 {
		return bad("key_usages is empty")
	}
	if p.Kind == Subscriber {
		if p.CA {
			return bad("a subscriber profile cannot set ca")
		}
		if p.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
			return bad("a subscriber profile cannot grant keyCertSign or cRLSign")
		}
	} else {
		if !p.CA {
			return bad("an authority profile must set ca")
		}
		if p.KeyUsage&x509.KeyUsageCertSign == 0 {
			return bad("an authority profile must grant keyCertSign")
		}
	}
	if p.PathLen < -1 || p.PathLen > 16 || (!p.CA && p.PathLen != -1) {
		return bad("path_len %d is invalid", p.PathLen)
	}
	for _, a := range append(slices.Clone(p.Subject.Required), p.Subject.Allowed...) {
		if _, ok := dn.Lookup(a); !ok {
			return bad("unknown subject attribute %q", a)
		}
	}
	if len(p.Subject.Allowed) > 0 {
		for _, a := range p.Subject.Required {
			if !slices.Contains(p.Subject.Allowed, a) {
				return bad("required subject attribute %s is not allowed", a)
			}
		}
	}
	for _, t := range p.SAN.Types {
		if !slices.Contains(sanTypes, t) {
			return bad("unknown SAN type %q", t)
		}
	}
	if (p.SAN.Required || p.SAN.FromCN) && len(p.SAN.Types) == 0 {
		return bad("san.required or san.from_cn needs at least one SAN type")
	}
	if p.SAN.FromCN && !p.SAN.Allows(SANDNS) {
		return bad("san.from_cn needs the dns SAN type")
	}
	if p.SAN.Max < 0 || p.SAN.Max > 1000 {
		return bad("san.max %d is out of range 0-1000", p.SAN.Max)
	}
	return nil
}

// refTime is the fixed instant durations are compared at, so that
// validation does not depend on the clock.
var refTime = mustTime("2000-01-01T00:00:00Z")

// maxValidity caps every profile (CA profiles included).
var maxValidity = Duration{Years: 100}

var keyUsageNames = []struct {
	name string
	ku   x509.KeyUsage
}{
	{"digitalSignature", x509.KeyUsageDigitalSignature},
	{"nonRepudiation", x509.KeyUsageContentCommitment},
	{"keyEncipherment", x509.KeyUsageKeyEncipherment},
	{"dataEncipherment", x509.KeyUsageDataEncipherment},
	{"keyAgreement", x509.KeyUsageKeyAgreement},
	{"keyCertSign", x509.KeyUsageCertSign},
	{"cRLSign", x509.KeyUsageCRLSign},
	{"encipherOnly", x509.KeyUsageEncipherOnly},
	{"decipherOnly", x509.KeyUsageDecipherOnly},
}

// ParseKeyUsage maps RFC 5280 names (case-insensitive; "contentCommitment"
// is an alias of nonRepudiation) to bits.
func ParseKeyUsage(names []string) (x509.KeyUsage, error) {
	var ku x509.KeyUsage
	for _, n := range names {
		if strings.EqualFold(n, "contentCommitment") {
			n = "nonRepudiation"
		}
		i := slices.IndexFunc(keyUsageNames, func(e struct {
			name string
			ku   x509.KeyUsage
		}) bool {
			return strings.EqualFold(e.name, n)
		})
		if i < 0 {
			return 0, fmt.Errorf("profile: unknown key usage %q", n)
		}
		ku |= keyUsageNames[i].ku
	}
	return ku, nil
}

// KeyUsageNames lists the names of the bits in ku, in RFC 5280 order.
func KeyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for _, e := range keyUsageNames {
		if ku&e.ku != 0 {
			out = append(out, e.name)
		}
	}
	return out
}

var ekuNames = []struct {
	name string
	oid  asn1.ObjectIdentifier
}{
	{"serverAuth", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}},
	{"clientAuth", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}},
	{"codeSigning", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}},
	{"emailProtection", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}},
	{"ipsecIKE", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 17}},
	{"timeStamping", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}},
	{"OCSPSigning", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}},
	{"smartcardLogon", asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}},
	{"documentSigning", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}},
	{"anyExtendedKeyUsage", asn1.ObjectIdentifier{2, 5, 29, 37, 0}},
}

// ParseEKU maps an EKU name (case-insensitive) or dotted OID to its OID.
func ParseEKU(s string) (asn1.ObjectIdentifier, error) {
	for _, e := range ekuNames {
		if strings.EqualFold(e.name, s) {
			return e.oid, nil
		}
	}
	oid, err := ParseOID(s)
	if err != nil {
		return nil, fmt.Errorf("profile: %q is neither a known extended key usage nor an OID", s)
	}
	return oid, nil
}

// EKUName returns the name of a known EKU OID, else its dotted form.
func EKUName(oid asn1.ObjectIdentifier) string {
	for _, e := range ekuNames {
		if e.oid.Equal(oid) {
			return e.name
		}
	}
	return oid.String()
}

// ParseOID parses a dotted OID with at least two arcs.
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 32 {
		return nil, fmt.Errorf("profile: %q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("profile: %q is not a dotted OID", s)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("profile: %q is not a valid OID", s)
	}
	return oid, nil
}
