package e2e

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor retries check until it passes or ten seconds go by.
func waitFor(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ok, out := check()
		if ok {
			return
		}
		last = out
	}
	t.Fatalf("%s did not happen within 10 s; last output:\n%s", what, last)
}

// TestOpenSSLChecksRevocation drives the dev suite's OCSP responder and CRL
// with openssl: a fresh certificate is good, a revoked one is revoked with
// its reason, and `openssl verify -crl_check` refuses it.
func TestOpenSSLChecksRevocation(t *testing.T) {
	work := t.TempDir()
	s := startDev(t, filepath.Join(work, "data"))
	if s.ep.CRL == "" || s.ep.OCSP == "" {
		t.Fatalf("endpoints.json lacks crl/ocsp: %+v", s.ep)
	}
	run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.pem",
		"-subj", "/CN=status.example.com", "-addext", "subjectAltName=DNS:status.example.com")
	chain := s.admin("certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "r.pem"))
	parsed := certs(t, chain)
	leaf, issuer := parsed[0], parsed[1]
	write := func(name string, der []byte) {
		os.WriteFile(filepath.Join(work, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	}
	write("leaf.pem", leaf.Raw)
	write("issuer.pem", issuer.Raw)
	os.WriteFile(filepath.Join(work, "chain.pem"), []byte(chain), 0o600)
	if len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != s.ep.OCSP || len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != s.ep.CRL {
		t.Fatalf("leaf AIA %v / CDP %v, endpoints.json %s / %s", leaf.OCSPServer, leaf.CRLDistributionPoints, s.ep.OCSP, s.ep.CRL)
	}
	ocspCheck := func() string {
		cmd := []string{"ocsp", "-issuer", "issuer.pem", "-cert", "leaf.pem", "-url", s.ep.OCSP, "-CAfile", s.ep.TrustBundle, "-resp_text"}
		return run(t, work, "openssl", cmd...)
	}
	out := ocspCheck()
	for _, want := range []string{"Response verify OK", "leaf.pem: good", "OCSP Nonce", "Validation Authorities"} {
		if !strings.Contains(out, want) {
			t.Fatalf("openssl ocsp before revocation lacks %q:\n%s", want, out)
		}
	}
	fetchCRL := func() {
		resp, err := http.Get(s.ep.CRL)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		os.WriteFile(filepath.Join(work, "crl.pem"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o600)
	}
	fetchCRL()
	verify := func() string {
		return runAnyway(work, "openssl", "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", s.ep.TrustBundle, "-untrusted", "chain.pem", "leaf.pem")
	}
	if out := verify(); !strings.Contains(out, "leaf.pem: OK") {
		t.Fatalf("openssl verify -crl_check before revocation:\n%s", out)
	}

	serial := leaf.SerialNumber.Text(16)
	s.admin("certs", "revoke", "--serial", strings.ToUpper(serial), "--reason", "keyCompromise", "--publish")
	waitFor(t, "OCSP revoked", func() (bool, string) {
		out := ocspCheck()
		return strings.Contains(out, "leaf.pem: revoked") && strings.Contains(out, "Reason: keyCompromise"), out
	})
	waitFor(t, "CRL listing the certificate", func() (bool, string) {
		fetchCRL()
		out := run(t, work, "openssl", "crl", "-in", "crl.pem", "-noout", "-text")
		return strings.Contains(strings.ToUpper(strings.ReplaceAll(out, ":", "")), strings.ToUpper(serial)), out
	})
	crlText := run(t, work, "openssl", "crl", "-in", "crl.pem", "-noout", "-text", "-CAfile", "issuer.pem")
	for _, want := range []string{"verify OK", "X509v3 CRL Number", "Key Compromise"} {
		if !strings.Contains(crlText, want) {
			t.Errorf("openssl crl lacks %q:\n%s", want, crlText)
		}
	}
	if out := verify(); !strings.Contains(out, "certificate revoked") {
		t.Fatalf("openssl verify -crl_check after revocation:\n%s", out)
	}
	if show := s.admin("certs", "show", serial); !strings.Contains(show, "revoked") || !strings.Contains(show, "keyCompromise") {
		t.Errorf("certs show after revocation:\n%s", show)
	}
}

// runAnyway runs a command and returns its combined output whatever its
// exit status (openssl verify exits non-zero on a revoked certificate).
func runAnyway(dir, name string, args ...string) string {
	out, err := execCommand(dir, name, args...)
	if err != nil {
		return out + fmt.Sprint(err)
	}
	return out
}

// TestBulkRevocationFromTheCLI revokes a CSV of serials and checks the
// job's report and OCSP.
func TestBulkRevocationFromTheCLI(t *testing.T) {
	work := t.TempDir()
	s := startDev(t, filepath.Join(work, "data"))
	var serials []string
	for i := 0; i < 3; i++ {
		run(t, work, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.pem",
			"-subj", fmt.Sprintf("/CN=b%d.example.com", i), "-addext", fmt.Sprintf("subjectAltName=DNS:b%d.example.com", i))
		serials = append(serials, certs(t, s.admin("certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(work, "r.pem")))[0].SerialNumber.Text(16))
	}
	csv := "host,serial\n"
	for i, sn := range serials {
		csv += fmt.Sprintf("b%d.example.com,00%s\n", i, strings.ToUpper(sn))
	}
	csv += "bogus.example.com,zz\n"
	os.WriteFile(filepath.Join(work, "revoke.csv"), []byte(csv), 0o600)
	out := s.admin("revoke", "--bulk", "--csv", filepath.Join(work, "revoke.csv"), "--column", "serial", "--reason", "superseded", "--wait")
	if !strings.Contains(out, "DONE") || !strings.Contains(out, "4 of 4 handled, 1 failed") {
		t.Fatalf("bulk revocation summary:\n%s", out)
	}
	job := strings.Fields(strings.SplitN(out, "\n", 2)[0])[1]
	if res := s.admin("revoke", "status", job, "--results", "--failed"); !strings.Contains(res, "zz") || !strings.Contains(res, "not a hex serial") {
		t.Errorf("failed results:\n%s", res)
	}
	for _, sn := range serials {
		if show := s.admin("certs", "show", sn); !strings.Contains(show, "superseded") {
			t.Errorf("certificate %s after the bulk job:\n%s", sn, show)
		}
	}
}
