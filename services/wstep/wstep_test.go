package wstep

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/wstep/directory"
	"github.com/certgate/certgate/services/wstep/xcep"
)

func TestISODuration(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"P1Y": 365 * day, "P90D": 90 * day, "P1Y6M": 545 * day, "PT12H": 12 * time.Hour,
		"P2W": 14 * day, "P1DT1H1M1S": day + time.Hour + time.Minute + time.Second} {
		if got, err := isoDuration(in); err != nil || got != want {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1Y", "P1H", "P-1D"} {
		if _, err := isoDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Templates tell Windows where the subject comes from and what keys to
// make, from the template's settings and its profile.
func TestTemplateOf(t *testing.T) {
	prof := &pb.Profile{Id: "wstep-digital-signature-key-encipherment", DefaultValidity: "P1Y",
		KeyTypes:          []pb.KeyType{pb.KeyType_KEY_TYPE_EC_P256, pb.KeyType_KEY_TYPE_RSA_3072, pb.KeyType_KEY_TYPE_RSA_2048},
		KeyUsages:         []string{"digitalSignature", "keyEncipherment"},
		ExtendedKeyUsages: []string{"clientAuth", "1.3.6.1.4.1.311.10.3.4"}}
	machine, err := templateOf(&pb.WstepTemplate{Name: "Machine", Oid: "1.3.6.1.4.1.311.21.8.1.2.3", Machine: true, Autoenroll: true,
		SubjectFromDirectory: true, MajorRevision: 100, RenewalPeriod: durationpb.New(42 * 24 * time.Hour)}, prof)
	if err != nil {
		t.Fatal(err)
	}
	if machine.SubjectNameFlags != xcep.SubjectNameRequireDNSAsCN|xcep.SubjectAltNameRequireDNS || machine.GeneralFlags&xcep.GeneralMachineType == 0 ||
		machine.EnrollmentFlags&xcep.EnrollmentAutoEnrollment == 0 || machine.KeySpec != xcep.KeySpecExchange || machine.MinimalKeyLength != 2048 ||
		machine.ValidityPeriod != 365*24*time.Hour || machine.RenewalPeriod != 42*24*time.Hour || len(machine.Extensions) != 4 {
		t.Fatalf("machine template %+v", machine)
	}
	web, err := templateOf(&pb.WstepTemplate{Name: "WebServer", Oid: "1.3.6.1.4.1.311.21.8.1.2.4"}, prof)
	if err != nil {
		t.Fatal(err)
	}
	if web.SubjectNameFlags&xcep.SubjectNameEnrolleeSupplies == 0 || web.GeneralFlags != 0 || web.EnrollmentFlags&xcep.EnrollmentAutoEnrollment != 0 {
		t.Fatalf("web template %+v", web)
	}
}

func TestAllowedAndFromDirectory(t *testing.T) {
	user := &directory.Identity{Name: "alice", UPN: "alice@corp.test", Mail: "alice@corp.test", Groups: []string{"CN=Enrollers,DC=corp,DC=test"}}
	pc := &directory.Identity{Name: "PC1$", DNSHostName: "pc1.corp.test", Computer: true}
	tmpl := &pb.WstepTemplate{Name: "User", EnrollGroups: []string{"Enrollers"}}
	if err := allowed(tmpl, user); err != nil {
		t.Fatal(err)
	}
	if err := allowed(&pb.WstepTemplate{Name: "User", EnrollGroups: []string{"Admins"}}, user); err == nil || !strings.Contains(err.Error(), "Admins") {
		t.Fatalf("group check: %v", err)
	}
	if err := allowed(&pb.WstepTemplate{Name: "Machine", Machine: true}, user); err == nil {
		t.Fatal("a user enrolled for a computer template")
	}
	subject, sans, err := fromDirectory(&pb.WstepTemplate{Machine: true}, pc)
	if err != nil || subject != "CN=pc1.corp.test" || len(sans) != 1 || sans[0].GetValue() != "pc1.corp.test" {
		t.Fatalf("computer: %q %v %v", subject, sans, err)
	}
	subject, sans, err = fromDirectory(tmpl, user)
	if err != nil || subject != "CN=alice" || len(sans) != 2 {
		t.Fatalf("user: %q %v %v", subject, sans, err)
	}
	if _, _, err := fromDirectory(tmpl, &directory.Identity{Name: "nomail"}); err == nil {
		t.Fatal("a user without UPN or mail got a certificate")
	}
	if got := escapeDN(`a,b+c "d"#`); got != `a\,b\+c \"d\"#` {
		t.Fatalf("escapeDN: %s", got)
	}
	if got := requestIDOf("00ff"); got != "255" {
		t.Fatalf("requestIDOf: %s", got)
	}
}
