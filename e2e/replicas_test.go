package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/servicepki"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// replica is one service process (`certgate ca-core`, `certgate acme`).
type replica struct {
	addr string
	cmd  *exec.Cmd
	logs *syncBuffer
}

// startService runs `certgate <role> --config cfg` and waits until it
// logs "<role> serving" with its address.
func startService(t *testing.T, role, cfg string) *replica {
	t.Helper()
	serving := regexp.MustCompile(`msg="` + role + ` serving[^"]*" addr=(\S+)`)
	r := &replica{logs: &syncBuffer{}}
	r.cmd = exec.Command(binary, role, "--config", cfg)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.logs.Write([]byte(sc.Text() + "\n"))
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		r.cmd.Process.Signal(os.Interrupt)
		r.cmd.Wait()
	})
	select {
	case r.addr = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start:\n%s", role, r.logs)
	}
	return r
}

// TestQuotaHoldsAcrossTwoCACoreProcesses runs two ca-core processes on one
// PostgreSQL database and issues concurrently through both: the tenant's
// cap is never exceeded and the audit chain stays intact.
func TestQuotaHoldsAcrossTwoCACoreProcesses(t *testing.T) {
	dir := t.TempDir()
	pki, err := servicepki.NewCA("e2e services")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pki.WriteCA(dir))
	srv, err := pki.ServerCert("ca-core", "127.0.0.1")
	must(err)
	must(srv.Write(dir, "ca-core"))
	ops, err := pki.AdminCert("ops")
	must(err)
	must(ops.Write(dir, "ops"))
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("an operator secret for two replicas"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "dsn"), []byte(storetest.DSN(t, store.Postgres)), 0o600))
	cfg := filepath.Join(dir, "ca-core.yaml")
	must(os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: 127.0.0.1:0
tls: {cert_file: %[1]s/ca-core.pem, key_file: %[1]s/ca-core-key.pem, client_ca_file: %[1]s/ca.pem}
store: {engine: postgres, dsn_file: %[1]s/dsn}
signer: {soft: {secret_file: %[1]s/secret}}
admins: [{name: ops, tenants: ["*"], roles: [owner]}]
`, dir)), 0o600))
	replicas := []*replica{startService(t, "ca-core", cfg), startService(t, "ca-core", cfg)}
	admin := func(r *replica, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		base := []string{"admin", "--grpc", r.addr, "--ca-file", filepath.Join(dir, "ca.pem"), "--cert", filepath.Join(dir, "ops.pem"),
			"--key", filepath.Join(dir, "ops-key.pem"), "--tenant", "corp"}
		out, err := exec.CommandContext(ctx, binary, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{
		{"tenants", "create", "corp", "--max-active", "5", "--rate", "0"},
		{"cas", "create", "--id", "root", "--type", "root", "--subject", "CN=Corp Root"},
		{"cas", "create", "--id", "issuing", "--type", "issuing", "--parent", "root", "--subject", "CN=Corp Issuing"},
	} {
		if out, err := admin(replicas[0], args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run(t, dir, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.pem",
		"-subj", "/CN=svc.corp.example", "-addext", "subjectAltName=DNS:svc.corp.example")
	var mu sync.Mutex // guards ok, refused
	var ok, refused int
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := admin(replicas[i%2], "certs", "issue", "--profile", "privatessl-tls-server", "--csr", filepath.Join(dir, "r.pem"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case strings.Contains(out, "QUOTA_EXCEEDED"):
				refused++
			default:
				t.Errorf("issue: %v\n%s", err, out)
			}
		}(i)
	}
	wg.Wait()
	if ok != 5 || refused != 7 {
		t.Fatalf("%d issued and %d refused through two processes; want 5 and 7", ok, refused)
	}
	if out, err := admin(replicas[1], "audit", "verify", "--all"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}
