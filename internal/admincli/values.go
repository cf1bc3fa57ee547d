package admincli

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// choice maps a command-line word to an enum value.
type choice[E comparable] struct {
	name string
	val  E
}

func choiceNames[E comparable](cs []choice[E]) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return strings.Join(names, "|")
}

// parseChoice looks s up among cs; flagName is used in the error.
func parseChoice[E comparable](flagName, s string, cs []choice[E]) (E, error) {
	for _, c := range cs {
		if strings.EqualFold(c.name, s) {
			return c.val, nil
		}
	}
	var zero E
	return zero, usageErrorf("--%s: unknown value %q (want %s)", flagName, s, choiceNames(cs))
}

// nameOf returns the command-line word of v, "-" for the zero value, or
// the enum's own name for a value the CLI does not know yet.
func nameOf[E interface {
	comparable
	fmt.Stringer
}](v E, cs []choice[E]) string {
	for _, c := range cs {
		if c.val == v {
			return c.name
		}
	}
	var zero E
	if v == zero {
		return "-"
	}
	return v.String()
}

func keyTypeChoices() []choice[pb.KeyType] {
	return []choice[pb.KeyType]{
		{"rsa2048", pb.KeyType_KEY_TYPE_RSA_2048},
		{"rsa3072", pb.KeyType_KEY_TYPE_RSA_3072},
		{"rsa4096", pb.KeyType_KEY_TYPE_RSA_4096},
		{"p256", pb.KeyType_KEY_TYPE_EC_P256},
		{"p384", pb.KeyType_KEY_TYPE_EC_P384},
		{"p521", pb.KeyType_KEY_TYPE_EC_P521},
	}
}

func isRSA(k pb.KeyType) bool {
	switch k {
	case pb.KeyType_KEY_TYPE_RSA_2048, pb.KeyType_KEY_TYPE_RSA_3072, pb.KeyType_KEY_TYPE_RSA_4096:
		return true
	}
	return false
}

// caTypeChoices are the types `cas create` accepts.
func caTypeChoices() []choice[pb.CAType] {
	return []choice[pb.CAType]{
		{"root", pb.CAType_CA_TYPE_ROOT},
		{"intermediate", pb.CAType_CA_TYPE_INTERMEDIATE},
		{"issuing", pb.CAType_CA_TYPE_ISSUING},
	}
}

// caTypeNames also names external roots, for display.
func caTypeNames() []choice[pb.CAType] {
	return append(caTypeChoices(), choice[pb.CAType]{"external_root", pb.CAType_CA_TYPE_EXTERNAL_ROOT})
}

func caStatusNames() []choice[pb.CAStatus] {
	return []choice[pb.CAStatus]{
		{"active", pb.CAStatus_CA_STATUS_ACTIVE},
		{"pending_certificate", pb.CAStatus_CA_STATUS_PENDING_CERTIFICATE},
		{"expired", pb.CAStatus_CA_STATUS_EXPIRED},
	}
}

func protocolChoices() []choice[pb.Protocol] {
	return []choice[pb.Protocol]{
		{"acme", pb.Protocol_PROTOCOL_ACME},
		{"scep", pb.Protocol_PROTOCOL_SCEP},
		{"est", pb.Protocol_PROTOCOL_EST},
		{"mdmws", pb.Protocol_PROTOCOL_MDMWS},
		{"wstep", pb.Protocol_PROTOCOL_WSTEP},
		{"api", pb.Protocol_PROTOCOL_API},
	}
}

func authChoices() []choice[pb.EndpointAuth_Method] {
	return []choice[pb.EndpointAuth_Method]{
		{"none", pb.EndpointAuth_METHOD_NONE},
		{"shared_secret", pb.EndpointAuth_METHOD_SHARED_SECRET},
		{"one_time_challenge", pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE},
		{"external_account_binding", pb.EndpointAuth_METHOD_EXTERNAL_ACCOUNT_BINDING},
		{"client_certificate", pb.EndpointAuth_METHOD_CLIENT_CERTIFICATE},
		{"intune", pb.EndpointAuth_METHOD_INTUNE},
		{"webhook", pb.EndpointAuth_METHOD_WEBHOOK},
	}
}

func sanTypeChoices() []choice[pb.SubjectAltName_Type] {
	return []choice[pb.SubjectAltName_Type]{
		{"dns", pb.SubjectAltName_TYPE_DNS},
		{"ip", pb.SubjectAltName_TYPE_IP},
		{"email", pb.SubjectAltName_TYPE_EMAIL},
		{"uri", pb.SubjectAltName_TYPE_URI},
		{"upn", pb.SubjectAltName_TYPE_UPN},
	}
}

func certStatusChoices() []choice[pb.CertificateStatus] {
	return []choice[pb.CertificateStatus]{
		{"issued", pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED},
		{"on_hold", pb.CertificateStatus_CERTIFICATE_STATUS_ON_HOLD},
		{"revoked", pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED},
		{"expired", pb.CertificateStatus_CERTIFICATE_STATUS_EXPIRED},
	}
}

func endEntityStatusChoices() []choice[pb.EndEntityStatus] {
	return []choice[pb.EndEntityStatus]{
		{"active", pb.EndEntityStatus_END_ENTITY_STATUS_ACTIVE},
		{"deactivated", pb.EndEntityStatus_END_ENTITY_STATUS_DEACTIVATED},
		{"decommissioned", pb.EndEntityStatus_END_ENTITY_STATUS_DECOMMISSIONED},
	}
}

func pendingStatusChoices() []choice[pb.PendingStatus] {
	return []choice[pb.PendingStatus]{
		{"pending", pb.PendingStatus_PENDING_STATUS_PENDING},
		{"issued", pb.PendingStatus_PENDING_STATUS_ISSUED},
		{"rejected", pb.PendingStatus_PENDING_STATUS_REJECTED},
	}
}

func auditResultChoices() []choice[pb.AuditResult] {
	return []choice[pb.AuditResult]{
		{"success", pb.AuditResult_AUDIT_RESULT_SUCCESS},
		{"failure", pb.AuditResult_AUDIT_RESULT_FAILURE},
	}
}

func profileKindNames() []choice[pb.Profile_Kind] {
	return []choice[pb.Profile_Kind]{
		{"subscriber", pb.Profile_KIND_SUBSCRIBER},
		{"authority", pb.Profile_KIND_AUTHORITY},
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " ") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSAN parses TYPE:VALUE, e.g. dns:www.example.com or ip:192.0.2.1.
func parseSAN(s string) (*pb.SubjectAltName, error) {
	typ, val, ok := strings.Cut(s, ":")
	if !ok || val == "" {
		return nil, usageErrorf("--san %q: want TYPE:VALUE with TYPE one of %s", s, choiceNames(sanTypeChoices()))
	}
	t, err := parseChoice("san", typ, sanTypeChoices())
	if err != nil {
		return nil, usageErrorf("--san %q: unknown type %q (want %s)", s, typ, choiceNames(sanTypeChoices()))
	}
	switch t {
	case pb.SubjectAltName_TYPE_IP:
		if _, err := netip.ParseAddr(val); err != nil {
			return nil, usageErrorf("--san %q: %q is not an IP address", s, val)
		}
	case pb.SubjectAltName_TYPE_EMAIL:
		if a, err := mail.ParseAddress(val); err != nil || a.Address != val {
			return nil, usageErrorf("--san %q: %q is not an email address", s, val)
		}
	case pb.SubjectAltName_TYPE_URI:
		if u, err := url.Parse(val); err != nil || u.Scheme == "" {
			return nil, usageErrorf("--san %q: %q is not an absolute URI", s, val)
		}
	}
	return &pb.SubjectAltName{Type: t, Value: val}, nil
}

func sanString(s *pb.SubjectAltName) string {
	return nameOf(s.GetType(), sanTypeChoices()) + ":" + s.GetValue()
}

func sanList(sans []*pb.SubjectAltName) string {
	out := make([]string, len(sans))
	for i, s := range sans {
		out[i] = sanString(s)
	}
	return strings.Join(out, ", ")
}

// parseTime parses an RFC 3339 timestamp.
func parseTime(flagName, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", flagName, s)
	}
	return t, nil
}

// parseDate parses an RFC 3339 timestamp or a YYYY-MM-DD date (midnight UTC).
func parseDate(flagName, s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: want YYYY-MM-DD or an RFC 3339 time", flagName, s)
	}
	return t, nil
}

// parseWhen parses an RFC 3339 time, or a duration (Go "720h" or ISO 8601
// "P30D") counted from now: forward for sign 1, backward for sign -1.
func parseWhen(flagName, s string, now time.Time, sign int) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := shift(now, s, sign)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: want an RFC 3339 time or a duration such as 720h or P30D", flagName, s)
	}
	return t, nil
}

// parseSpan parses a positive duration (Go "720h" or ISO 8601 "P1Y") as a
// length of time starting at ref: calendar units follow ref's calendar.
func parseSpan(flagName, s string, ref time.Time) (time.Duration, error) {
	end, err := shift(ref, s, 1)
	if err != nil {
		return 0, usageErrorf("--%s %q: want a duration such as 720h, P30D or P1Y", flagName, s)
	}
	d := end.Sub(ref)
	if d <= 0 {
		return 0, usageErrorf("--%s %q: must be positive", flagName, s)
	}
	return d, nil
}

// shift moves t by the duration s, forward (sign 1) or backward (-1).
func shift(t time.Time, s string, sign int) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("negative duration %q", s)
		}
		return t.Add(time.Duration(sign) * d), nil
	}
	iso, err := parseISODuration(s)
	if err != nil {
		return time.Time{}, err
	}
	return t.AddDate(sign*iso.years, sign*iso.months, sign*iso.days).Add(time.Duration(sign) * iso.clock), nil
}

// isoDuration is an ISO 8601 duration, PnYnMnWnDTnHnMnS.
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

// parseISODuration parses PnYnMnWnDTnHnMnS with non-negative integer
// components, the form profiles use for validity.
func parseISODuration(s string) (isoDuration, error) {
	var d isoDuration
	bad := fmt.Errorf("%q is not an ISO 8601 duration such as P30D or P1Y", s)
	u := strings.ToUpper(s)
	if len(u) < 3 || len(u) > 64 || u[0] != 'P' {
		return d, bad
	}
	rest, inTime, found := u[1:], false, false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return d, bad
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return d, bad
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return d, bad
		}
		switch unit := rest[i]; {
		case !inTime && unit == 'Y':
			d.years += n
		case !inTime && unit == 'M':
			d.months += n
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.clock += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.clock += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d.clock += time.Duration(n) * time.Second
		default:
			return d, bad
		}
		found, rest = true, rest[i+1:]
	}
	if !found {
		return d, bad
	}
	return d, nil
}

// readCSR reads a PKCS#10 request, PEM or DER, and returns the DER.
func readCSR(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CSR: %w", err)
	}
	if bytes.Contains(b, []byte("-----BEGIN")) {
		rest := b
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				return nil, fmt.Errorf("CSR file %s holds no PEM CERTIFICATE REQUEST block", path)
			}
			if block.Type == "CERTIFICATE REQUEST" || block.Type == "NEW CERTIFICATE REQUEST" {
				return block.Bytes, nil
			}
		}
	}
	if len(b) < 2 || b[0] != 0x30 {
		return nil, fmt.Errorf("CSR file %s is neither PEM nor DER", path)
	}
	return b, nil
}

// readFile reads a file a flag names, refusing an empty one.
func readFile(flagName, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("--%s: %s is empty", flagName, path)
	}
	return b, nil
}

// readSecret reads a secret file without its trailing newline.
func readSecret(path string) (string, error) {
	b, err := readFile("secret-file", path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// required reports the first empty value among name/value pairs.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return usageErrorf("--%s is required", pairs[i])
		}
	}
	return nil
}
