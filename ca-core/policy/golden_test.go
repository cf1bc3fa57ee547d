package policy

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleSANs gives one name of each type a profile allows.
var sampleSANs = map[profile.SANType]string{
	profile.SANDNS:   "device.example.com",
	profile.SANIP:    "192.0.2.10",
	profile.SANEmail: "user@example.com",
	profile.SANURI:   "https://device.example.com/id",
	profile.SANUPN:   "user@corp.example",
}

// TestCatalogueGolden issues a certificate under every built-in subscriber
// profile from the same RSA key and request, and compares what the
// certificate contains with testdata/catalogue/<profile>.golden. The files
// document the catalogue; `go test -run Golden -update` rewrites them and
// the diff is reviewed.
func TestCatalogueGolden(t *testing.T) {
	for _, p := range catalog.All() {
		if p.Kind != profile.Subscriber {
			continue
		}
		t.Run(p.ID, func(t *testing.T) {
			req := &Request{CSR: csr(t, rsaKey, func(c *x509.CertificateRequest) {
				c.Subject = pkix.Name{CommonName: "device.example.com"}
				c.DNSNames = nil
			}), SANs: []SAN{}}
			// Supply-SAN profiles get no SANs: the CN must become one.
			for _, typ := range p.SAN.Types {
				if !p.SAN.FromCN {
					req.SANs = append(req.SANs, SAN{typ, sampleSANs[typ]})
				}
			}
			got := describe(t, p, req)
			path := filepath.Join("testdata", "catalogue", p.ID+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("certificate under %s changed:\n--- got\n%s--- want\n%s", p.ID, got, want)
			}
		})
	}
}

// describe applies p and renders the issued certificate's contents in a
// stable text form.
func describe(t *testing.T, p *profile.Profile, req *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile: %s (group %s)\nrequest: CN=device.example.com, RSA-2048, SANs %s\n", p.ID, p.Group, sanList(req.SANs))
	d, err := Apply(p, req, issuer, now)
	if err != nil {
		fe := fault.As(err)
		fmt.Fprintf(&b, "refused: %s [%s]\n", fe.Reason, fe.Rule)
		return b.String()
	}
	c := signable(t, d, req.CSR.PublicKey)
	fmt.Fprintf(&b, "subject: %s\n", d.Subject)
	fmt.Fprintf(&b, "validity: %.0f days (notAfter is inclusive)\n", c.NotAfter.Add(time.Second).Sub(c.NotBefore).Hours()/24)
	fmt.Fprintf(&b, "key usage: %s\n", strings.Join(profile.KeyUsageNames(c.KeyUsage), ", "))
	var ekus []string
	for _, e := range c.ExtKeyUsage {
		ekus = append(ekus, ekuString(e))
	}
	for _, o := range c.UnknownExtKeyUsage {
		ekus = append(ekus, profile.EKUName(o))
	}
	fmt.Fprintf(&b, "extended key usage: %s\n", orNone(ekus))
	fmt.Fprintf(&b, "basic constraints: cA=%v\n", c.IsCA)
	fmt.Fprintf(&b, "SANs: %s\n", sanList(d.SANs))
	for _, e := range c.Extensions {
		fmt.Fprintf(&b, "extension %s critical=%v\n", e.Id, e.Critical)
	}
	return b.String()
}

func sanList(s []SAN) string {
	var parts []string
	for _, n := range s {
		parts = append(parts, string(n.Type)+":"+n.Value)
	}
	return orNone(parts)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func ekuString(e x509.ExtKeyUsage) string {
	switch e {
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	}
	return fmt.Sprint(e)
}
