package digitalid

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tmpl := Template{ParentDN: "OU=Devices,O=Example", RDNFormat: "CN=<igusername> <devicetype> SampleStaticText",
		SANFormats: []string{"dns:<serial>.devices.example.com", "email:<igusername>@example.com"}}
	if got := strings.Join(tmpl.Variables(), ","); got != "igusername,devicetype,serial" {
		t.Fatalf("variables %s", got)
	}
	if err := tmpl.Validate(); err != nil {
		t.Fatal(err)
	}
	subject, sans, err := tmpl.Render(map[string]string{"igusername": "alice", "devicetype": "iPad", "serial": "C02X1"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "CN=alice iPad SampleStaticText,OU=Devices,O=Example" {
		t.Fatalf("subject %q", subject)
	}
	if len(sans) != 2 || sans[0] != [2]string{"dns", "C02X1.devices.example.com"} || sans[1] != [2]string{"email", "alice@example.com"} {
		t.Fatalf("sans %v", sans)
	}
	// A variable cannot smuggle in RDNs.
	subject, _, err = tmpl.Render(map[string]string{"igusername": "x,CN=admin+O=evil", "devicetype": "#1", "serial": "s"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != `CN=x\,CN=admin\+O=evil #1 SampleStaticText,OU=Devices,O=Example` {
		t.Fatalf("escaped subject %q", subject)
	}
	// Missing variables are named.
	_, _, err = tmpl.Render(map[string]string{"igusername": "alice"})
	if err == nil || !strings.Contains(err.Error(), "devicetype, serial") {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	for name, tmpl := range map[string]Template{
		"no rdn format":  {ParentDN: "O=x"},
		"bad parent":     {RDNFormat: "CN=<a>", ParentDN: "not a dn"},
		"bad san type":   {RDNFormat: "CN=<a>", SANFormats: []string{"dn:<a>"}},
		"bad rdn format": {RDNFormat: "<a>"},
	} {
		if err := tmpl.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// <csr.*> placeholders wait for the device's CSR; the MDM's variables are
// filled in, and refused when missing, at challenge time.
func TestPartialAndCSRValues(t *testing.T) {
	tmpl := Template{ParentDN: "OU=MaaS360,O=Example", RDNFormat: "CN=<csr.cn> <group>", SANFormats: []string{"dns:<csr.dns>"}}
	if err := tmpl.Validate(); err != nil || !tmpl.Deferred() {
		t.Fatalf("valid deferred template: %v %v", err, tmpl.Deferred())
	}
	if err := (Template{RDNFormat: "CN=<csr.nope>"}).Validate(); err == nil {
		t.Fatal("an unknown CSR field passed")
	}
	if _, err := tmpl.Partial(map[string]string{}); err == nil || !strings.Contains(err.Error(), "group") || strings.Contains(err.Error(), "csr") {
		t.Fatalf("missing MDM variable: %v", err)
	}
	part, err := tmpl.Partial(map[string]string{"group": "a,b"})
	if err != nil {
		t.Fatal(err)
	}
	if part.RDNFormat != `CN=<csr.cn> a\,b` || part.SANFormats[0] != "dns:<csr.dns>" {
		t.Fatalf("partial %+v", part)
	}
	csr := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "udid-1234"}, DNSNames: []string{"dev1.example.com"}}
	subject, sans, err := part.Render(CSRValues(csr, nil))
	if err != nil || subject != `CN=udid-1234 a\,b,OU=MaaS360,O=Example` || sans[0] != [2]string{"dns", "dev1.example.com"} {
		t.Fatalf("rendered %q %v %v", subject, sans, err)
	}
	if _, _, err := part.Render(CSRValues(&x509.CertificateRequest{}, nil)); err == nil || !strings.Contains(err.Error(), "csr.cn") {
		t.Fatalf("CSR without a CN: %v", err)
	}
}
