// Package digitalid renders Digital IDs: the templates of an MDM
// configuration (spec/seed-002-part2.md §3.2) that turn the variables an
// MDM supplies into a device's subject and subjectAltNames. The subject is
// the RDN format with every <variable> replaced, then "," and the parent
// DN; values are escaped, so that a variable can never add RDNs or
// attributes of its own.
package digitalid

import (
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
