package profile

import (
	"crypto/x509"
	"gopkg.in/yaml.v3"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/keys"
)

func mustSet(t *testing.T, docs ...*Document) *Set {
	t.Helper()
	s, err := NewSet(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCatalogueHasTheSeedGroups(t *testing.T) {
	s := mustSet(t)
	for _, id := range []string{
		"basic-ca-root", "basic-ca-intermediate", "basic-ca-subord",
		"privatessl-tls-server", "privatessl-tls-server-supply-san", "privatessl-tls-client-server", "privatessl-tls-client-server-supply-san",
		"acme-tls-server", "scep-client-auth", "intune-digital-signature",
		"mdmws-digital-signature", "mdmws-digital-signature-key-encipherment", "mdmws-digital-signature-key-encipherment-clientauth",
		"mdmws-key-encipherment", "mdmws-non-repudiation", "mdmws-p12-digital-signature", "mdmws-p12-digital-signature-key-encipherment",
		"mdmws-p12-digital-signature-key-encipherment-clientauth", "mdmws-p12-key-encipherment", "mdmws-p12-non-repudiation",
		"wstep-digital-signature", "wstep-digital-signature-key-encipherment", "wstep-key-encipherment", "wstep-non-repudiation",
		"wstep-non-repudiation-key-encipherment", "smime-email-protection", "multiuse-p12-key-encipherment-client-server",
	} {
		p, ok := s.Get(id)
		if !ok {
			t.Errorf("built-in profile %s is missing", id)
			continue
		}
		if !p.BuiltIn || p.ClonedFrom != "" {
			t.Errorf("%s: built_in=%v cloned_from=%q", id, p.BuiltIn, p.ClonedFrom)
		}
	}
}

func TestWSTEPKeyUsageVariants(t *testing.T) {
	s := mustSet(t)
	for id, want := range map[string]x509.KeyUsage{
		"wstep-digital-signature":                  x509.KeyUsageDigitalSignature,
		"wstep-digital-signature-key-encipherment": x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		"wstep-key-encipherment":                   x509.KeyUsageKeyEncipherment,
		"wstep-non-repudiation":                    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		"wstep-non-repudiation-key-encipherment":   x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment,
	} {
		p, _ := s.Get(id)
		if p.KeyUsage != want {
			t.Errorf("%s: key usage %v, want %v", id, KeyUsageNames(p.KeyUsage), KeyUsageNames(want))
		}
		if len(p.ExtKeyUsage) != 0 || len(p.Extensions.Allowed) != 7 {
			t.Errorf("%s: EKUs %v, %d allowed extensions; want none and the 7 template extensions", id, p.ExtKeyUsage, len(p.Extensions.Allowed))
		}
	}
}

func TestSupplySANVariantsCopyCN(t *testing.T) {
	s := mustSet(t)
	for _, id := range []string{"privatessl-tls-server-supply-san", "privatessl-tls-client-server-supply-san"} {
		p, _ := s.Get(id)
		if !p.SAN.FromCN || p.Group != "privatessl" {
			t.Errorf("%s: from_cn=%v group=%s", id, p.SAN.FromCN, p.Group)
		}
	}
	base, _ := s.Get("privatessl-tls-server")
	if base.SAN.FromCN {
		t.Error("privatessl-tls-server copies CNs")
	}
}

func TestCustomProfiles(t *testing.T) {
	for name, tc := range map[string]struct {
		src   string
		check func(t *testing.T, p *Profile)
		err   string
	}{
		"ok/yaml-clone": {
			src: "id: acme-7d\nclone_from: acme-tls-server\ndefault_validity: P7D\nmax_validity: P7D\nkey_types: [p256]\n",
			check: func(t *testing.T, p *Profile) {
				if p.ClonedFrom != "acme-tls-server" || p.Group != "acme" || p.BuiltIn {
					t.Errorf("got cloned_from=%q group=%q built_in=%v", p.ClonedFrom, p.Group, p.BuiltIn)
				}
				if !slices.Equal(p.KeyTypes, []keys.Type{keys.P256}) || p.MaxValidity.String() != "P7D" {
					t.Errorf("overrides not applied: %v %s", p.KeyTypes, p.MaxValidity)
				}
				if p.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
					t.Errorf("base key usage lost: %v", KeyUsageNames(p.KeyUsage))
				}
			},
		},
		"ok/json-with-seed-keys": {
			src: `{"id": "wstep-custom", "clone_from": "wstep-digital-signature", "validity_period": "P2Y",
			       "usages": ["digitalSignature", "1.3.6.1.5.5.7.3.2"], "ignore_unknown_extensions": false,
			       "allowed_extensions": ["2.5.29.32"]}`,
			check: func(t *testing.T, p *Profile) {
				if p.DefaultValidity.String() != "P2Y" || p.MaxValidity.String() != "P2Y" {
					t.Errorf("validity %s/%s", p.DefaultValidity, p.MaxValidity)
				}
				if len(p.ExtKeyUsage) != 1 || p.ExtKeyUsage[0].String() != "1.3.6.1.5.5.7.3.2" || !p.Extensions.RejectUnknown {
					t.Errorf("usages/extension rules: %v %v", p.ExtKeyUsage, p.Extensions)
				}
			},
		},
		"fail/clone-authority":     {src: "id: my-ca\nclone_from: basic-ca-root\n", err: "cannot be cloned"},
		"fail/unknown-base":        {src: "id: x-profile\nclone_from: nope\n", err: "not a known profile"},
		"fail/unknown-key":         {src: "id: x-profile\nclone_from: acme-tls-server\nvaliditty: P1D\n", err: "not found"},
		"fail/default-above-max":   {src: "id: x-profile\nclone_from: acme-tls-server\ndefault_validity: P2Y\n", err: "exceeds max_validity"},
		"fail/bad-duration":        {src: "id: x-profile\nclone_from: acme-tls-server\nmax_validity: 1 year\n", err: "ISO 8601"},
		"fail/bad-id":              {src: "id: Bad_ID\nclone_from: acme-tls-server\n", err: "2-64 characters"},
		"fail/ca-bit-on-leaf":      {src: "id: x-profile\nclone_from: acme-tls-server\nkey_usages: [keyCertSign]\n", err: "keyCertSign"},
		"fail/unknown-eku":         {src: "id: x-profile\nclone_from: acme-tls-server\nextended_key_usages: [superAuth]\n", err: "extended key usage"},
		"fail/change-group":        {src: "id: x-profile\nclone_from: acme-tls-server\ngroup: wstep\n", err: "keeps its base's group"},
		"fail/unknown-attribute":   {src: "id: x-profile\nclone_from: acme-tls-server\nsubject: {required: [XYZ]}\n", err: "unknown subject attribute"},
		"fail/from-cn-without-dns": {src: "id: x-profile\nclone_from: smime-email-protection\nsan: {from_cn: true}\n", err: "needs the dns SAN type"},
	} {
		t.Run(name, func(t *testing.T) {
			s := mustSet(t)
			var p *Profile
			docs, err := ParseDocuments([]byte(tc.src))
			if err == nil {
				p, err = Build(docs[0], s.Get)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
			// The stored form rebuilds to the same profile without its base.
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseStored("t1", b)
			if err != nil {
				t.Fatalf("stored document does not rebuild: %v\n%s", err, b)
			}
			if again.ClonedFrom != p.ClonedFrom || again.Tenant != "t1" {
				t.Errorf("stored origin: cloned_from %q tenant %q", again.ClonedFrom, again.Tenant)
			}
			again.Tenant = p.Tenant
			if a, b := again.ToDocument(), p.ToDocument(); !docsEqual(t, a, b) {
				t.Errorf("round trip changed the profile")
			}
		})
	}
}

func docsEqual(t *testing.T, a, b *Document) bool {
	t.Helper()
	ma, err1 := marshalDoc(a)
	mb, err2 := marshalDoc(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if ma != mb {
		t.Logf("a:\n%s\nb:\n%s", ma, mb)
	}
	return ma == mb
}

func TestConfiguredProfilesMayCloneEachOther(t *testing.T) {
	docs, err := ParseDocuments([]byte("id: corp-tls\nclone_from: privatessl-tls-server\nmax_validity: P398D\n---\nid: corp-tls-short\nclone_from: corp-tls\nmax_validity: P30D\ndefault_validity: P30D\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := mustSet(t, docs...)
	p, ok := s.Get("corp-tls-short")
	if !ok || p.ClonedFrom != "privatessl-tls-server" || p.MaxValidity.String() != "P30D" {
		t.Fatalf("got %+v", p)
	}
	if _, err := NewSet(docs[0], docs[0]); err == nil {
		t.Fatal("a profile defined twice was accepted")
	}
}

func TestDuration(t *testing.T) {
	ref := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"P1Y":      ref.AddDate(1, 0, 0),
		"P1M":      ref.AddDate(0, 1, 0),
		"P2W":      ref.AddDate(0, 0, 14),
		"P90D":     ref.AddDate(0, 0, 90),
		"PT12H":    ref.Add(12 * time.Hour),
		"P1DT1M1S": ref.AddDate(0, 0, 1).Add(time.Minute + time.Second),
	} {
		d, err := ParseDuration(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := d.AddTo(ref); !got.Equal(want) {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
		if again, err := ParseDuration(d.String()); err != nil || again != d {
			t.Errorf("%s: String() = %s does not round-trip", in, d)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1Y", "P1", "PY", "P1Y1Y", "P1.5Y", "P-1D", "P1X", "PT1D", "P99999999999Y", "P1YT"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseDocuments(f *testing.F) {
	f.Add([]byte("id: acme-7d\nclone_from: acme-tls-server\ndefault_validity: P7D\nmax_validity: P7D\n"))
	f.Add([]byte(`{"id":"w","clone_from":"wstep-digital-signature","usages":["digitalSignature"]}`))
	f.Add(catalogYAML)
	s, err := NewSet()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := ParseDocuments(b)
		if err != nil {
			return
		}
		for _, d := range docs {
			p, err := Build(d, s.Get)
			if err != nil {
				continue
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Build returned an invalid profile: %v", err)
			}
		}
	})
}

func marshalDoc(d *Document) (string, error) {
	b, err := yaml.Marshal(d)
	return string(b), err
}
