package cacore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	cacore "github.com/certgate/certgate/ca-core"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/internal/coretest"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// setup creates tenant t1 with a root, an issuing CA and endpoint "dev"
// assigned to front-end "acme".
func setup(t *testing.T, admin *grpc.ClientConn, quota *pb.Quota) {
	t.Helper()
	ctx := context.Background()
	if _, err := pb.NewTenantServiceClient(admin).CreateTenant(ctx, &pb.CreateTenantRequest{Id: "t1", Quota: quota}); err != nil {
		t.Fatal(err)
	}
	cas := pb.NewCAServiceClient(admin)
	if _, err := cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "t1", Id: "root", Type: pb.CAType_CA_TYPE_ROOT, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=Root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cas.CreateCA(ctx, &pb.CreateCARequest{Tenant: "t1", Id: "issuing", Parent: "root", Type: pb.CAType_CA_TYPE_ISSUING, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=Issuing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewEndpointServiceClient(admin).CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: &pb.Endpoint{
		Tenant: "t1", Id: "dev", Protocol: pb.Protocol_PROTOCOL_ACME, Ca: "issuing", DefaultProfile: "acme-tls-server",
		Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_NONE}}}); err != nil {
		t.Fatal(err)
	}
}

func csr(t testing.TB, dns string) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: dns}, DNSNames: []string{dns}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// errInfo extracts the certgate error details of a failed call.
func errInfo(t *testing.T, err error) (codes.Code, *errdetails.ErrorInfo, *errdetails.RetryInfo) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("got %v, want a status error", err)
	}
	var info *errdetails.ErrorInfo
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	if info == nil || info.Domain != "certgate.dev" || info.Metadata["request_id"] == "" {
		t.Fatalf("status %v carries no certgate ErrorInfo", st)
	}
	return st.Code(), info, retry
}

func TestFrontendsOnlyUseTheirEndpoints(t *testing.T) {
	core := coretest.Start(t, coretest.Options{})
	admin := core.Admin(t, "root")
	setup(t, admin, nil)
	ctx := context.Background()

	acme := pb.NewIssuanceServiceClient(core.Frontend(t, "acme"))
	res, err := acme.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Endpoint: "dev", Csr: csr(t, "a.example.com")})
	if err != nil {
		t.Fatalf("assigned front-end: %v", err)
	}
	if res.Certificate.Requester != "frontend:acme" || len(res.Chain) != 2 {
		t.Errorf("requester %q, chain of %d", res.Certificate.Requester, len(res.Chain))
	}

	scepConn := core.Frontend(t, "scep")
	_, err = pb.NewIssuanceServiceClient(scepConn).Issue(ctx, &pb.IssueRequest{Tenant: "t1", Endpoint: "dev", Csr: csr(t, "b.example.com")})
	if code, info, _ := errInfo(t, err); code != codes.NotFound || info.Reason != "NOT_FOUND" {
		t.Fatalf("front-end of another protocol: %v %v", code, info)
	}
	_, err = pb.NewCAServiceClient(scepConn).CreateCA(ctx, &pb.CreateCARequest{Tenant: "t1", Id: "x1", Type: pb.CAType_CA_TYPE_ROOT, KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=x"})
	if code, info, _ := errInfo(t, err); code != codes.PermissionDenied || info.Metadata["rule"] != "authz.method" {
		t.Fatalf("front-end creating a CA: %v %v", code, info)
	}
	// A front-end sees only certificates its endpoints issued.
	if _, err := pb.NewCertificateServiceClient(scepConn).GetCertificate(ctx, &pb.GetCertificateRequest{Tenant: "t1", Serial: res.Certificate.Serial}); status.Code(err) != codes.NotFound {
		t.Fatalf("other front-end reading the certificate: %v", err)
	}
	got, err := pb.NewCertificateServiceClient(core.Frontend(t, "acme")).GetCertificate(ctx, &pb.GetCertificateRequest{Tenant: "t1", Serial: strings.ToUpper("00" + res.Certificate.Serial)})
	if err != nil || got.Serial != res.Certificate.Serial {
		t.Fatalf("own certificate by upper-case serial with leading zeros: %v", err)
	}
}

func TestCallersNeedAnIdentity(t *testing.T) {
	core := coretest.Start(t, coretest.Options{Admins: []authz.Binding{
		{Name: "root", Tenants: []string{"*"}, Roles: []authz.Role{authz.Owner}},
		{Name: "auditor", Tenants: []string{"t1"}, Roles: []authz.Role{authz.CAAuditor}},
	}})
	setup(t, core.Admin(t, "root"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// No client certificate: the TLS handshake fails.
	_, err := pb.NewTenantServiceClient(core.Dial(t, nil)).ListTenants(ctx, &pb.ListTenantsRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: %v", err)
	}
	// A certificate without a binding: PERMISSION_DENIED.
	_, err = pb.NewTenantServiceClient(core.Admin(t, "mallory")).ListTenants(ctx, &pb.ListTenantsRequest{})
	if code, info, _ := errInfo(t, err); code != codes.PermissionDenied || info.Metadata["rule"] != "authz.unknown_admin" {
		t.Fatalf("unbound administrator: %v %v", code, info)
	}
	auditor := core.Admin(t, "auditor")
	if _, err := pb.NewAuditServiceClient(auditor).VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{Tenant: "t1"}); err != nil {
		t.Fatalf("auditor verifying: %v", err)
	}
	_, err = pb.NewIssuanceServiceClient(auditor).Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "c.example.com")})
	if code, _, _ := errInfo(t, err); code != codes.PermissionDenied {
		t.Fatalf("auditor issuing: %v", err)
	}
}

func TestPolicyRefusalsCrossTheWireWithTheirRule(t *testing.T) {
	core := coretest.Start(t, coretest.Options{})
	admin := core.Admin(t, "root")
	setup(t, admin, &pb.Quota{MaxActiveCertificates: 1, IssueRequestsPerWindow: 1000})
	ctx := context.Background()
	iss := pb.NewIssuanceServiceClient(admin)
	_, err := iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "a.example.com"),
		SubjectAltNames: []*pb.SubjectAltName{{Type: pb.SubjectAltName_TYPE_EMAIL, Value: "x@example.com"}}})
	if code, info, _ := errInfo(t, err); code != codes.InvalidArgument || info.Reason != "POLICY_REJECTED" || info.Metadata["rule"] != "profile.san.types" {
		t.Fatalf("SAN type: %v %v", code, info)
	}
	if _, err := iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "a.example.com"), Validity: durationpb.New(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err = iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "b.example.com")})
	if code, info, _ := errInfo(t, err); code != codes.ResourceExhausted || info.Reason != "QUOTA_EXCEEDED" {
		t.Fatalf("quota: %v %v", code, info)
	}
	pb.NewTenantServiceClient(admin).UpdateQuota(ctx, &pb.UpdateQuotaRequest{Tenant: "t1", Quota: &pb.Quota{IssueRequestsPerWindow: 1}})
	iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "c.example.com")})
	_, err = iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, "d.example.com")})
	code, info, retry := errInfo(t, err)
	if code != codes.ResourceExhausted || info.Reason != "RATE_LIMITED" || retry == nil || retry.RetryDelay.AsDuration() <= 0 {
		t.Fatalf("rate limit: %v %v %v", code, info, retry)
	}
}

func TestTwoReplicasShareOnePostgreSQL(t *testing.T) {
	dsn := storetest.DSN(t, store.Postgres)
	a := coretest.Start(t, coretest.Options{Engine: store.Postgres, DSN: dsn})
	b := coretest.Start(t, coretest.Options{Engine: store.Postgres, DSN: dsn, PKI: a.PKI})
	setup(t, a.Admin(t, "root"), &pb.Quota{MaxActiveCertificates: 6})
	ctx := context.Background()
	clients := []pb.IssuanceServiceClient{pb.NewIssuanceServiceClient(a.Frontend(t, "acme")), pb.NewIssuanceServiceClient(b.Frontend(t, "acme"))}
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			_, err := clients[i%2].Issue(ctx, &pb.IssueRequest{Tenant: "t1", Endpoint: "dev", Csr: csr(t, "h.example.com")})
			errs <- err
		}(i)
	}
	var ok, exhausted int
	for i := 0; i < 20; i++ {
		switch err := <-errs; status.Code(err) {
		case codes.OK:
			ok++
		case codes.ResourceExhausted:
			exhausted++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 6 || exhausted != 14 {
		t.Fatalf("%d issued and %d refused across two replicas, want 6 and 14", ok, exhausted)
	}
	v, err := pb.NewAuditServiceClient(b.Admin(t, "root")).VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{})
	if err != nil || !v.Ok {
		t.Fatalf("audit chain after concurrent writes from two replicas: %v %v", v, err)
	}
}

func TestConfigIsStrict(t *testing.T) {
	base := "tls: {cert_file: c, key_file: k, client_ca_file: ca}\nstore: {dsn: x.db}\nsigner: {soft: {secret_file: s}}\n"
	if _, err := cacore.ParseConfig([]byte(base), nil); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for name, tc := range map[string]struct {
		yaml string
		env  map[string]string
		want string
	}{
		"fail/unknown-key":    {yaml: base + "listn: x\n", want: "listn"},
		"fail/no-tls":         {yaml: "store: {dsn: x}\nsigner: {soft: {secret_file: s}}\n", want: "mutual TLS"},
		"fail/no-backend":     {yaml: "tls: {cert_file: c, key_file: k, client_ca_file: ca}\nstore: {dsn: x}\n", want: "signer backend"},
		"fail/pkcs11-default": {yaml: base + "signer: {default: pkcs11, soft: {secret_file: s}}\n", want: ""},
		"fail/bad-role":       {yaml: base + "admins: [{name: a, tenants: ['*'], roles: [god]}]\n", want: "unknown role"},
		"fail/env-engine":     {yaml: base, env: map[string]string{"CERTGATE_STORE_ENGINE": "mysql"}, want: "store.engine"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cacore.ParseConfig([]byte(tc.yaml), func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCustomProfilesFromConfigAndFromTenants(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/profiles.yaml"
	if err := os.WriteFile(file, []byte("id: corp-tls\nclone_from: privatessl-tls-server\nmax_validity: P90D\ndefault_validity: P30D\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	core := coretest.Start(t, coretest.Options{Profiles: []string{file}})
	admin := core.Admin(t, "root")
	setup(t, admin, nil)
	ctx := context.Background()
	profiles := pb.NewProfileServiceClient(admin)
	p, err := profiles.GetProfile(ctx, &pb.GetProfileRequest{Tenant: "t1", Id: "corp-tls"})
	if err != nil || p.MaxValidity != "P90D" || p.ClonedFrom != "privatessl-tls-server" || p.Tenant != "" {
		t.Fatalf("configured profile: %v, %v", p, err)
	}
	_, err = profiles.CreateProfile(ctx, &pb.CreateProfileRequest{Tenant: "t1", Document: []byte(`{"id": "t1-short", "clone_from": "corp-tls", "validity_period": "P7D"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := profiles.CreateProfile(ctx, &pb.CreateProfileRequest{Tenant: "t1", Document: []byte("id: t1-bad\nclone_from: basic-ca-root\n")}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("cloning an authority profile: %v", err)
	}
	// A tenant profile is only usable once enabled on the CA.
	iss := pb.NewIssuanceServiceClient(admin)
	if _, err := iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "t1-short", Csr: csr(t, "a.example.com")}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("profile not enabled on the CA: %v", err)
	}
	ca, err := pb.NewCAServiceClient(admin).GetCA(ctx, &pb.GetCARequest{Tenant: "t1", Id: "issuing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewCAServiceClient(admin).SetCAProfiles(ctx, &pb.SetCAProfilesRequest{Tenant: "t1", Ca: "issuing", Profiles: append(ca.Profiles, "t1-short")}); err != nil {
		t.Fatal(err)
	}
	res, err := iss.Issue(ctx, &pb.IssueRequest{Tenant: "t1", Profile: "t1-short", Csr: csr(t, "a.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Certificate.NotAfter.AsTime().Sub(res.Certificate.NotBefore.AsTime()); d != 7*24*time.Hour-time.Second {
		t.Errorf("validity %s, want the custom profile's 7 days", d)
	}
	if _, err := profiles.DeleteProfile(ctx, &pb.DeleteProfileRequest{Tenant: "t1", Id: "t1-short"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("deleting a profile a CA uses: %v", err)
	}
}
