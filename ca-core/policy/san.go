package policy

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/profile"
)

// SAN is one subjectAltName entry.
type SAN struct {
	Type  profile.SANType
	Value string
}

var (
	oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidUPN is Microsoft's user principal name otherName.
	oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// GeneralName tags (RFC 5280 §4.2.1.6).
const (
	tagOtherName = 0
	tagRFC822    = 1
	tagDNS       = 2
	tagURI       = 6
	tagIP        = 7
)

// parseSANExtension decodes a subjectAltName extension value. Name types
// certgate does not issue (directoryName, registeredID, x400Address,
// ediPartyName, other otherNames) are refused rather than dropped, so a
// request never silently loses a name it asked for.
// CertificateSANs returns the subjectAltNames of c as SAN values.
func CertificateSANs(c *x509.Certificate) ([]SAN, error) {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSAN) {
			return parseSANExtension(e.Value)
		}
	}
	return nil, nil
}

// CSRUPNs returns the UPN otherNames in csr's subjectAltName extension.
func CSRUPNs(csr *x509.CertificateRequest) ([]string, error) {
	var out []string
	for _, e := range csr.Extensions {
		if !e.Id.Equal(oidSAN) {
			continue
		}
		sans, err := parseSANExtension(e.Value)
		if err != nil {
			return nil, err
		}
		for _, n := range sans {
			if n.Type == profile.SANUPN {
				out = append(out, n.Value)
			}
		}
	}
	return out, nil
}

func parseSANExtension(der []byte) ([]SAN, error) {
	bad := func(format string, args ...any) error {
		return &fault.Error{Reason: fault.BadCSR, Rule: "csr.san", Detail: fmt.Sprintf(format, args...)}
	}
	input := cryptobyte.String(der)
	var seq cryptobyte.String
	if !input.ReadASN1(&seq, cbasn1.SEQUENCE) || !input.Empty() {
		return nil, bad("the subjectAltName extension is not a DER SEQUENCE")
	}
	var out []SAN
	for !seq.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&gn, &tag) {
			return nil, bad("the subjectAltName extension holds a malformed GeneralName")
		}
		switch tag {
		case cbasn1.Tag(tagDNS).ContextSpecific():
			out = append(out, SAN{profile.SANDNS, string(gn)})
		case cbasn1.Tag(tagRFC822).ContextSpecific():
			out = append(out, SAN{profile.SANEmail, string(gn)})
		case cbasn1.Tag(tagURI).ContextSpecific():
			out = append(out, SAN{profile.SANURI, string(gn)})
		case cbasn1.Tag(tagIP).ContextSpecific():
			ip, ok := netip.AddrFromSlice(gn)
			if !ok {
				return nil, bad("an iPAddress SAN has %d bytes", len(gn))
			}
			out = append(out, SAN{profile.SANIP, ip.Unmap().String()})
		case cbasn1.Tag(tagOtherName).ContextSpecific().Constructed():
			var oid asn1.ObjectIdentifier
			var val, inner cryptobyte.String
			if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) || !gn.Empty() {
				return nil, bad("an otherName SAN is malformed")
			}
			if !oid.Equal(oidUPN) {
				return nil, &fault.Error{Reason: fault.PolicyRejected, Rule: "profile.san.types", Detail: fmt.Sprintf("otherName %s SANs are not supported", oid)}
			}
			if !val.ReadASN1(&inner, cbasn1.UTF8String) || !val.Empty() {
				return nil, bad("a userPrincipalName SAN is not a UTF8String")
			}
			out = append(out, SAN{profile.SANUPN, string(inner)})
		default:
			return nil, &fault.Error{Reason: fault.PolicyRejected, Rule: "profile.san.types",
				Detail: fmt.Sprintf("GeneralName type [%d] is not supported (dns, ip, email, uri and upn are)", int(tag&0x1f))}
		}
	}
	return out, nil
}

// marshalSANs encodes names as a subjectAltName extension value.
func marshalSANs(names []SAN) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, n := range names {
			switch n.Type {
			case profile.SANDNS:
				b.AddASN1(cbasn1.Tag(tagDNS).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.Value)) })
			case profile.SANEmail:
				b.AddASN1(cbasn1.Tag(tagRFC822).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.Value)) })
			case profile.SANURI:
				b.AddASN1(cbasn1.Tag(tagURI).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.Value)) })
			case profile.SANIP:
				ip := netip.MustParseAddr(n.Value)
				b.AddASN1(cbasn1.Tag(tagIP).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip.AsSlice()) })
			case profile.SANUPN:
				b.AddASN1(cbasn1.Tag(tagOtherName).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidUPN)
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.Value)) })
					})
				})
			default:
				b.SetError(fmt.Errorf("policy: cannot encode SAN type %q", n.Type))
			}
		}
	})
	return b.Bytes()
}

// normalizeSAN validates one name and returns it in canonical form
// (lowercase DNS names and e-mail domains, canonical IP text).
func normalizeSAN(n SAN) (SAN, error) {
	bad := func(format string, args ...any) (SAN, error) {
		return n, fault.Policy("profile.san.syntax", format, args...)
	}
	switch n.Type {
	case profile.SANDNS:
		v := strings.ToLower(strings.TrimSuffix(n.Value, "."))
		if err := checkDNSName(v, true); err != nil {
			return bad("dNSName %q: %v", n.Value, err)
		}
		return SAN{n.Type, v}, nil
	case profile.SANIP:
		ip, err := netip.ParseAddr(n.Value)
		if err != nil || ip.Zone() != "" {
			return bad("%q is not an IP address", n.Value)
		}
		return SAN{n.Type, ip.Unmap().String()}, nil
	case profile.SANEmail:
		local, domain, ok := strings.Cut(n.Value, "@")
		if !ok || local == "" || strings.ContainsAny(local, " @<>()[]\\,;:\"") || !isPrintableASCII(local) || len(n.Value) > 254 {
			return bad("%q is not an e-mail address", n.Value)
		}
		domain = strings.ToLower(domain)
		if err := checkDNSName(domain, false); err != nil {
			return bad("e-mail domain of %q: %v", n.Value, err)
		}
		return SAN{n.Type, local + "@" + domain}, nil
	case profile.SANURI:
		u, err := url.Parse(n.Value)
		if err != nil || u.Scheme == "" || !u.IsAbs() || !isPrintableASCII(n.Value) || len(n.Value) > 2048 {
			return bad("%q is not an absolute ASCII URI", n.Value)
		}
		return n, nil
	case profile.SANUPN:
		if n.Value == "" || len(n.Value) > 1024 || !utf8.ValidString(n.Value) || strings.IndexFunc(n.Value, unicode.IsControl) >= 0 {
			return bad("%q is not a user principal name", n.Value)
		}
		return n, nil
	}
	return n, fault.Policy("profile.san.types", "SAN type %q is not supported", n.Type)
}

// checkDNSName enforces RFC 1034 preferred name syntax (letters, digits,
// hyphens; labels of 1-63 octets; 253 in total), allowing one leading "*"
// label when wildcard is true.
func checkDNSName(name string, wildcard bool) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("length %d is outside 1-253", len(name))
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && wildcard && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 {
			return fmt.Errorf("label %q must have 1-63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("label %q has character %q", l, c)
			}
		}
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
