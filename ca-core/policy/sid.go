package policy

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"regexp"
	"strings"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/profile"
)

var (
	// OIDSIDExtension is szOID_NTDS_CA_SECURITY_EXT, which carries the
	// SID of the account a certificate maps to (KB5014754).
	OIDSIDExtension = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}
	oidSIDOtherName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2, 1}
)

// SIDURIPrefix starts the SAN URI in which Intune sends the SID.
const SIDURIPrefix = "tag:microsoft.com,2022-09-14:sid:"

var sidPattern = regexp.MustCompile(`^S-1-[0-9]+(-[0-9]+){1,15}$`)

// sidFromSANs returns the SID of the first Intune SID URI among sans.
func sidFromSANs(sans []SAN) (string, error) {
	for _, s := range sans {
		if s.Type == profile.SANURI && strings.HasPrefix(s.Value, SIDURIPrefix) {
			sid := strings.TrimPrefix(s.Value, SIDURIPrefix)
			if !sidPattern.MatchString(sid) {
				return "", fault.Policy("profile.sid", "SAN URI %q does not hold a SID", s.Value)
			}
			return sid, nil
		}
	}
	return "", nil
}

// SIDExtension encodes the 1.3.6.1.4.1.311.25.2 extension for sid: a
// sequence of one otherName, type 1.3.6.1.4.1.311.25.2.1, whose value is
// the SID string as an OCTET STRING.
func SIDExtension(sid string) (pkix.Extension, error) {
	if !sidPattern.MatchString(sid) {
		return pkix.Extension{}, fault.Field("sid", "%q is not a SID (S-1-...)", sid)
	}
	octets, err := asn1.Marshal([]byte(sid))
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets})
	if err != nil {
		return pkix.Extension{}, err
	}
	oid, err := asn1.Marshal(oidSIDOtherName)
	if err != nil {
		return pkix.Extension{}, err
	}
	other, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oid, value...)})
	if err != nil {
		return pkix.Extension{}, err
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: other})
	return pkix.Extension{Id: OIDSIDExtension, Value: der}, err
}
