package dn

import (
	"encoding/asn1"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Universal tags of the ASN.1 string types this package reads or writes.
// encoding/asn1 names most of them; T61String, UniversalString and
// VisibleString it does not.
const (
	tagUTF8      = asn1.TagUTF8String      // 12
	tagNumeric   = asn1.TagNumericString   // 18
	tagPrintable = asn1.TagPrintableString // 19
	tagT61       = asn1.TagT61String       // 20
	tagIA5       = asn1.TagIA5String       // 22
	tagVisible   = 26
	tagUniversal = 28
	tagBMP       = asn1.TagBMPString // 30
)

// textTag is the tag Parse writes for a text value of attribute a; a is
// nil for a type known only by its OID.
func textTag(a *attrType) int {
	if a == nil {
		return tagUTF8
	}
	switch a.kind {
	case kindPrintable:
		return tagPrintable
	case kindIA5:
		return tagIA5
	case kindDirectory, kindPKCS9:
		return tagUTF8
	}
	return tagUTF8
}

// tagAllowed reports whether a's ASN.1 syntax permits a value with the
// given universal tag (RFC 5280 Appendix A, RFC 2985, RFC 4519).
func tagAllowed(a *attrType, tag int) bool {
	switch a.kind {
	case kindPrintable:
		return tag == tagPrintable
	case kindIA5:
		return tag == tagIA5
	case kindPKCS9:
		if tag == tagIA5 {
			return true
		}
	}
	switch tag {
	case tagT61, tagPrintable, tagUniversal, tagUTF8, tagBMP:
		return true
	}
	return false
}

// checkText returns why text s, carried with the given tag, is not an
// acceptable value of attribute a (nil: known only by OID), or "".
func checkText(a *attrType, tag int, s string) string {
	if s == "" {
		return "empty value"
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character"
	}
	switch tag {
	case tagPrintable:
		for i := 0; i < len(s); i++ {
			if !isPrintableChar(s[i]) {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return fmt.Sprintf("character %q is not allowed in a PrintableString", r)
			}
		}
	case tagIA5:
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return fmt.Sprintf("character %q is not allowed in an IA5String", r)
			}
		}
	}
	if a == nil {
		return ""
	}
	if a.country && !isCountryCode(s) {
		return "must be two letters A-Z (ISO 3166-1 alpha-2)"
	}
	if a.maxLen > 0 && utf8.RuneCountInString(s) > a.maxLen {
		return fmt.Sprintf("longer than %d characters", a.maxLen)
	}
	return ""
}

// isPrintableChar reports whether c is in the PrintableString character
// set of X.680: A-Z a-z 0-9 space ' ( ) + , - . / : = ?
func isPrintableChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(" '()+,-./:=?", c) >= 0
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// decodeText returns the Unicode text of a universal, primitive string
// value, or false when rv is not a string type this package reads or its
// contents are not valid for that type. T61String is read as ISO 8859-1,
// the reading common practice gives it.
func decodeText(rv asn1.RawValue) (string, bool) {
	if rv.Class != asn1.ClassUniversal || rv.IsCompound {
		return "", false
	}
	b := rv.Bytes
	switch rv.Tag {
	case tagUTF8:
		return string(b), utf8.Valid(b)
	case tagPrintable, tagIA5, tagNumeric, tagVisible:
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return "", false
			}
		}
		return string(b), true
	case tagT61:
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String(), true
	case tagBMP:
		if len(b)%2 != 0 {
			return "", false
		}
		var sb strings.Builder
		for i := 0; i < len(b); i += 2 {
			u := rune(b[i])<<8 | rune(b[i+1])
			if utf16.IsSurrogate(u) {
				if u >= 0xdc00 || i+3 >= len(b) {
					return "", false
				}
				u2 := rune(b[i+2])<<8 | rune(b[i+3])
				u = utf16.DecodeRune(u, u2)
				if u == utf8.RuneError {
					return "", false
				}
				i += 2
			}
			sb.WriteRune(u)
		}
		return sb.String(), true
	case tagUniversal:
		if len(b)%4 != 0 {
			return "", false
		}
		var sb strings.Builder
		for i := 0; i < len(b); i += 4 {
			u := rune(b[i])<<24 | rune(b[i+1])<<16 | rune(b[i+2])<<8 | rune(b[i+3])
			if !utf8.ValidRune(u) {
				return "", false
			}
			sb.WriteRune(u)
		}
		return sb.String(), true
	}
	return "", false
}

// derValue returns the DER encoding of an attribute value as it would be
// marshalled, and that encoding decoded into a RawValue.
func derValue(v any) (der []byte, rv asn1.RawValue, err error) {
	der, err = asn1.Marshal(v)
	if err != nil {
		return nil, rv, err
	}
	rest, err := asn1.Unmarshal(der, &rv)
	if err != nil {
		return der, rv, err
	}
	if len(rest) > 0 {
		return der, rv, fmt.Errorf("dn: %d bytes after attribute value", len(rest))
	}
	return der, rv, nil
}
