package issuance

import (
	"context"
	"crypto/x509"
	"slices"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/policy"
	"github.com/certgate/certgate/ca-core/profile"
)

// IssueWithGeneratedKey makes the key pair for a client that does not make
// its own (EST serverkeygen, PKCS#12 profiles), wraps the request in a CSR
// signed with it and runs the ordinary pipeline. It returns the private key
// as DER PKCS#8; the key is not kept, so a request key seen before is
// refused rather than replayed. kt "" picks the CSR's key type when the
// profile accepts it, else the profile's first.
func (s *Service) IssueWithGeneratedKey(ctx context.Context, r *Request, kt keys.Type) (*Result, []byte, error) {
	var template *x509.CertificateRequest
	if len(r.CSR) > 0 {
		var err error
		if template, err = policy.ParseCSR(r.CSR); err != nil {
			return nil, nil, err
		}
	}
	prof, err := s.profileOf(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if kt == "" {
		if template != nil {
			if t, err := keys.Of(template.PublicKey); err == nil && usable(prof, t) {
				kt = t
			}
		}
		for _, t := range prof.KeyTypes {
			if kt == "" && usable(prof, t) {
				kt = t
			}
		}
	}
	if !usable(prof, kt) {
		return nil, nil, fault.Policy("profile.key_type", "profile %q cannot issue %q keys (allowed: %v, key usages %v)", prof.ID, kt, prof.KeyTypes,
			profile.KeyUsageNames(prof.KeyUsage))
	}
	key, err := keys.Generate(s.d.Rand, kt)
	if err != nil {
		return nil, nil, err
	}
	req := &x509.CertificateRequest{}
	if template != nil {
		// The template's requested extensions (subjectAltName included)
		// travel as they are; its key and signature do not.
		req.RawSubject, req.ExtraExtensions = template.RawSubject, template.Extensions
	}
	der, err := x509.CreateCertificateRequest(s.d.Rand, req, key)
	if err != nil {
		return nil, nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	gen := *r
	gen.CSR, gen.ParsedCSR, gen.GeneratedKey = der, csr, true
	res, err := s.Issue(ctx, &gen)
	if err != nil {
		return nil, nil, err
	}
	if res.Replayed {
		return nil, nil, fault.Conflictf("request_key.key_not_kept", "request key %q was used before; a generated key is handed out once and not kept", r.RequestKey)
	}
	return res, pkcs8, nil
}

// usable reports whether the profile can certify a key of type t: it
// accepts the type, and some key usage it grants suits it (EC keys do not
// encipher, RFC 5480 §3).
func usable(p *profile.Profile, t keys.Type) bool {
	if !p.AllowsKey(t) {
		return false
	}
	return t.IsRSA() || p.KeyUsage&^(x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment) != 0
}

// profileOf resolves the profile a request will be issued under, the way
// issue does, to pick the key type before the pipeline runs.
func (s *Service) profileOf(ctx context.Context, r *Request) (*profile.Profile, error) {
	id := r.Profile
	if r.Endpoint != "" {
		ep, err := s.d.Store.GetEndpoint(ctx, r.Tenant, r.Endpoint)
		if err != nil {
			return nil, err
		}
		if id == "" {
			id = ep.DefaultProfile
		} else if id != ep.DefaultProfile && !slices.Contains(ep.AllowedProfiles, id) {
			return nil, fault.Policy("endpoint.profile", "endpoint %q does not allow profile %q", ep.ID, id)
		}
	}
	if id == "" {
		return nil, fault.Field("profile", "name a profile")
	}
	return s.d.Profiles.Resolve(ctx, r.Tenant, id)
}
