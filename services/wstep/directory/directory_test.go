package directory

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSIDString(t *testing.T) {
	// S-1-5-21-1004336348-1177238915-682003330-512 as AD stores it.
	b, _ := hex.DecodeString("010500000000000515000000dcf4dc3b833d2b46828ba62800020000")
	if got := SIDString(b); got != "S-1-5-21-1004336348-1177238915-682003330-512" {
		t.Fatalf("got %q", got)
	}
	for _, bad := range []string{"", "02", "0105000000000005150000"} {
		raw, _ := hex.DecodeString(bad)
		if got := SIDString(raw); got != "" {
			t.Errorf("%s: got %q", bad, got)
		}
	}
}

func TestStatic(t *testing.T) {
	d := &Static{Users: []StaticUser{{Identity: Identity{Name: "alice", UPN: "alice@example.test", SID: "S-1-5-21-1-2-3-1001",
		Groups: []string{"CN=Enrollers,OU=Groups,DC=example,DC=test"}}, Password: "pw"},
		{Identity: Identity{Name: "PC1$", DNSHostName: "pc1.example.test", Computer: true}}}}
	ctx := context.Background()
	id, err := d.Authenticate(ctx, "alice@example.test", "pw")
	if err != nil || id.Name != "alice" {
		t.Fatalf("got %v %v", id, err)
	}
	if !id.InGroup("Enrollers") || !id.InGroup("cn=enrollers,ou=groups,dc=example,dc=test") || id.InGroup("Admins") {
		t.Fatal("group membership is wrong")
	}
	if _, err := d.Authenticate(ctx, "alice", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	// A passwordless account cannot log in with an empty password.
	if _, err := d.Authenticate(ctx, "PC1$", ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("empty password: %v", err)
	}
	if id, err := d.Lookup(ctx, "host/pc1.example.test@EXAMPLE.TEST"); err != nil || !id.Computer {
		t.Fatalf("machine principal: %v %v", id, err)
	}
	if id, err := d.Lookup(ctx, "alice@EXAMPLE.TEST"); err != nil || id.SID == "" {
		t.Fatalf("user principal: %v %v", id, err)
	}
}

func TestNewLDAPRefusesCleartext(t *testing.T) {
	if _, err := NewLDAP(LDAPConfig{URL: "ldap://dc.example.test", BindDN: "x", BaseDN: "y"}); err == nil {
		t.Fatal("plain ldap:// accepted")
	}
	if _, err := NewLDAP(LDAPConfig{URL: "ldap://dc.example.test", StartTLS: true, BindDN: "x", BaseDN: "y"}); err != nil {
		t.Fatal(err)
	}
}
