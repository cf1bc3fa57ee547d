package dn

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Attribute is one attribute value of a name, as Names returns it.
type Attribute struct {
	Name  string                // short name ("CN") or dotted OID
	OID   asn1.ObjectIdentifier // attribute type
	Value string                // text of the value, or "#" and the hex of its DER
}

// Format writes seq (ASN.1 order) as an RFC 4514 string, most specific RDN
// first, with "," between RDNs and "+" between the values of a
// multi-valued RDN. Types in the name table are written by short name, any
// other type as a dotted OID.
//
// Format is reversible. A value is written as escaped text only when
// Parse would encode that text exactly as the value is encoded; otherwise,
// and always for types not in the table (RFC 4514 §2.4), it is written as
// "#" and the hex of its DER. A commonName stored as PrintableString, as
// crypto/x509 writes printable strings, therefore comes out as "#13...";
// use FormatText for display. Empty RDNs are skipped, and a value that
// cannot be marshalled at all is written as escaped fmt.Sprint text.
func Format(seq pkix.RDNSequence) string {
	return format(seq, true)
}

// FormatText writes seq like Format but shows every value held in a string
// type as its text, whatever the ASN.1 string type or attribute type. It is
// meant for display and logs: the result need not parse (a third-party
// name may break Parse's rules) and, when it does, need not give the same
// encoding. Values that are not strings are written in "#" hex form.
func FormatText(seq pkix.RDNSequence) string {
	return format(seq, false)
}

// FormatDER parses a DER-encoded Name, such as x509.Certificate.RawSubject
// or x509.CertificateRequest.RawSubject, and formats it with Format,
// keeping every value's tag. When rawSubject is valid DER (SETs sorted)
// and its values meet Parse's rules, Parse of the result marshals back to
// rawSubject byte for byte. An empty Name gives "".
func FormatDER(rawSubject []byte) (string, error) {
	seq, err := parseDERName(rawSubject)
	if err != nil {
		return "", err
	}
	return Format(seq), nil
}

// Names lists the attribute values of seq in string order (most specific
// RDN first, values of a multi-valued RDN in set order). Value is the
// unescaped text of a string value, whatever its ASN.1 string type, as
// FormatText shows it; a value that is not a string is given as "#" and the
// hex of its DER.
func Names(seq pkix.RDNSequence) []Attribute {
	var out []Attribute
	for i := len(seq) - 1; i >= 0; i-- {
		for _, atv := range seq[i] {
			text, _ := valueText(atv)
			out = append(out, Attribute{
				Name:  ShortName(atv.Type),
				OID:   cloneOID(atv.Type),
				Value: text,
			})
		}
	}
	return out
}

// derATV and derRDNSET mirror pkix.AttributeTypeAndValue and
// pkix.RelativeDistinguishedNameSET but keep each value's encoding, which
// decoding into an interface{} would lose for all but a few tags. The
// "SET" suffix makes encoding/asn1 read the type as SET OF.
type derATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type derRDNSET []derATV

func parseDERName(raw []byte) (pkix.RDNSequence, error) {
	var rdns []derRDNSET
	rest, err := asn1.Unmarshal(raw, &rdns)
	if err != nil {
		return nil, fmt.Errorf("dn: invalid DER name: %w", err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("dn: %d bytes after DER name", len(rest))
	}
	seq := make(pkix.RDNSequence, len(rdns))
	for i, rdn := range rdns {
		set := make(pkix.RelativeDistinguishedNameSET, len(rdn))
		for j, atv := range rdn {
			set[j] = pkix.AttributeTypeAndValue{Type: atv.Type, Value: atv.Value}
		}
		seq[i] = set
	}
	return seq, nil
}

func format(seq pkix.RDNSequence, exact bool) string {
	var b strings.Builder
	first := true
	for i := len(seq) - 1; i >= 0; i-- {
		if len(seq[i]) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(ShortName(atv.Type))
			b.WriteByte('=')
			if exact {
				b.WriteString(exactValue(atv))
			} else if text, ok := valueText(atv); ok {
				b.WriteString(escapeText(text))
			} else {
				b.WriteString(text)
			}
		}
	}
	return b.String()
}

// exactValue returns the escaped text of atv's value when Parse would
// encode that text to the same DER, and the "#" hex form otherwise.
func exactValue(atv pkix.AttributeTypeAndValue) string {
	der, rv, err := derValue(atv.Value)
	if der == nil {
		return escapeText(fmt.Sprint(atv.Value))
	}
	if err != nil {
		return "#" + hex.EncodeToString(der)
	}
	a := findOID(atv.Type)
	if a == nil {
		return "#" + hex.EncodeToString(der)
	}
	text, ok := decodeText(rv)
	if ok {
		tag := textTag(a)
		if checkText(a, tag, text) == "" {
			want, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(text)})
			if err == nil && bytes.Equal(want, der) {
				return escapeText(text)
			}
		}
	}
	return "#" + hex.EncodeToString(der)
}

// valueText returns the text of atv's value if it is a string (true),
// and the "#" hex form of its DER otherwise (false). A value that cannot
// be marshalled is given as fmt.Sprint text.
func valueText(atv pkix.AttributeTypeAndValue) (string, bool) {
	der, rv, err := derValue(atv.Value)
	if der == nil {
		return fmt.Sprint(atv.Value), true
	}
	if err == nil {
		if text, ok := decodeText(rv); ok {
			return text, true
		}
	}
	return "#" + hex.EncodeToString(der), false
}

// escapeText escapes s for an RFC 4514 value (§2.4): the characters
// '"' '+' ',' ';' '<' '>' '\', a leading '#' or space, a trailing space,
// and, as §2.4 permits, control characters and bytes that are not UTF-8,
// as \XX.
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				fmt.Fprintf(&b, "\\%02x", c)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == ' ' && (i == 0 || i == len(s)-1):
			b.WriteString("\\ ")
		case c == '#' && i == 0:
			b.WriteString("\\#")
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%02x", c)
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}
