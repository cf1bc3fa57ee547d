package e2e

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"database/sql"

	_ "modernc.org/sqlite"
)

// certs splits a PEM bundle.
func certs(t *testing.T, bundle string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(bundle)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestIssueWithTheCLIAndVerifyWithOpenSSL is the first thing a new user
// does: start the suite, issue from an OpenSSL CSR, check the chain.
func TestIssueWithTheCLIAndVerifyWithOpenSSL(t *testing.T) {
	work := t.TempDir()
	s := startDev(t, filepath.Join(work, "data"))
	run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem",
		"-out", "req.pem", "-subj", "/CN=web.example.com", "-addext", "subjectAltName=DNS:web.example.com,DNS:www.example.com")
	chain := s.admin("certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "req.pem"))
	parsed := certs(t, chain)
	if len(parsed) != 3 || parsed[0].Subject.CommonName != "web.example.com" || len(parsed[0].DNSNames) != 2 {
		t.Fatalf("issue printed %d certificates: %v", len(parsed), parsed)
	}
	os.WriteFile(filepath.Join(work, "leaf.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: parsed[0].Raw}), 0o600)
	os.WriteFile(filepath.Join(work, "chain.pem"), []byte(chain), 0o600)
	out := run(t, work, "openssl", "verify", "-CAfile", s.ep.TrustBundle, "-untrusted", "chain.pem", "-purpose", "sslserver", "leaf.pem")
	if !strings.Contains(out, "leaf.pem: OK") {
		t.Fatalf("openssl verify: %s", out)
	}
	text := run(t, work, "openssl", "x509", "-in", "leaf.pem", "-noout", "-text")
	for _, want := range []string{"TLS Web Server Authentication", "Digital Signature", "CA:FALSE", "X509v3 Subject Key Identifier"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate lacks %q:\n%s", want, text)
		}
	}
	serial := strings.ToLower(parsed[0].SerialNumber.Text(16))
	if list := s.admin("certs", "list"); !strings.Contains(list, serial) {
		t.Errorf("certs list does not show %s:\n%s", serial, list)
	}
	if show := s.admin("certs", "show", strings.ToUpper(serial)); !strings.Contains(show, "privatessl-tls-server") {
		t.Errorf("certs show:\n%s", show)
	}
	if v := s.admin("audit", "verify"); !strings.Contains(v, "OK") {
		t.Errorf("audit verify: %s", v)
	}
	resp, err := http.Get(s.ep.CACore.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `certgate_issuance_total{outcome="issued",tenant="default"} 1`) {
		t.Errorf("metrics do not count the issuance")
	}
}

// TestRefusalsReachTheUserWithTheirRule checks the CLI's exit status and
// message for a policy refusal, a bad CSR and an unknown profile.
func TestRefusalsReachTheUserWithTheirRule(t *testing.T) {
	work := t.TempDir()
	s := startDev(t, filepath.Join(work, "data"))
	run(t, work, "openssl", "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-out", "weak.pem", "-subj", "/CN=weak.example.com")
	os.WriteFile(filepath.Join(work, "junk.pem"), []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), 0o600)
	run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "nosan.pem", "-subj", "/CN=nosan")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"fail/weak-key":        {[]string{"certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "weak.pem")}, "profile.key_type"},
		"fail/garbage-csr":     {[]string{"certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "junk.pem")}, "BAD_CSR"},
		"fail/san-required":    {[]string{"certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "nosan.pem")}, "profile.san.required"},
		"fail/unknown-profile": {[]string{"certs", "issue", "--profile", "no-such-profile", "--csr", filepath.Join(work, "nosan.pem")}, "ca.profile_not_enabled"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := s.tryAdmin(tc.args...)
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %v, stderr %q; want a failure mentioning %s", err, stderr, tc.want)
			}
		})
	}
	if list := s.admin("certs", "list"); strings.Contains(list, "weak.example.com") {
		t.Errorf("a refused request left a certificate:\n%s", list)
	}
}

// TestRestartReusesTheDataDirectory stops the suite and starts it again on
// the same directory: the CAs and issued certificates are still there.
func TestRestartReusesTheDataDirectory(t *testing.T) {
	work := t.TempDir()
	data := filepath.Join(work, "data")
	s := startDev(t, data)
	run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.pem",
		"-subj", "/CN=keep.example.com", "-addext", "subjectAltName=DNS:keep.example.com")
	leaf := certs(t, s.admin("certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "r.pem")))[0]
	before := s.admin("--json", "cas", "show", "issuing")
	s.stop()

	s2 := startDev(t, data)
	if after := s2.admin("--json", "cas", "show", "issuing"); after != before {
		t.Errorf("the issuing CA changed across a restart:\n%s\n%s", before, after)
	}
	if show := s2.admin("certs", "show", leaf.SerialNumber.Text(16)); !strings.Contains(show, "keep.example.com") {
		t.Errorf("certificate lost across a restart:\n%s", show)
	}
	// The restarted suite still signs with the same key.
	leaf2 := certs(t, s2.admin("certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "r.pem")))[0]
	if string(leaf2.AuthorityKeyId) != string(leaf.AuthorityKeyId) {
		t.Error("the issuing key changed across a restart")
	}
}

// TestExternalRootRoundTrip signs certgate's CSR with an OpenSSL root that
// certgate never holds, imports the result and issues under it.
func TestExternalRootRoundTrip(t *testing.T) {
	work := t.TempDir()
	s := startDev(t, filepath.Join(work, "data"))
	run(t, work, "openssl", "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-keyout", "ext.key", "-out", "ext.pem", "-days", "3650",
		"-subj", "/CN=Offline Root/O=Example", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	s.admin("cas", "import-root", "--id", "offline", "--cert", filepath.Join(work, "ext.pem"), "--name", "Offline root")
	s.admin("cas", "create", "--id", "corp", "--type", "issuing", "--parent", "offline", "--key", "p384", "--subject", "CN=Corp Issuing CA,O=Example")
	if show := s.admin("cas", "show", "corp"); !strings.Contains(strings.ToLower(show), "pending") {
		t.Fatalf("CA under an external root is not pending:\n%s", show)
	}
	csr := s.admin("cas", "csr", "corp")
	os.WriteFile(filepath.Join(work, "corp.csr"), []byte(csr), 0o600)
	os.WriteFile(filepath.Join(work, "ext.cnf"), []byte("[v]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"), 0o600)
	run(t, work, "openssl", "x509", "-req", "-in", "corp.csr", "-CA", "ext.pem", "-CAkey", "ext.key", "-CAcreateserial", "-days", "1825",
		"-extfile", "ext.cnf", "-extensions", "v", "-out", "corp.pem")
	s.admin("cas", "import-cert", "corp", "--cert", filepath.Join(work, "corp.pem"))
	run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.pem",
		"-subj", "/CN=app.example.com", "-addext", "subjectAltName=DNS:app.example.com")
	chain := s.admin("certs", "issue", "--ca", "corp", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "r.pem"))
	os.WriteFile(filepath.Join(work, "chain.pem"), []byte(chain), 0o600)
	leaf := certs(t, chain)[0]
	os.WriteFile(filepath.Join(work, "leaf.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600)
	if out := run(t, work, "openssl", "verify", "-CAfile", "ext.pem", "-untrusted", "chain.pem", "leaf.pem"); !strings.Contains(out, "OK") {
		t.Fatalf("leaf does not verify against the external root: %s", out)
	}
}

// TestAuditVerifyDetectsATamperedRow edits one audit row in the dev
// database behind ca-core's back; `audit verify` must fail and say where.
func TestAuditVerifyDetectsATamperedRow(t *testing.T) {
	work := t.TempDir()
	data := filepath.Join(work, "data")
	s := startDev(t, data)
	var list struct {
		Events []struct {
			Seq string `json:"seq"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(s.admin("--json", "audit", "list")), &list); err != nil || len(list.Events) < 3 {
		t.Fatalf("audit list: %v (%d events)", err, len(list.Events))
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "ca-core.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_events SET actor = 'admin:somebody-else' WHERE tenant_id = 'default' AND seq = 2`); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := s.tryAdmin("audit", "verify")
	if err == nil || !strings.Contains(out+stderr, "2") {
		t.Fatalf("audit verify after tampering: exit %v\n%s%s", err, out, stderr)
	}
}
