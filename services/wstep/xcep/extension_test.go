package xcep

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// goExtensions returns the extension values crypto/x509 writes for tmpl,
// an independent encoder to compare ours with.
func goExtensions(t *testing.T, tmpl *x509.Certificate) map[string][]byte {
	t.Helper()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tmpl.SerialNumber = big.NewInt(1)
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range cert.Extensions {
		out[e.Id.String()] = e.Value
	}
	return out
}

func TestKeyUsageExtension(t *testing.T) {
	tests := map[string]x509.KeyUsage{
		"ok/signature":          x509.KeyUsageDigitalSignature,
		"ok/signature-keyenc":   x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		"ok/ca":                 x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		"ok/decipher-only":      x509.KeyUsageKeyAgreement | x509.KeyUsageDecipherOnly,
		"ok/all-nine":           1<<9 - 1,
		"ok/encipher-only-last": x509.KeyUsageEncipherOnly,
	}
	for name, ku := range tests {
		t.Run(name, func(t *testing.T) {
			got := KeyUsageExtension(ku)
			if got.err != nil || got.OID != oidKeyUsage || !got.Critical {
				t.Fatalf("got %+v, want a critical key usage extension", got)
			}
			want := goExtensions(t, &x509.Certificate{KeyUsage: ku})[oidKeyUsage]
			if !bytes.Equal(got.Value, want) {
				t.Errorf("got %x, want %x (crypto/x509)", got.Value, want)
			}
		})
	}
	// [MS-XCEP] §4.1.1.2 sends this value for an EFS template.
	spec := KeyUsageExtension(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment)
	if got := base64.StdEncoding.EncodeToString(spec.Value); got != "AwIFoA==" {
		t.Errorf("got %s, want AwIFoA==", got)
	}
	if got := KeyUsageExtension(0).Value; !bytes.Equal(got, []byte{0x03, 0x01, 0x00}) {
		t.Errorf("empty key usage: got %x, want 030100", got)
	}
}

func TestEKUExtension(t *testing.T) {
	oids := []asn1.ObjectIdentifier{oidServerAuth, oidClientAuth}
	got := EKUExtension(oids)
	if got.err != nil || got.OID != oidExtKeyUsage || got.Critical {
		t.Fatalf("got %+v, want a non-critical EKU extension", got)
	}
	want := goExtensions(t, &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})[oidExtKeyUsage]
	if !bytes.Equal(got.Value, want) {
		t.Errorf("got %x, want %x (crypto/x509)", got.Value, want)
	}
	if bad := EKUExtension([]asn1.ObjectIdentifier{{7}}); bad.err == nil {
		t.Error("an OID with one arc must fail")
	}
}

func TestApplicationPoliciesExtension(t *testing.T) {
	oids := []asn1.ObjectIdentifier{oidClientAuth, oidEmailProtection}
	got := ApplicationPoliciesExtension(oids)
	if got.err != nil || got.OID != oidApplicationPolicy || got.Critical {
		t.Fatalf("got %+v, want a non-critical application policies extension", got)
	}
	// Same syntax as certificate policies: crypto/x509 writes that one.
	var policies []x509.OID
	for _, o := range oids {
		p, err := x509.OIDFromInts(toUint64s(o))
		if err != nil {
			t.Fatal(err)
		}
		policies = append(policies, p)
	}
	want := goExtensions(t, &x509.Certificate{Policies: policies})[oidCertificatePolicy]
	if !bytes.Equal(got.Value, want) {
		t.Errorf("got %x, want %x (crypto/x509 certificate policies)", got.Value, want)
	}
	if ApplicationPoliciesExtension(nil).err == nil {
		t.Error("no OIDs must fail")
	}
}

func toUint64s(o asn1.ObjectIdentifier) []uint64 {
	out := make([]uint64, len(o))
	for i, v := range o {
		out[i] = uint64(v)
	}
	return out
}

func TestTemplateInfoExtension(t *testing.T) {
	got := TemplateInfoExtension(userTemplateOID, 100, 3)
	if got.err != nil || got.OID != oidTemplateInfo || got.Critical {
		t.Fatalf("got %+v, want a non-critical template information extension", got)
	}
	var decoded struct {
		ID           asn1.ObjectIdentifier
		Major, Minor int
	}
	rest, err := asn1.Unmarshal(got.Value, &decoded)
	if err != nil || len(rest) != 0 {
		t.Fatalf("value does not decode: %v (%d bytes left)", err, len(rest))
	}
	if decoded.ID.String() != userTemplateOID || decoded.Major != 100 || decoded.Minor != 3 {
		t.Errorf("got %v %d.%d, want %s 100.3", decoded.ID, decoded.Major, decoded.Minor, userTemplateOID)
	}
	for name, ext := range map[string]Extension{
		"fail/bad-oid":        TemplateInfoExtension("1.3.6.1.4.1.311.21.8.", 1, 0),
		"fail/negative-major": TemplateInfoExtension(userTemplateOID, -1, 0),
		"fail/negative-minor": TemplateInfoExtension(userTemplateOID, 1, -1),
	} {
		if ext.err == nil || !strings.HasPrefix(ext.err.Error(), "xcep: ") || ext.Value != nil {
			t.Errorf("%s: got %+v, want an error and no value", name, ext)
		}
	}
}

func TestParseOID(t *testing.T) {
	tests := map[string]struct {
		in   string
		want asn1.ObjectIdentifier
	}{
		"ok/two-arcs":            {"2.5", asn1.ObjectIdentifier{2, 5}},
		"ok/template":            {userTemplateOID, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 8, 1111, 2222, 3333, 4444, 5555, 66, 1, 7}},
		"ok/zero-arc":            {"0.0", asn1.ObjectIdentifier{0, 0}},
		"ok/joint-iso-large":     {"2.999.1", asn1.ObjectIdentifier{2, 999, 1}},
		"fail/empty":             {"", nil},
		"fail/one-arc":           {"1", nil},
		"fail/trailing-dot":      {"1.2.", nil},
		"fail/leading-zero":      {"1.02", nil},
		"fail/sign":              {"1.+2", nil},
		"fail/space":             {"1. 2", nil},
		"fail/first-arc-3":       {"3.1", nil},
		"fail/second-arc-40":     {"1.40", nil},
		"fail/arc-over-31-bits":  {"1.2.2147483648", nil},
		"fail/letters":           {"1.2.a", nil},
		"fail/non-ascii-digit":   {"1.٢", nil},
		"fail/huge-arc-overflow": {"2.99999999999999999999999", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseOID(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Errorf("got %v, want an error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
