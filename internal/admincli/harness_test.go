package admincli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// harness is an in-process ca-core stand-in: a gRPC server on 127.0.0.1:0
// that requires a client certificate, with typed fakes behind it, and an
// endpoints.json pointing at it.
type harness struct {
	t    *testing.T
	dir  string
	addr string
	// file is the endpoints.json naming the server, tenant "acme".
	file     string
	caFile   string
	certFile string
	keyFile  string

	tenants     *fakeTenants
	cas         *fakeCAs
	endpointSvc *fakeEndpoints
	issuance    *fakeIssuance
	certs       *fakeCerts
	pending     *fakePending
	audit       *fakeAudit
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t: t, dir: t.TempDir(),
		tenants: &fakeTenants{}, cas: &fakeCAs{}, endpointSvc: &fakeEndpoints{},
		issuance: &fakeIssuance{}, certs: &fakeCerts{}, pending: &fakePending{}, audit: &fakeAudit{},
	}
	caKey, caCert := newTestCA(t)
	serverKey, serverDER := newLeaf(t, caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "ca-core"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	adminURI, _ := url.Parse("urn:certgate:admin:ops")
	clientKey, clientDER := newLeaf(t, caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "ops"},
		URIs:        []*url.URL{adminURI},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	h.caFile = writePEMFile(t, h.dir, "ca.pem", "CERTIFICATE", caCert.Raw)
	h.certFile = writePEMFile(t, h.dir, "admin.pem", "CERTIFICATE", clientDER)
	h.keyFile = writePEMFile(t, h.dir, "admin-key.pem", "PRIVATE KEY", marshalKey(t, clientKey))

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})))
	pb.RegisterTenantServiceServer(srv, h.tenants)
	pb.RegisterCAServiceServer(srv, h.cas)
	pb.RegisterEndpointServiceServer(srv, h.endpointSvc)
	pb.RegisterIssuanceServiceServer(srv, h.issuance)
	pb.RegisterCertificateServiceServer(srv, h.certs)
	pb.RegisterPendingRequestServiceServer(srv, h.pending)
	pb.RegisterAuditServiceServer(srv, h.audit)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	h.addr = lis.Addr().String()
	h.file = h.writeEndpoints(filepath.Join(h.dir, "endpoints.json"), "acme", h.addr)
	return h
}

// writeEndpoints writes an endpoints.json like `certgate dev` does.
func (h *harness) writeEndpoints(path, tenant, addr string) string {
	h.t.Helper()
	doc := map[string]any{
		"trust_bundle": filepath.Join(h.dir, "ca-bundle.pem"),
		"tenant":       tenant,
		"ca_core": map[string]any{
			"grpc": addr, "ca_file": h.caFile, "admin_cert": h.certFile, "admin_key": h.keyFile,
		},
		"acme": map[string]any{"url": "https://127.0.0.1:1/acme"},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// result is what one Run printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// run calls Run with env as the environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := Run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), err: err}
}

// admin runs a command against the harness's endpoints.json.
func (h *harness) admin(args ...string) result {
	h.t.Helper()
	return run(h.t, nil, append([]string{"--endpoints", h.file}, args...)...)
}

func newTestCA(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test mTLS CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func marshalKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePEMFile(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newCSR returns a DER PKCS#10 request for CN=device.example.
func newCSR(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "device.example"}, DNSNames: []string{"device.example"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pemDERs decodes every PEM block of s, checking their type.
func pemDERs(t *testing.T, s, typ string) [][]byte {
	t.Helper()
	var out [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != typ {
			t.Fatalf("PEM block type %q, want %q", b.Type, typ)
		}
		out = append(out, b.Bytes)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("trailing non-PEM output: %q", rest)
	}
	return out
}

// recorder keeps the requests a fake received.
type recorder[T proto.Message] struct {
	mu   sync.Mutex
	reqs []T
}

func (r *recorder[T]) add(m T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, proto.CloneOf(m))
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.reqs...)
}

// last returns the newest request, failing the test if there is none.
func (r *recorder[T]) last(t *testing.T) T {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		var zero T
		t.Fatalf("no %T request received", zero)
	}
	return all[len(all)-1]
}

// The fakes' settings are written by the test goroutine and read by the
// server's, so each fake guards them with mu and tests use the setters.

type fakeTenants struct {
	pb.UnimplementedTenantServiceServer
	created recorder[*pb.CreateTenantRequest]
}

func (f *fakeTenants) CreateTenant(_ context.Context, req *pb.CreateTenantRequest) (*pb.Tenant, error) {
	f.created.add(req)
	return &pb.Tenant{Id: req.GetId(), DisplayName: req.GetDisplayName(), Quota: req.GetQuota()}, nil
}

type fakeCAs struct {
	pb.UnimplementedCAServiceServer
	listed recorder[*pb.ListCAsRequest]
}

func (f *fakeCAs) ListCAs(_ context.Context, req *pb.ListCAsRequest) (*pb.ListCAsResponse, error) {
	f.listed.add(req)
	return &pb.ListCAsResponse{Cas: []*pb.CA{{
		Tenant: req.GetTenant(), Id: "issuing", Type: pb.CAType_CA_TYPE_ISSUING, Status: pb.CAStatus_CA_STATUS_ACTIVE,
		Parent: "root", KeyType: pb.KeyType_KEY_TYPE_EC_P256, Subject: "CN=Issuing",
	}}}, nil
}

type fakeEndpoints struct {
	pb.UnimplementedEndpointServiceServer
	updated recorder[*pb.UpdateEndpointRequest]
	mu      sync.Mutex
	stored  *pb.Endpoint
}

func (f *fakeEndpoints) setStored(ep *pb.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = proto.CloneOf(ep)
}

func (f *fakeEndpoints) GetEndpoint(_ context.Context, req *pb.GetEndpointRequest) (*pb.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stored == nil || f.stored.GetId() != req.GetId() {
		return nil, status.Error(codes.NotFound, "no such endpoint")
	}
	return proto.CloneOf(f.stored), nil
}

func (f *fakeEndpoints) UpdateEndpoint(_ context.Context, req *pb.UpdateEndpointRequest) (*pb.Endpoint, error) {
	f.updated.add(req)
	ep := proto.CloneOf(req.GetEndpoint())
	if ep.Auth != nil && req.GetSecret() != "" {
		ep.Auth.SecretSet = true
	}
	return ep, nil
}

type fakeIssuance struct {
	pb.UnimplementedIssuanceServiceServer
	issued recorder[*pb.IssueRequest]
	mu     sync.Mutex
	resp   *pb.IssueResponse
	err    error
}

func (f *fakeIssuance) set(resp *pb.IssueResponse, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp, f.err = resp, err
}

func (f *fakeIssuance) Issue(_ context.Context, req *pb.IssueRequest) (*pb.IssueResponse, error) {
	f.issued.add(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resp, f.err
}

// fakeCerts serves its certificates in pages of at most pageSize (fewer
// when asked), with the offset as page token.
type fakeCerts struct {
	pb.UnimplementedCertificateServiceServer
	listed   recorder[*pb.ListCertificatesRequest]
	mu       sync.Mutex
	certs    []*pb.Certificate
	pageSize int
}

func (f *fakeCerts) set(pageSize int, certs ...*pb.Certificate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize, f.certs = pageSize, certs
}

func (f *fakeCerts) ListCertificates(_ context.Context, req *pb.ListCertificatesRequest) (*pb.ListCertificatesResponse, error) {
	f.listed.add(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "bad page token")
		}
		start = n
	}
	end := min(start+min(f.pageSize, int(req.GetPageSize())), len(f.certs))
	resp := &pb.ListCertificatesResponse{Certificates: f.certs[start:end]}
	if end < len(f.certs) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

type fakePending struct {
	pb.UnimplementedPendingRequestServiceServer
	approved recorder[*pb.ApprovePendingRequestRequest]
	mu       sync.Mutex // guards cert and chain
	cert     *pb.Certificate
	chain    [][]byte
}

func (f *fakePending) setCert(c *pb.Certificate, chain ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cert, f.chain = c, chain
}

func (f *fakePending) ApprovePendingRequest(_ context.Context, req *pb.ApprovePendingRequestRequest) (*pb.PendingRequest, error) {
	f.approved.add(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return &pb.PendingRequest{Tenant: req.GetTenant(), Id: req.GetId(), Status: pb.PendingStatus_PENDING_STATUS_ISSUED, Certificate: f.cert, Chain: f.chain}, nil
}

type fakeAudit struct {
	pb.UnimplementedAuditServiceServer
	verified recorder[*pb.VerifyAuditChainRequest]
	mu       sync.Mutex
	resp     *pb.VerifyAuditChainResponse
}

func (f *fakeAudit) set(resp *pb.VerifyAuditChainResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp = resp
}

func (f *fakeAudit) VerifyAuditChain(_ context.Context, req *pb.VerifyAuditChainRequest) (*pb.VerifyAuditChainResponse, error) {
	f.verified.add(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resp, nil
}
