package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/wstep"
	"github.com/certgate/certgate/services/wstep/directory"
)

const (
	// kerberosRealm is the throwaway KDC's realm.
	kerberosRealm = "CERTGATE.TEST"
	// wstepSPN is the service principal clients ask tickets for: the
	// host part is the one in the URLs they connect to.
	wstepSPN = "HTTP/localhost"
	// Directory accounts of the Kerberos WSTEP service.
	kerberosUserSID    = "S-1-5-21-3623811015-3361044348-30300820-1013"
	kerberosMachineSID = "S-1-5-21-3623811015-3361044348-30300820-1104"
)

// oidNTDSCASecurity is the SID extension (KB5014754) certificates carry
// for strong mapping.
var oidNTDSCASecurity = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}

// TestWSTEPKerberos enrolls through CEP and CES with Windows integrated
// authentication: an MIT KDC issues tickets to a user (password), a
// computer (keytab) and a principal the directory does not know; an
// in-process WSTEP service with the HTTP/localhost keytab and a static
// directory, pointed at the dev suite's ca-core, accepts them over
// SPNEGO and builds subjects from the directory entry the principal maps
// to.
func TestWSTEPKerberos(t *testing.T) {
	kdc := startKDC(t)
	dir := t.TempDir()
	s := startDev(t, dir)
	base := startKerberosWSTEP(t, s, dir, kdc.httpKeytab)
	cep, ces := rebase(t, s.ep.WSTEP.CEP, base), rebase(t, s.ep.WSTEP.CES, base)
	plain := s.httpClient(t)

	user := client.NewWithPassword("wstep-dev", kerberosRealm, kdc.userPassword, kdc.cfg, client.DisablePAFXFAST(true))
	t.Cleanup(user.Destroy)
	if err := user.Login(); err != nil {
		t.Fatalf("wstep-dev cannot log in to the KDC: %v\nKDC log:\n%s", err, kdc.log())
	}
	machineKeytab, err := keytab.Load(kdc.machineKeytab)
	if err != nil {
		t.Fatal(err)
	}
	machine := client.NewWithKeytab("host/pc1.certgate.test", kerberosRealm, machineKeytab, kdc.cfg, client.DisablePAFXFAST(true))
	t.Cleanup(machine.Destroy)
	if err := machine.Login(); err != nil {
		t.Fatalf("host/pc1.certgate.test cannot log in with its keytab: %v\nKDC log:\n%s", err, kdc.log())
	}

	t.Run("wrong password fails at login", func(t *testing.T) {
		wrong := client.NewWithPassword("wstep-dev", kerberosRealm, "not-"+kdc.userPassword, kdc.cfg, client.DisablePAFXFAST(true))
		defer wrong.Destroy()
		// The KDC requires pre-authentication, as Active Directory does:
		// the wrong key's timestamp is refused.
		if err := wrong.Login(); err == nil || !strings.Contains(err.Error(), "KDC_ERR_PREAUTH_FAILED") {
			t.Fatalf("login with a wrong password: %v, want KDC_ERR_PREAUTH_FAILED", err)
		}
	})

	t.Run("no credentials: 401 offering Negotiate", func(t *testing.T) {
		key := kerberosKey(t)
		for name, tc := range map[string]struct{ url, action, body string }{
			"GetPolicies": {cep, actionGetPolicies, getPoliciesBody()},
			"Issue":       {ces, actionRST, rstBody(windowsCSR(t, key, "User", "x"))},
		} {
			resp, body := rawPost(t, plain, tc.url, soapEnvelope(tc.action, tc.url, "", "", tc.body), nil)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Negotiate" || !strings.Contains(body, "Fault") {
				t.Errorf("%s: HTTP %d, WWW-Authenticate %q, want 401 Negotiate with a fault:\n%s", name, resp.StatusCode, resp.Header.Values("WWW-Authenticate"), body)
			}
		}
	})

	t.Run("GetPolicies with the user's ticket", func(t *testing.T) {
		status, body := negotiatePost(t, s, user, cep, soapEnvelope(actionGetPolicies, cep, "", "", getPoliciesBody()))
		if status != http.StatusOK {
			t.Fatalf("HTTP %d:\n%s", status, body)
		}
		for _, want := range []string{"GetPoliciesResponse", ">User<", ">Machine<", ">WebServer<", ces,
			"<clientAuthentication>2</clientAuthentication>"} {
			if !strings.Contains(body, want) {
				t.Errorf("policy lacks %q:\n%s", want, body)
			}
		}
		// Kerberos only: the policy offers no password authentication.
		if strings.Contains(body, "<clientAuthentication>4</clientAuthentication>") {
			t.Errorf("policy offers UsernamePassword although it is off:\n%s", body)
		}
	})

	t.Run("Issue: User template for the user's ticket", func(t *testing.T) {
		status, body := negotiatePost(t, s, user, ces, soapEnvelope(actionRST, ces, "", "", rstBody(windowsCSR(t, kerberosKey(t), "User", "ignored"))))
		c := issuedCert(t, status, body)
		if c.Subject.CommonName != "wstep-dev" {
			t.Errorf("subject %v, want CN=wstep-dev", c.Subject)
		}
		if !slices.Equal(c.EmailAddresses, []string{"wstep-dev@certgate.test"}) {
			t.Errorf("SAN email %v", c.EmailAddresses)
		}
		if !hasSID(c.Extensions, kerberosUserSID) {
			t.Errorf("no SID extension with %s", kerberosUserSID)
		}
	})

	t.Run("Issue: Machine template for the computer's ticket", func(t *testing.T) {
		status, body := negotiatePost(t, s, machine, ces, soapEnvelope(actionRST, ces, "", "", rstBody(windowsCSR(t, kerberosKey(t), "Machine", "ignored"))))
		c := issuedCert(t, status, body)
		if c.Subject.CommonName != "pc1.certgate.test" || !slices.Equal(c.DNSNames, []string{"pc1.certgate.test"}) {
			t.Errorf("subject %v, DNS names %v, want CN=pc1.certgate.test and DNS pc1.certgate.test", c.Subject, c.DNSNames)
		}
		if !hasSID(c.Extensions, kerberosMachineSID) {
			t.Errorf("no SID extension with %s", kerberosMachineSID)
		}
	})

	t.Run("Issue: the computer may not use the User template", func(t *testing.T) {
		status, body := negotiatePost(t, s, machine, ces, soapEnvelope(actionRST, ces, "", "", rstBody(windowsCSR(t, kerberosKey(t), "User", "ignored"))))
		if status != http.StatusInternalServerError || !strings.Contains(body, "template User is for users") {
			t.Errorf("HTTP %d, want 500 with a fault saying the template is for users:\n%s", status, body)
		}
	})

	t.Run("principal not in the directory is refused", func(t *testing.T) {
		stranger := client.NewWithPassword("stranger", kerberosRealm, kdc.userPassword, kdc.cfg, client.DisablePAFXFAST(true))
		defer stranger.Destroy()
		if err := stranger.Login(); err != nil {
			t.Fatalf("stranger cannot log in to the KDC: %v", err)
		}
		// The ticket is sent up front: the SPNEGO client would answer a
		// refusal's "WWW-Authenticate: Negotiate" with a new ticket for
		// ever.
		key := kerberosKey(t)
		for name, tc := range map[string]struct{ url, action, body string }{
			"GetPolicies": {cep, actionGetPolicies, getPoliciesBody()},
			"Issue":       {ces, actionRST, rstBody(windowsCSR(t, key, "User", "x"))},
		} {
			resp, body := rawPost(t, plain, tc.url, soapEnvelope(tc.action, tc.url, "", "", tc.body), stranger)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Fault") || x509TokenRE.MatchString(body) {
				t.Errorf("%s: HTTP %d, want 401 with a fault:\n%s", name, resp.StatusCode, body)
			}
			t.Logf("%s for stranger@%s: HTTP %d", name, kerberosRealm, resp.StatusCode)
		}
	})
}

// testKDC is a running MIT KDC of kerberosRealm.
type testKDC struct {
	dir           string
	cfg           *config.Config
	userPassword  string // of wstep-dev and stranger
	httpKeytab    string // HTTP/localhost
	machineKeytab string // host/pc1.certgate.test
}

func (k *testKDC) log() string { return fileText(filepath.Join(k.dir, "kdc.log")) }

// fileText is a log file's content, or nothing.
func fileText(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// kdcTool finds an MIT KDC program: CI installs krb5-kdc and
// krb5-admin-server, so a missing one fails the test.
func kdcTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	t.Fatalf("%s is not installed (Debian: apt-get install krb5-kdc krb5-admin-server)", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freeKDCPort returns a port free for both TCP and UDP on 127.0.0.1.
func freeKDCPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

// startKDC creates a realm in a temporary directory with the principals
// the test uses, exports the service's and the computer's keytabs and
// runs krb5kdc until the test ends. Its configuration is its own: the
// MIT programs get KRB5_CONFIG and KRB5_KDC_PROFILE, gokrb5 the parsed
// krb5.conf.
func startKDC(t *testing.T) *testKDC {
	t.Helper()
	kdb5Util, kadminLocal, krb5kdc := kdcTool(t, "kdb5_util"), kdcTool(t, "kadmin.local"), kdcTool(t, "krb5kdc")
	dir := t.TempDir()
	port := freeKDCPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	path := func(name string) string { return filepath.Join(dir, name) }
	krb5Conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	ticket_lifetime = 1h
	default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
	%[1]s = {
		kdc = %[2]s
	}

[domain_realm]
	localhost = %[1]s
	.certgate.test = %[1]s
	certgate.test = %[1]s
`, kerberosRealm, addr)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[2]s
	kdc_tcp_listen = %[2]s

[realms]
	%[1]s = {
		database_name = %[3]s
		key_stash_file = %[4]s
		acl_file = %[5]s
		kdc_listen = %[2]s
		kdc_tcp_listen = %[2]s
		max_life = 1h
		max_renewable_life = 1h
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}

[logging]
	kdc = FILE:%[6]s
	admin_server = FILE:%[7]s
	default = FILE:%[7]s
`, kerberosRealm, addr, path("principal"), path("stash"), path("kadm5.acl"), path("kdc.log"), path("admin.log"))
	for name, text := range map[string]string{"krb5.conf": krb5Conf, "kdc.conf": kdcConf, "kadm5.acl": ""} {
		if err := os.WriteFile(path(name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "KRB5_CONFIG="+path("krb5.conf"), "KRB5_KDC_PROFILE="+path("kdc.conf"),
		"KRB5CCNAME=FILE:"+path("ccache"), "KRB5RCACHEDIR="+dir)
	kdc := &testKDC{dir: dir, userPassword: secret(), httpKeytab: path("http.keytab"), machineKeytab: path("pc1.keytab")}

	admin := func(name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env, cmd.Dir = env, dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s\nadmin log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, fileText(path("admin.log")))
		}
	}
	admin(kdb5Util, "create", "-s", "-r", kerberosRealm, "-P", secret(), "-d", path("principal"))
	for _, q := range []string{
		"addprinc +requires_preauth -pw " + kdc.userPassword + " wstep-dev",
		"addprinc +requires_preauth -pw " + kdc.userPassword + " stranger",
		// MIT KDCs (1.20 and later) put a PAC without logon information
		// in service tickets; the service must accept it (it reads the
		// directory, not the PAC).
		"addprinc -randkey " + wstepSPN,
		"addprinc -randkey host/pc1.certgate.test",
		"ktadd -k " + kdc.httpKeytab + " -e aes256-cts-hmac-sha1-96:normal " + wstepSPN,
		"ktadd -k " + kdc.machineKeytab + " -e aes256-cts-hmac-sha1-96:normal host/pc1.certgate.test",
	} {
		admin(kadminLocal, "-r", kerberosRealm, "-d", path("principal"), "-q", q)
	}

	logs := &syncBuffer{}
	cmd := exec.Command(krb5kdc, "-n", "-r", kerberosRealm, "-d", path("principal"))
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("krb5kdc exited (%v):\n%s\n%s", err, logs, kdc.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("krb5kdc not listening on %s within 10 s:\n%s\n%s", addr, logs, kdc.log())
		}
	}

	cfg, err := config.Load(path("krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	kdc.cfg = cfg
	return kdc
}

func secret() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startKerberosWSTEP runs CEP and CES in-process against the dev suite's
// ca-core with the service keytab, password authentication off, and a
// static directory holding wstep-dev and PC1$. It returns the service's
// https://localhost:port.
func startKerberosWSTEP(t *testing.T, s *suite, dir, keytabFile string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("https://localhost:%d", lis.Addr().(*net.TCPAddr).Port)
	mtls := func(name string) string { return filepath.Join(dir, "mtls", name) }
	off := false
	cfg := wstep.Config{
		TLS:     wstep.TLS{CertFile: mtls("wstep-tls.pem"), KeyFile: mtls("wstep-tls-key.pem")},
		BaseURL: base,
		CACore: frontend.ClientConfig{Address: s.ep.CACore.GRPC, CAFile: mtls("ca.pem"),
			CertFile: mtls("wstep.pem"), KeyFile: mtls("wstep-key.pem")},
		Kerberos:         &wstep.Kerberos{Keytab: keytabFile, ServicePrincipal: wstepSPN},
		UsernamePassword: &off,
		Directory: wstep.Directory{Static: []directory.StaticUser{
			{Identity: directory.Identity{Name: "wstep-dev", DN: "CN=wstep-dev,CN=Users,DC=certgate,DC=test", UPN: "wstep-dev@certgate.test",
				Mail: "wstep-dev@certgate.test", SID: kerberosUserSID, Groups: []string{"CN=Domain Users,CN=Users,DC=certgate,DC=test"}}},
			{Identity: directory.Identity{Name: "PC1$", DN: "CN=PC1,CN=Computers,DC=certgate,DC=test", DNSHostName: "pc1.certgate.test",
				SID: kerberosMachineSID, Groups: []string{"CN=Domain Computers,CN=Users,DC=certgate,DC=test"}, Computer: true}},
		}},
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- wstep.Run(ctx, cfg, wstep.Options{Listener: lis, Logger: logger, Ready: func(net.Addr) { close(ready) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("wstep.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("wstep.Run did not return within 30 s of its context ending")
		}
		if t.Failed() {
			t.Logf("in-process WSTEP service log:\n%s", logs)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		lis.Close()
		t.Fatalf("wstep.Run: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("wstep.Run not ready within 30 s:\n%s", logs)
	}
	return base
}

// rebase moves u, a dev suite URL, to base.
func rebase(t *testing.T, u, base string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Path == "" {
		t.Fatalf("endpoints.json has no usable WSTEP URL %q: %v", u, err)
	}
	return base + p.Path
}

// negotiateOnce fails a request that carried credentials and still got
// 401, which the SPNEGO client would otherwise retry with a new ticket
// without end.
type negotiateOnce struct{ next http.RoundTripper }

func (n negotiateOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := n.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || r.Header.Get("Authorization") == "" {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return nil, fmt.Errorf("HTTP 401 (WWW-Authenticate %q) to a request with a Negotiate ticket:\n%s", resp.Header.Values("WWW-Authenticate"), body)
}

// negotiatePost posts a SOAP message as Windows does with integrated
// authentication: unauthenticated first, then with a ticket for
// HTTP/localhost when the server answers 401 Negotiate.
func negotiatePost(t *testing.T, s *suite, cl *client.Client, url string, body []byte) (int, string) {
	t.Helper()
	hc := s.httpClient(t)
	hc.Transport = negotiateOnce{hc.Transport}
	resp, err := spnego.NewClient(cl, hc, wstepSPN).Post(url, "application/soap+xml; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// rawPost posts body once, with a Negotiate ticket from cl when cl is
// set.
func rawPost(t *testing.T, hc *http.Client, url string, body []byte, cl *client.Client) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
	if cl != nil {
		if err := spnego.SetSPNEGOHeader(cl, req, wstepSPN); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func kerberosKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// hasSID reports whether exts hold the SID extension naming sid.
func hasSID(exts []pkix.Extension, sid string) bool {
	return slices.ContainsFunc(exts, func(e pkix.Extension) bool {
		return e.Id.Equal(oidNTDSCASecurity) && bytes.Contains(e.Value, []byte(sid))
	})
}
