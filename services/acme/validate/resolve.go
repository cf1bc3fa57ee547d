package validate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// defaultQueryTimeout bounds one DNS exchange with one server.
	defaultQueryTimeout = 3 * time.Second
	// defaultAttempts is how many times each server is asked when it
	// does not answer.
	defaultAttempts = 2
	// maxCNAMEHops is the longest CNAME chain followed.
	maxCNAMEHops = 10
	// ednsUDPSize is the EDNS0 UDP payload size offered (the DNS flag day
	// 2020 value); larger answers come truncated and are asked again over
	// TCP.
	ednsUDPSize = 1232
)

// resolver answers the lookups validations need.
type resolver interface {
	// lookupTXT returns the TXT records at name, each record's strings
	// concatenated, following CNAMEs.
	lookupTXT(ctx context.Context, name string) ([]string, error)
	// lookupAddrs returns the IPv6 and IPv4 addresses of name.
	lookupAddrs(ctx context.Context, name string) (v6, v4 []netip.Addr, err error)
}

// lookupError is a failed lookup.
type lookupError struct {
	// notFound is set when the name does not exist or has no records of
	// the type asked for.
	notFound bool
	// reason says what happened: "NXDOMAIN", "SERVFAIL from 10.0.0.53:53",
	// "timeout querying 10.0.0.53:53", ...
	reason string
	// err is the cause, if any.
	err error
}

func (e *lookupError) Error() string { return e.reason }
func (e *lookupError) Unwrap() error { return e.err }

// lookupProblem turns a lookup failure into a dns problem. notFound is
// the detail when the records do not exist, other the description of the
// lookup ("looking up TXT for x").
func lookupProblem(err error, notFound, other string) *Problem {
	var le *lookupError
	if errors.As(err, &le) && le.notFound {
		return problem(ProblemDNS, err, "%s (%s)", notFound, le.reason)
	}
	return problem(ProblemDNS, err, "%s: %v", other, err)
}

// systemResolver returns a resolver asking the nameservers of the
// resolv.conf file at path, or net.DefaultResolver when there is none.
func systemResolver(path string) resolver {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cc.Servers) == 0 {
		return netResolver{r: net.DefaultResolver}
	}
	r := &dnsResolver{
		queryTimeout: time.Duration(cc.Timeout) * time.Second,
		attempts:     cc.Attempts,
	}
	for _, s := range cc.Servers {
		r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
	}
	if r.queryTimeout <= 0 {
		r.queryTimeout = defaultQueryTimeout
	}
	if r.attempts <= 0 {
		r.attempts = defaultAttempts
	}
	return r
}

// dnsResolver asks recursive DNS servers directly, with miekg/dns.
type dnsResolver struct {
	servers      []string // "host:port", asked in order
	queryTimeout time.Duration
	attempts     int
}

func (r *dnsResolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range rrs {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out, nil
}

func (r *dnsResolver) lookupAddrs(ctx context.Context, name string) (v6, v4 []netip.Addr, err error) {
	var (
		wg    sync.WaitGroup
		rrs6  []dns.RR
		err6  error
		rrs4  []dns.RR
		err4  error
		found bool
	)
	wg.Go(func() { rrs6, err6 = r.lookup(ctx, name, dns.TypeAAAA) })
	rrs4, err4 = r.lookup(ctx, name, dns.TypeA)
	wg.Wait()
	for _, rr := range rrs6 {
		if aaaa, ok := rr.(*dns.AAAA); ok {
			if a, ok := netip.AddrFromSlice(aaaa.AAAA); ok {
				v6 = append(v6, a)
				found = true
			}
		}
	}
	for _, rr := range rrs4 {
		if rec, ok := rr.(*dns.A); ok {
			if a, ok := netip.AddrFromSlice(rec.A); ok {
				v4 = append(v4, a.Unmap())
				found = true
			}
		}
	}
	if found {
		return v6, v4, nil
	}
	// Report a failure (SERVFAIL, timeout) before an absence.
	for _, err := range []error{err4, err6} {
		var le *lookupError
		if err != nil && (!errors.As(err, &le) || !le.notFound) {
			return nil, nil, err
		}
	}
	if err4 != nil {
		return nil, nil, err4
	}
	return nil, nil, &lookupError{notFound: true, reason: "no A or AAAA records"}
}

// lookup returns the records of type qtype at name, following CNAMEs
// whether the server chased them (recursive) or not (authoritative).
func (r *dnsResolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	qname := dns.Fqdn(name)
	seen := map[string]bool{strings.ToLower(qname): true}
	hops := 0
	for query := qname; ; {
		resp, err := r.exchange(ctx, query, qtype)
		if err != nil {
			return nil, err
		}
		owner := query
		for {
			if rrs := recordsAt(resp.Answer, owner, qtype); len(rrs) > 0 {
				return rrs, nil
			}
			next, ok := cnameAt(resp.Answer, owner)
			if !ok {
				break
			}
			hops++
			if hops > maxCNAMEHops {
				return nil, &lookupError{reason: fmt.Sprintf("more than %d CNAMEs from %s", maxCNAMEHops, strings.TrimSuffix(qname, "."))}
			}
			if seen[strings.ToLower(next)] {
				return nil, &lookupError{reason: fmt.Sprintf("CNAME loop at %s", strings.TrimSuffix(next, "."))}
			}
			seen[strings.ToLower(next)] = true
			owner = next
		}
		if resp.Rcode == dns.RcodeNameError || owner == query {
			reason := "no " + dns.TypeToString[qtype] + " records"
			if resp.Rcode == dns.RcodeNameError {
				reason = "NXDOMAIN"
			}
			if !strings.EqualFold(owner, qname) {
				reason += " at " + strings.TrimSuffix(owner, ".") + ", reached through a CNAME"
			}
			return nil, &lookupError{notFound: true, reason: reason}
		}
		// The answer ends in a CNAME the server did not chase: ask for
		// its target.
		query = owner
	}
}

func recordsAt(rrs []dns.RR, owner string, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == qtype && h.Class == dns.ClassINET && strings.EqualFold(h.Name, owner) {
			out = append(out, rr)
		}
	}
	return out
}

func cnameAt(rrs []dns.RR, owner string) (string, bool) {
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && c.Hdr.Class == dns.ClassINET && strings.EqualFold(c.Hdr.Name, owner) {
			return dns.Fqdn(c.Target), true
		}
	}
	return "", false
}

// exchange asks the servers in turn for qtype at name until one answers
// NOERROR or NXDOMAIN. A server that does not answer is asked again, up
// to r.attempts times; one that answers with another rcode is not.
func (r *dnsResolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsUDPSize, false)

	var lastErr error
	refused := make(map[string]bool)
	for range r.attempts {
		for _, server := range r.servers {
			if refused[server] {
				continue
			}
			resp, err := r.exchangeWith(ctx, q, server)
			if ctx.Err() != nil {
				return nil, &lookupError{reason: describeNetErr(ctx, ctx.Err()) + " querying " + server, err: ctx.Err()}
			}
			if err != nil {
				lastErr = &lookupError{reason: describeNetErr(ctx, err) + " querying " + server, err: err}
				continue
			}
			if resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError {
				return resp, nil
			}
			refused[server] = true
			lastErr = &lookupError{reason: rcodeString(resp.Rcode) + " from " + server}
		}
	}
	return nil, lastErr
}

func rcodeString(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}

// exchangeWith asks one server, over UDP and then over TCP if the answer
// was truncated, and checks that the answer answers the question.
func (r *dnsResolver) exchangeWith(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	m := q.Copy()
	m.Id = dns.Id()
	resp, err := r.roundTrip(ctx, "udp", m, server)
	if err == nil && resp.Truncated {
		resp, err = r.roundTrip(ctx, "tcp", m, server)
	}
	if err != nil {
		return nil, err
	}
	want := m.Question[0]
	if !resp.Response || resp.Opcode != dns.OpcodeQuery || len(resp.Question) != 1 ||
		resp.Question[0].Qtype != want.Qtype || resp.Question[0].Qclass != want.Qclass ||
		!strings.EqualFold(resp.Question[0].Name, want.Name) {
		return nil, errors.New("the answer does not match the question")
	}
	return resp, nil
}

// roundTrip sends m to server over network and reads the answer, giving up
// when ctx is done.
func (r *dnsResolver) roundTrip(ctx context.Context, network string, m *dns.Msg, server string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: r.queryTimeout, UDPSize: ednsUDPSize}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// miekg/dns honours the context's deadline but not its cancellation:
	// closing the connection interrupts the read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	return resp, err
}

// netResolver is the fallback when there is no resolv.conf to read.
type netResolver struct {
	r *net.Resolver
}

func (n netResolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := n.r.LookupTXT(ctx, dns.Fqdn(name))
	if err != nil {
		return nil, netLookupError(ctx, err)
	}
	if len(txts) == 0 {
		return nil, &lookupError{notFound: true, reason: "no TXT records"}
	}
	return txts, nil
}

func (n netResolver) lookupAddrs(ctx context.Context, name string) (v6, v4 []netip.Addr, err error) {
	addrs, err := n.r.LookupNetIP(ctx, "ip", dns.Fqdn(name))
	if err != nil {
		return nil, nil, netLookupError(ctx, err)
	}
	for _, a := range addrs {
		if a.Is4() || a.Is4In6() {
			v4 = append(v4, a.Unmap())
		} else {
			v6 = append(v6, a)
		}
	}
	if len(v4)+len(v6) == 0 {
		return nil, nil, &lookupError{notFound: true, reason: "no A or AAAA records"}
	}
	return v6, v4, nil
}

func netLookupError(ctx context.Context, err error) error {
	var de *net.DNSError
	switch {
	case ctx.Err() != nil:
		return &lookupError{reason: describeNetErr(ctx, err), err: ctx.Err()}
	case errors.As(err, &de) && de.IsNotFound:
		return &lookupError{notFound: true, reason: "not found", err: err}
	case errors.As(err, &de) && de.IsTimeout:
		return &lookupError{reason: "timeout", err: err}
	case errors.As(err, &de):
		return &lookupError{reason: de.Err, err: err}
	}
	return &lookupError{reason: err.Error(), err: err}
}

// localhostResolver answers address lookups for "localhost" and its
// subdomains with the loopback addresses, as RFC 6761 §6.3 asks name
// resolution libraries to, instead of sending them to DNS servers (which
// mostly answer NXDOMAIN). It lets a client on the ACME service's own host
// prove control of app.localhost, as in development.
type localhostResolver struct{ next resolver }

func isLocalhost(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

func (l localhostResolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	return l.next.lookupTXT(ctx, name)
}

func (l localhostResolver) lookupAddrs(ctx context.Context, name string) (v6, v4 []netip.Addr, err error) {
	if isLocalhost(name) {
		return []netip.Addr{netip.IPv6Loopback()}, []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}, nil
	}
	return l.next.lookupAddrs(ctx, name)
}
