package scep

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/smallstep/scep/x509util"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/scep/intune"
)

// authenticate checks a first enrollment's challengePassword (RFC 8894
// §2.3) as the endpoint says, and puts into req what ca-core must see
// again (the one-time challenge).
func (s *Server) authenticate(ctx context.Context, t *target, m *message, req *pb.IssueRequest) error {
	challenge, _ := x509util.ParseChallengePassword(m.CSR.Raw)
	method := t.ep.GetAuth().GetMethod()
	if t.ep.GetProtocol() == pb.Protocol_PROTOCOL_MDMWS {
		// The endpoint's credential is the MDM's; devices bring one-time
		// challenges, which may also carry their Digital ID's subject.
		method = pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE
	}
	if challenge == "" && method != pb.EndpointAuth_METHOD_NONE && method != pb.EndpointAuth_METHOD_WEBHOOK {
		return refuse(failBadRequest, "endpoint %s requires a challengePassword in the CSR", t.ep.GetId())
	}
	switch method {
	case pb.EndpointAuth_METHOD_NONE:
		return nil
	case pb.EndpointAuth_METHOD_SHARED_SECRET:
		return s.verifyStatic(ctx, t, challenge)
	case pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE:
		// ca-core consumes it with the issuance, or, for an approval
		// endpoint, now.
		if t.ep.GetRequireApproval() {
			_, err := s.challenges.ConsumeChallenge(ctx, &pb.ConsumeChallengeRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), Value: challenge})
			if err != nil {
				return fromCoreRefusal(err, failBadRequest)
			}
			return nil
		}
		req.Challenge = challenge
		return nil
	case pb.EndpointAuth_METHOD_WEBHOOK:
		return s.askWebhook(ctx, t, m, challenge)
	case pb.EndpointAuth_METHOD_INTUNE:
		c, ok := s.intune[t.tenant+"/"+t.ep.GetId()]
		if !ok {
			s.log.Error("scep: endpoint uses intune but the service has no intune configuration for it", "tenant", t.tenant, "endpoint", t.ep.GetId())
			return refuse(failBadRequest, "endpoint %s uses Intune, which this server is not configured for", t.ep.GetId())
		}
		if err := c.ValidateRequest(ctx, m.TransactionID, m.CSR.Raw); err != nil {
			var se *intune.ServiceError
			if errors.As(err, &se) {
				return refuse(failBadRequest, "Intune refused the request: %s", se.Code)
			}
			s.log.Warn("scep: Intune validation failed", "tenant", t.tenant, "endpoint", t.ep.GetId(), "transaction", m.TransactionID, "err", err)
			return refuse(failBadRequest, "Intune could not validate the request: %v", err)
		}
		return nil
	}
	return refuse(failBadRequest, "endpoint %s uses %s authentication, which SCEP does not offer", t.ep.GetId(), method)
}

// verifyStatic checks the endpoint's static challenge with ca-core, which
// holds only its hash.
func (s *Server) verifyStatic(ctx context.Context, t *target, challenge string) error {
	key := s.creds.Key(t.tenant, t.ep.GetId(), challenge)
	if s.creds.OK(key) {
		return nil
	}
	_, err := s.endpoints.VerifyEndpointCredential(ctx, &pb.VerifyEndpointCredentialRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
		Username: t.ep.GetAuth().GetUsername(), Secret: challenge})
	if err != nil {
		return fromCoreRefusal(err, failBadRequest)
	}
	s.creds.Remember(key)
	return nil
}

// webhookRequest is what a webhook receives: the request as the service
// read it. The answer is {"allow": true} or {"allow": false, "reason": ...}.
type webhookRequest struct {
	Tenant            string   `json:"tenant"`
	Endpoint          string   `json:"endpoint"`
	TransactionID     string   `json:"transaction_id"`
	MessageType       string   `json:"message_type"`
	CSR               string   `json:"csr"`
	Subject           string   `json:"subject"`
	DNSNames          []string `json:"dns_names,omitempty"`
	EmailAddresses    []string `json:"email_addresses,omitempty"`
	IPAddresses       []string `json:"ip_addresses,omitempty"`
	URIs              []string `json:"uris,omitempty"`
	ChallengePassword string   `json:"challenge_password,omitempty"`
}

type webhookAnswer struct {
	Allow  *bool  `json:"allow"`
	Reason string `json:"reason"`
}

// askWebhook lets the endpoint's webhook decide. Anything but a 200 with
// a JSON allow decision refuses.
func (s *Server) askWebhook(ctx context.Context, t *target, m *message, challenge string) error {
	url := t.ep.GetScep().GetWebhookUrl()
	wr := webhookRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(), TransactionID: m.TransactionID, MessageType: typeName[m.Type],
		CSR: base64.StdEncoding.EncodeToString(m.CSR.Raw), Subject: m.CSR.Subject.String(), DNSNames: m.CSR.DNSNames,
		EmailAddresses: m.CSR.EmailAddresses, ChallengePassword: challenge}
	for _, ip := range m.CSR.IPAddresses {
		wr.IPAddresses = append(wr.IPAddresses, ip.String())
	}
	for _, u := range m.CSR.URIs {
		wr.URIs = append(wr.URIs, u.String())
	}
	body, _ := json.Marshal(wr)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return refuse(failBadRequest, "the endpoint's webhook URL is unusable: %v", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "certgate-scep")
	resp, err := s.webhooks.Do(hr)
	if err != nil {
		s.log.Warn("scep: webhook unreachable", "url", url, "err", err)
		return refuse(failBadRequest, "the webhook could not be reached")
	}
	defer resp.Body.Close()
	var ans webhookAnswer
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || dec.Decode(&ans) != nil || ans.Allow == nil {
		s.log.Warn("scep: webhook answered without a decision", "url", url, "status", resp.StatusCode)
		return refuse(failBadRequest, "the webhook answered HTTP %d without an allow decision", resp.StatusCode)
	}
	if !*ans.Allow {
		return refuse(failBadRequest, "the webhook denied the request: %s", ans.Reason)
	}
	return nil
}

// httpClient is a client for outbound HTTPS with extra roots from caFile.
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

func newIntuneClient(ic IntuneConfig) (*intune.Client, error) {
	hc, err := httpClient(ic.CAFile, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return intune.New(intune.Config{Tenant: ic.TenantID, ClientID: ic.ClientID, ClientSecret: ic.ClientSecret, Authority: ic.Authority,
		GraphURL: ic.GraphURL, IntuneResource: ic.IntuneResource, ProviderNameAndVersion: "certgate", HTTPClient: hc})
}

// notifySuccess reports an issuance to Intune for Intune endpoints. When
// Intune cannot be told, the device must not get the certificate
// (Microsoft's libraries say so): it is revoked and the request refused.
func (s *Server) notifySuccess(ctx context.Context, t *target, m *message, cert *x509.Certificate) error {
	c, ok := s.intuneFor(t)
	if !ok {
		return nil
	}
	err := c.SendSuccessNotification(ctx, intune.Success{TransactionID: m.TransactionID, CSR: m.CSR.Raw, Certificate: cert})
	if err == nil {
		return nil
	}
	s.log.Warn("scep: Intune success notification failed; revoking", "tenant", t.tenant, "endpoint", t.ep.GetId(),
		"transaction", m.TransactionID, "err", err)
	if _, rerr := s.revoker.RevokeCertificate(context.WithoutCancel(ctx), &pb.RevokeCertificateRequest{Tenant: t.tenant,
		Serial: frontend.SerialHex(cert.SerialNumber), Reason: pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION}); rerr != nil {
		s.log.Error("scep: revoking a certificate Intune was not told of", "serial", frontend.SerialHex(cert.SerialNumber), "err", rerr)
	}
	return refuse(failBadRequest, "Intune could not be notified of the issuance; the certificate was revoked")
}

// notifyFailure reports a failed issuance to Intune for Intune endpoints.
func (s *Server) notifyFailure(ctx context.Context, t *target, m *message, cause error) {
	c, ok := s.intuneFor(t)
	if !ok {
		return
	}
	if err := c.SendFailureNotification(ctx, m.TransactionID, m.CSR.Raw, intune.HResult(cause), frontend.Describe(cause)); err != nil {
		s.log.Warn("scep: Intune failure notification failed", "transaction", m.TransactionID, "err", err)
	}
}

func (s *Server) intuneFor(t *target) (*intune.Client, bool) {
	if t.ep.GetAuth().GetMethod() != pb.EndpointAuth_METHOD_INTUNE {
		return nil, false
	}
	c, ok := s.intune[t.tenant+"/"+t.ep.GetId()]
	return c, ok
}
