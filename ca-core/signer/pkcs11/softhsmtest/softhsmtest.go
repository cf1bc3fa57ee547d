// Package softhsmtest gives tests and benchmarks a fresh SoftHSM2 token to
// run the pkcs11 signer backend against. It owns the throw-away SoftHSM
// configuration and token directory of one test; it does not own the
// backend (callers pass the returned Config to pkcs11.New and close it).
package softhsmtest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/ca-core/signer/pkcs11"
)

// SOPIN is the security officer PIN of every token NewToken creates; the
// user PIN is in the returned Config.
const SOPIN = "5678-so"

// pin is the user PIN of every token NewToken creates.
const pin = "1234-user"

// modules are where distributions install the SoftHSM2 module.
func modules() []string {
	return []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/opt/homebrew/lib/softhsm/libsofthsm2.so",
	}
}

// NewToken creates an empty SoftHSM2 token in t.TempDir() and returns the
// Config that opens it. It points SOFTHSM2_CONF at the token's
// configuration with t.Setenv, so the caller's test must not be parallel,
// and every backend opened on an earlier token must be closed first:
// SoftHSM reads the variable when the module is initialized. A missing
// SoftHSM2 fails the test: install the softhsm2 package (.ci/run does).
func NewToken(t testing.TB) pkcs11.Config {
	t.Helper()
	module := ""
	for _, m := range modules() {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		t.Fatal("softhsmtest: SoftHSM2 module not installed (apt-get install softhsm2)")
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		t.Fatal("softhsmtest: softhsm2-util not installed (apt-get install softhsm2)")
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokens + "\n" +
		"objectstore.backend = file\n" +
		"log.level = ERROR\n" +
		"slots.removable = false\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	// A label of its own per token: should an earlier backend still hold
	// the module initialized with an earlier SOFTHSM2_CONF, New fails with
	// "no token labelled" instead of quietly using the stale token.
	var nonce [4]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	label := "certgate-test-" + hex.EncodeToString(nonce[:])

	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", SOPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsmtest: softhsm2-util --init-token: %v\n%s", err, out)
	}
	return pkcs11.Config{Module: module, TokenLabel: label, PIN: pin, MaxSessions: pkcs11.DefaultMaxSessions}
}
