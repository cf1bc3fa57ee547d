package est

import (
	"context"
	"encoding/asn1"
	"net/http"

	"github.com/globalsign/est"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// OIDs of the attributes csrattrs names.
var (
	oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
	oidSubjectAltName    = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

	// subjectOIDs are the subject attributes profiles can require.
	subjectOIDs = map[string]asn1.ObjectIdentifier{
		"CN": {2, 5, 4, 3}, "SERIALNUMBER": {2, 5, 4, 5}, "C": {2, 5, 4, 6}, "L": {2, 5, 4, 7}, "ST": {2, 5, 4, 8},
		"O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "E": {1, 2, 840, 113549, 1, 9, 1}, "EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
		"UID": {0, 9, 2342, 19200300, 100, 1, 1}, "DC": {0, 9, 2342, 19200300, 100, 1, 25},
	}

	// keyAttributes say which key the profile wants first, and with which
	// signature (RFC 7030 §4.5.2; RSA key size as in draft-ietf-lamps-rfc7030-csrattrs).
	keyAttributes = map[pb.KeyType]struct {
		attr est.Attribute
		sig  asn1.ObjectIdentifier
	}{
		pb.KeyType_KEY_TYPE_EC_P256:  {est.Attribute{Type: oidECPublicKey, Values: est.AttributeValueSET{asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}}}, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		pb.KeyType_KEY_TYPE_EC_P384:  {est.Attribute{Type: oidECPublicKey, Values: est.AttributeValueSET{asn1.ObjectIdentifier{1, 3, 132, 0, 34}}}, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}},
		pb.KeyType_KEY_TYPE_EC_P521:  {est.Attribute{Type: oidECPublicKey, Values: est.AttributeValueSET{asn1.ObjectIdentifier{1, 3, 132, 0, 35}}}, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}},
		pb.KeyType_KEY_TYPE_RSA_2048: {est.Attribute{Type: oidRSAEncryption, Values: est.AttributeValueSET{2048}}, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}},
		pb.KeyType_KEY_TYPE_RSA_3072: {est.Attribute{Type: oidRSAEncryption, Values: est.AttributeValueSET{3072}}, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}},
		pb.KeyType_KEY_TYPE_RSA_4096: {est.Attribute{Type: oidRSAEncryption, Values: est.AttributeValueSET{4096}}, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}},
	}
)

// CSRAttrs answers /csrattrs (RFC 7030 §4.5) from the endpoint's default
// profile: the key it prefers and the signature to go with it, the
// subject attributes it requires, subjectAltName when one is required,
// and challengePassword when the endpoint takes one-time passwords.
func (s *Server) CSRAttrs(ctx context.Context, aps string, _ *http.Request) (est.CSRAttrs, error) {
	t, err := s.targetOf(ctx, aps)
	if err != nil {
		return est.CSRAttrs{}, err
	}
	p, err := s.profiles.GetProfile(ctx, &pb.GetProfileRequest{Tenant: t.tenant, Id: t.ep.GetDefaultProfile()})
	if err != nil {
		return est.CSRAttrs{}, toHTTP(err, s.log)
	}
	return csrAttrsOf(t.ep, p), nil
}

func csrAttrsOf(ep *pb.Endpoint, p *pb.Profile) est.CSRAttrs {
	var out est.CSRAttrs
	if ep.GetAuth().GetMethod() == pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE {
		out.OIDs = append(out.OIDs, oidChallengePassword)
	}
	for _, name := range p.GetSubject().GetRequired() {
		if oid, ok := subjectOIDs[name]; ok {
			out.OIDs = append(out.OIDs, oid)
		}
	}
	if p.GetSan().GetRequired() {
		out.OIDs = append(out.OIDs, oidSubjectAltName)
	}
	if kts := p.GetKeyTypes(); len(kts) > 0 {
		if k, ok := keyAttributes[kts[0]]; ok {
			out.OIDs = append(out.OIDs, k.sig)
			out.Attributes = append(out.Attributes, k.attr)
		}
	}
	return out
}
