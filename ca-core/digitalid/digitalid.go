// Package digitalid renders Digital IDs: the templates of an MDM
// configuration (spec/seed-002-part2.md §3.2) that turn the variables an
// MDM supplies into a device's subject and subjectAltNames. The subject is
// the RDN format with every <variable> replaced, then "," and the parent
// DN; values are escaped, so that a variable can never add RDNs or
// attributes of its own.
package digitalid

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/fault"
)

// Template is a Digital ID's subject and SAN templates.
type Template struct {
	ParentDN   string
	RDNFormat  string
	SANFormats []string
}

// placeholder is <name>; names are what MDMs use (igusername, var1,
// profileid, ...).
var placeholder = regexp.MustCompile(`<([A-Za-z0-9_.-]{1,64})>`)

// CSRPrefix starts placeholders filled from the device's own CSR at
// issuance rather than by the MDM at challenge time, for MDMs that can
// only put device details into the CSR they have the device make
// (MaaS360's %udid%, Jamf's $SERIALNUMBER in the SCEP subject).
const CSRPrefix = "csr."

// CSRFields are the CSR values a <csr.field> placeholder may name.
var CSRFields = []string{"cn", "serialnumber", "uid", "ou", "email", "dns", "upn"}

// Variables lists the placeholders of t in order of first appearance.
func (t Template) Variables() []string {
	var out []string
	for _, s := range append([]string{t.RDNFormat}, t.SANFormats...) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// SANTypes are the SAN template prefixes Render accepts.
var SANTypes = []string{"dns", "email", "uri", "upn", "ip"}

// Validate checks that t renders to a valid subject with sample values.
func (t Template) Validate() error {
	if strings.TrimSpace(t.RDNFormat) == "" {
		return fault.Field("rdn_format", "the RDN format is required")
	}
	if _, err := dn.Parse(t.ParentDN); err != nil && t.ParentDN != "" {
		return fault.Field("parent_dn", "%v", err)
	}
	for _, v := range t.Variables() {
		if f, ok := strings.CutPrefix(v, CSRPrefix); ok && !slices.Contains(CSRFields, f) {
			return fault.Field("rdn_format", "<%s> names no CSR field; use one of %v after %q", v, CSRFields, CSRPrefix)
		}
	}
	if len(t.SANFormats) > 20 {
		return fault.Field("san_formats", "at most 20 SAN templates")
	}
	for _, f := range t.SANFormats {
		typ, _, ok := strings.Cut(f, ":")
		if !ok || !slices.Contains(SANTypes, typ) {
			return fault.Field("san_formats", "SAN template %q is not TYPE:VALUE with TYPE one of %v", f, SANTypes)
		}
	}
	sample := map[string]string{}
	for _, v := range t.Variables() {
		sample[v] = "sample"
	}
	if _, _, err := t.Render(sample); err != nil {
		return fault.Field("rdn_format", "the templates do not render: %v", err)
	}
	return nil
}

// Render substitutes vars into t. Every variable must have a non-empty
// value; the error names those missing.
func (t Template) Render(vars map[string]string) (subject string, sans [][2]string, err error) {
	var missing []string
	for _, v := range t.Variables() {
		if strings.TrimSpace(vars[v]) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", nil, fault.Field("variables", "missing values for %s", strings.Join(missing, ", "))
	}
	rdns := placeholder.ReplaceAllStringFunc(t.RDNFormat, func(m string) string {
		return escape(vars[m[1:len(m)-1]])
	})
	subject = rdns
	if t.ParentDN != "" {
		subject += "," + t.ParentDN
	}
	seq, err := dn.Parse(subject)
	if err != nil {
		return "", nil, fault.Field("variables", "the subject %q does not parse: %v", subject, err)
	}
	subject = dn.FormatText(seq)
	for _, f := range t.SANFormats {
		typ, val, _ := strings.Cut(f, ":")
		val = placeholder.ReplaceAllStringFunc(val, func(m string) string { return vars[m[1:len(m)-1]] })
		if strings.ContainsAny(val, "\x00\r\n") {
			return "", nil, fault.Field("variables", "SAN %s:%q holds control characters", typ, val)
		}
		sans = append(sans, [2]string{typ, val})
	}
	return subject, sans, nil
}

// Deferred reports placeholders that only the CSR can fill.
func (t Template) Deferred() bool {
	return slices.ContainsFunc(t.Variables(), func(v string) bool { return strings.HasPrefix(v, CSRPrefix) })
}

// Partial fills the MDM's variables in now and keeps the <csr.*> ones
// for issuance. A missing MDM variable is refused now, as with Render.
func (t Template) Partial(vars map[string]string) (Template, error) {
	var missing []string
	for _, v := range t.Variables() {
		if !strings.HasPrefix(v, CSRPrefix) && strings.TrimSpace(vars[v]) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Template{}, fault.Field("variables", "missing values for %s", strings.Join(missing, ", "))
	}
	fill := func(escapeValue bool) func(string) string {
		return func(m string) string {
			name := m[1 : len(m)-1]
			if strings.HasPrefix(name, CSRPrefix) {
				return m
			}
			if escapeValue {
				return escape(vars[name])
			}
			return vars[name]
		}
	}
	out := Template{ParentDN: t.ParentDN, RDNFormat: placeholder.ReplaceAllStringFunc(t.RDNFormat, fill(true))}
	for _, f := range t.SANFormats {
		out.SANFormats = append(out.SANFormats, placeholder.ReplaceAllStringFunc(f, fill(false)))
	}
	return out, nil
}

// CSRValues are the values <csr.*> placeholders take from csr: subject
// attributes (first CN, serialNumber, UID, OU) and SANs (first e-mail,
// DNS name, UPN).
func CSRValues(csr *x509.CertificateRequest, upns []string) map[string]string {
	v := map[string]string{}
	set := func(k, val string) {
		if val != "" && v[CSRPrefix+k] == "" {
			v[CSRPrefix+k] = val
		}
	}
	set("cn", csr.Subject.CommonName)
	set("serialnumber", csr.Subject.SerialNumber)
	for _, n := range csr.Subject.Names {
		if n.Type.Equal(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}) {
			if s, ok := n.Value.(string); ok {
				set("uid", s)
			}
		}
	}
	if len(csr.Subject.OrganizationalUnit) > 0 {
		set("ou", csr.Subject.OrganizationalUnit[0])
	}
	if len(csr.EmailAddresses) > 0 {
		set("email", csr.EmailAddresses[0])
	}
	if len(csr.DNSNames) > 0 {
		set("dns", csr.DNSNames[0])
	}
	if len(upns) > 0 {
		set("upn", upns[0])
	}
	return v
}

// escape makes v one RFC 4514 attribute value (§2.4).
func escape(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r),
			(i == 0 && (r == ' ' || r == '#')),
			(i == len(v)-1 && r == ' '):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
