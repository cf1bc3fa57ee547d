package dn_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/dn"
)

// parseCase is one Parse input. want describes the parsed sequence in ASN.1
// order: RDNs separated by " / ", values of one RDN by " + ", each value as
// "NAME TAG CONTENT" with CONTENT quoted (see describe). For failures, err
// names the expected error.
type parseCase struct {
	name string
	in   string
	want string
	err  string // "empty", "too-long", "too-many", "syntax", "unknown", "value"
}

func parseCases() []parseCase {
	rdns := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("CN=n%d", i)
		}
		return strings.Join(parts, ",")
	}
	return []parseCase{
		{name: "ok/simple", in: "CN=Example,O=Acme,C=US",
			want: `C 19 "US" / O 12 "Acme" / CN 12 "Example"`},
		{name: "ok/spaces-around-separators", in: "  CN = Example ,  O= Acme  , C =US ",
			want: `C 19 "US" / O 12 "Acme" / CN 12 "Example"`},
		{name: "ok/inner-spaces-kept", in: "O=Acme  Widgets  Inc",
			want: `O 12 "Acme  Widgets  Inc"`},
		{name: "ok/multi-valued", in: "CN=a+OU=b,C=US",
			want: `C 19 "US" / CN 12 "a" + OU 12 "b"`},
		{name: "ok/multi-valued-spaces", in: "CN=a + OU=b + 1.2.3=c",
			want: `CN 12 "a" + OU 12 "b" + 1.2.3 12 "c"`},
		{name: "ok/multiple-cn", in: "CN=a,CN=b",
			want: `CN 12 "b" / CN 12 "a"`},
		{name: "ok/same-type-in-rdn", in: "CN=a+CN=b",
			want: `CN 12 "a" + CN 12 "b"`},
		{name: "ok/case-insensitive-names", in: "cn=x,oRg=y,COMMONNAME=z,emailaddress=e@x",
			want: `E 22 "e@x" / CN 12 "z" / O 12 "y" / CN 12 "x"`},
		{name: "ok/dotted-known-oid", in: "2.5.4.3=x,2.5.4.6=US",
			want: `C 19 "US" / CN 12 "x"`},
		{name: "ok/dotted-unknown-oid", in: "1.2.3.4=x",
			want: `1.2.3.4 12 "x"`},
		{name: "ok/dotted-oid-large-arcs", in: "2.999.2147483567=x,0.39.0=y",
			want: `0.39.0 12 "y" / 2.999.2147483567 12 "x"`},
		{name: "ok/rfc4514-uid", in: "UID=jsmith,DC=example,DC=net",
			want: `DC 22 "net" / DC 22 "example" / UID 12 "jsmith"`},
		{name: "ok/rfc4514-multi-valued", in: "OU=Sales+CN=J.  Smith,DC=example,DC=net",
			want: `DC 22 "net" / DC 22 "example" / OU 12 "Sales" + CN 12 "J.  Smith"`},
		{name: "ok/rfc4514-escaped-quotes-comma", in: `CN=James \"Jim\" Smith\, III,DC=example,DC=net`,
			want: `DC 22 "net" / DC 22 "example" / CN 12 "James \"Jim\" Smith, III"`},
		{name: "ok/rfc4514-escaped-cr", in: `CN=Before\0dAfter,DC=example,DC=net`,
			want: `DC 22 "net" / DC 22 "example" / CN 12 "Before\rAfter"`},
		{name: "ok/rfc4514-hex-unknown-type", in: "1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com",
			want: `DC 22 "com" / DC 22 "example" / 1.3.6.1.4.1.1466.0 4 "Hi"`},
		{name: "ok/rfc4514-utf8-hex-pairs", in: `CN=Lu\C4\8Di\C4\87`,
			want: `CN 12 "Lučić"`},
		{name: "ok/utf8-literal", in: "CN=Lučić,O=Ärger GmbH,L=東京",
			want: `L 12 "東京" / O 12 "Ärger GmbH" / CN 12 "Lučić"`},
		{name: "ok/lower-case-hex-pairs", in: `CN=Lu\c4\8di\c4\87`,
			want: `CN 12 "Lučić"`},
		{name: "ok/every-special-escape", in: `CN=\,\+\"\\\<\>\;\=\#\ `,
			want: `CN 12 ",+\"\\<>;=# "`},
		{name: "ok/escaped-leading-trailing-space", in: `CN=\ a \ `,
			want: `CN 12 " a  "`},
		{name: "ok/escaped-leading-hash", in: `CN=\#1`,
			want: `CN 12 "#1"`},
		{name: "ok/hash-and-equals-inside", in: "CN=a#b=c",
			want: `CN 12 "a#b=c"`},
		{name: "ok/unescaped-control-char", in: "CN=a\tb",
			want: `CN 12 "a\tb"`},
		{name: "ok/quoted", in: `CN="a, b + c; <d>",O=x`,
			want: `O 12 "x" / CN 12 "a, b + c; <d>"`},
		{name: "ok/quoted-with-escapes", in: `CN = "say \"hi\" \41" , O=x`,
			want: `O 12 "x" / CN 12 "say \"hi\" A"`},
		{name: "ok/quoted-keeps-spaces", in: `CN=" a "`,
			want: `CN 12 " a "`},
		{name: "ok/hex-known-printable", in: "CN=#130141",
			want: `CN 19 "A"`},
		{name: "ok/hex-known-utf8", in: "CN=#0C0141",
			want: `CN 12 "A"`},
		{name: "ok/hex-known-bmp", in: "CN=#1e0400410042",
			want: `CN 30 "\x00A\x00B"`},
		{name: "ok/hex-known-t61", in: "O=#1402e9e8",
			want: `O 20 "\xe9\xe8"`},
		{name: "ok/hex-known-universal", in: "O=#1c0400000041",
			want: `O 28 "\x00\x00\x00A"`},
		{name: "ok/hex-pkcs9-ia5", in: "unstructuredName=#1603616263",
			want: `unstructuredName 22 "abc"`},
		{name: "ok/hex-email", in: "E=#1603612062",
			want: `E 22 "a b"`},
		{name: "ok/hex-country", in: "C=#13024445",
			want: `C 19 "DE"`},
		{name: "ok/hex-unknown-constructed", in: "1.2.3=#3003020101",
			want: `1.2.3 16 "\x02\x01\x01"`},
		{name: "ok/hex-then-spaces", in: "1.2.3=#0500  ,CN=x",
			want: `CN 12 "x" / 1.2.3 5 ""`},
		{name: "ok/printable-punctuation", in: `SERIALNUMBER=Ab-1 (2)/3:4\=?'.\+\,`,
			want: `SERIALNUMBER 19 "Ab-1 (2)/3:4=?'.+,"`},
		{name: "ok/dnqualifier", in: "dnQualifier=q 1",
			want: `dnQualifier 19 "q 1"`},
		{name: "ok/jurisdiction", in: "jurisdictionC=US,jurisdictionST=Delaware,jurisdictionL=Wilmington",
			want: `JurisdictionOfIncorporationLocalityName 12 "Wilmington" / JurisdictionOfIncorporationStateOrProvinceName 12 "Delaware" / JurisdictionOfIncorporationCountryName 19 "US"`},
		{name: "ok/cn-64-chars", in: "CN=" + strings.Repeat("a", 64),
			want: `CN 12 "` + strings.Repeat("a", 64) + `"`},
		{name: "ok/cn-64-multibyte-chars", in: "CN=" + strings.Repeat("č", 64),
			want: `CN 12 "` + strings.Repeat("č", 64) + `"`},
		{name: "ok/email-255", in: "E=" + strings.Repeat("a", 243) + "@example.com",
			want: `E 22 "` + strings.Repeat("a", 243) + `@example.com"`},
		{name: "ok/64-rdns", in: rdns(64)},
		{name: "ok/4096-bytes", in: "ORGANIZATIONIDENTIFIER=" + strings.Repeat("a", 4096-23)},

		{name: "fail/empty", in: "", err: "empty"},
		{name: "fail/only-spaces", in: "   ", err: "empty"},
		{name: "fail/4097-bytes", in: "ORGANIZATIONIDENTIFIER=" + strings.Repeat("a", 4097-23), err: "too-long"},
		{name: "fail/formatted-form-too-long", in: "1.2.3=" + strings.Repeat("a", 3000), err: "too-long"},
		{name: "fail/65-rdns", in: rdns(65), err: "too-many"},
		{name: "fail/unknown-name", in: "CN=a,XX=b", err: "unknown"},
		{name: "fail/oid-prefix", in: "OID.2.5.4.3=a", err: "unknown"},
		{name: "fail/name-with-dot", in: "CN.x=a", err: "unknown"},
		{name: "fail/empty-value", in: "CN=", err: "value"},
		{name: "fail/empty-value-before-comma", in: "CN=  ,O=a", err: "value"},
		{name: "fail/empty-value-before-plus", in: "CN=+O=a", err: "value"},
		{name: "fail/empty-quoted-value", in: `CN=""`, err: "value"},
		{name: "fail/no-equals", in: "CN", err: "syntax"},
		{name: "fail/space-instead-of-equals", in: "CN a", err: "syntax"},
		{name: "fail/no-type", in: "=a", err: "syntax"},
		{name: "fail/trailing-comma", in: "CN=a,", err: "syntax"},
		{name: "fail/leading-comma", in: ",CN=a", err: "syntax"},
		{name: "fail/double-comma", in: "CN=a,,O=b", err: "syntax"},
		{name: "fail/trailing-plus", in: "CN=a+", err: "syntax"},
		{name: "fail/semicolon-separator", in: "CN=a;O=b", err: "syntax"},
		{name: "fail/unescaped-quote", in: `CN=a"b`, err: "syntax"},
		{name: "fail/unescaped-angle", in: "CN=a<b", err: "syntax"},
		{name: "fail/unescaped-nul", in: "CN=a\x00b", err: "syntax"},
		{name: "fail/bad-escape", in: `CN=a\x`, err: "syntax"},
		{name: "fail/half-hex-escape", in: `CN=a\4`, err: "syntax"},
		{name: "fail/half-hex-escape-then-char", in: `CN=a\4g`, err: "syntax"},
		{name: "fail/escape-at-end", in: `CN=a\`, err: "syntax"},
		{name: "fail/invalid-utf8-input", in: "CN=a\xffb", err: "syntax"},
		{name: "fail/invalid-utf8-escapes", in: `CN=a\ffb`, err: "value"},
		{name: "fail/truncated-utf8-escapes", in: `CN=Lu\C4`, err: "value"},
		{name: "fail/escaped-nul", in: `CN=a\00b`, err: "value"},
		{name: "fail/unterminated-quote", in: `CN="abc`, err: "syntax"},
		{name: "fail/text-after-quote", in: `CN="a"b`, err: "syntax"},
		{name: "fail/escape-in-type", in: `C\N=a`, err: "syntax"},
		{name: "fail/same-value-twice-in-rdn", in: "CN=a+CN=a", err: "syntax"},
		{name: "fail/same-value-twice-spelled-apart", in: "CN=a + commonName=a", err: "syntax"},

		{name: "fail/cn-65", in: "CN=" + strings.Repeat("a", 65), err: "value"},
		{name: "fail/cn-65-multibyte", in: "CN=" + strings.Repeat("č", 65), err: "value"},
		{name: "fail/o-65", in: "O=" + strings.Repeat("a", 65), err: "value"},
		{name: "fail/ou-65", in: "OU=" + strings.Repeat("a", 65), err: "value"},
		{name: "fail/l-129", in: "L=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/st-129", in: "ST=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/street-129", in: "STREET=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/title-65", in: "T=" + strings.Repeat("a", 65), err: "value"},
		{name: "fail/serialnumber-65", in: "SERIALNUMBER=" + strings.Repeat("1", 65), err: "value"},
		{name: "fail/businesscategory-129", in: "BUSINESSCATEGORY=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/postalcode-41", in: "POSTALCODE=" + strings.Repeat("1", 41), err: "value"},
		{name: "fail/email-256", in: "E=" + strings.Repeat("a", 244) + "@example.com", err: "value"},
		{name: "fail/unstructuredname-256", in: "unstructuredName=" + strings.Repeat("a", 256), err: "value"},
		{name: "fail/jurisdictionl-129", in: "jurisdictionL=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/jurisdictionst-129", in: "jurisdictionST=" + strings.Repeat("a", 129), err: "value"},
		{name: "fail/country-lower-case", in: "C=us", err: "value"},
		{name: "fail/country-three-letters", in: "C=USA", err: "value"},
		{name: "fail/country-one-letter", in: "C=U", err: "value"},
		{name: "fail/country-digit", in: "C=U1", err: "value"},
		{name: "fail/jurisdiction-country", in: "jurisdictionC=usa", err: "value"},
		{name: "fail/serialnumber-asterisk", in: "SERIALNUMBER=a*b", err: "value"},
		{name: "fail/serialnumber-ampersand", in: "SERIALNUMBER=a&b", err: "value"},
		{name: "fail/serialnumber-non-ascii", in: "SERIALNUMBER=č1", err: "value"},
		{name: "fail/dnqualifier-underscore", in: "dnQualifier=a_b", err: "value"},
		{name: "fail/email-non-ascii", in: "E=č@example.com", err: "value"},
		{name: "fail/dc-non-ascii", in: "DC=exämple", err: "value"},

		{name: "fail/hex-empty", in: "CN=#", err: "syntax"},
		{name: "fail/hex-odd-digits", in: "1.2.3=#04014", err: "syntax"},
		{name: "fail/hex-bad-digit", in: "1.2.3=#04zz", err: "syntax"},
		{name: "fail/hex-trailing-text", in: "1.2.3=#0401ab x", err: "syntax"},
		{name: "fail/hex-trailing-der", in: "1.2.3=#0401480500", err: "value"},
		{name: "fail/hex-truncated-der", in: "1.2.3=#040248", err: "value"},
		{name: "fail/hex-non-minimal-length", in: "1.2.3=#04810148", err: "value"},
		{name: "fail/hex-indefinite-length", in: "1.2.3=#24800401480000", err: "value"},
		{name: "fail/hex-known-integer", in: "CN=#020101", err: "value"},
		{name: "fail/hex-known-ia5-cn", in: "CN=#160141", err: "value"},
		{name: "fail/hex-country-utf8", in: "C=#0c025553", err: "value"},
		{name: "fail/hex-email-utf8", in: "E=#0c0161", err: "value"},
		{name: "fail/hex-known-constructed", in: "CN=#2c030c0141", err: "value"},
		{name: "fail/hex-known-context-tag", in: "CN=#800141", err: "value"},
		{name: "fail/hex-known-bad-utf8", in: "CN=#0c01ff", err: "value"},
		{name: "fail/hex-known-odd-bmp", in: "CN=#1e0141", err: "value"},
		{name: "fail/hex-known-empty", in: "CN=#0c00", err: "value"},
		{name: "fail/hex-known-nul", in: "CN=#0c0100", err: "value"},
		{name: "fail/hex-known-too-long", in: "CN=#0c41" + strings.Repeat("61", 65), err: "value"},
		{name: "fail/hex-country-lower", in: "C=#13027573", err: "value"},
		{name: "fail/hex-printable-bad-char", in: "SERIALNUMBER=#13012a", err: "value"},

		{name: "fail/oid-one-arc", in: "1=a", err: "syntax"},
		{name: "fail/oid-leading-zero", in: "2.05.4.3=a", err: "syntax"},
		{name: "fail/oid-empty-arc", in: "1..2=a", err: "syntax"},
		{name: "fail/oid-trailing-dot", in: "1.2.=a", err: "syntax"},
		{name: "fail/oid-first-arc", in: "3.1=a", err: "syntax"},
		{name: "fail/oid-second-arc", in: "1.40=a", err: "syntax"},
		{name: "fail/oid-arc-overflow", in: "1.2.2147483648=a", err: "syntax"},
		{name: "fail/oid-second-arc-overflow", in: "2.2147483568=a", err: "syntax"},
		{name: "fail/oid-with-letters", in: "1.2a=x", err: "syntax"},
	}
}

// describe renders seq for parseCase.want, reading every value's tag and
// content back from its DER.
func describe(t *testing.T, seq pkix.RDNSequence) string {
	t.Helper()
	var rdns []string
	for _, rdn := range seq {
		var atvs []string
		for _, atv := range rdn {
			der, err := asn1.Marshal(atv.Value)
			if err != nil {
				t.Fatalf("marshal value %#v: %v", atv.Value, err)
			}
			var rv asn1.RawValue
			if _, err := asn1.Unmarshal(der, &rv); err != nil {
				t.Fatalf("unmarshal value %x: %v", der, err)
			}
			atvs = append(atvs, fmt.Sprintf("%s %d %q", dn.ShortName(atv.Type), rv.Tag, rv.Bytes))
		}
		rdns = append(rdns, strings.Join(atvs, " + "))
	}
	return strings.Join(rdns, " / ")
}

func checkErrKind(t *testing.T, err error, kind string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s error", kind)
	}
	if !strings.HasPrefix(err.Error(), "dn: ") {
		t.Errorf("error %q lacks the \"dn: \" prefix", err)
	}
	var (
		syntaxErr  *dn.SyntaxError
		unknownErr *dn.UnknownAttributeError
		valueErr   *dn.ValueError
		ok         bool
	)
	switch kind {
	case "empty":
		ok = errors.Is(err, dn.ErrEmpty)
	case "too-long":
		ok = errors.Is(err, dn.ErrTooLong)
	case "too-many":
		ok = errors.Is(err, dn.ErrTooManyRDNs)
	case "syntax":
		ok = errors.As(err, &syntaxErr)
	case "unknown":
		ok = errors.As(err, &unknownErr)
	case "value":
		ok = errors.As(err, &valueErr)
	default:
		t.Fatalf("bad error kind %q in test table", kind)
	}
	if !ok {
		t.Errorf("got error %v (%T), want %s error", err, err, kind)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			seq, err := dn.Parse(tc.in)
			if tc.err != "" {
				checkErrKind(t, err, tc.err)
				if seq != nil {
					t.Errorf("got sequence %v with error", seq)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if _, err := asn1.Marshal(seq); err != nil {
				t.Fatalf("asn1.Marshal: %v", err)
			}
			if tc.want == "" {
				return
			}
			if got := describe(t, seq); got != tc.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	seq, err := dn.Parse(parseCaseIn(t, "ok/64-rdns"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) != dn.MaxRDNs {
		t.Errorf("got %d RDNs, want %d", len(seq), dn.MaxRDNs)
	}
	// ASN.1 order: the last RDN of the string comes first.
	if got := dn.Names(seq[:1])[0].Value; got != "n63" {
		t.Errorf("first RDN of the sequence is %q, want n63", got)
	}
}

func parseCaseIn(t *testing.T, name string) string {
	t.Helper()
	for _, tc := range parseCases() {
		if tc.name == name {
			return tc.in
		}
	}
	t.Fatalf("no parse case %q", name)
	return ""
}

func TestErrorDetails(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "fail/syntax-offset", in: "CN=a;b", want: `dn: syntax error at offset 4: character ';' must be escaped`},
		{name: "fail/unknown-name", in: "CN=a, Foo=b", want: `dn: unknown attribute type "Foo"`},
		{name: "fail/value-too-long", in: "O=x, CN=" + strings.Repeat("a", 65), want: `dn: invalid CN value at offset 8: longer than 64 characters`},
		{name: "fail/value-country", in: "C=us", want: `dn: invalid C value at offset 2: must be two letters A-Z (ISO 3166-1 alpha-2)`},
		{name: "fail/value-printable", in: "SERIALNUMBER=a*", want: `dn: invalid SERIALNUMBER value at offset 13: character '*' is not allowed in a PrintableString`},
		{name: "fail/value-ia5", in: "E=ä", want: `dn: invalid E value at offset 2: character 'ä' is not allowed in an IA5String`},
		{name: "fail/value-empty", in: "CN=", want: `dn: invalid CN value at offset 3: empty value`},
		{name: "fail/empty", in: "", want: `dn: empty distinguished name`},
		{name: "fail/too-long", in: strings.Repeat("a", 5000), want: `dn: distinguished name longer than 4096 bytes`},
		{name: "fail/invalid-utf8", in: "CN=ab\xc3", want: `dn: syntax error at offset 5: invalid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dn.Parse(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse(%q) error = %v, want %s", tc.in, err, tc.want)
			}
		})
	}
}

// TestEncodingTags checks the string type of every table attribute's text
// value in the marshalled DER: the byte right after the attribute's OID.
func TestEncodingTags(t *testing.T) {
	for _, spec := range specTable() {
		name := "ok/" + spec.names[0]
		t.Run(name, func(t *testing.T) {
			seq, err := dn.Parse(spec.names[0] + "=" + spec.sample())
			if err != nil {
				t.Fatal(err)
			}
			der, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			oidDER, err := asn1.Marshal(spec.oid())
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(der, oidDER)
			if i < 0 {
				t.Fatalf("OID %s not found in %x", spec.dotted, der)
			}
			if got := der[i+len(oidDER)]; got != spec.tag {
				t.Errorf("value tag 0x%02x, want 0x%02x in %x", got, spec.tag, der)
			}
		})
	}
}

// spec is a row of the attribute table as the package is specified,
// written out independently of the package's own table.
type spec struct {
	names  []string
	dotted string
	tag    byte // 0x0c UTF8String, 0x13 PrintableString, 0x16 IA5String
}

func (s spec) oid() asn1.ObjectIdentifier {
	var oid asn1.ObjectIdentifier
	for _, p := range strings.Split(s.dotted, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			panic(err)
		}
		oid = append(oid, n)
	}
	return oid
}

func (s spec) sample() string {
	switch {
	case s.names[0] == "C" || s.names[0] == "JurisdictionOfIncorporationCountryName":
		return "US"
	case s.tag == 0x13:
		return "AB 12-3"
	case s.tag == 0x16:
		return "a@example.com"
	}
	return "Zoë"
}

func specTable() []spec {
	const utf8, printable, ia5 = 0x0c, 0x13, 0x16
	return []spec{
		{[]string{"CN", "CommonName"}, "2.5.4.3", utf8},
		{[]string{"SN", "SurName"}, "2.5.4.4", utf8},
		{[]string{"SERIALNUMBER", "DeviceSerialNumber"}, "2.5.4.5", printable},
		{[]string{"C", "Country"}, "2.5.4.6", printable},
		{[]string{"L", "Locality"}, "2.5.4.7", utf8},
		{[]string{"ST", "S", "State"}, "2.5.4.8", utf8},
		{[]string{"STREET", "StreetAddress"}, "2.5.4.9", utf8},
		{[]string{"O", "Org", "Organization"}, "2.5.4.10", utf8},
		{[]string{"OU", "OrganizationalUnit", "OrganizationUnit", "OrgUnit"}, "2.5.4.11", utf8},
		{[]string{"T", "Title"}, "2.5.4.12", utf8},
		{[]string{"BUSINESSCATEGORY"}, "2.5.4.15", utf8},
		{[]string{"POSTALCODE"}, "2.5.4.17", utf8},
		{[]string{"dnQualifier"}, "2.5.4.46", printable},
		{[]string{"givenName", "G", "GN"}, "2.5.4.42", utf8},
		{[]string{"I", "Initials"}, "2.5.4.43", utf8},
		{[]string{"ORGANIZATIONIDENTIFIER"}, "2.5.4.97", utf8},
		{[]string{"UID"}, "0.9.2342.19200300.100.1.1", utf8},
		{[]string{"DC", "DomainComponent"}, "0.9.2342.19200300.100.1.25", ia5},
		{[]string{"E", "Email", "emailAddress"}, "1.2.840.113549.1.9.1", ia5},
		{[]string{"unstructuredName"}, "1.2.840.113549.1.9.2", utf8},
		{[]string{"unstructuredAddress"}, "1.2.840.113549.1.9.8", utf8},
		{[]string{"JurisdictionOfIncorporationLocalityName", "jurisdictionL"}, "1.3.6.1.4.1.311.60.2.1.1", utf8},
		{[]string{"JurisdictionOfIncorporationStateOrProvinceName", "jurisdictionST"}, "1.3.6.1.4.1.311.60.2.1.2", utf8},
		{[]string{"JurisdictionOfIncorporationCountryName", "jurisdictionC"}, "1.3.6.1.4.1.311.60.2.1.3", printable},
		{[]string{"TrademarkOfficeName"}, "1.3.6.1.4.1.53087.1.2", utf8},
		{[]string{"TrademarkCountryOrRegionName"}, "1.3.6.1.4.1.53087.1.3", utf8},
		{[]string{"TrademarkRegistration"}, "1.3.6.1.4.1.53087.1.4", utf8},
		{[]string{"LegalEntityIdentifier"}, "1.3.6.1.4.1.53087.1.5", utf8},
		{[]string{"WordMark"}, "1.3.6.1.4.1.53087.1.6", utf8},
		{[]string{"MarkType"}, "1.3.6.1.4.1.53087.1.13", utf8},
		{[]string{"StatuteCountryName"}, "1.3.6.1.4.1.53087.3.2", utf8},
		{[]string{"StatuteStateOrProvinceName"}, "1.3.6.1.4.1.53087.3.3", utf8},
		{[]string{"StatuteLocalityName"}, "1.3.6.1.4.1.53087.3.4", utf8},
		{[]string{"StatuteCitation"}, "1.3.6.1.4.1.53087.3.5", utf8},
		{[]string{"StatuteURL"}, "1.3.6.1.4.1.53087.3.6", utf8},
	}
}

func TestAliases(t *testing.T) {
	for _, s := range specTable() {
		for _, alias := range s.names {
			for _, spelling := range []string{alias, strings.ToLower(alias), strings.ToUpper(alias)} {
				t.Run("ok/"+spelling, func(t *testing.T) {
					oid, ok := dn.Lookup(spelling)
					if !ok || oid.String() != s.dotted {
						t.Fatalf("Lookup(%q) = %v, %v; want %s, true", spelling, oid, ok, s.dotted)
					}
					if got := dn.ShortName(oid); got != s.names[0] {
						t.Errorf("ShortName(%s) = %q, want %q", oid, got, s.names[0])
					}
					seq, err := dn.Parse(spelling + "=" + s.sample())
					if err != nil {
						t.Fatal(err)
					}
					if got := seq[0][0].Type.String(); got != s.dotted {
						t.Errorf("Parse(%s=...) type %s, want %s", spelling, got, s.dotted)
					}
					want := s.names[0] + "=" + s.sample()
					if got := dn.Format(seq); got != want {
						t.Errorf("Format = %q, want %q", got, want)
					}
					// The dotted form names the same type.
					seq2, err := dn.Parse(s.dotted + "=" + s.sample())
					if err != nil {
						t.Fatal(err)
					}
					if got := dn.Format(seq2); got != want {
						t.Errorf("Format(Parse(dotted)) = %q, want %q", got, want)
					}
				})
			}
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "ok/cn", in: "cn", want: "2.5.4.3"},
		{name: "ok/email-mixed-case", in: "EmailAddress", want: "1.2.840.113549.1.9.1"},
		{name: "fail/dotted-oid", in: "2.5.4.3"},
		{name: "fail/unknown", in: "bogus"},
		{name: "fail/empty", in: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oid, ok := dn.Lookup(tc.in)
			if ok != (tc.want != "") || (ok && oid.String() != tc.want) {
				t.Errorf("Lookup(%q) = %v, %v; want %q", tc.in, oid, ok, tc.want)
			}
		})
	}
	t.Run("ok/result-is-a-copy", func(t *testing.T) {
		oid, _ := dn.Lookup("CN")
		oid[3] = 99
		again, _ := dn.Lookup("CN")
		if again.String() != "2.5.4.3" {
			t.Errorf("changing a Lookup result changed the table: %s", again)
		}
	})
}

func TestShortName(t *testing.T) {
	tests := []struct {
		name string
		oid  asn1.ObjectIdentifier
		want string
	}{
		{name: "ok/known", oid: asn1.ObjectIdentifier{2, 5, 4, 10}, want: "O"},
		{name: "ok/first-alias", oid: asn1.ObjectIdentifier{2, 5, 4, 8}, want: "ST"},
		{name: "ok/unknown-is-dotted", oid: asn1.ObjectIdentifier{1, 2, 3, 4}, want: "1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dn.ShortName(tc.oid); got != tc.want {
				t.Errorf("ShortName(%s) = %q, want %q", tc.oid, got, tc.want)
			}
		})
	}
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
)

func raw(tag int, content string) asn1.RawValue {
	return asn1.RawValue{Tag: tag, Bytes: []byte(content)}
}

func rdn(atvs ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET {
	return atvs
}

func atv(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name     string
		seq      pkix.RDNSequence
		want     string // Format
		wantText string // FormatText; "" means same as want
	}{
		{name: "ok/empty", seq: nil, want: ""},
		{name: "ok/order-reversed",
			seq:  pkix.RDNSequence{rdn(atv(oidC, raw(19, "US"))), rdn(atv(oidO, raw(12, "Acme"))), rdn(atv(oidCN, raw(12, "Example")))},
			want: "CN=Example,O=Acme,C=US"},
		{name: "ok/multi-valued",
			seq:  pkix.RDNSequence{rdn(atv(oidC, raw(19, "US"))), rdn(atv(oidO, raw(12, "Acme")), atv(oidCN, raw(12, "x")))},
			want: "O=Acme+CN=x,C=US"},
		{name: "ok/go-strings-from-pkix-name",
			seq:      pkix.Name{CommonName: "Example", Organization: []string{"Acme"}, Country: []string{"US"}}.ToRDNSequence(),
			want:     "CN=#13074578616d706c65,O=#130441636d65,C=US",
			wantText: "CN=Example,O=Acme,C=US"},
		{name: "ok/go-string-utf8",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, "Lučić"))},
			want: "CN=Lučić"},
		{name: "ok/escaping",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(12, ` #a,b+c;d<e>f"g\h=i `)))},
			want: `CN=\ #a\,b\+c\;d\<e\>f\"g\\h=i\ `},
		{name: "ok/leading-hash",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(12, "#ab")))},
			want: `CN=\#ab`},
		{name: "ok/control-characters",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(12, "a\r\nb\x7f")))},
			want: `CN=a\0d\0ab\7f`},
		{name: "ok/single-space",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(12, " ")))},
			want: `CN=\ `},
		{name: "ok/unknown-type-is-hex",
			seq:      pkix.RDNSequence{rdn(atv(asn1.ObjectIdentifier{1, 2, 3, 4}, raw(12, "x")))},
			want:     "1.2.3.4=#0c0178",
			wantText: "1.2.3.4=x"},
		{name: "ok/unknown-type-octet-string",
			seq:  pkix.RDNSequence{rdn(atv(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1466, 0}, []byte("Hi")))},
			want: "1.3.6.1.4.1.1466.0=#04024869"},
		{name: "ok/known-type-non-string",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, 5))},
			want: "CN=#020105"},
		{name: "ok/printable-cn-is-hex",
			seq:      pkix.RDNSequence{rdn(atv(oidCN, raw(19, "A")))},
			want:     "CN=#130141",
			wantText: "CN=A"},
		{name: "ok/bmp-cn",
			seq:      pkix.RDNSequence{rdn(atv(oidCN, raw(30, "\x00A\x01\x0d")))},
			want:     "CN=#1e040041010d",
			wantText: "CN=Ač"},
		{name: "ok/bmp-surrogate-pair",
			seq:      pkix.RDNSequence{rdn(atv(oidCN, raw(30, "\xd8\x3d\xde\x00")))},
			want:     "CN=#1e04d83dde00",
			wantText: "CN=😀"},
		{name: "ok/bmp-lone-surrogate-is-hex",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(30, "\xd8\x3d")))},
			want: "CN=#1e02d83d"},
		{name: "ok/t61-as-latin1",
			seq:      pkix.RDNSequence{rdn(atv(oidO, raw(20, "\xe9")))},
			want:     "O=#1401e9",
			wantText: "O=é"},
		{name: "ok/universal-string",
			seq:      pkix.RDNSequence{rdn(atv(oidO, raw(28, "\x00\x00\x00A")))},
			want:     "O=#1c0400000041",
			wantText: "O=A"},
		{name: "ok/invalid-utf8-is-hex",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, raw(12, "a\xff")))},
			want: "CN=#0c0261ff"},
		{name: "ok/over-long-cn-is-hex",
			seq:      pkix.RDNSequence{rdn(atv(oidCN, raw(12, strings.Repeat("a", 65))))},
			want:     "CN=#0c41" + strings.Repeat("61", 65),
			wantText: "CN=" + strings.Repeat("a", 65)},
		{name: "ok/lower-case-country-is-hex",
			seq:      pkix.RDNSequence{rdn(atv(oidC, raw(19, "us")))},
			want:     "C=#13027573",
			wantText: "C=us"},
		{name: "ok/unmarshalable-value",
			seq:  pkix.RDNSequence{rdn(atv(oidCN, "a\xff<"))},
			want: `CN=a\ff\<`},
		{name: "ok/empty-rdn-skipped",
			seq:  pkix.RDNSequence{rdn(atv(oidC, raw(19, "US"))), rdn(), rdn(atv(oidCN, raw(12, "x")))},
			want: "CN=x,C=US"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dn.Format(tc.seq); got != tc.want {
				t.Errorf("Format = %q, want %q", got, tc.want)
			}
			wantText := tc.wantText
			if wantText == "" {
				wantText = tc.want
			}
			if got := dn.FormatText(tc.seq); got != wantText {
				t.Errorf("FormatText = %q, want %q", got, wantText)
			}
		})
	}
}

// TestFormatReversible checks that Format of any marshalable sequence
// parses back to the same DER when Parse accepts it at all.
func TestFormatReversible(t *testing.T) {
	seqs := []pkix.RDNSequence{
		pkix.Name{CommonName: "Example", Organization: []string{"Acme"}, Country: []string{"US"}}.ToRDNSequence(),
		{rdn(atv(oidCN, raw(30, "\x00A")), atv(oidO, raw(20, "\xe9")))},
		{rdn(atv(asn1.ObjectIdentifier{1, 2, 3}, 42))},
		{rdn(atv(oidCN, raw(12, ` #a,b+c;d<e>f"g\h=i `)))},
	}
	for i, seq := range seqs {
		t.Run(fmt.Sprintf("ok/%d", i), func(t *testing.T) {
			s := dn.Format(seq)
			back, err := dn.Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			assertSameDER(t, seq, back)
		})
	}
}

func assertSameDER(t *testing.T, want, got pkix.RDNSequence) {
	t.Helper()
	w, err := asn1.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := asn1.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("DER differs\n got %x\nwant %x", g, w)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // Format(Parse(in))
	}{
		{name: "ok/canonical", in: "CN=Example,O=Acme,C=US", want: "CN=Example,O=Acme,C=US"},
		{name: "ok/aliases-and-spaces", in: " commonName = Example , organization = Acme , country = US ", want: "CN=Example,O=Acme,C=US"},
		{name: "ok/rfc4514-escaped-quotes-comma", in: `CN=James \"Jim\" Smith\, III,DC=example,DC=net`, want: `CN=James \"Jim\" Smith\, III,DC=example,DC=net`},
		{name: "ok/rfc4514-escaped-cr", in: `CN=Before\0dAfter,DC=example,DC=net`, want: `CN=Before\0dAfter,DC=example,DC=net`},
		{name: "ok/rfc4514-hex", in: "1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com", want: "1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com"},
		{name: "ok/rfc4514-utf8", in: `CN=Lu\C4\8Di\C4\87`, want: "CN=Lučić"},
		{name: "ok/rfc4514-multi-valued", in: "OU=Sales+CN=J.  Smith,DC=example,DC=net", want: "OU=Sales+CN=J.  Smith,DC=example,DC=net"},
		{name: "ok/quoted-becomes-escaped", in: `CN="a, b",O=x`, want: `CN=a\, b,O=x`},
		{name: "ok/spaces-escaped", in: `CN=\ a \ `, want: `CN=\ a \ `},
		{name: "ok/hash", in: `CN=\#x`, want: `CN=\#x`},
		{name: "ok/known-dotted", in: "2.5.4.3=x", want: "CN=x"},
		{name: "ok/unknown-dotted-text", in: "1.2.3.4=x", want: "1.2.3.4=#0c0178"},
		{name: "ok/printable-cn-stays-hex", in: "CN=#130141", want: "CN=#130141"},
		{name: "ok/utf8-cn-hex-becomes-text", in: "CN=#0c0141", want: "CN=A"},
		{name: "ok/control-char", in: "CN=a\tb", want: `CN=a\09b`},
		{name: "ok/ev", in: "CN=www.example.com,O=Acme\\, Inc.,C=US,SERIALNUMBER=1234,BUSINESSCATEGORY=Private Organization,jurisdictionC=US",
			want: "CN=www.example.com,O=Acme\\, Inc.,C=US,SERIALNUMBER=1234,BUSINESSCATEGORY=Private Organization,JurisdictionOfIncorporationCountryName=US"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq, err := dn.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := dn.Format(seq)
			if got != tc.want {
				t.Errorf("Format(Parse(%q)) = %q, want %q", tc.in, got, tc.want)
			}
			back, err := dn.Parse(got)
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			assertSameDER(t, seq, back)
			if again := dn.Format(back); again != got {
				t.Errorf("second Format = %q, want %q", again, got)
			}
			der, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			fromDER, err := dn.FormatDER(der)
			if err != nil {
				t.Fatal(err)
			}
			if fromDER != got {
				t.Errorf("FormatDER = %q, want %q", fromDER, got)
			}
		})
	}
	// Every successful parse case round-trips too.
	for _, tc := range parseCases() {
		if tc.err != "" {
			continue
		}
		t.Run("ok/parse-case/"+strings.TrimPrefix(tc.name, "ok/"), func(t *testing.T) {
			seq, err := dn.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			back, err := dn.Parse(dn.Format(seq))
			if err != nil {
				t.Fatalf("Parse(Format): %v", err)
			}
			assertSameDER(t, seq, back)
		})
	}
}

// TestOpenSSLGolden compares Parse against the subjects OpenSSL builds;
// see testdata/README.md.
func TestOpenSSLGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "openssl_subjects.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			t.Fatalf("bad golden line %q", line)
		}
		n++
		in, subj, want := fields[0], fields[1], fields[3]
		t.Run("ok/"+subj, func(t *testing.T) {
			seq, err := dn.Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			der, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(der); got != want {
				t.Errorf("asn1.Marshal(Parse(%q))\n got %s\nwant %s (openssl -subj %q)", in, got, want, subj)
			}
			wantDER, err := hex.DecodeString(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dn.FormatDER(wantDER)
			if err != nil {
				t.Fatal(err)
			}
			if got != in {
				t.Errorf("FormatDER = %q, want %q", got, in)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no golden cases")
	}
}

func TestFormatDER(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    string
		wantErr bool
	}{
		{name: "ok/empty-name", hex: "3000", want: ""},
		{name: "ok/simple", hex: "300c310a300806035504030c0178", want: "CN=x"},
		{name: "ok/unknown-tag-kept", hex: "300c310a30080603550403c10178", want: "CN=#c10178"},
		{name: "fail/garbage", hex: "deadbeef", wantErr: true},
		{name: "fail/empty-input", hex: "", wantErr: true},
		{name: "fail/trailing-data", hex: "300000", wantErr: true},
		{name: "fail/rdn-not-set", hex: "300c300a300806035504030c0178", wantErr: true},
		{name: "fail/truncated", hex: "300c310a300806035504030c01", wantErr: true},
		{name: "fail/missing-value", hex: "3009310730050603550403", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dn.FormatDER(der)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("FormatDER(%s) = %q, want error", tc.hex, got)
				}
				if !strings.HasPrefix(err.Error(), "dn: ") {
					t.Errorf("error %q lacks the \"dn: \" prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("FormatDER = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	seq, err := dn.Parse(`CN=a\, b+OU=Eng,1.2.3=#04024869,O=Acme,C=US`)
	if err != nil {
		t.Fatal(err)
	}
	want := []dn.Attribute{
		{Name: "CN", OID: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "a, b"},
		{Name: "OU", OID: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "Eng"},
		{Name: "1.2.3", OID: asn1.ObjectIdentifier{1, 2, 3}, Value: "#04024869"},
		{Name: "O", OID: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Acme"},
		{Name: "C", OID: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"},
	}
	got := dn.Names(seq)
	if len(got) != len(want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || !got[i].OID.Equal(want[i].OID) || got[i].Value != want[i].Value {
			t.Errorf("Names[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].OID[0] = 9
	if seq[len(seq)-1][0].Type.String() != "2.5.4.3" {
		t.Error("changing a Names OID changed the sequence")
	}
	if dn.Names(nil) != nil {
		t.Error("Names(nil) is not nil")
	}
}

func TestParseResultIsIndependent(t *testing.T) {
	seq, err := dn.Parse("CN=x")
	if err != nil {
		t.Fatal(err)
	}
	seq[0][0].Type[3] = 10
	if oid, _ := dn.Lookup("CN"); oid.String() != "2.5.4.3" {
		t.Errorf("changing a parsed OID changed the table: %s", oid)
	}
	if got := dn.ShortName(asn1.ObjectIdentifier{2, 5, 4, 3}); got != "CN" {
		t.Errorf("ShortName(2.5.4.3) = %q after changing a parsed OID", got)
	}
}

// TestCertificate formats the subjects of certificates and CSRs built by
// crypto/x509.
func TestCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	newCert := func(t *testing.T, tmpl *x509.Certificate) *x509.Certificate {
		t.Helper()
		tmpl.SerialNumber = big.NewInt(1)
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}

	t.Run("ok/raw-subject-from-parse", func(t *testing.T) {
		const subject = `CN=Lučić+UID=lu,OU=Eng,O=Acme\, Inc.,C=US,DC=example,DC=com`
		seq, err := dn.Parse(subject)
		if err != nil {
			t.Fatal(err)
		}
		rawSubject, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatal(err)
		}
		cert := newCert(t, &x509.Certificate{RawSubject: rawSubject})
		for _, raw := range [][]byte{cert.RawSubject, cert.RawIssuer} {
			got, err := dn.FormatDER(raw)
			if err != nil {
				t.Fatal(err)
			}
			// The SET of the first RDN is in DER order, CN before UID.
			if got != subject {
				t.Errorf("FormatDER = %q, want %q", got, subject)
			}
		}
		if cert.Subject.CommonName != "Lučić" || cert.Subject.Organization[0] != "Acme, Inc." {
			t.Errorf("crypto/x509 reads subject as %v", cert.Subject)
		}
	})

	t.Run("ok/subject-from-pkix-name", func(t *testing.T) {
		cert := newCert(t, &x509.Certificate{Subject: pkix.Name{
			CommonName:   "Example",
			Organization: []string{"Acme"},
			Country:      []string{"US"},
		}})
		got, err := dn.FormatDER(cert.RawSubject)
		if err != nil {
			t.Fatal(err)
		}
		// crypto/x509 writes printable strings as PrintableString, which
		// Parse would not produce for CN or O: Format keeps them exact.
		if want := "CN=#13074578616d706c65,O=#130441636d65,C=US"; got != want {
			t.Errorf("FormatDER = %q, want %q", got, want)
		}
		seq, err := dn.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, cert.RawSubject) {
			t.Errorf("Parse(FormatDER(raw)) marshals to %x, want %x", der, cert.RawSubject)
		}
		var rdns pkix.RDNSequence
		if _, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil {
			t.Fatal(err)
		}
		if got, want := dn.FormatText(rdns), "CN=Example,O=Acme,C=US"; got != want {
			t.Errorf("FormatText = %q, want %q", got, want)
		}
	})

	t.Run("ok/csr", func(t *testing.T) {
		seq, err := dn.Parse("CN=Example,O=Acme,C=US")
		if err != nil {
			t.Fatal(err)
		}
		rawSubject, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatal(err)
		}
		csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: rawSubject}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(csrDER)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dn.FormatDER(csr.RawSubject)
		if err != nil {
			t.Fatal(err)
		}
		if want := "CN=Example,O=Acme,C=US"; got != want {
			t.Errorf("FormatDER = %q, want %q", got, want)
		}
	})
}
