package issuance

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/certgate/certgate/ca-core/digitalid"
	"github.com/certgate/certgate/ca-core/dn"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
)

// binding is what a one-time challenge may be bound to.
type binding struct {
	Subject string       `json:"subject,omitempty"`
	SANs    []policy.SAN `json:"sans,omitempty"`
}

// BindingOf is the canonical form of a subject and SAN set, compared
// byte for byte between a challenge and the certificate it would issue:
// the subject re-formatted by package dn, SANs sorted, DNS names and
// e-mail domains in lower case. Empty input binds nothing.
func BindingOf(subject string, sans []policy.SAN) (string, error) {
	if subject == "" && len(sans) == 0 {
		return "", nil
	}
	b := binding{}
	if subject != "" {
		rdns, err := dn.Parse(subject)
		if err != nil {
			return "", fault.Field("subject", "%v", err)
		}
		b.Subject = dn.FormatText(rdns)
	}
	for _, s := range sans {
		v := s.Value
		switch s.Type {
		case profile.SANDNS:
			v = strings.ToLower(strings.TrimSuffix(v, "."))
		case profile.SANEmail:
			if at := strings.LastIndexByte(v, '@'); at >= 0 {
				v = v[:at] + strings.ToLower(v[at:])
			}
		}
		b.SANs = append(b.SANs, policy.SAN{Type: s.Type, Value: v})
	}
	slices.SortFunc(b.SANs, func(x, y policy.SAN) int {
		return strings.Compare(string(x.Type)+":"+x.Value, string(y.Type)+":"+y.Value)
	})
	b.SANs = slices.Compact(b.SANs)
	out, err := json.Marshal(b)
	return string(out), err
}

// ParseBinding reverses BindingOf, for showing a challenge.
func ParseBinding(s string) (subject string, sans []policy.SAN) {
	var b binding
	if s == "" || json.Unmarshal([]byte(s), &b) != nil {
		return "", nil
	}
	return b.Subject, b.SANs
}

// deferredBinding is a Digital ID challenge whose template waits for the
// device's CSR.
type deferredBinding struct {
	Template digitalid.Template `json:"template"`
}

// DeferredBinding stores a partly rendered Digital ID template in a
// challenge; issuance finishes it with the CSR's values.
func DeferredBinding(t digitalid.Template) (string, error) {
	out, err := json.Marshal(deferredBinding{Template: t})
	return string(out), err
}

// parseDeferred reads a DeferredBinding.
func parseDeferred(s string) (digitalid.Template, bool) {
	var d deferredBinding
	if !strings.HasPrefix(s, `{"template"`) || json.Unmarshal([]byte(s), &d) != nil {
		return digitalid.Template{}, false
	}
	return d.Template, true
}
