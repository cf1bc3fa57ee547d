package ocspwire

import (
	"encoding/asn1"
	"testing"
)

func TestOIDConstants(t *testing.T) {
	for name, tc := range map[string]struct {
		got  string
		want asn1.ObjectIdentifier
	}{
		"id-pkix-ocsp-basic": {oidOCSPBasic, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}},
		"id-pkix-ocsp-nonce": {oidOCSPNonce, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}},
		"sha1":               {oidSHA1, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}},
		"sha256":             {oidSHA256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
		"sha384":             {oidSHA384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}},
		"sha512":             {oidSHA512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}},
		"sha256WithRSA":      {oidSHA256WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}},
		"sha384WithRSA":      {oidSHA384WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}},
		"sha512WithRSA":      {oidSHA512WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}},
		"id-RSASSA-PSS":      {oidRSASSAPSS, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}},
		"id-mgf1":            {oidMGF1, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}},
		"ecdsa-with-SHA256":  {oidECDSAWithSHA256, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		"ecdsa-with-SHA384":  {oidECDSAWithSHA384, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}},
		"ecdsa-with-SHA512":  {oidECDSAWithSHA512, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}},
	} {
		der, err := asn1.Marshal(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if string(der[2:]) != tc.got {
			t.Errorf("%s: constant %x, want %x (%v)", name, tc.got, der[2:], tc.want)
		}
		if !validOID([]byte(tc.got)) {
			t.Errorf("%s: validOID = false", name)
		}
		if s := oidString([]byte(tc.got)); s != tc.want.String() {
			t.Errorf("%s: oidString = %q, want %q", name, s, tc.want.String())
		}
	}
}

func TestValidOID(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"ok/one-octet", []byte{0x2a}, true},
		{"ok/multi-octet-arc", []byte{0x2a, 0x86, 0x48}, true},
		{"fail/empty", nil, false},
		{"fail/unterminated", []byte{0x2a, 0x86}, false},
		{"fail/leading-0x80", []byte{0x2a, 0x80, 0x01}, false},
		{"fail/leading-0x80-first", []byte{0x80, 0x01}, false},
	} {
		if got := validOID(tc.in); got != tc.want {
			t.Errorf("%s: validOID(%x) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
	if got := oidString([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}); got != "OID ffffffffffffffffffff7f" {
		t.Errorf("oidString of a huge arc = %q", got)
	}
}
