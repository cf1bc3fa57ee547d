package validate

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxBodyOverhead is how many bytes beyond the key authorization an
// http-01 response body may have (trailing whitespace, mostly).
const maxBodyOverhead = 128

// validateHTTP01 performs RFC 8555 §8.3 (and RFC 8738 for IP addresses,
// with the address as Host): the body at
// http://{identifier}:{HTTPPort}/.well-known/acme-challenge/{token},
// trailing whitespace aside, must be the key authorization.
func (v *Validator) validateHTTP01(ctx context.Context, t target, token, keyAuthorization string) *Problem {
	start := &url.URL{
		Scheme: "http",
		Host:   t.urlHost(v.httpPort, 80),
		Path:   "/.well-known/acme-challenge/" + token,
	}
	limit := len(keyAuthorization) + maxBodyOverhead
	body, final, p := v.fetch(ctx, start, t.urlHost(80, 80), limit)
	if p != nil {
		return p
	}
	got := strings.TrimRight(string(body), " \t\r\n")
	if subtle.ConstantTimeCompare([]byte(got), []byte(keyAuthorization)) != 1 {
		return problem(ProblemIncorrectResponse, nil, "the key authorization served at %s does not match: got %s", final, quote(got))
	}
	return nil
}

// fetch GETs start, with hostHeader as Host, following redirects as
// allowed, and returns the body of the final 200 response (at most limit
// bytes) and the URL it came from.
func (v *Validator) fetch(ctx context.Context, start *url.URL, hostHeader string, limit int) ([]byte, *url.URL, *Problem) {
	fetched := map[string]bool{}
	u := start
	for redirects := 0; ; redirects++ {
		fetched[u.String()] = true
		resp, remote, p := v.get(ctx, u, hostHeader, redirects > 0)
		if p != nil {
			return nil, u, p
		}
		if !isFollowedRedirect(resp.StatusCode) {
			body, p := readFinal(ctx, resp, u, remote, limit)
			return body, u, p
		}

		resp.Body.Close()
		next, err := resp.Location()
		if err != nil {
			return nil, u, problem(ProblemConnection, err, "%s answered %s without a valid Location header", u, resp.Status)
		}
		if p := v.checkRedirect(u, next); p != nil {
			return nil, u, p
		}
		// Never send credentials a redirect offers; compare hosts in
		// lower case.
		next.User = nil
		next.Fragment, next.RawFragment = "", ""
		next.Host = strings.ToLower(next.Host)
		if fetched[next.String()] {
			return nil, u, problem(ProblemConnection, nil, "redirect loop: %s redirects to %s, fetched before", u, next)
		}
		if redirects >= v.maxRedirects {
			return nil, u, problem(ProblemConnection, nil, "too many redirects: more than %d, the last from %s to %s", v.maxRedirects, u, next)
		}
		u = next
		hostHeader = "" // from now on, the URL's
	}
}

// readFinal checks the final response's status and reads at most limit
// bytes of its body.
func readFinal(ctx context.Context, resp *http.Response, u *url.URL, remote string, limit int) ([]byte, *Problem) {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		detail := remote + ": " + u.String() + " answered " + resp.Status + "; want 200 OK"
		if isRedirect(resp.StatusCode) {
			detail += " (only 301, 302, 307 and 308 redirects are followed)"
		}
		return nil, problem(ProblemUnauthorized, nil, "%s", detail)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, problem(ProblemConnection, err, "%s: %s reading the response from %s", remote, describeNetErr(ctx, err), u)
	}
	if len(body) > limit {
		return nil, problem(ProblemIncorrectResponse, nil, "the response from %s is longer than the key authorization and %d bytes", u, maxBodyOverhead)
	}
	return body, nil
}

// isFollowedRedirect reports the redirect status codes followed: the ones
// the CA/Browser Forum Baseline Requirements (§3.2.2.4.19) allow.
func isFollowedRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func isRedirect(code int) bool { return code >= 300 && code < 400 }

// checkRedirect applies the redirect policy: http or https only, to a
// host, on port 80, 443 or one of the configured ports.
func (v *Validator) checkRedirect(from, to *url.URL) *Problem {
	bad := func(why string) *Problem {
		return problem(ProblemConnection, nil, "%s redirects to %s: %s", from, to, why)
	}
	if to.Scheme != "http" && to.Scheme != "https" {
		return bad("only http and https redirects are followed")
	}
	host := to.Hostname()
	if host == "" {
		return bad("no host")
	}
	if port := to.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || !v.redirectPortAllowed(n) {
			return bad("only ports " + v.redirectPorts() + " are allowed")
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if _, err := checkIP(a.String()); err != nil || a.Zone() != "" {
			return bad("not an address to connect to")
		}
		return nil
	}
	if strings.HasSuffix(strings.ToLower(host), ".well-known") {
		return bad("the host ends in \".well-known\": is a \"/\" missing in the redirect's configuration?")
	}
	if _, err := checkName(host); err != nil {
		return bad("bad host: " + err.Error())
	}
	return nil
}

func (v *Validator) redirectPortAllowed(port int) bool {
	return port == 80 || port == 443 || port == v.httpPort || port == v.tlsALPNPort
}

func (v *Validator) redirectPorts() string {
	ports := []string{"80", "443"}
	for _, p := range []int{v.httpPort, v.tlsALPNPort} {
		if s := strconv.Itoa(p); !slices.Contains(ports, s) {
			ports = append(ports, s)
		}
	}
	return strings.Join(ports, ", ")
}

// get sends one GET for u and returns the response and the address of the
// peer that sent it.
func (v *Validator) get(ctx context.Context, u *url.URL, hostHeader string, redirected bool) (*http.Response, string, *Problem) {
	ctx, st := withDialState(ctx)
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			st.set(phaseWaiting, info.Conn.RemoteAddr().String())
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", problem(ProblemConnection, err, "%s: %v", u, err)
	}
	if hostHeader != "" {
		req.Host = hostHeader
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")

	resp, err := v.transport.RoundTrip(req)
	phase, where := st.get()
	if err == nil {
		return resp, where, nil
	}

	var p *Problem
	if !errors.As(err, &p) {
		// Not the dialler's problem: a failure while it was under way
		// (the context's, typically), or after.
		reason := describeNetErr(ctx, err)
		switch phase {
		case phaseNone:
			p = problem(ProblemConnection, err, "%s before connecting for %s", reason, u)
		case phaseResolving:
			p = problem(ProblemDNS, err, "looking up A and AAAA for %s: %s", where, reason)
		case phaseConnecting:
			p = problem(ProblemConnection, err, "%s: %s", where, reason)
		case phaseHandshaking:
			p = problem(ProblemConnection, err, "%s: %s during the TLS handshake", where, reason)
		default:
			p = problem(ProblemConnection, err, "%s: %s waiting for the response to %s", where, reason, u)
		}
	}
	if redirected {
		p = &Problem{Type: p.Type, Detail: "redirected to " + u.String() + ": " + p.Detail, err: p.err}
	}
	return nil, where, p
}

// quote shows at most 128 bytes of s, quoted.
func quote(s string) string {
	const max = 128
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
