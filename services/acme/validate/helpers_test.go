package validate

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	testToken      = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	testThumbprint = "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEY0tXaJnM"
	testKeyAuth    = testToken + "." + testThumbprint
)

// testDigest is what dns-01 wants: base64url(SHA-256(key authorization)).
func testDigest(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// testDNS is an authoritative-only DNS server on loopback, over UDP and
// TCP on the same port.
type testDNS struct {
	addr string

	mu sync.Mutex // guards records, servfail, drop, chase and tcpQueries
	// records holds the zone, by lower-case FQDN.
	records map[string][]dns.RR
	// servfail names are answered SERVFAIL.
	servfail map[string]bool
	// drop names are never answered.
	drop map[string]bool
	// chase names are CNAMEs whose target's records the server appends,
	// as a recursive resolver would.
	chase map[string]bool
	// tcpQueries counts the queries received over TCP, by name.
	tcpQueries map[string]int
}

func newTestDNS(t *testing.T) *testDNS {
	t.Helper()
	z := &testDNS{
		records:    map[string][]dns.RR{},
		servfail:   map[string]bool{},
		drop:       map[string]bool{},
		chase:      map[string]bool{},
		tcpQueries: map[string]int{},
	}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("no port free for both UDP and TCP: %v", err)
	}
	z.addr = pc.LocalAddr().String()

	servers := []*dns.Server{
		{PacketConn: pc, Handler: z},
		{Listener: ln, Handler: z},
	}
	var wg sync.WaitGroup
	for _, s := range servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() {
			if err := s.ActivateAndServe(); err != nil {
				t.Errorf("test DNS server: %v", err)
			}
		})
		<-started
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.Shutdown()
		}
		wg.Wait()
	})
	return z
}

// add adds records in zone-file syntax.
func (z *testDNS) add(t *testing.T, records ...string) {
	t.Helper()
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad test record %q: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		z.records[name] = append(z.records[name], rr)
	}
}

func (z *testDNS) setServfail(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.servfail[dns.Fqdn(name)] = true
}

func (z *testDNS) setDrop(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.drop[dns.Fqdn(name)] = true
}

func (z *testDNS) setChase(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.chase[dns.Fqdn(name)] = true
}

func (z *testDNS) tcpCount(name string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.tcpQueries[dns.Fqdn(name)]
}

func (z *testDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	udp := w.LocalAddr().Network() == "udp"

	z.mu.Lock()
	if !udp {
		z.tcpQueries[name]++
	}
	drop, servfail, chase := z.drop[name], z.servfail[name], z.chase[name]
	rrs, exists := z.records[name]
	var chased []dns.RR
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && chase {
			chased = append(chased, z.records[strings.ToLower(c.Target)]...)
		}
	}
	z.mu.Unlock()

	switch {
	case drop:
		return
	case servfail:
		m.Rcode = dns.RcodeServerFailure
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		if len(m.Answer) == 0 {
			for _, rr := range rrs {
				if rr.Header().Rrtype == dns.TypeCNAME {
					m.Answer = append(m.Answer, dns.Copy(rr))
				}
			}
			for _, rr := range chased {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, dns.Copy(rr))
				}
			}
		}
	}
	if udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// newTestValidator returns a Validator resolving through z.
func newTestValidator(t *testing.T, z *testDNS, cfg Config) *Validator {
	t.Helper()
	if z != nil {
		cfg.Resolver = z.addr
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// closedPort returns a loopback TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// hasIPv6Loopback reports whether ::1 can be listened on.
func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// checkResult fails t unless err is nil (wantType "") or a *Problem of
// wantType whose detail contains every one of wantDetail.
func checkResult(t *testing.T, err error, wantType string, wantDetail ...string) {
	t.Helper()
	if wantType == "" {
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate succeeded; want a %s problem", wantType)
	}
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("Validate: %T %v; want a *Problem", err, err)
	}
	if p.Type != wantType {
		t.Errorf("problem type %q (%s); want %q", p.Type, p.Detail, wantType)
	}
	for _, d := range wantDetail {
		if !strings.Contains(p.Detail, d) {
			t.Errorf("problem detail %q does not contain %q", p.Detail, d)
		}
	}
	if !strings.HasPrefix(err.Error(), "validate: "+p.Type+": ") {
		t.Errorf("Error() = %q; want the prefix %q", err.Error(), "validate: "+p.Type+": ")
	}
	t.Logf("%v", err)
}

func portOf(t *testing.T, addr net.Addr) int {
	t.Helper()
	return addr.(*net.TCPAddr).Port
}
