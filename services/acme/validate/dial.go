package validate

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dialStateKey is the context key under which an http-01 request carries
// its *dialState.
type dialStateKey struct{}

// dialState follows one http-01 request's connection. net/http dials with
// a context detached from the request's cancellation (so that a dial can
// outlive its request and serve another one); validations never share
// connections, so the dialler restores the attempt's cancellation from
// here and no dial outlives its validation. And when the request fails
// on its context, the transport does not wait for the dialler's error:
// the phase recorded here says what was under way.
type dialState struct {
	attempt context.Context // the validation attempt

	mu    sync.Mutex // guards phase and where
	phase dialPhase
	where string // the host being resolved or the address connected to
}

type dialPhase int

const (
	phaseNone dialPhase = iota
	phaseResolving
	phaseConnecting
	phaseHandshaking
	phaseWaiting // for the response
)

func withDialState(ctx context.Context) (context.Context, *dialState) {
	st := &dialState{attempt: ctx}
	return context.WithValue(ctx, dialStateKey{}, st), st
}

// dialStateOf returns the state ctx carries, if any, and the context
// dials must honour.
func dialStateOf(ctx context.Context) (*dialState, context.Context) {
	if st, ok := ctx.Value(dialStateKey{}).(*dialState); ok {
		return st, st.attempt
	}
	return nil, ctx
}

// set records the phase; st may be nil.
func (st *dialState) set(phase dialPhase, where string) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.phase, st.where = phase, where
}

func (st *dialState) get() (dialPhase, string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.phase, st.where
}

// addrsFor returns the addresses to try for host, an IP address or a DNS
// name resolved through the configured resolver: the first IPv6 address,
// then the first IPv4 address (like Let's Encrypt: IPv6 first, one IPv4
// fallback).
func (v *Validator) addrsFor(ctx context.Context, host string, st *dialState) ([]netip.Addr, *Problem) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	st.set(phaseResolving, host)
	v6, v4, err := v.resolver.lookupAddrs(ctx, host)
	if err != nil {
		return nil, lookupProblem(err, "no A or AAAA record for "+host, "looking up A and AAAA for "+host)
	}
	var addrs []netip.Addr
	if len(v6) > 0 {
		addrs = append(addrs, v6[0])
	}
	if len(v4) > 0 {
		addrs = append(addrs, v4[0])
	}
	return addrs, nil
}

// dialHost connects to port on host, trying the addresses of addrsFor in
// turn. When there is a fallback, the first address gets at most half of
// the remaining time. It records its progress in st, which may be nil.
func (v *Validator) dialHost(ctx context.Context, host string, port int, st *dialState) (net.Conn, *Problem) {
	addrs, p := v.addrsFor(ctx, host, st)
	if p != nil {
		return nil, p
	}
	var (
		failures []string
		lastErr  error
	)
	for i, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(port)).String()
		st.set(phaseConnecting, ap)
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok && i < len(addrs)-1 {
			dctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		}
		conn, err := v.dialer.DialContext(dctx, "tcp", ap)
		cancel()
		if err == nil {
			return conn, nil
		}
		failures = append(failures, ap+": "+describeNetErr(dctx, err))
		lastErr = err
		if ctx.Err() != nil {
			lastErr = ctx.Err()
			break
		}
	}
	return nil, problem(ProblemConnection, lastErr, "%s", strings.Join(failures, "; "))
}

// transportDial is the http.Transport's dialler: addr's host is resolved
// through the configured resolver, never the system's.
func (v *Validator) transportDial(ctx context.Context, _, addr string) (net.Conn, error) {
	st, ctx := dialStateOf(ctx)
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, problem(ProblemConnection, err, "%s: %v", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, problem(ProblemConnection, err, "%s: bad port", addr)
	}
	conn, p := v.dialHost(ctx, host, port, st)
	if p != nil {
		return nil, p
	}
	return conn, nil
}

// transportDialTLS is the http.Transport's TLS dialler, for redirects to
// https: like Let's Encrypt, it does not verify the certificate (the
// content proves control, not the certificate), but it requires TLS 1.2.
func (v *Validator) transportDialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := v.transportDial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	st, ctx := dialStateOf(ctx)
	st.set(phaseHandshaking, conn.RemoteAddr().String())
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
	}
	if _, err := netip.ParseAddr(host); err != nil {
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		remote := conn.RemoteAddr().String()
		if isNetFailure(ctx, err) {
			return nil, problem(ProblemConnection, err, "%s: %s during the TLS handshake", remote, describeNetErr(ctx, err))
		}
		return nil, problem(ProblemTLS, err, "%s: TLS handshake failed: %v", remote, err)
	}
	return tc, nil
}

// isNetFailure tells failures of the connection itself (timeout,
// cancellation, reset) from protocol failures.
func isNetFailure(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// describeNetErr says briefly what went wrong with a connection or an
// exchange: "connection refused", "timeout", "canceled", ...
func describeNetErr(ctx context.Context, err error) string {
	var (
		ne    net.Error
		errno syscall.Errno
	)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the peer"
	case errors.As(err, &errno):
		return errno.Error()
	}
	return err.Error()
}
