package devmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"
	"github.com/certgate/certgate/services/frontend"
)

// booted is what bootstrap made or found.
type booted struct {
	root           []byte
	eabKID, eabKey string
	estPassword    string
	scepChallenge  string
	mdmPassword    string
}

// bootstrap makes sure the default tenant, its CAs and one endpoint per
// protocol exist, creating what an earlier run did not, and mints a fresh
// ACME external account binding key.
func bootstrap(ctx context.Context, ep *EndpointsFile) (*booted, error) {
	conn, err := frontend.Dial(frontend.ClientConfig{Address: ep.CACore.GRPC, CAFile: ep.CACore.CAFile,
		CertFile: ep.CACore.AdminCert, KeyFile: ep.CACore.AdminKey})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tenants := pb.NewTenantServiceClient(conn)
	if _, err := tenants.GetTenant(ctx, &pb.GetTenantRequest{Id: Tenant}); status.Code(err) == codes.NotFound {
		// Dev mode: no cap and no rate limit, so that benchmarks and
		// experiments measure certgate rather than its quotas.
		_, err = tenants.CreateTenant(ctx, &pb.CreateTenantRequest{Id: Tenant, DisplayName: "Default (dev)", Quota: &pb.Quota{}})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	cas := pb.NewCAServiceClient(conn)
	ensure := func(req *pb.CreateCARequest) (*pb.CA, error) {
		c, err := cas.GetCA(ctx, &pb.GetCARequest{Tenant: Tenant, Id: req.Id})
		if status.Code(err) == codes.NotFound {
			return cas.CreateCA(ctx, req)
		}
		return c, err
	}
	root, err := ensure(&pb.CreateCARequest{Tenant: Tenant, Id: RootCA, FriendlyName: "certgate dev root", Type: pb.CAType_CA_TYPE_ROOT,
		KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=certgate dev root CA,O=certgate dev"})
	if err != nil {
		return nil, err
	}
	issuing, err := ensure(&pb.CreateCARequest{Tenant: Tenant, Id: IssuingCA, FriendlyName: "certgate dev issuing", Type: pb.CAType_CA_TYPE_ISSUING,
		Parent: RootCA, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=certgate dev issuing CA,O=certgate dev"})
	if err != nil {
		return nil, err
	}
	// Data directories from before revocation existed get CRL and OCSP on.
	if !issuing.CrlEnabled || !issuing.OcspEnabled {
		if _, err := cas.SetCARevocation(ctx, &pb.SetCARevocationRequest{Tenant: Tenant, Ca: IssuingCA, CrlEnabled: true, OcspEnabled: true}); err != nil {
			return nil, err
		}
	}
	endpoints := pb.NewEndpointServiceClient(conn)
	if _, err := endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: Tenant, Id: ACMEEndpoint}); status.Code(err) == codes.NotFound {
		_, err = endpoints.CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: &pb.Endpoint{Tenant: Tenant, Id: ACMEEndpoint,
			Protocol: pb.Protocol_PROTOCOL_ACME, Ca: IssuingCA, DefaultProfile: "acme-tls-server",
			AllowedProfiles: []string{"acme-tls-client-server"}, Description: "dev ACME endpoint (EAB optional)",
			Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_NONE}}})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	eab, err := pb.NewAcmeServiceClient(conn).CreateEabKey(ctx, &pb.CreateEabKeyRequest{Tenant: Tenant, Endpoint: ACMEEndpoint, Label: "certgate dev"})
	if err != nil {
		return nil, err
	}
	scepChallenge, err := ensureSCEPEndpoint(ctx, endpoints)
	if err != nil {
		return nil, err
	}
	if err := ensureWSTEPEndpoint(ctx, endpoints); err != nil {
		return nil, err
	}
	mdmPassword, err := ensureMDMConfiguration(ctx, conn, endpoints)
	if err != nil {
		return nil, err
	}
	estPassword, err := ensureESTEndpoint(ctx, endpoints)
	if err != nil {
		return nil, err
	}
	// Wait for the issuing CA's first CRL (and with it its OCSP responder),
	// so that endpoints.json only appears once its URLs answer.
	rev := pb.NewRevocationServiceClient(conn)
	for {
		if _, err := rev.GetCRL(ctx, &pb.GetCRLRequest{Tenant: Tenant, Ca: IssuingCA}); err == nil {
			return &booted{root: root.Certificate, eabKID: eab.GetKid(), eabKey: eab.GetHmacKey(), estPassword: estPassword, scepChallenge: scepChallenge, mdmPassword: mdmPassword}, nil
		} else if status.Code(err) != codes.NotFound {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the first CRL: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ensureSCEPEndpoint creates the SCEP endpoint once and gives it a fresh
// static challenge on every run.
func ensureSCEPEndpoint(ctx context.Context, endpoints pb.EndpointServiceClient) (string, error) {
	challenge := randomSecret()
	ep := &pb.Endpoint{Tenant: Tenant, Id: SCEPEndpoint, Protocol: pb.Protocol_PROTOCOL_SCEP, Ca: IssuingCA, DefaultProfile: "scep-client-auth",
		AllowedProfiles: []string{"scep-digital-signature", "scep-key-encipherment"}, Description: "dev SCEP endpoint (static challenge)",
		Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_SHARED_SECRET}}
	return challenge, createOrRekey(ctx, endpoints, ep, challenge)
}

// ensureWSTEPEndpoint creates the Windows enrollment endpoint once, with
// a user and a machine template built from the directory and one whose
// requester supplies the subject.
func ensureWSTEPEndpoint(ctx context.Context, endpoints pb.EndpointServiceClient) error {
	_, err := endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: Tenant, Id: WSTEPEndpoint})
	if status.Code(err) != codes.NotFound {
		return err
	}
	profile := "wstep-digital-signature-key-encipherment"
	_, err = endpoints.CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: &pb.Endpoint{Tenant: Tenant, Id: WSTEPEndpoint,
		Protocol: pb.Protocol_PROTOCOL_WSTEP, Ca: IssuingCA, DefaultProfile: profile, Description: "dev Windows enrollment (static directory)",
		Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_NONE},
		Wstep: &pb.WstepSettings{PolicyFriendlyName: "certgate dev", Templates: []*pb.WstepTemplate{
			{Name: "User", DisplayName: "certgate User", SubjectFromDirectory: true, Autoenroll: true},
			{Name: "Machine", DisplayName: "certgate Computer", SubjectFromDirectory: true, Machine: true, Autoenroll: true},
			{Name: "WebServer", DisplayName: "certgate Web Server"},
		}}}})
	return err
}

// ensureMDMConfiguration creates the dev MDM configuration and its
// Digital ID once and gives its credential a fresh password every run.
func ensureMDMConfiguration(ctx context.Context, conn *grpc.ClientConn, endpoints pb.EndpointServiceClient) (string, error) {
	password := randomSecret()
	ep := &pb.Endpoint{Tenant: Tenant, Id: MDMEndpoint, Protocol: pb.Protocol_PROTOCOL_MDMWS, Ca: IssuingCA,
		DefaultProfile: "mdmws-digital-signature-key-encipherment-clientauth", AllowedProfiles: []string{"mdmws-p12-digital-signature-key-encipherment-clientauth"},
		Description: "dev MDM configuration", Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_SHARED_SECRET, Username: MDMUsername},
		Mdmws: &pb.MdmwsSettings{Platform: "other", DefaultDigitalId: MDMDigitalID}}
	if err := createOrRekey(ctx, endpoints, ep, password); err != nil {
		return "", err
	}
	ids := pb.NewDigitalIDServiceClient(conn)
	for _, d := range []*pb.DigitalID{
		{Name: MDMDigitalID, ParentDn: "OU=Devices,O=certgate dev", RdnFormat: "CN=<device>", Profile: ep.DefaultProfile, Mode: pb.DigitalIDMode_DIGITAL_ID_MODE_SCEP},
		{Name: MDMDigitalID + "-p12", ParentDn: "OU=Devices,O=certgate dev", RdnFormat: "CN=<device>", Profile: ep.AllowedProfiles[0], Mode: pb.DigitalIDMode_DIGITAL_ID_MODE_PKCS12},
	} {
		d.Tenant, d.Endpoint = Tenant, MDMEndpoint
		_, err := ids.GetDigitalID(ctx, &pb.GetDigitalIDRequest{Tenant: Tenant, Endpoint: MDMEndpoint, Name: d.Name})
		if status.Code(err) == codes.NotFound {
			_, err = ids.CreateDigitalID(ctx, &pb.CreateDigitalIDRequest{DigitalId: d})
		}
		if err != nil {
			return "", err
		}
	}
	return password, nil
}

// createOrRekey creates ep with secret, or gives an existing one the new
// secret and keeps what an administrator changed.
func createOrRekey(ctx context.Context, endpoints pb.EndpointServiceClient, ep *pb.Endpoint, secret string) error {
	cur, err := endpoints.GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: ep.GetTenant(), Id: ep.GetId()})
	switch status.Code(err) {
	case codes.NotFound:
		_, err = endpoints.CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: ep, Secret: secret})
	case codes.OK:
		_, err = endpoints.UpdateEndpoint(ctx, &pb.UpdateEndpointRequest{Endpoint: cur, Secret: secret})
	}
	return err
}

func randomSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ensureESTEndpoint creates the EST endpoint once and gives it a fresh
// password on every run (ca-core keeps only its hash).
func ensureESTEndpoint(ctx context.Context, endpoints pb.EndpointServiceClient) (string, error) {
	password := randomSecret()
	ep := &pb.Endpoint{Tenant: Tenant, Id: ESTEndpoint, Protocol: pb.Protocol_PROTOCOL_EST, Ca: IssuingCA, DefaultProfile: "est-client-auth",
		AllowedProfiles: []string{"est-client-server"}, Description: "dev EST endpoint (HTTP Basic)",
		Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_SHARED_SECRET, Username: ESTUsername}}
	return password, createOrRekey(ctx, endpoints, ep, password)
}
