package est

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/smallstep/scep/x509util"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// authenticate checks the client as its endpoint requires and puts what
// ca-core must see again (the one-time challenge, the client certificate)
// into req. RFC 7030 §3.2.3 and §3.3.2: HTTP Basic or a TLS client
// certificate; a challengePassword in the CSR (§4.5) counts as the
// one-time password too.
func (s *Server) authenticate(ctx context.Context, t *target, csr *x509.CertificateRequest, r *http.Request, req *pb.IssueRequest) error {
	user, pass, hasBasic := r.BasicAuth()
	switch t.ep.GetAuth().GetMethod() {
	case pb.EndpointAuth_METHOD_NONE:
		return nil
	case pb.EndpointAuth_METHOD_SHARED_SECRET:
		if !hasBasic {
			return errorf(http.StatusUnauthorized, "endpoint %q requires HTTP Basic credentials", t.ep.GetId())
		}
		return s.verifyCredential(ctx, t, user, pass)
	case pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE:
		if hasBasic {
			req.Challenge, req.EndEntity = pass, user
		} else if cp, err := x509util.ParseChallengePassword(csr.Raw); err == nil && cp != "" {
			req.Challenge = cp
		}
		if req.Challenge == "" {
			return errorf(http.StatusUnauthorized, "endpoint %q requires a one-time password, as the HTTP Basic password or the CSR's challengePassword", t.ep.GetId())
		}
		return nil
	case pb.EndpointAuth_METHOD_CLIENT_CERTIFICATE:
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return errorf(http.StatusUnauthorized, "endpoint %q requires a TLS client certificate from its CA", t.ep.GetId())
		}
		req.ClientCertificate = r.TLS.PeerCertificates[0].Raw
		return nil
	}
	return errorf(http.StatusForbidden, "endpoint %q uses %s authentication, which EST does not offer", t.ep.GetId(), t.ep.GetAuth().GetMethod())
}

// verifyCredential asks ca-core (which holds only a hash of the secret)
// and remembers a success for a short while: the check is memory-hard on
// purpose, and devices enroll in bursts.
func (s *Server) verifyCredential(ctx context.Context, t *target, user, pass string) error {
	key := s.creds.Key(t.tenant, t.ep.GetId(), user, pass)
	if s.creds.OK(key) {
		return nil
	}
	_, err := s.endpoints.VerifyEndpointCredential(ctx, &pb.VerifyEndpointCredentialRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
		Username: user, Secret: pass})
	if err != nil {
		if frontend.ReasonOf(err) == pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED {
			auditedByCore(ctx)
			return errorf(http.StatusUnauthorized, "wrong username or password for endpoint %q", t.ep.GetId())
		}
		return toHTTP(err, s.log)
	}
	s.creds.Remember(key)
	return nil
}

// apply takes the client certificate a trusted proxy forwarded in its
// header as the request's TLS client certificate. The proxy has done the
// TLS handshake, so possession of the key is its word; requests from
// anywhere else have the header ignored.
func (p *TrustedProxy) apply(r *http.Request) (*http.Request, error) {
	v := r.Header.Get(p.Header)
	if v == "" {
		return r, nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r, nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !p.trusts(addr.Unmap()) {
		return r, nil
	}
	unescaped, err := url.QueryUnescape(v)
	if err != nil {
		return nil, fmt.Errorf("the %s header is not URL-escaped PEM", p.Header)
	}
	block, _ := pem.Decode([]byte(unescaped))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("the %s header holds no PEM certificate", p.Header)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errors.New("the forwarded client certificate does not parse")
	}
	r2 := r.Clone(r.Context())
	state := tls.ConnectionState{}
	if r.TLS != nil {
		state = *r.TLS
	}
	state.PeerCertificates = []*x509.Certificate{cert}
	r2.TLS = &state
	return r2, nil
}

func (p *TrustedProxy) trusts(a netip.Addr) bool {
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}
