package revocation

import (
	"fmt"
	"strings"
)

// RFC 5280 §5.3.1 CRLReason codes. 7 is unused; removeFromCRL (8) only
// exists in delta CRLs, which certgate does not produce.
const (
	Unspecified          = 0
	KeyCompromise        = 1
	CACompromise         = 2
	AffiliationChanged   = 3
	Superseded           = 4
	CessationOfOperation = 5
	CertificateHold      = 6
	PrivilegeWithdrawn   = 9
	AACompromise         = 10
)

var reasonNames = map[int]string{
	Unspecified: "unspecified", KeyCompromise: "keyCompromise", CACompromise: "cACompromise",
	AffiliationChanged: "affiliationChanged", Superseded: "superseded", CessationOfOperation: "cessationOfOperation",
	CertificateHold: "certificateHold", PrivilegeWithdrawn: "privilegeWithdrawn", AACompromise: "aACompromise",
}

// ReasonName returns the RFC 5280 name of a reason code.
func ReasonName(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", code)
}

// ParseReason accepts an RFC 5280 name in any case, with or without
// separators ("key-compromise", "KEY_COMPROMISE").
func ParseReason(s string) (int, error) {
	norm := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	for code, n := range reasonNames {
		if strings.ToLower(n) == norm {
			return code, nil
		}
	}
	return 0, fmt.Errorf("revocation: unknown reason %q", s)
}

// ValidRevocationReason reports whether code may be given to a revocation
// (certificateHold is reached through a hold, not a revocation).
func ValidRevocationReason(code int) bool {
	_, ok := reasonNames[code]
	return ok && code != CertificateHold
}
