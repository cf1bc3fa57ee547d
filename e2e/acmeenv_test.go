package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// acmeEnv is what an ACME client's world looks like to the validator: a
// DNS server answering for *.certgate.test (127.0.0.1, and TXT records the
// test sets), an http-01 responder and a tls-alpn-01 responder.
type acmeEnv struct {
	dnsAddr     string
	httpPort    int
	tlsALPNPort int

	mu   sync.Mutex // guards txt, http, alpn
	txt  map[string][]string
	http map[string]string
	alpn map[string]string
}

func newACMEEnv(t testing.TB) *acmeEnv {
	t.Helper()
	e := &acmeEnv{txt: map[string][]string{}, http: map[string]string{}, alpn: map[string]string{}}
	// DNS wants UDP and TCP on one port: the port UDP got may be taken
	// for TCP by someone else, so try a few.
	var pc net.PacketConn
	var tl net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if tl, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("no port free for both UDP and TCP: %v", err)
		}
	}
	e.dnsAddr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: dns.HandlerFunc(e.serveDNS)}, {Listener: tl, Handler: dns.HandlerFunc(e.serveDNS)}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.httpPort = hl.Addr().(*net.TCPAddr).Port
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		e.mu.Lock()
		ka, ok := e.http[token]
		e.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, ka)
	})}
	go hs.Serve(hl)
	t.Cleanup(func() { hs.Close() })
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.tlsALPNPort = al.Addr().(*net.TCPAddr).Port
	tlsLis := tls.NewListener(al, &tls.Config{NextProtos: []string{"acme-tls/1"}, GetCertificate: e.alpnCert})
	go func() {
		for {
			c, err := tlsLis.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { tlsLis.Close() })
	return e
}

// devArgs points certgate dev's ACME validator at this world.
func (e *acmeEnv) devArgs() []string {
	return []string{"--acme-resolver", e.dnsAddr, "--acme-http01-port", strconv.Itoa(e.httpPort), "--acme-tlsalpn01-port", strconv.Itoa(e.tlsALPNPort)}
}

func (e *acmeEnv) serveDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	if !strings.HasSuffix(name, ".certgate.test") && name != "certgate.test" {
		m.Rcode = dns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	switch q.Qtype {
	case dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: net.ParseIP("127.0.0.1")})
	case dns.TypeTXT:
		e.mu.Lock()
		for _, v := range e.txt[name] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0}, Txt: []string{v}})
		}
		e.mu.Unlock()
	}
	w.WriteMsg(m)
}

// serve publishes the response to a challenge for identifier name.
func (e *acmeEnv) serve(challengeType, name, token, keyAuth string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch challengeType {
	case "http-01":
		e.http[token] = keyAuth
	case "dns-01":
		sum := sha256.Sum256([]byte(keyAuth))
		key := "_acme-challenge." + strings.TrimPrefix(name, "*.")
		e.txt[key] = append(e.txt[key], base64.RawURLEncoding.EncodeToString(sum[:]))
	case "tls-alpn-01":
		e.alpn[name] = keyAuth
	}
}

var oidACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// alpnCert builds the RFC 8737 validation certificate for the SNI name.
func (e *acmeEnv) alpnCert(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	e.mu.Lock()
	ka, ok := e.alpn[hello.ServerName]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no tls-alpn-01 challenge for %q", hello.ServerName)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sum := sha256.Sum256([]byte(ka))
	ext, _ := asn1.Marshal(sum[:])
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hello.ServerName}, DNSNames: []string{hello.ServerName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: oidACMEIdentifier, Critical: true, Value: ext}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// trustPool loads the dev suite's trust bundle.
func trustPool(t testing.TB, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return pool
}

func newKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRSAKey(t *testing.T) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newP384Key(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
