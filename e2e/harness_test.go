package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the certgate executable built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certgate-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "certgate")
	build := exec.Command("go", "build", "-o", binary, "github.com/certgate/certgate/cmd/certgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building certgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// endpoints mirrors the parts of endpoints.json the tests read.
type endpoints struct {
	TrustBundle string `json:"trust_bundle"`
	Tenant      string `json:"tenant"`
	CRL         string `json:"crl"`
	OCSP        string `json:"ocsp"`
	ACME        struct {
		Directory     string `json:"directory"`
		EABKID        string `json:"eab_kid"`
		EABHMACKey    string `json:"eab_hmac_key"`
		HTTP01Port    int    `json:"http01_port"`
		TLSALPN01Port int    `json:"tlsalpn01_port"`
	} `json:"acme"`
	EST struct {
		URL      string `json:"url"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"est"`
	WSTEP struct {
		CEP      string `json:"cep"`
		CES      string `json:"ces"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"wstep"`
	MDMWS struct {
		URL       string `json:"url"`
		Username  string `json:"username"`
		Password  string `json:"password"`
		SCEPURL   string `json:"scep_url"`
		DigitalID string `json:"digital_id"`
	} `json:"mdmws"`
	SCEP struct {
		URL       string `json:"url"`
		NDESURL   string `json:"ndes_url"`
		Challenge string `json:"challenge"`
	} `json:"scep"`
	CACore struct {
		GRPC    string `json:"grpc"`
		Metrics string `json:"metrics"`
	} `json:"ca_core"`
}

// suite is a running `certgate dev`.
type suite struct {
	t    testing.TB
	dir  string
	file string
	ep   endpoints
	cmd  *exec.Cmd
	logs *syncBuffer

	stopOnce sync.Once
	done     chan error
}

type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDev runs `certgate dev --data dir [args]` and waits for
// endpoints.json.
func startDev(t testing.TB, dir string, args ...string) *suite {
	t.Helper()
	s := &suite{t: t, dir: dir, file: filepath.Join(dir, "endpoints.json"), logs: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(binary, append([]string{"dev", "--data", dir}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(s.file)
		if err == nil && json.Unmarshal(b, &s.ep) == nil && s.ep.CACore.GRPC != "" {
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("certgate dev exited early (%v):\n%s", err, s.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("certgate dev did not write endpoints.json within a minute:\n%s", s.logs)
		}
	}
}

// stop sends SIGTERM and requires a clean exit.
func (s *suite) stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			if err != nil {
				s.t.Errorf("certgate dev did not stop cleanly: %v\n%s", err, s.logs)
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			s.t.Errorf("certgate dev ignored SIGTERM for 30 s:\n%s", s.logs)
		}
		if _, err := os.Stat(s.file); err == nil {
			s.t.Errorf("endpoints.json outlived the suite")
		}
	})
}

// admin runs `certgate admin` against the suite and returns stdout; a
// non-zero exit fails the test.
func (s *suite) admin(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.tryAdmin(args...)
	if err != nil {
		s.t.Fatalf("certgate admin %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// tryAdmin runs `certgate admin` and returns stdout, stderr and the exit
// error.
func (s *suite) tryAdmin(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"admin", "--endpoints", s.file}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// run executes a helper program (openssl, ...) and returns its output.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// execCommand runs a program in dir and returns its combined output.
func execCommand(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
