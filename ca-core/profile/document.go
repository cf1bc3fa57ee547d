package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/certgate/certgate/ca-core/dn"

	"github.com/certgate/certgate/ca-core/keys"
)

// Document is the YAML/JSON form of a profile. A custom profile names the
// built-in it clones in clone_from and lists only what it changes; an absent
// field keeps the base's value. The seeds' JSON keys (validity_period,
// usages, allowedCATypes, allowed_extensions, ignore_unknown_extensions,
// ca_constraint) are accepted as aliases.
//
//	id: acme-short-lived
//	clone_from: acme-tls-server
//	description: 7-day ACME certificates
//	default_validity: P7D
//	max_validity: P7D
//	key_types: [p256, p384]
type Document struct {
	ID                string      `yaml:"id" json:"id"`
	Group             string      `yaml:"group,omitempty" json:"group,omitempty"`
	Description       string      `yaml:"description,omitempty" json:"description,omitempty"`
	Kind              Kind        `yaml:"kind,omitempty" json:"kind,omitempty"`
	CloneFrom         string      `yaml:"clone_from,omitempty" json:"clone_from,omitempty"`
	AllowedCATypes    []CAType    `yaml:"allowed_ca_types,omitempty" json:"allowed_ca_types,omitempty"`
	DefaultValidity   string      `yaml:"default_validity,omitempty" json:"default_validity,omitempty"`
	MaxValidity       string      `yaml:"max_validity,omitempty" json:"max_validity,omitempty"`
	KeyTypes          []keys.Type `yaml:"key_types,omitempty" json:"key_types,omitempty"`
	KeyUsages         []string    `yaml:"key_usages,omitempty" json:"key_usages,omitempty"`
	ExtendedKeyUsages []string    `yaml:"extended_key_usages,omitempty" json:"extended_key_usages,omitempty"`
	CA                *bool       `yaml:"ca,omitempty" json:"ca,omitempty"`
	PathLen           *int        `yaml:"path_len,omitempty" json:"path_len,omitempty"`
	Subject           *SubjectDoc `yaml:"subject,omitempty" json:"subject,omitempty"`
	SAN               *SANDoc     `yaml:"san,omitempty" json:"san,omitempty"`
	Extensions        *ExtDoc     `yaml:"extensions,omitempty" json:"extensions,omitempty"`
	ServerSideKeygen  *bool       `yaml:"server_side_keygen,omitempty" json:"server_side_keygen,omitempty"`
	SIDExtension      *bool       `yaml:"sid_extension,omitempty" json:"sid_extension,omitempty"`

	// The seeds' spellings.
	SeedValidityPeriod   string         `yaml:"validity_period,omitempty" json:"-"`
	SeedUsages           []string       `yaml:"usages,omitempty" json:"-"`
	SeedAllowedCATypes   []string       `yaml:"allowedCATypes,omitempty" json:"-"`
	SeedAllowedExts      []string       `yaml:"allowed_extensions,omitempty" json:"-"`
	SeedIgnoreUnknownExt *bool          `yaml:"ignore_unknown_extensions,omitempty" json:"-"`
	SeedCAConstraint     *seedBasicCons `yaml:"ca_constraint,omitempty" json:"-"`
}

// SubjectDoc is the document form of SubjectRules.
type SubjectDoc struct {
	Required      []string `yaml:"required,omitempty" json:"required,omitempty"`
	Allowed       []string `yaml:"allowed,omitempty" json:"allowed,omitempty"`
	AllowOverride *bool    `yaml:"allow_override,omitempty" json:"allow_override,omitempty"`
}

// SANDoc is the document form of SANRules.
type SANDoc struct {
	Types         []SANType `yaml:"types,omitempty" json:"types,omitempty"`
	Required      *bool     `yaml:"required,omitempty" json:"required,omitempty"`
	FromCN        *bool     `yaml:"from_cn,omitempty" json:"from_cn,omitempty"`
	AllowOverride *bool     `yaml:"allow_override,omitempty" json:"allow_override,omitempty"`
	Max           *int      `yaml:"max,omitempty" json:"max,omitempty"`
}

// ExtDoc is the document form of ExtensionRules.
type ExtDoc struct {
	Allowed       []string `yaml:"allowed,omitempty" json:"allowed,omitempty"`
	RejectUnknown *bool    `yaml:"reject_unknown,omitempty" json:"reject_unknown,omitempty"`
}

type seedBasicCons struct {
	CA                *bool `yaml:"cA"`
	PathLenConstraint *int  `yaml:"pathLenConstraint"`
}

// maxDocumentSize bounds a profile document.
const maxDocumentSize = 64 << 10

// ParseDocuments decodes one or more YAML documents (JSON is YAML),
// rejecting unknown keys.
func ParseDocuments(b []byte) ([]*Document, error) {
	if len(b) > maxDocumentSize {
		return nil, fmt.Errorf("profile: document of %d bytes exceeds %d", len(b), maxDocumentSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var docs []*Document
	for {
		var d Document
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		docs = append(docs, &d)
	}
	if len(docs) == 0 {
		return nil, errors.New("profile: empty document")
	}
	return docs, nil
}

// Build resolves a document into a validated profile. base looks up the
// profile named by clone_from; only subscriber profiles can be cloned.
func Build(d *Document, base func(id string) (*Profile, bool)) (*Profile, error) {
	p := &Profile{PathLen: -1}
	if d.CloneFrom != "" {
		b, ok := base(d.CloneFrom)
		if !ok {
			return nil, fmt.Errorf("profile %s: clone_from %q is not a known profile", d.ID, d.CloneFrom)
		}
		if b.Kind == Authority {
			return nil, fmt.Errorf("profile %s: authority profile %q cannot be cloned", d.ID, d.CloneFrom)
		}
		*p = *b.clone()
		p.BuiltIn, p.Tenant, p.ClonedFrom = false, "", b.ID
		if b.ClonedFrom != "" {
			p.ClonedFrom = b.ClonedFrom
		}
	}
	if d.CloneFrom != "" && d.Group != "" && d.Group != p.Group {
		return nil, fmt.Errorf("profile %s: a clone keeps its base's group %q", d.ID, p.Group)
	}
	p.ID = d.ID
	setIf(&p.Group, d.Group)
	setIf(&p.Description, d.Description)
	setIf(&p.Kind, d.Kind)
	if d.AllowedCATypes != nil {
		p.AllowedCATypes = d.AllowedCATypes
	}
	if d.SeedAllowedCATypes != nil {
		p.AllowedCATypes = nil
		for _, s := range d.SeedAllowedCATypes {
			t, err := seedCAType(s)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %w", d.ID, err)
			}
			p.AllowedCATypes = append(p.AllowedCATypes, t)
		}
	}
	var err error
	validity := func(s string, dst *Duration) {
		if s != "" && err == nil {
			*dst, err = ParseDuration(s)
		}
	}
	validity(d.SeedValidityPeriod, &p.DefaultValidity)
	if d.SeedValidityPeriod != "" && d.MaxValidity == "" {
		validity(d.SeedValidityPeriod, &p.MaxValidity)
	}
	validity(d.DefaultValidity, &p.DefaultValidity)
	validity(d.MaxValidity, &p.MaxValidity)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", d.ID, err)
	}
	if d.KeyTypes != nil {
		p.KeyTypes = d.KeyTypes
	}
	if d.KeyUsages != nil {
		if p.KeyUsage, err = ParseKeyUsage(d.KeyUsages); err != nil {
			return nil, fmt.Errorf("profile %s: %w", d.ID, err)
		}
	}
	if d.ExtendedKeyUsages != nil {
		p.ExtKeyUsage = nil
		if err := p.addEKUs(d.ExtendedKeyUsages); err != nil {
			return nil, err
		}
	}
	if d.SeedUsages != nil {
		// The seeds keep key usages and EKU OIDs in one list.
		var kus, ekus []string
		for _, u := range d.SeedUsages {
			if _, e := ParseKeyUsage([]string{u}); e == nil {
				kus = append(kus, u)
			} else {
				ekus = append(ekus, u)
			}
		}
		if p.KeyUsage, err = ParseKeyUsage(kus); err != nil {
			return nil, fmt.Errorf("profile %s: %w", d.ID, err)
		}
		p.ExtKeyUsage = nil
		if err := p.addEKUs(ekus); err != nil {
			return nil, err
		}
	}
	if d.CA != nil {
		p.CA = *d.CA
	}
	if d.PathLen != nil {
		p.PathLen = *d.PathLen
	}
	if c := d.SeedCAConstraint; c != nil {
		if c.CA != nil {
			p.CA = *c.CA
		}
		if c.PathLenConstraint != nil {
			p.PathLen = *c.PathLenConstraint
		}
	}
	if s := d.Subject; s != nil {
		if s.Required != nil {
			p.Subject.Required = canonicalAttrs(s.Required)
		}
		if s.Allowed != nil {
			p.Subject.Allowed = canonicalAttrs(s.Allowed)
		}
		setPtr(&p.Subject.AllowOverride, s.AllowOverride)
	}
	if s := d.SAN; s != nil {
		if s.Types != nil {
			p.SAN.Types = s.Types
		}
		setPtr(&p.SAN.Required, s.Required)
		setPtr(&p.SAN.FromCN, s.FromCN)
		setPtr(&p.SAN.AllowOverride, s.AllowOverride)
		setPtr(&p.SAN.Max, s.Max)
	}
	exts := d.SeedAllowedExts
	if d.Extensions != nil && d.Extensions.Allowed != nil {
		exts = d.Extensions.Allowed
	}
	if exts != nil {
		p.Extensions.Allowed = nil
		for _, s := range exts {
			oid, err := ParseOID(s)
			if err != nil {
				return nil, fmt.Errorf("profile %s: allowed extension: %w", d.ID, err)
			}
			p.Extensions.Allowed = append(p.Extensions.Allowed, oid)
		}
	}
	if d.SeedIgnoreUnknownExt != nil {
		p.Extensions.RejectUnknown = !*d.SeedIgnoreUnknownExt
	}
	if d.Extensions != nil {
		setPtr(&p.Extensions.RejectUnknown, d.Extensions.RejectUnknown)
	}
	setPtr(&p.ServerSideKeygen, d.ServerSideKeygen)
	setPtr(&p.SIDExtension, d.SIDExtension)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ToDocument returns the complete document of p, the form custom profiles
// are stored in so that they do not drift when built-ins change.
// clone_from, when set, only records the origin (see ParseStored).
func (p *Profile) ToDocument() *Document {
	t, f := true, false
	b := func(v bool) *bool {
		if v {
			return &t
		}
		return &f
	}
	pathLen := p.PathLen
	maxSANs := p.SAN.Max
	d := &Document{
		ID: p.ID, Group: p.Group, Description: p.Description, Kind: p.Kind, CloneFrom: p.ClonedFrom,
		AllowedCATypes:    p.AllowedCATypes,
		DefaultValidity:   p.DefaultValidity.String(),
		MaxValidity:       p.MaxValidity.String(),
		KeyTypes:          p.KeyTypes,
		KeyUsages:         KeyUsageNames(p.KeyUsage),
		CA:                b(p.CA),
		PathLen:           &pathLen,
		Subject:           &SubjectDoc{Required: p.Subject.Required, Allowed: p.Subject.Allowed, AllowOverride: b(p.Subject.AllowOverride)},
		SAN:               &SANDoc{Types: p.SAN.Types, Required: b(p.SAN.Required), FromCN: b(p.SAN.FromCN), AllowOverride: b(p.SAN.AllowOverride), Max: &maxSANs},
		Extensions:        &ExtDoc{RejectUnknown: b(p.Extensions.RejectUnknown)},
		ServerSideKeygen:  b(p.ServerSideKeygen),
		SIDExtension:      b(p.SIDExtension),
		ExtendedKeyUsages: []string{},
	}
	for _, oid := range p.ExtKeyUsage {
		d.ExtendedKeyUsages = append(d.ExtendedKeyUsages, EKUName(oid))
	}
	for _, oid := range p.Extensions.Allowed {
		d.Extensions.Allowed = append(d.Extensions.Allowed, oid.String())
	}
	return d
}

// Marshal encodes p's complete document as YAML.
func (p *Profile) Marshal() ([]byte, error) { return yaml.Marshal(p.ToDocument()) }

func (p *Profile) addEKUs(names []string) error {
	for _, n := range names {
		oid, err := ParseEKU(n)
		if err != nil {
			return fmt.Errorf("profile %s: %w", p.ID, err)
		}
		p.ExtKeyUsage = append(p.ExtKeyUsage, oid)
	}
	return nil
}

func (p *Profile) clone() *Profile {
	c := *p
	c.AllowedCATypes = slices.Clone(p.AllowedCATypes)
	c.KeyTypes = slices.Clone(p.KeyTypes)
	c.ExtKeyUsage = slices.Clone(p.ExtKeyUsage)
	c.Subject.Required = slices.Clone(p.Subject.Required)
	c.Subject.Allowed = slices.Clone(p.Subject.Allowed)
	c.SAN.Types = slices.Clone(p.SAN.Types)
	c.Extensions.Allowed = slices.Clone(p.Extensions.Allowed)
	return &c
}

func seedCAType(s string) (CAType, error) {
	switch strings.ToLower(s) {
	case "root":
		return Root, nil
	case "externalkey", "external_root":
		return ExternalRoot, nil
	case "intermediate":
		return Intermediate, nil
	case "subord", "issuing":
		return Issuing, nil
	}
	return "", fmt.Errorf("unknown CA type %q (root, externalKey, intermediate, subord)", s)
}

// canonicalAttrs maps attribute aliases to their short names, keeping
// unknown ones for Validate to report.
func canonicalAttrs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		if oid, ok := dn.Lookup(a); ok {
			a = dn.ShortName(oid)
		}
		out = append(out, a)
	}
	return out
}

func setIf[T ~string](dst *T, v T) {
	if v != "" {
		*dst = v
	}
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
