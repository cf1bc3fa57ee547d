package dn

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse converts an RFC 4514 string ("CN=Example,O=Acme,C=US", most
// specific RDN first) into a pkix.RDNSequence in ASN.1 order (least
// specific first), ready for asn1.Marshal.
//
// Attribute types are names from the table (case-insensitive aliases such
// as "CN", "commonName", "E") or dotted OIDs. RDNs are separated by ",",
// the values of a multi-valued RDN by "+", and unescaped spaces around
// separators and "=" are ignored. Values may use the escapes of RFC 4514
// (\, \+ \" \\ \< \> \; \= \# \space and \XX hex pairs, which together must
// form UTF-8), the RFC 2253 quoted form ("..."), or the "#" hex form, which
// holds the DER of the value and keeps its tag.
//
// Each value is stored as an asn1.RawValue. Text values are encoded as
// PrintableString for C, SERIALNUMBER, dnQualifier and jurisdictionC, as
// IA5String for emailAddress and DC, and as UTF8String otherwise,
// including for types known only by OID. A "#" hex value of a known type
// must use an encoding that type's syntax allows and meets the same checks
// as text; one of an unknown type is any single DER value.
//
// Parse rejects an empty input (ErrEmpty); an input, or the Format result
// for it, over MaxLen bytes (ErrTooLong); more than MaxRDNs RDNs
// (ErrTooManyRDNs); malformed input (*SyntaxError); unknown names
// (*UnknownAttributeError); and empty, over-long or mis-encoded values, or
// values holding NUL (*ValueError). Several RDNs of one type (two CNs, say)
// are allowed; the same type and value twice in one RDN is not.
func Parse(s string) (pkix.RDNSequence, error) {
	if len(s) > MaxLen {
		return nil, ErrTooLong
	}
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, n := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return nil, &SyntaxError{Offset: off, Msg: "invalid UTF-8"}
	}
	p := &parser{s: s}
	p.skipSpaces()
	if p.eof() {
		return nil, ErrEmpty
	}
	var rdns []pkix.RelativeDistinguishedNameSET
	for {
		if len(rdns) == MaxRDNs {
			return nil, ErrTooManyRDNs
		}
		rdn, err := p.rdn()
		if err != nil {
			return nil, err
		}
		rdns = append(rdns, rdn)
		if p.eof() {
			break
		}
		p.pos++ // the ',' that ended the RDN
	}
	seq := make(pkix.RDNSequence, len(rdns))
	for i, rdn := range rdns {
		seq[len(rdns)-1-i] = rdn
	}
	if len(Format(seq)) > MaxLen {
		return nil, ErrTooLong
	}
	return seq, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) skipSpaces() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *parser) syntaxErr(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

// rdn parses attributeTypeAndValue *( "+" attributeTypeAndValue ) and
// stops at a ',' or the end of the input.
func (p *parser) rdn() (pkix.RelativeDistinguishedNameSET, error) {
	var rdn pkix.RelativeDistinguishedNameSET
	var seen [][]byte
	for {
		start := p.pos
		atv, err := p.atv()
		if err != nil {
			return nil, err
		}
		der, err := asn1.Marshal(atv)
		if err != nil {
			// Unreachable: OIDs and values are validated above.
			return nil, &SyntaxError{Offset: start, Msg: err.Error()}
		}
		for _, d := range seen {
			if bytes.Equal(d, der) {
				return nil, &SyntaxError{Offset: start, Msg: "attribute repeated within one RDN"}
			}
		}
		seen = append(seen, der)
		rdn = append(rdn, atv)

		p.skipSpaces()
		if p.eof() || p.s[p.pos] == ',' {
			return rdn, nil
		}
		if p.s[p.pos] != '+' {
			return nil, p.syntaxErr("expected ',' or '+', found %q", p.s[p.pos])
		}
		p.pos++
	}
}

// atv parses attributeType "=" attributeValue.
func (p *parser) atv() (pkix.AttributeTypeAndValue, error) {
	var atv pkix.AttributeTypeAndValue
	p.skipSpaces()
	start := p.pos
	for p.pos < len(p.s) && isTypeChar(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		if p.eof() {
			return atv, p.syntaxErr("expected attribute type, found end of input")
		}
		return atv, p.syntaxErr("expected attribute type, found %q", p.s[p.pos])
	}
	a, oid, err := resolveType(p.s[start:p.pos], start)
	if err != nil {
		return atv, err
	}
	p.skipSpaces()
	if p.eof() || p.s[p.pos] != '=' {
		return atv, p.syntaxErr("expected '=' after attribute type")
	}
	p.pos++
	p.skipSpaces()

	valStart := p.pos
	attr := ShortName(oid)
	valueErr := func(reason string) error {
		return &ValueError{Attr: attr, Offset: valStart, Reason: reason}
	}
	var rv asn1.RawValue
	switch {
	case p.eof():
		return atv, valueErr("empty value")
	case p.s[p.pos] == '#':
		der, err := p.hexValue()
		if err != nil {
			return atv, err
		}
		rest, err := asn1.Unmarshal(der, &rv)
		if err != nil || len(rest) > 0 {
			return atv, valueErr("hex form is not a single DER value")
		}
		if a != nil {
			if rv.Class != asn1.ClassUniversal || rv.IsCompound || !tagAllowed(a, rv.Tag) {
				return atv, valueErr("hex form has an encoding the attribute's syntax does not allow")
			}
			text, ok := decodeText(rv)
			if !ok {
				return atv, valueErr("hex form holds an invalid string")
			}
			if reason := checkText(a, rv.Tag, text); reason != "" {
				return atv, valueErr(reason)
			}
		}
	default:
		var text []byte
		var err error
		if p.s[p.pos] == '"' {
			text, err = p.quotedValue()
		} else {
			text, err = p.stringValue()
		}
		if err != nil {
			return atv, err
		}
		tag := textTag(a)
		if reason := checkText(a, tag, string(text)); reason != "" {
			return atv, valueErr(reason)
		}
		rv = asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: text}
	}
	atv.Type = oid
	atv.Value = rv
	return atv, nil
}

// resolveType maps an attribute type token to its table entry (nil for an
// OID not in the table) and OID.
func resolveType(tok string, off int) (*attrType, asn1.ObjectIdentifier, error) {
	if c := tok[0]; '0' <= c && c <= '9' {
		oid, err := parseOID(tok)
		if err != nil {
			return nil, nil, &SyntaxError{Offset: off, Msg: err.Error()}
		}
		if a := findOID(oid); a != nil {
			return a, cloneOID(a.oid), nil
		}
		return nil, oid, nil
	}
	a, ok := attrByName[strings.ToLower(tok)]
	if !ok {
		return nil, nil, &UnknownAttributeError{Name: tok}
	}
	return a, cloneOID(a.oid), nil
}

// parseOID parses RFC 4512 numericoid: number 1*( "." number ), numbers
// without leading zeros. Arcs are limited to what encoding/asn1 can read
// back (31 bits, the first two combined).
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("invalid OID %q: needs at least two arcs", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		if part == "" || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("invalid OID %q", s)
		}
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return nil, fmt.Errorf("invalid OID %q", s)
			}
		}
		n, err := strconv.ParseInt(part, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid OID %q: arc out of range", s)
		}
		oid[i] = int(n)
	}
	switch {
	case oid[0] > 2:
		return nil, fmt.Errorf("invalid OID %q: first arc must be 0, 1 or 2", s)
	case oid[0] < 2 && oid[1] >= 40:
		return nil, fmt.Errorf("invalid OID %q: second arc must be below 40", s)
	case oid[1] > math.MaxInt32-80:
		return nil, fmt.Errorf("invalid OID %q: arc out of range", s)
	}
	return oid, nil
}

// isTypeChar reports whether c may appear in an attribute type: a
// keystring (ALPHA, DIGIT, "-") or a numericoid (DIGIT, ".").
func isTypeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// hexValue parses "#" 1*hexpair, which must be followed by a space, a
// separator or the end of the input.
func (p *parser) hexValue() ([]byte, error) {
	p.pos++ // '#'
	start := p.pos
	for p.pos < len(p.s) && isHex(p.s[p.pos]) {
		p.pos++
	}
	if !p.eof() {
		switch p.s[p.pos] {
		case ' ', ',', '+':
		default:
			return nil, p.syntaxErr("invalid character %q in hex value", p.s[p.pos])
		}
	}
	digits := p.s[start:p.pos]
	if digits == "" || len(digits)%2 != 0 {
		return nil, &SyntaxError{Offset: start, Msg: "hex value needs a whole number of hex pairs"}
	}
	return hex.DecodeString(digits)
}

// escape decodes the pair after a '\' at p.pos and appends it to buf.
func (p *parser) escape(buf []byte) ([]byte, error) {
	p.pos++ // '\'
	if p.eof() {
		return nil, p.syntaxErr("'\\' at end of input")
	}
	c := p.s[p.pos]
	switch c {
	case '"', '+', ',', ';', '<', '>', ' ', '#', '=', '\\':
		p.pos++
		return append(buf, c), nil
	}
	if isHex(c) && p.pos+1 < len(p.s) && isHex(p.s[p.pos+1]) {
		b := unhex(c)<<4 | unhex(p.s[p.pos+1])
		p.pos += 2
		return append(buf, b), nil
	}
	return nil, p.syntaxErr("invalid escape '\\%c'", c)
}

// stringValue parses an RFC 4514 string value up to an unescaped ',' or
// '+' or the end of the input. Unescaped trailing spaces are dropped
// (leading ones were skipped by the caller).
func (p *parser) stringValue() ([]byte, error) {
	var buf []byte
	keep := 0 // len(buf) up to the last character that is not an unescaped space
	for !p.eof() {
		c := p.s[p.pos]
		switch c {
		case ',', '+':
			return buf[:keep], nil
		case '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return nil, err
			}
			keep = len(buf)
		case '"', ';', '<', '>', 0:
			return nil, p.syntaxErr("character %q must be escaped", c)
		case ' ':
			buf = append(buf, c)
			p.pos++
		default:
			buf = append(buf, c)
			p.pos++
			keep = len(buf)
		}
	}
	return buf[:keep], nil
}

// quotedValue parses an RFC 2253 quoted value: '"' *( quotechar / pair )
// '"', keeping every character between the quotes.
func (p *parser) quotedValue() ([]byte, error) {
	start := p.pos
	p.pos++ // '"'
	var buf []byte
	for {
		if p.eof() {
			return nil, &SyntaxError{Offset: start, Msg: "unterminated quoted value"}
		}
		switch c := p.s[p.pos]; c {
		case '"':
			p.pos++
			return buf, nil
		case '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return nil, err
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
}
