package validate

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const challengePath = "/.well-known/acme-challenge/" + testToken

// challengeSite serves http-01 answers whose behaviour depends on the
// Host header, so that one server stands for many sites.
type challengeSite struct {
	httpPort  int // where redirects to http go
	httpsPort int // where redirects to https go

	mu    sync.Mutex // guards hosts
	hosts []string   // Host headers received, in order
}

func (s *challengeSite) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hosts...)
}

func (s *challengeSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hosts = append(s.hosts, r.Host)
	s.mu.Unlock()

	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	httpURL := func(host, path string) string {
		return "http://" + net.JoinHostPort(host, strconv.Itoa(s.httpPort)) + path
	}

	if r.Header.Get("Authorization") != "" {
		http.Error(w, "credentials sent", http.StatusBadRequest)
		return
	}
	if r.URL.Path != challengePath && !strings.HasPrefix(host, "many") && !strings.HasPrefix(host, "hop") {
		http.NotFound(w, r)
		return
	}
	switch {
	case host == "exact.test", host == "dual.test", host == "v6only.test", host == "127.0.0.1", host == "::1", host == "app.localhost":
		fmt.Fprint(w, testKeyAuth)
	case host == "newline.test":
		fmt.Fprint(w, testKeyAuth+"\r\n")
	case host == "notfound.test":
		http.NotFound(w, r)
	case host == "wrong.test":
		fmt.Fprint(w, testToken+".someoneelsesthumbprint")
	case host == "long.test":
		fmt.Fprint(w, testKeyAuth+strings.Repeat(" ", 129))
	case host == "longish.test":
		fmt.Fprint(w, testKeyAuth+strings.Repeat(" ", 128))
	case host == "redirect.test":
		http.Redirect(w, r, httpURL("hop.test", "/hop/1"), http.StatusFound)
	case host == "hop.test" && r.URL.Path == "/hop/1":
		http.Redirect(w, r, "/hop/2", http.StatusMovedPermanently) // relative
	case host == "hop.test" && r.URL.Path == "/hop/2":
		http.Redirect(w, r, httpURL("exact.test", challengePath), http.StatusTemporaryRedirect)
	case host == "tohttps.test":
		http.Redirect(w, r, "https://"+net.JoinHostPort("exact.test", strconv.Itoa(s.httpsPort))+challengePath, http.StatusPermanentRedirect)
	case host == "loop.test":
		http.Redirect(w, r, httpURL("loop2.test", challengePath), http.StatusFound)
	case host == "loop2.test":
		http.Redirect(w, r, httpURL("loop.test", challengePath), http.StatusFound)
	case host == "creds.test":
		http.Redirect(w, r, "http://user:secret@"+net.JoinHostPort("EXACT.test", strconv.Itoa(s.httpPort))+challengePath+"#frag", http.StatusFound)
	case host == "ftp.test":
		http.Redirect(w, r, "ftp://exact.test"+challengePath, http.StatusFound)
	case host == "badport.test":
		http.Redirect(w, r, "http://exact.test:8081"+challengePath, http.StatusFound)
	case host == "nohost.test":
		w.Header().Set("Location", "http://"+challengePath)
		w.WriteHeader(http.StatusFound)
	case host == "slash.test":
		http.Redirect(w, r, "http://exact.test.well-known/acme-challenge/"+testToken, http.StatusFound)
	case host == "see-other.test":
		http.Redirect(w, r, httpURL("exact.test", challengePath), http.StatusSeeOther)
	case host == "tonx.test":
		http.Redirect(w, r, httpURL("nx.test", challengePath), http.StatusFound)
	case strings.HasPrefix(host, "many"):
		// manyN.test redirects N times, then answers.
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(host, "many"), ".test"))
		step := 0
		if rest, ok := strings.CutPrefix(r.URL.Path, "/step/"); ok {
			step, _ = strconv.Atoi(rest)
		}
		if step < n {
			http.Redirect(w, r, "/step/"+strconv.Itoa(step+1), http.StatusFound)
			return
		}
		fmt.Fprint(w, testKeyAuth)
	default:
		http.Error(w, "unknown test host "+host, http.StatusTeapot)
	}
}

func TestHTTP01(t *testing.T) {
	z := newTestDNS(t)
	for _, name := range []string{
		"exact", "newline", "notfound", "wrong", "long", "longish", "redirect", "hop", "tohttps",
		"loop", "loop2", "creds", "ftp", "badport", "nohost", "slash", "see-other", "tonx", "many10", "many11",
	} {
		z.add(t, name+".test. 60 IN A 127.0.0.1")
	}
	z.add(t, "dual.test. 60 IN A 127.0.0.1", "dual.test. 60 IN AAAA ::1")
	z.setServfail("servfail.test")

	site := &challengeSite{}
	srv := httptest.NewServer(site)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(site)
	defer tlsSrv.Close()
	site.httpPort = portOf(t, srv.Listener.Addr())
	site.httpsPort = portOf(t, tlsSrv.Listener.Addr())

	v := newTestValidator(t, z, Config{HTTPPort: site.httpPort, TLSALPNPort: site.httpsPort})
	port := strconv.Itoa(site.httpPort)
	tests := []struct {
		name       string
		id         Identifier
		wantType   string
		wantDetail []string
	}{
		{name: "ok/exact", id: Identifier{"dns", "exact.test"}},
		{name: "ok/trailing-newline", id: Identifier{"dns", "newline.test"}},
		{name: "ok/128-bytes-of-whitespace", id: Identifier{"dns", "longish.test"}},
		{name: "ok/redirect-chain", id: Identifier{"dns", "redirect.test"}},
		{name: "ok/redirect-to-https", id: Identifier{"dns", "tohttps.test"}},
		{name: "ok/redirect-with-credentials-not-sent", id: Identifier{"dns", "creds.test"}},
		{name: "ok/10-redirects", id: Identifier{"dns", "many10.test"}},
		{name: "ok/ip-identifier", id: Identifier{"ip", "127.0.0.1"}},
		{name: "ok/ipv6-falls-back-to-ipv4", id: Identifier{"dns", "dual.test"}},
		// RFC 6761 §6.3: localhost names are loopback without asking DNS,
		// which has no record of them.
		{name: "ok/localhost-subdomain", id: Identifier{"dns", "app.localhost"}},
		{name: "fail/404", id: Identifier{"dns", "notfound.test"}, wantType: ProblemUnauthorized,
			wantDetail: []string{"http://notfound.test:" + port + challengePath, "404 Not Found"}},
		{name: "fail/wrong-content", id: Identifier{"dns", "wrong.test"}, wantType: ProblemIncorrectResponse,
			wantDetail: []string{"the key authorization served at http://wrong.test:" + port + challengePath + " does not match", "someoneelsesthumbprint"}},
		{name: "fail/too-long", id: Identifier{"dns", "long.test"}, wantType: ProblemIncorrectResponse,
			wantDetail: []string{"longer than"}},
		{name: "fail/redirect-loop", id: Identifier{"dns", "loop.test"}, wantType: ProblemConnection,
			wantDetail: []string{"redirect loop"}},
		{name: "fail/too-many-redirects", id: Identifier{"dns", "many11.test"}, wantType: ProblemConnection,
			wantDetail: []string{"too many redirects: more than 10"}},
		{name: "fail/redirect-to-ftp", id: Identifier{"dns", "ftp.test"}, wantType: ProblemConnection,
			wantDetail: []string{"ftp://exact.test", "only http and https"}},
		{name: "fail/redirect-to-other-port", id: Identifier{"dns", "badport.test"}, wantType: ProblemConnection,
			wantDetail: []string{"only ports 80, 443, " + port}},
		{name: "fail/redirect-without-host", id: Identifier{"dns", "nohost.test"}, wantType: ProblemConnection,
			wantDetail: []string{"no host"}},
		{name: "fail/redirect-missing-slash", id: Identifier{"dns", "slash.test"}, wantType: ProblemConnection,
			wantDetail: []string{".well-known"}},
		{name: "fail/303-not-followed", id: Identifier{"dns", "see-other.test"}, wantType: ProblemUnauthorized,
			wantDetail: []string{"303 See Other"}},
		{name: "fail/redirect-to-unresolvable", id: Identifier{"dns", "tonx.test"}, wantType: ProblemDNS,
			wantDetail: []string{"redirected to http://nx.test:" + port, "no A or AAAA record for nx.test"}},
		{name: "fail/unresolvable-name", id: Identifier{"dns", "nx.test"}, wantType: ProblemDNS,
			wantDetail: []string{"no A or AAAA record for nx.test", "NXDOMAIN"}},
		{name: "fail/servfail", id: Identifier{"dns", "servfail.test"}, wantType: ProblemDNS,
			wantDetail: []string{"servfail.test", "SERVFAIL"}},
		{name: "fail/malformed-name", id: Identifier{"dns", "bad_name.test"}, wantType: ProblemMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(t.Context(), ChallengeHTTP01, tc.id, testToken, testKeyAuth)
			checkResult(t, err, tc.wantType, tc.wantDetail...)
		})
	}

	t.Run("ok/host-header-is-the-identifier", func(t *testing.T) {
		before := len(site.seen())
		if err := v.Validate(t.Context(), ChallengeHTTP01, Identifier{"dns", "exact.test"}, testToken, testKeyAuth); err != nil {
			t.Fatal(err)
		}
		if got := site.seen()[before:]; len(got) != 1 || got[0] != "exact.test" {
			t.Errorf("Host headers %q; want [exact.test]", got)
		}
	})

	t.Run("fail/connection-refused", func(t *testing.T) {
		closed := closedPort(t)
		v := newTestValidator(t, z, Config{HTTPPort: closed})
		err := v.Validate(t.Context(), ChallengeHTTP01, Identifier{"ip", "127.0.0.1"}, testToken, testKeyAuth)
		checkResult(t, err, ProblemConnection, fmt.Sprintf("127.0.0.1:%d: connection refused", closed))
	})
}

// TestHTTP01IPv6 validates ::1 where the machine has IPv6 loopback, and
// checks the failure is a connection problem where it has not.
func TestHTTP01IPv6(t *testing.T) {
	z := newTestDNS(t)
	z.add(t, "v6only.test. 60 IN AAAA ::1")
	if !hasIPv6Loopback() {
		v := newTestValidator(t, z, Config{HTTPPort: closedPort(t)})
		for _, id := range []Identifier{{"ip", "::1"}, {"dns", "v6only.test"}} {
			err := v.Validate(t.Context(), ChallengeHTTP01, id, testToken, testKeyAuth)
			checkResult(t, err, ProblemConnection, "[::1]:")
		}
		return
	}
	t.Run("fail/ipv6-closed-port", func(t *testing.T) {
		// Whether or not the machine has IPv6, nothing answers there.
		v := newTestValidator(t, z, Config{HTTPPort: closedPort(t)})
		err := v.Validate(t.Context(), ChallengeHTTP01, Identifier{"ip", "::1"}, testToken, testKeyAuth)
		checkResult(t, err, ProblemConnection, "[::1]:")
	})
	site := &challengeSite{}
	srv := httptest.NewUnstartedServer(site)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	v := newTestValidator(t, z, Config{HTTPPort: portOf(t, ln.Addr())})
	for _, tc := range []struct {
		name string
		id   Identifier
	}{
		{"ok/ipv6-literal", Identifier{"ip", "::1"}},
		{"ok/ipv6-only-name", Identifier{"dns", "v6only.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(t.Context(), ChallengeHTTP01, tc.id, testToken, testKeyAuth)
			checkResult(t, err, "")
		})
	}
	if got := site.seen(); len(got) == 0 || got[0] != "[::1]" {
		t.Errorf("Host headers %q; want [::1] first", got)
	}
}
