package directory

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The fixture directory TestLDAPWithSlapd loads into its slapd.
const (
	slapdBaseDN      = "dc=example,dc=test"
	slapdSvcDN       = "cn=svc,dc=example,dc=test"
	slapdSvcPassword = "svc-Secret-1"
	aliceDN          = "cn=Alice Smith,ou=Users,dc=example,dc=test"
	alicePassword    = "alice-Secret-1"
	aliceUPN         = "alice@example.test"
	aliceMail        = "alice.smith@mail.example.test"
	aliceSID         = "S-1-5-21-1-2-3-1001"
	enrollersDN      = "CN=Enrollers,OU=Groups,DC=example,DC=test"
	staffDN          = "CN=Staff,OU=Groups,DC=example,DC=test"
	pc1DN            = "cn=PC1,ou=Computers,dc=example,dc=test"
	pc1SID           = "S-1-5-21-1-2-3-1104"
	domainComputers  = "CN=Domain Computers,OU=Groups,DC=example,DC=test"
	dupPassword      = "dup-Secret-1"
)

// TestLDAPWithSlapd runs the LDAP directory against a real OpenLDAP slapd
// that it starts itself (as the test's user, with its own configuration
// in a temporary directory) and loads with an Active-Directory-shaped
// fixture: testdata/ad-test.schema defines the AD attributes ldap.go reads.
// It fails when slapd is not installed: .ci/run installs it.
func TestLDAPWithSlapd(t *testing.T) {
	srv := startSlapd(t)
	ctx := context.Background()

	newDir := func(t *testing.T, edit func(*LDAPConfig)) *LDAP {
		t.Helper()
		cfg := LDAPConfig{URL: srv.ldapsURL, CAFile: srv.caFile, BindDN: slapdSvcDN, BindPassword: slapdSvcPassword,
			BaseDN: slapdBaseDN, Timeout: 5 * time.Second}
		if edit != nil {
			edit(&cfg)
		}
		d, err := NewLDAP(cfg)
		if err != nil {
			t.Fatalf("NewLDAP: %v", err)
		}
		return d
	}
	alice := Identity{Name: "alice", DN: aliceDN, UPN: aliceUPN, Mail: aliceMail, SID: aliceSID,
		Groups: []string{enrollersDN, staffDN}}
	pc1 := Identity{Name: "PC1$", DN: pc1DN, DNSHostName: "pc1.example.test", SID: pc1SID,
		Groups: []string{domainComputers}, Computer: true}
	check := func(t *testing.T, got *Identity, err error, want Identity) {
		t.Helper()
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("identity:\n got %+v\nwant %+v", *got, want)
		}
	}
	wantErr := func(t *testing.T, err, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("error %v, want %v", err, target)
		}
	}

	d := newDir(t, nil)

	t.Run("Authenticate", func(t *testing.T) {
		for _, name := range []string{aliceUPN, "alice", aliceMail, "ALICE@Example.Test", "Alice"} {
			id, err := d.Authenticate(ctx, name, alicePassword)
			check(t, id, err, alice)
		}
		id, _ := d.Authenticate(ctx, "alice", alicePassword)
		if id == nil || !id.InGroup("Enrollers") || !id.InGroup(staffDN) || id.InGroup("Domain Computers") {
			t.Errorf("groups of %+v", id)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		for _, pw := range []string{"wrong", strings.ToUpper(alicePassword), alicePassword + " "} {
			_, err := d.Authenticate(ctx, aliceUPN, pw)
			wantErr(t, err, ErrInvalidCredentials)
		}
		// Another account's password is no better.
		_, err := d.Authenticate(ctx, "alice", slapdSvcPassword)
		wantErr(t, err, ErrInvalidCredentials)
		// PC1$ has no password in the fixture: no bind succeeds.
		_, err = d.Authenticate(ctx, "PC1$", "anything")
		wantErr(t, err, ErrInvalidCredentials)
	})

	t.Run("UnknownUser", func(t *testing.T) {
		for _, name := range []string{"nobody", "nobody@example.test", "svc", "*", "alice*", "alice)(sAMAccountName=*", `\2a`} {
			_, err := d.Authenticate(ctx, name, alicePassword)
			wantErr(t, err, ErrInvalidCredentials)
		}
	})

	t.Run("EmptyPasswordNeverDialed", func(t *testing.T) {
		// A listener standing in for the directory counts connections:
		// an empty password or user name is refused before any dial, so
		// no unauthenticated bind (RFC 4513 §5.1.2) can ever succeed.
		trap, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var dialed atomic.Int32
		go func() {
			for {
				c, err := trap.Accept()
				if err != nil {
					return
				}
				dialed.Add(1)
				c.Close()
			}
		}()
		trapped := newDir(t, func(c *LDAPConfig) { c.URL = "ldaps://" + trap.Addr().String() })
		for _, up := range [][2]string{{"alice", ""}, {"", alicePassword}, {"", ""}} {
			_, err := trapped.Authenticate(ctx, up[0], up[1])
			wantErr(t, err, ErrInvalidCredentials)
		}
		trap.Close()
		if n := dialed.Load(); n != 0 {
			t.Fatalf("%d connections for empty credentials", n)
		}
		// And against the real server.
		_, err = d.Authenticate(ctx, "alice", "")
		wantErr(t, err, ErrInvalidCredentials)
	})

	t.Run("AmbiguousName", func(t *testing.T) {
		// dup@example.test is one account's UPN and another's mail.
		_, err := d.Authenticate(ctx, "dup@example.test", dupPassword)
		if err == nil || errors.Is(err, ErrInvalidCredentials) || !strings.Contains(err.Error(), "more than one account") {
			t.Fatalf("error %v, want a more-than-one-account error", err)
		}
	})

	t.Run("Lookup", func(t *testing.T) {
		for _, p := range []string{"alice@EXAMPLE.TEST", "alice", "ALICE@EXAMPLE.TEST"} {
			id, err := d.Lookup(ctx, p)
			check(t, id, err, alice)
		}
		for _, p := range []string{"host/pc1.example.test@EXAMPLE.TEST", "HOST/PC1.EXAMPLE.TEST@EXAMPLE.TEST", "PC1$@EXAMPLE.TEST", "pc1$"} {
			id, err := d.Lookup(ctx, p)
			check(t, id, err, pc1)
		}
		for _, p := range []string{"nobody@EXAMPLE.TEST", "host/pc9.example.test@EXAMPLE.TEST", "*@EXAMPLE.TEST"} {
			_, err := d.Lookup(ctx, p)
			wantErr(t, err, ErrNotFound)
		}
	})

	t.Run("StartTLS", func(t *testing.T) {
		pwFile := filepath.Join(t.TempDir(), "bind-password")
		if err := os.WriteFile(pwFile, []byte(slapdSvcPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		st := newDir(t, func(c *LDAPConfig) {
			c.URL, c.StartTLS, c.BindPassword, c.BindPasswordFile = srv.ldapURL, true, "", pwFile
		})
		id, err := st.Authenticate(ctx, aliceUPN, alicePassword)
		check(t, id, err, alice)
		_, err = st.Authenticate(ctx, aliceUPN, "wrong")
		wantErr(t, err, ErrInvalidCredentials)
		id, err = st.Lookup(ctx, "host/pc1.example.test@EXAMPLE.TEST")
		check(t, id, err, pc1)
	})

	t.Run("PlainLDAPRefused", func(t *testing.T) {
		_, err := NewLDAP(LDAPConfig{URL: srv.ldapURL, CAFile: srv.caFile, BindDN: slapdSvcDN, BindPassword: slapdSvcPassword, BaseDN: slapdBaseDN})
		if err == nil {
			t.Fatal("ldap:// without start_tls accepted")
		}
	})

	t.Run("OtherCA", func(t *testing.T) {
		other := newDir(t, func(c *LDAPConfig) { c.CAFile = srv.otherCAFile })
		for _, op := range []func() error{
			func() error { _, err := other.Authenticate(ctx, aliceUPN, alicePassword); return err },
			func() error { _, err := other.Lookup(ctx, "alice@EXAMPLE.TEST"); return err },
		} {
			err := op()
			if err == nil || errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrNotFound) {
				t.Fatalf("error %v, want a TLS verification error", err)
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Fatalf("error %v (%T), want an x509.UnknownAuthorityError in its chain", err, err)
			}
		}
		// go-ldap formats StartTLS handshake errors with %v: only the
		// message carries the cause.
		otherST := newDir(t, func(c *LDAPConfig) { c.URL, c.StartTLS, c.CAFile = srv.ldapURL, true, srv.otherCAFile })
		_, err := otherST.Authenticate(ctx, aliceUPN, alicePassword)
		if err == nil || errors.Is(err, ErrInvalidCredentials) || !strings.Contains(err.Error(), "StartTLS") ||
			!strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("StartTLS error %v, want an unknown-authority TLS error", err)
		}
	})

	t.Run("WrongServiceAccountPassword", func(t *testing.T) {
		bad := newDir(t, func(c *LDAPConfig) { c.BindPassword = "not-the-password" })
		_, err := bad.Authenticate(ctx, aliceUPN, alicePassword)
		if err == nil || errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("error %v: a broken service account must not look like the user's mistake", err)
		}
		if !strings.Contains(err.Error(), "service account bind") || !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("error %v, want a service-account bind error with result code 49", err)
		}
		_, err = bad.Lookup(ctx, "alice@EXAMPLE.TEST")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "service account bind") {
			t.Fatalf("Lookup error %v, want a service-account bind error", err)
		}
	})
}

type slapdServer struct {
	ldapsURL, ldapURL   string
	caFile, otherCAFile string
}

// startSlapd configures, loads and starts a slapd listening on ldaps://
// and ldap:// (for StartTLS) on free loopback ports; t.Cleanup stops it.
func startSlapd(t *testing.T) *slapdServer {
	t.Helper()
	slapd := findSlapd(t)
	dir := t.TempDir()
	schema, err := filepath.Abs(filepath.Join("testdata", "ad-test.schema"))
	if err != nil {
		t.Fatal(err)
	}

	srv := &slapdServer{caFile: filepath.Join(dir, "ca.pem"), otherCAFile: filepath.Join(dir, "other-ca.pem")}
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeTestPKI(t, srv.caFile, srv.otherCAFile, certFile, keyFile)

	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	schemaDir := "/etc/ldap/schema" // Debian's slapd package
	if _, err := os.Stat(filepath.Join(schemaDir, "core.schema")); err != nil {
		schemaDir = "/etc/openldap/schema"
	}
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&conf, "include %q\n", filepath.Join(schemaDir, s+".schema"))
	}
	fmt.Fprintf(&conf, "include %q\n", schema)
	if mods := slapdModuleDir(); mods != "" {
		fmt.Fprintf(&conf, "modulepath %q\nmoduleload back_mdb\n", mods)
	}
	fmt.Fprintf(&conf, `pidfile %q
argsfile %q
TLSCACertificateFile %q
TLSCertificateFile %q
TLSCertificateKeyFile %q

database mdb
maxsize 8388608
suffix %q
directory %q
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact=%q read
	by self read
	by * none
`, filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"), srv.caFile, certFile, keyFile,
		slapdBaseDN, filepath.Join(dir, "db"), slapdSvcDN)
	confFile := filepath.Join(dir, "slapd.conf")
	ldifFile := filepath.Join(dir, "fixture.ldif")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ldifFile, []byte(fixtureLDIF(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	// slapd -T add is slapadd; -q skips consistency checks (a fresh database).
	if out, err := exec.Command(slapd, "-T", "add", "-q", "-f", confFile, "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}

	// The free ports are found by binding and releasing them, so another
	// process may take one meanwhile: try again on "address in use".
	for attempt := 1; ; attempt++ {
		ldapsAddr, ldapAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
		srv.ldapsURL, srv.ldapURL = "ldaps://"+ldapsAddr, "ldap://"+ldapAddr
		stderr := new(syncBuffer)
		// -d 0: stay in the foreground without debug output.
		cmd := exec.Command(slapd, "-h", srv.ldapsURL+" "+srv.ldapURL, "-f", confFile, "-d", "0")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("slapd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		err := waitListening(exited, 10*time.Second, ldapsAddr, ldapAddr)
		if err == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return srv
		}
		_ = cmd.Process.Kill()
		<-exited
		if attempt < 3 && strings.Contains(stderr.String(), "in use") {
			continue
		}
		t.Fatalf("slapd: %v\n%s", err, stderr.String())
	}
}

// findSlapd returns slapd's path; a missing slapd fails the test.
func findSlapd(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("slapd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/slapd", "/usr/local/sbin/slapd", "/usr/libexec/slapd", "/usr/local/libexec/slapd"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	t.Fatal("slapd not found: install OpenLDAP's server (Debian: apt-get install slapd; .ci/run does)")
	return ""
}

// slapdModuleDir is where a packaged slapd keeps back_mdb as a loadable
// module; "" when it is built in.
func slapdModuleDir() string {
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap", "/usr/local/libexec/openldap"} {
		if _, err := os.Stat(filepath.Join(d, "back_mdb.so")); err == nil {
			return d
		}
		if _, err := os.Stat(filepath.Join(d, "back_mdb.la")); err == nil {
			return d
		}
	}
	return ""
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until every addr accepts TCP connections, or the
// process exits, or the timeout passes.
func waitListening(exited <-chan error, timeout time.Duration, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		for _, a := range addrs {
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err != nil {
				ready = false
				break
			}
			c.Close()
		}
		if ready {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before listening: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %v after %v", addrs, timeout)
		}
	}
}

// writeTestPKI writes a CA, a server certificate it issued for 127.0.0.1
// and localhost with its key, and an unrelated CA.
func writeTestPKI(t *testing.T, caFile, otherCAFile, certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	create := func(tmpl, parent *x509.Certificate, pub any, signer *ecdsa.PrivateKey) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	newCA := func(serial int64, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true}
		return create(tmpl, tmpl, k.Public(), k), k
	}
	writePEM := func(file, typ string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}

	ca, caKey := newCA(1, "certgate test LDAP CA")
	other, _ := newCA(2, "certgate unrelated test CA")
	serverKey := newKey()
	server := create(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}, ca, serverKey.Public(), caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(caFile, "CERTIFICATE", ca.Raw, 0o644)
	writePEM(otherCAFile, "CERTIFICATE", other.Raw, 0o644)
	writePEM(certFile, "CERTIFICATE", server.Raw, 0o644)
	writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600)
}

// fixtureLDIF is the directory: a service account, alice, a computer,
// their groups, and two accounts sharing a name (one's UPN, the other's
// mail).
func fixtureLDIF(t *testing.T) string {
	t.Helper()
	sid := func(s string) string {
		b := binarySID(t, s)
		if got := SIDString(b); got != s {
			t.Fatalf("binarySID(%s) reads back as %q", s, got)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return strings.Join([]string{
		`dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
dc: example
o: Example Test`,
		`dn: ou=Users,dc=example,dc=test
objectClass: organizationalUnit
ou: Users`,
		`dn: ou=Groups,dc=example,dc=test
objectClass: organizationalUnit
ou: Groups`,
		`dn: ou=Computers,dc=example,dc=test
objectClass: organizationalUnit
ou: Computers`,
		`dn: ` + slapdSvcDN + `
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc
userPassword: ` + sshaPassword(t, slapdSvcPassword),
		`dn: ` + aliceDN + `
objectClass: inetOrgPerson
objectClass: adAccount
cn: Alice Smith
sn: Smith
givenName: Alice
sAMAccountName: alice
userPrincipalName: ` + aliceUPN + `
mail: ` + aliceMail + `
objectSid:: ` + sid(aliceSID) + `
memberOf: ` + enrollersDN + `
memberOf: ` + staffDN + `
userPassword: ` + sshaPassword(t, alicePassword),
		`dn: ` + pc1DN + `
objectClass: computer
objectClass: adAccount
cn: PC1
sAMAccountName: PC1$
dNSHostName: pc1.example.test
objectSid:: ` + sid(pc1SID) + `
memberOf: ` + domainComputers,
		`dn: cn=Dup One,ou=Users,dc=example,dc=test
objectClass: inetOrgPerson
objectClass: adAccount
cn: Dup One
sn: One
sAMAccountName: dup1
userPrincipalName: dup@example.test
userPassword: ` + sshaPassword(t, dupPassword),
		`dn: cn=Dup Two,ou=Users,dc=example,dc=test
objectClass: inetOrgPerson
objectClass: adAccount
cn: Dup Two
sn: Two
sAMAccountName: dup2
mail: dup@example.test
userPassword: ` + sshaPassword(t, dupPassword),
		`dn: cn=Enrollers,ou=Groups,dc=example,dc=test
objectClass: groupOfNames
cn: Enrollers
member: ` + aliceDN,
		`dn: cn=Staff,ou=Groups,dc=example,dc=test
objectClass: groupOfNames
cn: Staff
member: ` + aliceDN,
		`dn: cn=Domain Computers,ou=Groups,dc=example,dc=test
objectClass: groupOfNames
cn: Domain Computers
member: ` + pc1DN,
	}, "\n\n") + "\n"
}

// binarySID encodes S-1-<authority>-<sub>... as AD stores objectSid
// (MS-DTYP §2.4.2.2): revision, sub-authority count, 48-bit big-endian
// authority, little-endian 32-bit sub-authorities.
func binarySID(t *testing.T, s string) []byte {
	t.Helper()
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || parts[1] != "1" {
		t.Fatalf("bad SID %q", s)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		t.Fatalf("bad SID %q: %v", s, err)
	}
	subs := parts[3:]
	b := make([]byte, 8, 8+4*len(subs))
	b[0], b[1] = 1, byte(len(subs))
	for i := 0; i < 6; i++ {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for _, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			t.Fatalf("bad SID %q: %v", s, err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// sshaPassword is an OpenLDAP {SSHA} userPassword: SHA-1 of password and
// salt, then the salt.
func sshaPassword(t *testing.T, password string) string {
	t.Helper()
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// syncBuffer collects slapd's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
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
