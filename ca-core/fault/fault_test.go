package fault

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEveryReasonHasAName(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		name := r.String()
		if name == "" || seen[name] || strings.HasPrefix(name, "Reason(") {
			t.Errorf("reason %d has name %q", int(r), name)
		}
		seen[name] = true
	}
	if len(Reasons) != len(reasonNames) {
		t.Errorf("Reasons lists %d values, names %d", len(Reasons), len(reasonNames))
	}
}

func TestWrappedErrorKeepsItsReason(t *testing.T) {
	base := Policy("profile.san.types", "SAN type URI is not allowed by profile %q", "p")
	err := fmt.Errorf("issuing for endpoint e: %w", base)
	if got := ReasonOf(err); got != PolicyRejected {
		t.Fatalf("got reason %v, want POLICY_REJECTED", got)
	}
	if !errors.Is(err, &Error{Reason: PolicyRejected}) {
		t.Error("errors.Is on the reason failed")
	}
	if errors.Is(err, &Error{Reason: PolicyRejected, Rule: "other"}) {
		t.Error("errors.Is matched another rule")
	}
	if got := As(err).Rule; got != "profile.san.types" {
		t.Errorf("got rule %q", got)
	}
	if ReasonOf(errors.New("driver exploded")) != Internal {
		t.Error("a plain error must be INTERNAL")
	}
}
