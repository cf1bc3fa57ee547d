package xcep

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/beevik/etree"
)

// Policy is the certificate enrollment policy a server publishes: the
// templates a requester may see and the CAs that issue them.
type Policy struct {
	// ID identifies the policy, conventionally a GUID in braces. Servers
	// that return the same policy share it ([MS-XCEP] §3.1.4.1.3.23).
	ID string
	// FriendlyName is shown to users. Empty is sent as nil.
	FriendlyName string
	// NextUpdateHours is how long clients should wait before asking again.
	// Zero is sent as nil, which leaves the interval to the client.
	NextUpdateHours int
	// LastUpdate is when the policy last changed. A client whose
	// lastUpdate is not before it gets policiesNotChanged and no
	// policies, CAs or OIDs (§3.1.4.1.3.9). Zero means unknown, and every
	// request gets the full policy.
	LastUpdate time.Time
	// Templates are the certificate templates, in the order to send them.
	Templates []Template
	// CAs are the issuers; Template.CAs index into this slice.
	CAs []CA
}

// Template is one certificate template, a CertificateEnrollmentPolicy
// object of [MS-XCEP] §3.1.4.1.3.7. Field names follow the XML; the
// msPKI-* attributes of [MS-CRTD] explain the semantics.
type Template struct {
	// CommonName is the template name (cn); unique within a Policy.
	CommonName string
	// OID is the template OID (msPKI-Cert-Template-OID), e.g.
	// 1.3.6.1.4.1.311.21.8.x.y; unique within a Policy.
	OID string
	// DisplayName names the template OID in the oIDs collection; empty
	// means CommonName.
	DisplayName string
	// SchemaVersion is the template schema version: 1, 2 or 3.
	SchemaVersion int
	// MajorRevision (at least 1) and MinorRevision (at least 0) version the
	// template.
	MajorRevision, MinorRevision int
	// ValidityPeriod and RenewalPeriod are sent in whole seconds; each must
	// be at least one second.
	ValidityPeriod, RenewalPeriod time.Duration
	// Enroll and AutoEnroll are the requester's permissions.
	Enroll, AutoEnroll bool
	// MinimalKeyLength is the smallest key size in bits; at least 1.
	MinimalKeyLength int
	// KeySpec is KeySpecExchange, KeySpecSignature, or zero for nil.
	KeySpec int
	// KeyUsageProperty is pKIKeyUsage ([MS-WCCE] §3.1.2.4.2.2.1.3) as sent
	// in keyUsageProperty; zero is sent as nil.
	KeyUsageProperty int
	// AlgorithmOID is the OID of the private key's public key algorithm
	// (e.g. 1.2.840.113549.1.1.1 for RSA), used by schema 3 templates.
	// Empty is sent as nil.
	AlgorithmOID string
	// HashAlgorithmOID is the hash for signing the request. The spec
	// allows it on schema 3 templates only. Empty is sent as nil.
	HashAlgorithmOID string
	// CryptoProviders are CSP or KSP names; none is sent as nil.
	CryptoProviders []string
	// Bitwise ORs of the PrivateKey*, SubjectName*/SubjectAltName*,
	// Enrollment* and General* constants.
	PrivateKeyFlags, SubjectNameFlags, EnrollmentFlags, GeneralFlags uint32
	// Extensions are the extensions the client puts in its request.
	Extensions []Extension
	// CAs are indexes into Policy.CAs of the CAs that issue this template;
	// none is sent as nil.
	CAs []int
}

// CA is an issuer, a CA object of [MS-XCEP] §3.1.4.1.3.2.
type CA struct {
	// Certificate is the CA certificate, DER. Required.
	Certificate []byte
	// URIs are the enrollment (MS-WSTEP) endpoints; at least one.
	URIs []CAURI
	// EnrollPermission says whether the requester may enroll with this CA.
	EnrollPermission bool
}

// CAURI is one enrollment endpoint of a CA (§3.1.4.1.3.5).
type CAURI struct {
	// ClientAuthentication is one of the Auth* constants.
	ClientAuthentication int
	// URI is the absolute URL of the endpoint.
	URI string
	// Priority orders endpoints: lower values are tried first.
	Priority int
	// RenewalOnly marks an endpoint that accepts renewals only.
	RenewalOnly bool
}

// Groups of OID objects (§3.1.4.1.3.16) that this package emits.
const (
	oidGroupHash      = 1
	oidGroupPublicKey = 3
	oidGroupExtension = 6
	oidGroupTemplate  = 9
)

// BuildResponse returns the whole SOAP envelope answering req with p
// ([MS-XCEP] §3.1.4.1.1.2). Elements follow the xs:sequence order of the
// schema, absent nillable ones are sent as xsi:nil="true", and the reply
// carries a:RelatesTo = req.MessageID.
//
// If req names policyOIDs, only those templates are sent; all CAs are sent
// regardless. The oIDs collection holds each OID the templates reference
// (template, public key and hash algorithm, extension OIDs), numbered from
// 1 in order of first use. cAReferenceID is the CA's index in p.CAs.
//
// BuildResponse checks p first, even when the client is up to date, so a
// broken policy fails on every request rather than only on full ones.
func BuildResponse(req *Request, p *Policy) ([]byte, error) {
	if req == nil || p == nil {
		return nil, errors.New("xcep: BuildResponse needs a request and a policy")
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	// §3.1.4.1.3.9: an absent or nil lastUpdate is older than any policy.
	notChanged := !req.LastUpdate.IsZero() && !p.LastUpdate.IsZero() && !req.LastUpdate.Before(p.LastUpdate)

	doc, body := envelope(ActionGetPoliciesResponse, req.MessageID)
	body.CreateAttr("xmlns:xsi", nsXSI)
	gpr := body.CreateElement("GetPoliciesResponse")
	gpr.CreateAttr("xmlns", nsXCEP)

	resp := gpr.CreateElement("response")
	leaf(resp, "policyID", p.ID)
	optional(resp, "policyFriendlyName", p.FriendlyName, p.FriendlyName != "")
	optional(resp, "nextUpdateHours", strconv.Itoa(p.NextUpdateHours), p.NextUpdateHours > 0)
	if notChanged {
		leaf(resp, "policiesNotChanged", "true")
		nilElement(resp, "policies")
		nilElement(gpr, "cAs")
		nilElement(gpr, "oIDs")
		return serialize(doc)
	}
	// The spec's own full response (§4.1.1.2) sends nil, which means
	// "changed" just as false does.
	nilElement(resp, "policiesNotChanged")

	var oids oidTable
	templates := selectTemplates(p.Templates, req.PolicyOIDs)
	if len(templates) == 0 {
		nilElement(resp, "policies")
	} else {
		policies := resp.CreateElement("policies")
		for _, t := range templates {
			writePolicy(policies.CreateElement("policy"), t, &oids)
		}
	}
	writeCAs(gpr, p.CAs)
	oids.write(gpr)
	return serialize(doc)
}

// selectTemplates applies the requestFilter/policyOIDs filter
// (§3.1.4.1.3.14): no OIDs means every template.
func selectTemplates(all []Template, oids []string) []Template {
	if len(oids) == 0 {
		return all
	}
	var out []Template
	for _, t := range all {
		if slices.Contains(oids, t.OID) {
			out = append(out, t)
		}
	}
	return out
}

// writePolicy fills a CertificateEnrollmentPolicy (§3.1.4.1.3.7) and its
// Attributes (§3.1.4.1.3.1), in schema order.
func writePolicy(e *etree.Element, t Template, oids *oidTable) {
	name := t.DisplayName
	if name == "" {
		name = t.CommonName
	}
	leaf(e, "policyOIDReference", strconv.Itoa(oids.ref(t.OID, oidGroupTemplate, name)))
	if len(t.CAs) == 0 {
		nilElement(e, "cAs")
	} else {
		cas := e.CreateElement("cAs")
		for _, i := range t.CAs {
			leaf(cas, "cAReference", strconv.Itoa(i))
		}
	}

	a := e.CreateElement("attributes")
	leaf(a, "commonName", t.CommonName)
	leaf(a, "policySchema", strconv.Itoa(t.SchemaVersion))
	v := a.CreateElement("certificateValidity")
	leaf(v, "validityPeriodSeconds", strconv.FormatInt(int64(t.ValidityPeriod/time.Second), 10))
	leaf(v, "renewalPeriodSeconds", strconv.FormatInt(int64(t.RenewalPeriod/time.Second), 10))
	perm := a.CreateElement("permission")
	leaf(perm, "enroll", strconv.FormatBool(t.Enroll))
	leaf(perm, "autoEnroll", strconv.FormatBool(t.AutoEnroll))

	k := a.CreateElement("privateKeyAttributes")
	leaf(k, "minimalKeyLength", strconv.Itoa(t.MinimalKeyLength))
	optional(k, "keySpec", strconv.Itoa(t.KeySpec), t.KeySpec != 0)
	optional(k, "keyUsageProperty", strconv.Itoa(t.KeyUsageProperty), t.KeyUsageProperty != 0)
	nilElement(k, "permissions") // no SDDL: the client's default key ACL
	if t.AlgorithmOID == "" {
		nilElement(k, "algorithmOIDReference")
	} else {
		leaf(k, "algorithmOIDReference", strconv.Itoa(oids.ref(t.AlgorithmOID, oidGroupPublicKey, "")))
	}
	if len(t.CryptoProviders) == 0 {
		// §3.1.4.1.3.20: no providers MUST be sent as nil.
		nilElement(k, "cryptoProviders")
	} else {
		cp := k.CreateElement("cryptoProviders")
		for _, p := range t.CryptoProviders {
			leaf(cp, "provider", p)
		}
	}

	rev := a.CreateElement("revision")
	leaf(rev, "majorRevision", strconv.Itoa(t.MajorRevision))
	leaf(rev, "minorRevision", strconv.Itoa(t.MinorRevision))
	nilElement(a, "supersededPolicies")
	leaf(a, "privateKeyFlags", strconv.FormatUint(uint64(t.PrivateKeyFlags), 10))
	leaf(a, "subjectNameFlags", strconv.FormatUint(uint64(t.SubjectNameFlags), 10))
	leaf(a, "enrollmentFlags", strconv.FormatUint(uint64(t.EnrollmentFlags), 10))
	leaf(a, "generalFlags", strconv.FormatUint(uint64(t.GeneralFlags), 10))
	if t.HashAlgorithmOID == "" {
		nilElement(a, "hashAlgorithmOIDReference")
	} else {
		leaf(a, "hashAlgorithmOIDReference", strconv.Itoa(oids.ref(t.HashAlgorithmOID, oidGroupHash, "")))
	}
	// We publish no RA signature or key archival requirements.
	nilElement(a, "rARequirements")
	nilElement(a, "keyArchivalAttributes")
	if len(t.Extensions) == 0 {
		nilElement(a, "extensions")
		return
	}
	exts := a.CreateElement("extensions")
	for _, x := range t.Extensions {
		xe := exts.CreateElement("extension")
		leaf(xe, "oIDReference", strconv.Itoa(oids.ref(x.OID, oidGroupExtension, "")))
		leaf(xe, "critical", strconv.FormatBool(x.Critical))
		optional(xe, "value", base64.StdEncoding.EncodeToString(x.Value), x.Value != nil)
	}
}

// writeCAs writes the CACollection (§3.1.4.1.3.3), or nil if there is no CA.
func writeCAs(parent *etree.Element, cas []CA) {
	if len(cas) == 0 {
		nilElement(parent, "cAs")
		return
	}
	coll := parent.CreateElement("cAs")
	for i, ca := range cas {
		e := coll.CreateElement("cA")
		uris := e.CreateElement("uris")
		for _, u := range ca.URIs {
			ue := uris.CreateElement("cAURI")
			leaf(ue, "clientAuthentication", strconv.Itoa(u.ClientAuthentication))
			leaf(ue, "uri", u.URI)
			leaf(ue, "priority", strconv.Itoa(u.Priority))
			leaf(ue, "renewalOnly", strconv.FormatBool(u.RenewalOnly))
		}
		leaf(e, "certificate", base64.StdEncoding.EncodeToString(ca.Certificate))
		leaf(e, "enrollPermission", strconv.FormatBool(ca.EnrollPermission))
		leaf(e, "cAReferenceID", strconv.Itoa(i))
	}
}

// oidTable numbers the OID objects of one response.
type oidTable struct {
	ids  map[oidKey]int
	list []oidEntry
}

type oidKey struct {
	value string
	group int
}

type oidEntry struct {
	oidKey
	name string
}

// ref returns the oIDReferenceID of value in group, adding it on first use.
// name is its defaultName; empty means a well-known name or the OID itself.
func (t *oidTable) ref(value string, group int, name string) int {
	k := oidKey{value, group}
	if id, ok := t.ids[k]; ok {
		return id
	}
	if name == "" {
		name = oidNames[value]
	}
	if name == "" {
		name = value
	}
	if t.ids == nil {
		t.ids = map[oidKey]int{}
	}
	t.list = append(t.list, oidEntry{k, name})
	id := len(t.list) // IDs start at 1, as position in list
	t.ids[k] = id
	return id
}

// write writes the OIDCollection (§3.1.4.1.3.17), or nil if it is empty.
func (t *oidTable) write(parent *etree.Element) {
	if len(t.list) == 0 {
		nilElement(parent, "oIDs")
		return
	}
	coll := parent.CreateElement("oIDs")
	for i, o := range t.list {
		e := coll.CreateElement("oID")
		leaf(e, "value", o.value)
		leaf(e, "group", strconv.Itoa(o.group))
		leaf(e, "oIDReferenceID", strconv.Itoa(i+1))
		leaf(e, "defaultName", o.name)
	}
}

// validate checks what the schema and §3.1.4.1.3 require of the values
// BuildResponse sends, so that a bad policy is an error here rather than a
// response that clients reject.
func (p *Policy) validate() error {
	if p.ID == "" {
		return errors.New("xcep: policy has no ID")
	}
	if p.NextUpdateHours < 0 {
		return fmt.Errorf("xcep: negative NextUpdateHours %d", p.NextUpdateHours)
	}
	names := map[string]bool{}
	oids := map[string]bool{}
	for i := range p.Templates {
		t := &p.Templates[i]
		if err := t.validate(len(p.CAs)); err != nil {
			return fmt.Errorf("xcep: template %d (%q): %w", i, t.CommonName, err)
		}
		if names[t.CommonName] || oids[t.OID] {
			return fmt.Errorf("xcep: template %d (%q): name or OID used twice", i, t.CommonName)
		}
		names[t.CommonName], oids[t.OID] = true, true
	}
	for i := range p.CAs {
		if err := p.CAs[i].validate(); err != nil {
			return fmt.Errorf("xcep: CA %d: %w", i, err)
		}
	}
	return nil
}

func (t *Template) validate(numCAs int) error {
	switch {
	case t.CommonName == "":
		return errors.New("no common name")
	case t.SchemaVersion < 1 || t.SchemaVersion > 3:
		return fmt.Errorf("schema version %d is not 1, 2 or 3", t.SchemaVersion)
	case t.MajorRevision < 1 || t.MinorRevision < 0:
		return fmt.Errorf("revision %d.%d: major must be positive, minor not negative", t.MajorRevision, t.MinorRevision)
	case t.ValidityPeriod < time.Second || t.RenewalPeriod < time.Second:
		return errors.New("validity and renewal periods must be at least one second")
	case t.MinimalKeyLength < 1:
		return errors.New("minimal key length must be positive")
	case t.KeySpec != 0 && t.KeySpec != KeySpecExchange && t.KeySpec != KeySpecSignature:
		return fmt.Errorf("key spec %d is not 1 or 2", t.KeySpec)
	case t.KeyUsageProperty < 0:
		return errors.New("negative key usage property")
	case t.HashAlgorithmOID != "" && t.SchemaVersion != 3:
		// §3.1.4.1.3.1: hashAlgorithmOIDReference MUST be nil below schema 3.
		return errors.New("a hash algorithm needs schema version 3")
	}
	if _, err := parseOID(t.OID); err != nil {
		return fmt.Errorf("template OID: %w", err)
	}
	for _, o := range []string{t.AlgorithmOID, t.HashAlgorithmOID} {
		if o == "" {
			continue
		}
		if _, err := parseOID(o); err != nil {
			return fmt.Errorf("algorithm: %w", err)
		}
	}
	for _, p := range t.CryptoProviders {
		if p == "" {
			return errors.New("empty crypto provider name")
		}
	}
	for _, x := range t.Extensions {
		if x.err != nil {
			return x.err
		}
		if _, err := parseOID(x.OID); err != nil {
			return fmt.Errorf("extension: %w", err)
		}
	}
	seen := map[int]bool{}
	for _, i := range t.CAs {
		// §3.1.4.1.3.4: each reference is unique and resolves.
		if i < 0 || i >= numCAs || seen[i] {
			return fmt.Errorf("CA index %d is out of range or repeated", i)
		}
		seen[i] = true
	}
	return nil
}

func (ca *CA) validate() error {
	if len(ca.Certificate) == 0 {
		return errors.New("no certificate") // §3.1.4.1.3.2: never empty
	}
	if _, err := x509.ParseCertificate(ca.Certificate); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if len(ca.URIs) == 0 {
		return errors.New("no enrollment URI") // CAURICollection: minOccurs 1
	}
	for _, u := range ca.URIs {
		switch u.ClientAuthentication {
		case AuthAnonymous, AuthKerberos, AuthUsernamePassword, AuthCertificate:
		default:
			return fmt.Errorf("URI %q: client authentication %d is not 1, 2, 4 or 8", u.URI, u.ClientAuthentication)
		}
		if parsed, err := url.Parse(u.URI); err != nil || !parsed.IsAbs() || parsed.Host == "" {
			return fmt.Errorf("URI %q is not an absolute URL", u.URI)
		}
		if u.Priority < 0 {
			return fmt.Errorf("URI %q: negative priority", u.URI)
		}
	}
	return nil
}

// envelope starts a SOAP 1.2 envelope with the WS-Addressing reply headers
// and returns it with its empty Body.
func envelope(action, relatesTo string) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", nsSOAP12)
	env.CreateAttr("xmlns:a", nsAddressing)
	h := env.CreateElement("s:Header")
	a := h.CreateElement("a:Action")
	a.CreateAttr("s:mustUnderstand", "1")
	a.SetText(action)
	if relatesTo != "" {
		h.CreateElement("a:RelatesTo").SetText(relatesTo)
	}
	return doc, env.CreateElement("s:Body")
}

// leaf adds <name>value</name>.
func leaf(parent *etree.Element, name, value string) {
	parent.CreateElement(name).SetText(value)
}

// nilElement adds <name xsi:nil="true"/>.
func nilElement(parent *etree.Element, name string) {
	parent.CreateElement(name).CreateAttr("xsi:nil", "true")
}

// optional adds a leaf if present is true and a nil element otherwise.
func optional(parent *etree.Element, name, value string, present bool) {
	if present {
		leaf(parent, name, value)
	} else {
		nilElement(parent, name)
	}
}
