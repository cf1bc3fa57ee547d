package admincli

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	jan2027 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	jan2028 := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name    string
		in      string
		ref     time.Time
		want    time.Duration
		wantErr bool
	}{
		{name: "ok/go-hours", in: "720h", ref: jan2027, want: 720 * time.Hour},
		{name: "ok/go-mixed", in: "1h30m", ref: jan2027, want: 90 * time.Minute},
		{name: "ok/iso-days", in: "P30D", ref: jan2027, want: 30 * day},
		{name: "ok/iso-weeks", in: "P2W", ref: jan2027, want: 14 * day},
		{name: "ok/iso-year", in: "P1Y", ref: jan2027, want: 365 * day},
		{name: "ok/iso-leap-year", in: "P1Y", ref: jan2028, want: 366 * day},
		{name: "ok/iso-month", in: "P1M", ref: jan2027, want: 31 * day},
		{name: "ok/iso-clock", in: "PT12H30M", ref: jan2027, want: 12*time.Hour + 30*time.Minute},
		{name: "ok/iso-both", in: "P1DT1S", ref: jan2027, want: day + time.Second},
		{name: "ok/lowercase", in: "p7d", ref: jan2027, want: 7 * day},
		{name: "fail/empty-iso", in: "P", ref: jan2027, wantErr: true},
		{name: "fail/no-unit", in: "P30", ref: jan2027, wantErr: true},
		{name: "fail/time-unit-in-date", in: "P1H", ref: jan2027, wantErr: true},
		{name: "fail/dangling-t", in: "P1DT", ref: jan2027, wantErr: true},
		{name: "fail/zero", in: "0s", ref: jan2027, wantErr: true},
		{name: "fail/negative", in: "-5h", ref: jan2027, wantErr: true},
		{name: "fail/words", in: "30 days", ref: jan2027, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSpan("validity", tc.in, tc.ref)
			if tc.wantErr {
				var ue *UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("got %v, %v; want a usage error", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		in   string
		sign int
		want time.Time
	}{
		{name: "ok/rfc3339", in: "2030-01-02T03:04:05+01:00", sign: 1, want: time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC)},
		{name: "ok/forward", in: "720h", sign: 1, want: now.Add(720 * time.Hour)},
		{name: "ok/backward", in: "24h", sign: -1, want: now.Add(-24 * time.Hour)},
		{name: "ok/backward-iso", in: "P1M", sign: -1, want: time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWhen("since", tc.in, now, tc.sign)
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := parseWhen("since", "2030-01-02", now, -1); err == nil {
		t.Fatal("got no error for a bare date, want one")
	}
}

func TestParseDate(t *testing.T) {
	got, err := parseDate("not-after", "2035-06-30")
	if want := time.Date(2035, 6, 30, 0, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

func TestParseSAN(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "ok/dns", in: "dns:www.example.com", want: "dns:www.example.com"},
		{name: "ok/ipv6", in: "ip:2001:db8::1", want: "ip:2001:db8::1"},
		{name: "ok/uri-keeps-colons", in: "URI:spiffe://example.org/ns/x", want: "uri:spiffe://example.org/ns/x"},
		{name: "ok/upn", in: "upn:alice@corp.example", want: "upn:alice@corp.example"},
		{name: "fail/no-type", in: "www.example.com", wantErr: "TYPE:VALUE"},
		{name: "fail/empty-value", in: "dns:", wantErr: "TYPE:VALUE"},
		{name: "fail/unknown-type", in: "rid:1.2.3", wantErr: `unknown type "rid"`},
		{name: "fail/bad-ip", in: "ip:example.com", wantErr: "not an IP address"},
		{name: "fail/bad-email", in: "email:Alice <a@example.com>", wantErr: "not an email address"},
		{name: "fail/relative-uri", in: "uri:/path", wantErr: "not an absolute URI"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			san, err := parseSAN(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", san, err, tc.wantErr)
				}
				return
			}
			if err != nil || sanString(san) != tc.want {
				t.Fatalf("got %v, %v; want %s", san, err, tc.want)
			}
		})
	}
}

func TestCollectPages(t *testing.T) {
	// pages serves 0..n-1 in pages of at most per, token = next offset.
	pages := func(n, per int, calls *int) func(int32, string) ([]int, string, error) {
		return func(size int32, token string) ([]int, string, error) {
			*calls++
			start := len(token)
			end := min(start+min(per, int(size)), n)
			var items []int
			for i := start; i < end; i++ {
				items = append(items, i)
			}
			if end == n {
				return items, "", nil
			}
			return items, strings.Repeat("x", end), nil
		}
	}
	cases := []struct {
		name      string
		n, per    int
		limit     int
		wantLen   int
		wantMore  bool
		wantCalls int
	}{
		{name: "ok/all", n: 5, per: 2, limit: 0, wantLen: 5, wantCalls: 3},
		{name: "ok/limit-mid-page", n: 5, per: 2, limit: 3, wantLen: 3, wantMore: true, wantCalls: 2},
		{name: "ok/limit-equals-total", n: 4, per: 2, limit: 4, wantLen: 4, wantCalls: 2},
		{name: "ok/limit-above-total", n: 3, per: 2, limit: 10, wantLen: 3, wantCalls: 2},
		{name: "ok/empty", n: 0, per: 2, limit: 10, wantLen: 0, wantCalls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			p, err := collectPages(tc.limit, pages(tc.n, tc.per, &calls))
			if err != nil || len(p.items) != tc.wantLen || p.more != tc.wantMore || calls != tc.wantCalls {
				t.Fatalf("got %d items, more %v, %d calls, err %v; want %d, %v, %d", len(p.items), p.more, calls, err, tc.wantLen, tc.wantMore, tc.wantCalls)
			}
		})
	}
	t.Run("fail/repeated-token", func(t *testing.T) {
		_, err := collectPages(0, func(int32, string) ([]int, string, error) { return []int{1}, "same", nil })
		if err == nil {
			t.Fatal("got no error, want one for a token that never advances")
		}
	})
}
