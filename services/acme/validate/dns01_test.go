package validate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDNS01(t *testing.T) {
	z := newTestDNS(t)
	d := testDigest(testKeyAuth)
	half := len(d) / 2
	z.add(t,
		`_acme-challenge.single.test. 60 IN TXT "`+d+`"`,

		`_acme-challenge.several.test. 60 IN TXT "not-it"`,
		`_acme-challenge.several.test. 60 IN TXT "`+d+`"`,
		`_acme-challenge.several.test. 60 IN TXT "v=spf1 -all"`,

		`_acme-challenge.split.test. 60 IN TXT "`+d[:half]+`" "`+d[half:]+`"`,

		`_acme-challenge.cname.test. 60 IN CNAME _acme-challenge.delegated.test.`,
		`_acme-challenge.delegated.test. 60 IN TXT "`+d+`"`,

		`_acme-challenge.chased.test. 60 IN CNAME _acme-challenge.delegated2.test.`,
		`_acme-challenge.delegated2.test. 60 IN TXT "`+d+`"`,

		`_acme-challenge.hops.test. 60 IN CNAME h1.hops.test.`,
		`h1.hops.test. 60 IN CNAME h2.hops.test.`,
		`h2.hops.test. 60 IN TXT "`+d+`"`,

		`_acme-challenge.wrong.test. 60 IN TXT "`+testDigest(testKeyAuth+"x")+`"`,
		`_acme-challenge.notxt.test. 60 IN A 127.0.0.1`,
		`_acme-challenge.loop.test. 60 IN CNAME loop2.test.`,
		`loop2.test. 60 IN CNAME _acme-challenge.loop.test.`,
		`_acme-challenge.dangling.test. 60 IN CNAME gone.test.`,
	)
	z.setChase("_acme-challenge.chased.test")
	z.setServfail("_acme-challenge.servfail.test")
	// Enough TXT records to overflow the 1232-byte UDP answer: the answer
	// comes truncated and the validator asks again over TCP.
	for i := range 30 {
		z.add(t, fmt.Sprintf(`_acme-challenge.big.test. 60 IN TXT "filler-%02d-%s"`, i, strings.Repeat("x", 40)))
	}
	z.add(t, `_acme-challenge.big.test. 60 IN TXT "`+d+`"`)
	// A CNAME chain longer than 10.
	for i := range 12 {
		z.add(t, fmt.Sprintf(`%s 60 IN CNAME long%d.test.`, longName(i), i+1))
	}

	v := newTestValidator(t, z, Config{})
	tests := []struct {
		name       string
		id         Identifier
		wantType   string
		wantDetail []string
	}{
		{name: "ok/single", id: Identifier{"dns", "single.test"}},
		{name: "ok/one-of-several", id: Identifier{"dns", "several.test"}},
		{name: "ok/split-strings", id: Identifier{"dns", "split.test"}},
		{name: "ok/via-cname", id: Identifier{"dns", "cname.test"}},
		{name: "ok/via-cname-chased-by-server", id: Identifier{"dns", "chased.test"}},
		{name: "ok/via-two-cnames", id: Identifier{"dns", "hops.test"}},
		{name: "ok/truncated-then-tcp", id: Identifier{"dns", "big.test"}},
		{name: "ok/upper-case", id: Identifier{"dns", "Single.TEST"}},
		{name: "fail/wrong-digest", id: Identifier{"dns", "wrong.test"}, wantType: ProblemIncorrectResponse,
			wantDetail: []string{"_acme-challenge.wrong.test", d}},
		{name: "fail/nxdomain", id: Identifier{"dns", "nx.test"}, wantType: ProblemDNS,
			wantDetail: []string{"no TXT record at _acme-challenge.nx.test", "NXDOMAIN"}},
		{name: "fail/no-txt", id: Identifier{"dns", "notxt.test"}, wantType: ProblemDNS,
			wantDetail: []string{"no TXT record at _acme-challenge.notxt.test"}},
		{name: "fail/servfail", id: Identifier{"dns", "servfail.test"}, wantType: ProblemDNS,
			wantDetail: []string{"_acme-challenge.servfail.test", "SERVFAIL from " + z.addr}},
		{name: "fail/cname-loop", id: Identifier{"dns", "loop.test"}, wantType: ProblemDNS,
			wantDetail: []string{"CNAME loop"}},
		{name: "fail/cname-to-nxdomain", id: Identifier{"dns", "dangling.test"}, wantType: ProblemDNS,
			wantDetail: []string{"no TXT record at _acme-challenge.dangling.test", "NXDOMAIN at gone.test"}},
		{name: "fail/cname-chain-too-long", id: Identifier{"dns", "long.test"}, wantType: ProblemDNS,
			wantDetail: []string{"more than 10 CNAMEs"}},
		{name: "fail/ip-identifier", id: Identifier{"ip", "127.0.0.1"}, wantType: ProblemMalformed,
			wantDetail: []string{"RFC 8738"}},
		{name: "fail/wildcard", id: Identifier{"dns", "*.single.test"}, wantType: ProblemMalformed,
			wantDetail: []string{"wildcard"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(t.Context(), ChallengeDNS01, tc.id, testToken, testKeyAuth)
			checkResult(t, err, tc.wantType, tc.wantDetail...)
		})
	}
	if z.tcpCount("_acme-challenge.big.test") == 0 {
		t.Error("the truncated answer was not asked again over TCP")
	}
}

// longName is the i-th name of a CNAME chain starting at
// _acme-challenge.long.test.
func longName(i int) string {
	if i == 0 {
		return "_acme-challenge.long.test."
	}
	return fmt.Sprintf("long%d.test.", i)
}

func TestDNS01Timeout(t *testing.T) {
	z := newTestDNS(t)
	z.setDrop("_acme-challenge.silent.test")
	v := newTestValidator(t, z, Config{Timeout: 300 * time.Millisecond})
	start := time.Now()
	err := v.Validate(context.Background(), ChallengeDNS01, Identifier{"dns", "silent.test"}, testToken, testKeyAuth)
	checkResult(t, err, ProblemDNS, "_acme-challenge.silent.test", "timeout querying "+z.addr)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v; want about the 300ms timeout", d)
	}
}

func TestDNS01ServerDown(t *testing.T) {
	// Nothing answers on the resolver's port: ICMP port unreachable makes
	// the UDP read fail at once, or it times out.
	v := newTestValidator(t, nil, Config{Resolver: fmt.Sprintf("127.0.0.1:%d", closedPort(t)), Timeout: 500 * time.Millisecond})
	err := v.Validate(t.Context(), ChallengeDNS01, Identifier{"dns", "any.test"}, testToken, testKeyAuth)
	checkResult(t, err, ProblemDNS, "_acme-challenge.any.test")
}
