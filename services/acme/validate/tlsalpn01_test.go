package validate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// alpnCert describes a tls-alpn-01 answer certificate.
type alpnCert struct {
	dnsNames []string
	ips      []net.IP
	// digest is the acmeIdentifier extension's content; nil leaves the
	// extension out.
	digest      []byte
	notCritical bool
	// twice presents the certificate twice, as a chain of two.
	twice bool
}

func (c alpnCert) build(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tls-alpn-01 test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     c.dnsNames,
		IPAddresses:  c.ips,
	}
	if c.digest != nil {
		value, err := asn1.Marshal(c.digest)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{
			Id:       asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31},
			Critical: !c.notCritical,
			Value:    value,
		}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if c.twice {
		chain = append(chain, der)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key}
}

// alpnServer is a TLS server on loopback that records the SNI it is sent.
type alpnServer struct {
	port int

	mu  sync.Mutex // guards sni
	sni []string
}

func (s *alpnServer) serverNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

// startALPN serves cert with the ALPN protocols protos on 127.0.0.1 (or
// ::1 when network is "tcp6").
func startALPN(t *testing.T, network string, cert tls.Certificate, protos []string) *alpnServer {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &alpnServer{port: portOf(t, ln.Addr())}
	cfg := &tls.Config{
		NextProtos: protos,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.sni = append(s.sni, hello.ServerName)
			return &cert, nil
		},
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				tc := tls.Server(conn, cfg)
				if tc.Handshake() == nil {
					tc.Close()
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return s
}

func TestTLSALPN01(t *testing.T) {
	z := newTestDNS(t)
	z.add(t, "alpn.test. 60 IN A 127.0.0.1")
	sum := sha256.Sum256([]byte(testKeyAuth))
	good := sum[:]
	other := sha256.Sum256([]byte(testKeyAuth + "x"))
	loopback := net.ParseIP("127.0.0.1")
	acme := []string{"acme-tls/1"}

	tests := []struct {
		name       string
		id         Identifier
		cert       alpnCert
		protos     []string
		wantSNI    string
		wantType   string
		wantDetail []string
	}{
		{name: "ok/dns", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good}, protos: acme,
			wantSNI: "alpn.test"},
		{name: "ok/dns-name-case", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"ALPN.test"}, digest: good}, protos: acme,
			wantSNI: "alpn.test"},
		{name: "ok/ip", id: Identifier{"ip", "127.0.0.1"}, cert: alpnCert{ips: []net.IP{loopback}, digest: good}, protos: acme,
			wantSNI: "1.0.0.127.in-addr.arpa"},
		{name: "fail/no-alpn", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good},
			wantType: ProblemUnauthorized, wantDetail: []string{"did not negotiate the acme-tls/1 protocol"}},
		{name: "fail/alpn-refused", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good}, protos: []string{"h2", "http/1.1"},
			wantType: ProblemUnauthorized, wantDetail: []string{"refused the acme-tls/1 protocol"}},
		{name: "fail/wrong-digest", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: other[:]}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"does not match the key authorization"}},
		{name: "fail/digest-too-short", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good[:16]}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"not an OCTET STRING of 32 bytes"}},
		{name: "fail/extension-not-critical", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good, notCritical: true}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"not critical"}},
		{name: "fail/no-extension", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}}, protos: acme,
			wantType: ProblemUnauthorized, wantDetail: []string{"no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)"}},
		{name: "fail/two-sans", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test", "other.test"}, digest: good}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"dNSName alpn.test, dNSName other.test", "want exactly dNSName alpn.test"}},
		{name: "fail/dns-and-ip-sans", id: Identifier{"ip", "127.0.0.1"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, ips: []net.IP{loopback}, digest: good}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"want exactly iPAddress 127.0.0.1"}},
		{name: "fail/wrong-name", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"other.test"}, digest: good}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"[dNSName other.test]"}},
		{name: "fail/ip-as-dnsname", id: Identifier{"ip", "127.0.0.1"}, cert: alpnCert{dnsNames: []string{"127.0.0.1"}, digest: good}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"want exactly iPAddress 127.0.0.1"}},
		{name: "fail/two-certificates", id: Identifier{"dns", "alpn.test"}, cert: alpnCert{dnsNames: []string{"alpn.test"}, digest: good, twice: true}, protos: acme,
			wantType: ProblemIncorrectResponse, wantDetail: []string{"presented 2 certificates"}},
		{name: "fail/unresolvable", id: Identifier{"dns", "nx.test"}, cert: alpnCert{dnsNames: []string{"nx.test"}, digest: good}, protos: acme,
			wantType: ProblemDNS, wantDetail: []string{"no A or AAAA record for nx.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startALPN(t, "tcp", tc.cert.build(t), tc.protos)
			v := newTestValidator(t, z, Config{TLSALPNPort: srv.port})
			err := v.Validate(t.Context(), ChallengeTLSALPN01, tc.id, testToken, testKeyAuth)
			checkResult(t, err, tc.wantType, tc.wantDetail...)
			if tc.wantSNI != "" {
				if got := srv.serverNames(); len(got) != 1 || got[0] != tc.wantSNI {
					t.Errorf("the server saw SNI %q; want [%s]", got, tc.wantSNI)
				}
			}
		})
	}

	t.Run("fail/connection-refused", func(t *testing.T) {
		closed := closedPort(t)
		v := newTestValidator(t, z, Config{TLSALPNPort: closed})
		err := v.Validate(t.Context(), ChallengeTLSALPN01, Identifier{"dns", "alpn.test"}, testToken, testKeyAuth)
		checkResult(t, err, ProblemConnection, "127.0.0.1:", "connection refused")
	})

	t.Run("fail/not-tls", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
			conn.Read(make([]byte, 1024))
		})
		defer wg.Wait()
		defer ln.Close()
		v := newTestValidator(t, z, Config{TLSALPNPort: portOf(t, ln.Addr())})
		err = v.Validate(t.Context(), ChallengeTLSALPN01, Identifier{"ip", "127.0.0.1"}, testToken, testKeyAuth)
		checkResult(t, err, ProblemTLS, "TLS handshake", "1.0.0.127.in-addr.arpa")
	})

	t.Run("ok/ipv6", func(t *testing.T) {
		if !hasIPv6Loopback() {
			v := newTestValidator(t, z, Config{TLSALPNPort: closedPort(t)})
			err := v.Validate(t.Context(), ChallengeTLSALPN01, Identifier{"ip", "::1"}, testToken, testKeyAuth)
			checkResult(t, err, ProblemConnection, "[::1]:")
			return
		}
		srv := startALPN(t, "tcp6", alpnCert{ips: []net.IP{net.IPv6loopback}, digest: good}.build(t), acme)
		v := newTestValidator(t, z, Config{TLSALPNPort: srv.port})
		err := v.Validate(t.Context(), ChallengeTLSALPN01, Identifier{"ip", "::1"}, testToken, testKeyAuth)
		checkResult(t, err, "")
		want := "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"
		if got := srv.serverNames(); len(got) != 1 || got[0] != want {
			t.Errorf("the server saw SNI %q; want [%s]", got, want)
		}
	})
}

func TestReverseName(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"192.0.2.1", "1.2.0.192.in-addr.arpa"},
		{"2001:db8::567:89ab", "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
	} {
		t.Run("ok/"+tc.ip, func(t *testing.T) {
			if got := reverseName(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Errorf("reverseName(%s) = %s; want %s", tc.ip, got, tc.want)
			}
		})
	}
}

func TestParseGeneralNames(t *testing.T) {
	// A subjectAltName with an rfc822Name next to the dNSName: Go's x509
	// would show only the dNSName in DNSNames, the check must see both.
	der, err := asn1.Marshal([]asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: tagDNSName, Bytes: []byte("alpn.test")},
		{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte("a@alpn.test")},
	})
	if err != nil {
		t.Fatal(err)
	}
	names, err := parseGeneralNames(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[1].String() != "rfc822Name" {
		t.Errorf("names %v; want a dNSName and an rfc822Name", names)
	}
	if _, err := parseGeneralNames([]byte{0x04, 0x00}); err == nil {
		t.Error("an OCTET STRING parsed as a subjectAltName")
	}
	if p := checkALPNCertificate(certWithSAN(t, der), target{name: "alpn.test"}, testKeyAuth, "x"); p == nil || p.Type != ProblemIncorrectResponse {
		t.Errorf("a certificate with an extra rfc822Name: %v; want incorrectResponse", p)
	}
}

func certWithSAN(t *testing.T, san []byte) *x509.Certificate {
	t.Helper()
	sum := sha256.Sum256([]byte(testKeyAuth))
	value, _ := asn1.Marshal(sum[:])
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}, Critical: true, Value: value},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
