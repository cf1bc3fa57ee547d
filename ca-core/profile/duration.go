package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration ("P1Y", "P90D", "P1Y6M", "PT12H") as the
// seeds' validity_period uses it. Years, months and days are calendar
// units, added with time.AddDate; the clock part is exact.
type Duration struct {
	Years, Months, Days int
	Clock               time.Duration
}

// maxDurationLen bounds parsing work on untrusted documents.
const maxDurationLen = 64

// ParseDuration parses PnYnMnWnDTnHnMnS with non-negative integer
// components (fractions are not supported: validity has second precision).
func ParseDuration(s string) (Duration, error) {
	var d Duration
	if len(s) > maxDurationLen || len(s) < 3 || s[0] != 'P' {
		return d, fmt.Errorf("profile: %q is not an ISO 8601 duration such as P1Y or P90D", s)
	}
	rest := s[1:]
	inTime := false
	seen := ""
	found := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return d, fmt.Errorf("profile: duration %q has two T separators", s)
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return d, fmt.Errorf("profile: duration %q ends after T", s)
			}
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return d, fmt.Errorf("profile: duration %q is malformed at %q", s, rest)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return d, fmt.Errorf("profile: duration %q has an out-of-range number", s)
		}
		unit := rest[i]
		key := string(unit)
		if inTime {
			key = "T" + key
		}
		if strings.Contains(seen, key+",") {
			return d, fmt.Errorf("profile: duration %q repeats unit %c", s, unit)
		}
		seen += key + ","
		switch key {
		case "Y":
			d.Years = n
		case "M":
			d.Months = n
		case "W":
			d.Days += 7 * n
		case "D":
			d.Days += n
		case "TH":
			d.Clock += time.Duration(n) * time.Hour
		case "TM":
			d.Clock += time.Duration(n) * time.Minute
		case "TS":
			d.Clock += time.Duration(n) * time.Second
		default:
			return d, fmt.Errorf("profile: duration %q has unknown unit %c", s, unit)
		}
		found = true
		rest = rest[i+1:]
	}
	if !found {
		return d, fmt.Errorf("profile: duration %q has no components", s)
	}
	return d, nil
}

// AddTo returns t moved forward by d.
func (d Duration) AddTo(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, d.Days).Add(d.Clock)
}

// IsZero reports whether d adds nothing.
func (d Duration) IsZero() bool { return d == Duration{} }

// Approx returns d as a time.Duration measured from ref.
func (d Duration) Approx(ref time.Time) time.Duration { return d.AddTo(ref).Sub(ref) }

// String formats d in ISO 8601.
func (d Duration) String() string {
	if d.IsZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	if d.Years > 0 {
		fmt.Fprintf(&b, "%dY", d.Years)
	}
	if d.Months > 0 {
		fmt.Fprintf(&b, "%dM", d.Months)
	}
	if d.Days > 0 {
		fmt.Fprintf(&b, "%dD", d.Days)
	}
	if d.Clock > 0 {
		b.WriteByte('T')
		c := d.Clock
		if h := c / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			c -= h * time.Hour
		}
		if m := c / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			c -= m * time.Minute
		}
		if s := c / time.Second; s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
