package policy

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
)

// Request is what the caller asks for beyond the CSR.
type Request struct {
	// CSR must come from ParseCSR (its signature is verified).
	CSR *x509.CertificateRequest
	// Subject, when set, replaces the CSR's subject (RFC 4514).
	Subject string
	// SANs, when non-nil, replace the CSR's subjectAltNames.
	SANs []SAN
	// Extensions requested outside the CSR; they win over the CSR's.
	Extensions []pkix.Extension
	// Validity requested; 0 means the profile's default.
	Validity time.Duration
	// NotBefore requested; zero means now.
	NotBefore time.Time
	// GeneratedKey says ca-core made the CSR's key (serverkeygen, PKCS#12);
	// profiles marked server_side_keygen accept nothing else.
	GeneratedKey bool
	// SID, when set, is written as the SID extension if the profile asks
	// for it or allows the extension.
	SID string
}

// Issuer is what policy needs to know about the signing CA.
type Issuer struct {
	NotAfter time.Time
}

// Decision is the outcome of Apply: a template ready for
// x509.CreateCertificate once the caller sets the serial number.
type Decision struct {
	Template *x509.Certificate
	// Subject in RFC 4514 form, for the inventory.
	Subject string
	SANs    []SAN
	KeyType keys.Type
}

// MaxFutureNotBefore bounds how far ahead a requested notBefore may be,
// MaxBackdate how far back.
const (
	MaxFutureNotBefore = 7 * 24 * time.Hour
	MaxBackdate        = time.Hour
)

// Extensions the profile or the CA decide; requested values are ignored.
var (
	oidKeyUsage        = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraint = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSubjectKeyID    = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAuthorityKeyID  = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLDistPoints   = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidAuthorityInfo   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidCN              = asn1.ObjectIdentifier{2, 5, 4, 3}

	decidedElsewhere = []asn1.ObjectIdentifier{oidKeyUsage, oidBasicConstraint, oidSubjectKeyID, oidAuthorityKeyID,
		oidCRLDistPoints, oidAuthorityInfo, oidNameConstraints, oidSAN}
)

// MaxExtensions bounds the extensions a request may carry.
const MaxExtensions = 32

// Apply checks req against p and builds the certificate template.
func Apply(p *profile.Profile, req *Request, issuer Issuer, now time.Time) (*Decision, error) {
	if p.Kind != profile.Subscriber {
		return nil, fault.Policy("profile.kind", "profile %q is a CA profile; it cannot issue end-entity certificates", p.ID)
	}
	if p.ServerSideKeygen && !req.GeneratedKey {
		return nil, fault.Policy("profile.server_side_keygen", "profile %q issues server-generated keys (PKCS#12); it does not accept a CSR", p.ID)
	}
	csr := req.CSR
	kt, err := keys.Of(csr.PublicKey)
	if err != nil {
		return nil, fault.Policy("profile.key_type", "%v", err)
	}
	if !p.AllowsKey(kt) {
		return nil, fault.Policy("profile.key_type", "profile %q does not accept %s keys (allowed: %v)", p.ID, kt, p.KeyTypes)
	}
	d := &Decision{KeyType: kt, Template: &x509.Certificate{}}
	tmpl := d.Template

	rdns, rawSubject, err := subject(p, req)
	if err != nil {
		return nil, err
	}
	tmpl.RawSubject = rawSubject
	d.Subject = dn.FormatText(rdns)

	sans, err := subjectAltNames(p, req, rdns)
	if err != nil {
		return nil, err
	}
	d.SANs = sans
	if len(rdns) == 0 && len(sans) == 0 {
		return nil, fault.Policy("profile.subject.empty", "the certificate would have neither a subject nor a subjectAltName")
	}
	if len(sans) > 0 {
		v, err := marshalSANs(sans)
		if err != nil {
			return nil, err
		}
		// RFC 5280 §4.2.1.6: critical when the subject is empty.
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidSAN, Critical: len(rdns) == 0, Value: v})
	}

	tmpl.KeyUsage = p.KeyUsage
	if !kt.IsRSA() {
		// RFC 5480 §3: EC keys do not encipher keys or data.
		tmpl.KeyUsage &^= x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
		if tmpl.KeyUsage == 0 {
			return nil, fault.Policy("profile.key_type", "profile %q only grants %v, which needs an RSA key", p.ID, profile.KeyUsageNames(p.KeyUsage))
		}
	}
	tmpl.UnknownExtKeyUsage = slices.Clone(p.ExtKeyUsage)
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	if tmpl.SubjectKeyId, err = keys.SubjectKeyID(csr.PublicKey); err != nil {
		return nil, err
	}

	exts, err := requestedExtensions(p, req)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, exts...)
	wantsSID := p.SIDExtension || (req.SID != "" && p.Extensions.Allows(OIDSIDExtension))
	if wantsSID && !slices.ContainsFunc(tmpl.ExtraExtensions, func(e pkix.Extension) bool { return e.Id.Equal(OIDSIDExtension) }) {
		sid := req.SID
		if sid == "" {
			if sid, err = sidFromSANs(sans); err != nil {
				return nil, err
			}
		}
		if sid != "" {
			ext, err := SIDExtension(sid)
			if err != nil {
				return nil, err
			}
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
	}

	if tmpl.NotBefore, tmpl.NotAfter, err = validity(p, req, issuer, now); err != nil {
		return nil, err
	}
	return d, nil
}

// subject picks the CSR's subject or the override and checks its
// attributes against the profile.
func subject(p *profile.Profile, req *Request) (pkix.RDNSequence, []byte, error) {
	var rdns pkix.RDNSequence
	var raw []byte
	if req.Subject != "" {
		if !p.Subject.AllowOverride {
			return nil, nil, fault.Policy("profile.subject.override", "profile %q takes the subject from the CSR; it does not accept a subject override", p.ID)
		}
		seq, err := dn.Parse(req.Subject)
		if err != nil {
			return nil, nil, fault.Field("subject", "%v", err)
		}
		if raw, err = asn1.Marshal(seq); err != nil {
			return nil, nil, fault.Field("subject", "cannot encode subject: %v", err)
		}
		rdns = seq
	} else {
		rest, err := asn1.Unmarshal(req.CSR.RawSubject, &rdns)
		if err != nil || len(rest) > 0 {
			return nil, nil, &fault.Error{Reason: fault.BadCSR, Rule: "csr.subject", Detail: "the CSR's subject is not a valid Name"}
		}
		raw = req.CSR.RawSubject
	}
	present := map[string]bool{}
	for _, a := range dn.Names(rdns) {
		name := dn.ShortName(a.OID)
		if _, known := dn.Lookup(name); !known {
			return nil, nil, fault.Policy("profile.subject.attribute", "subject attribute %s is not one certgate issues", a.OID)
		}
		if len(p.Subject.Allowed) > 0 && !slices.Contains(p.Subject.Allowed, name) {
			return nil, nil, fault.Policy("profile.subject.attribute", "profile %q does not allow subject attribute %s (allowed: %v)", p.ID, name, p.Subject.Allowed)
		}
		if strings.TrimSpace(a.Value) == "" {
			return nil, nil, fault.Policy("profile.subject.attribute", "subject attribute %s is empty", name)
		}
		present[name] = true
	}
	for _, r := range p.Subject.Required {
		if !present[r] {
			return nil, nil, fault.Policy("profile.subject.required", "profile %q requires subject attribute %s", p.ID, r)
		}
	}
	return rdns, raw, nil
}

// subjectAltNames picks the CSR's SANs or the override, adds CNs for
// supply-SAN profiles, and checks types, syntax, count and presence.
func subjectAltNames(p *profile.Profile, req *Request, rdns pkix.RDNSequence) ([]SAN, error) {
	var names []SAN
	if req.SANs != nil {
		if !p.SAN.AllowOverride {
			return nil, fault.Policy("profile.san.override", "profile %q takes SANs from the CSR; it does not accept SAN overrides", p.ID)
		}
		names = req.SANs
	} else {
		for _, e := range req.CSR.Extensions {
			if e.Id.Equal(oidSAN) {
				var err error
				if names, err = parseSANExtension(e.Value); err != nil {
					return nil, err
				}
			}
		}
	}
	if p.SAN.FromCN {
		for _, a := range dn.Names(rdns) {
			if a.OID.Equal(oidCN) && checkDNSName(strings.ToLower(a.Value), true) == nil {
				names = append(names, SAN{profile.SANDNS, a.Value})
			}
		}
	}
	var out []SAN
	seen := map[SAN]bool{}
	for _, n := range names {
		if !p.SAN.Allows(n.Type) {
			return nil, fault.Policy("profile.san.types", "profile %q does not allow %s SANs (allowed: %v)", p.ID, n.Type, p.SAN.Types)
		}
		norm, err := normalizeSAN(n)
		if err != nil {
			return nil, err
		}
		if !seen[norm] {
			seen[norm] = true
			out = append(out, norm)
		}
	}
	if len(out) > p.SAN.MaxSANs() {
		return nil, fault.Policy("profile.san.max", "%d SANs exceed profile %q's limit of %d", len(out), p.ID, p.SAN.MaxSANs())
	}
	if p.SAN.Required && len(out) == 0 {
		return nil, fault.Policy("profile.san.required", "profile %q requires at least one SAN of type %v", p.ID, p.SAN.Types)
	}
	return out, nil
}

// requestedExtensions merges the CSR's extensions with those sent beside
// it and keeps those the profile allows.
func requestedExtensions(p *profile.Profile, req *Request) ([]pkix.Extension, error) {
	if len(req.CSR.Extensions)+len(req.Extensions) > MaxExtensions {
		return nil, fault.Policy("profile.extensions.count", "more than %d extensions requested", MaxExtensions)
	}
	byOID := map[string]pkix.Extension{}
	var order []string
	for _, e := range append(slices.Clone(req.CSR.Extensions), req.Extensions...) {
		k := e.Id.String()
		if _, dup := byOID[k]; !dup {
			order = append(order, k)
		}
		byOID[k] = e
	}
	var out []pkix.Extension
	for _, k := range order {
		e := byOID[k]
		if slices.ContainsFunc(decidedElsewhere, e.Id.Equal) || (e.Id.Equal(oidExtKeyUsage) && len(p.ExtKeyUsage) > 0) {
			continue
		}
		if !p.Extensions.Allows(e.Id) {
			if p.Extensions.RejectUnknown {
				return nil, fault.Policy("profile.extensions.unknown", "profile %q does not accept extension %s", p.ID, e.Id)
			}
			continue
		}
		var v asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &v); err != nil || len(rest) > 0 {
			return nil, fault.Policy("profile.extensions.syntax", "extension %s is not a single DER value", e.Id)
		}
		if e.Id.Equal(oidExtKeyUsage) {
			var ekus []asn1.ObjectIdentifier
			if rest, err := asn1.Unmarshal(e.Value, &ekus); err != nil || len(rest) > 0 || len(ekus) == 0 {
				return nil, fault.Policy("profile.extensions.syntax", "the extendedKeyUsage extension is not a list of OIDs")
			}
		}
		out = append(out, pkix.Extension{Id: e.Id, Critical: e.Critical, Value: bytes.Clone(e.Value)})
	}
	return out, nil
}

// validity computes notBefore and notAfter: the requested or default
// lifetime, clamped to the profile's maximum and the issuer's notAfter.
// notAfter is inclusive (RFC 5280 §4.1.2.5), hence the minus one second.
func validity(p *profile.Profile, req *Request, issuer Issuer, now time.Time) (time.Time, time.Time, error) {
	now = now.UTC().Truncate(time.Second)
	nb := now
	if !req.NotBefore.IsZero() {
		nb = req.NotBefore.UTC().Truncate(time.Second)
		if nb.After(now.Add(MaxFutureNotBefore)) || nb.Before(now.Add(-MaxBackdate)) {
			return nb, nb, fault.Field("not_before", "notBefore must be between %s before and %s after now", MaxBackdate, MaxFutureNotBefore)
		}
	}
	if req.Validity < 0 {
		return nb, nb, fault.Field("validity", "validity must be positive")
	}
	maxEnd := p.MaxValidity.AddTo(nb).Add(-time.Second)
	na := p.DefaultValidity.AddTo(nb).Add(-time.Second)
	if req.Validity > 0 {
		na = nb.Add(req.Validity - time.Second)
	}
	if na.After(maxEnd) {
		na = maxEnd
	}
	if na.After(issuer.NotAfter) {
		na = issuer.NotAfter
	}
	if !na.After(nb) {
		return nb, na, fault.Conflictf("ca.expired", "the issuing CA expires at %s, before the certificate could start", issuer.NotAfter.Format(time.RFC3339))
	}
	return nb, na, nil
}
