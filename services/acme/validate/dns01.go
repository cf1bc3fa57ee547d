package validate

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// maxShownRecords is how many of the TXT records found a detail quotes.
const maxShownRecords = 3

// validateDNS01 performs RFC 8555 §8.4: one of the TXT records at
// _acme-challenge.{name} must be base64url(SHA-256(key authorization)),
// unpadded.
func (v *Validator) validateDNS01(ctx context.Context, t target, keyAuthorization string) *Problem {
	if t.isIP() {
		return problem(ProblemMalformed, nil, "dns-01 cannot validate the IP address %s (RFC 8738 §7)", t)
	}
	name := "_acme-challenge." + t.name
	sum := sha256.Sum256([]byte(keyAuthorization))
	want := base64.RawURLEncoding.EncodeToString(sum[:])

	txts, err := v.resolver.lookupTXT(ctx, name)
	if err != nil {
		return lookupProblem(err, "no TXT record at "+name, "looking up TXT for "+name)
	}
	if len(txts) == 0 {
		return problem(ProblemDNS, nil, "no TXT record at %s", name)
	}
	for _, txt := range txts {
		if subtle.ConstantTimeCompare([]byte(txt), []byte(want)) == 1 {
			return nil
		}
	}
	shown := make([]string, 0, maxShownRecords)
	for _, txt := range txts[:min(len(txts), maxShownRecords)] {
		shown = append(shown, quote(txt))
	}
	found := strings.Join(shown, ", ")
	if len(txts) > maxShownRecords {
		found += ", …"
	}
	if len(txts) == 1 {
		return problem(ProblemIncorrectResponse, nil, "the TXT record at %s is not the key authorization's digest %q; found %s", name, want, found)
	}
	return problem(ProblemIncorrectResponse, nil, "none of the %d TXT records at %s is the key authorization's digest %q; found %s", len(txts), name, want, found)
}
