package mdmws

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// The one MDM configuration fakeCore knows, and its credential.
const (
	fakeTenant    = "t1"
	fakeEndpoint  = "mdm"
	fakeUser      = "jamf"
	fakePassword  = "right-password"
	fakeDigitalID = "device"
	// fakeChallenge is what every CreateChallenge answers, in NDES's format.
	fakeChallenge = "C0FFEE0123456789"
)

// fakeCore answers the ca-core calls the service makes for the MDM
// configuration t1/mdm, the way ca-core's interceptor sends them
// (google.rpc.ErrorInfo and RetryInfo details), and records what it was
// asked.
type fakeCore struct {
	ca *x509.Certificate

	mu         sync.Mutex // guards the fields below
	endpoint   *pb.Endpoint
	certs      map[string]*pb.Certificate // by serial
	fail       map[string]error           // method -> error answered instead
	calls      map[string]int             // method -> calls seen
	challenges []*pb.CreateChallengeRequest
}

func newFakeCore(t testing.TB) *fakeCore {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake MDM CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeCore{
		ca: ca,
		endpoint: &pb.Endpoint{Tenant: fakeTenant, Id: fakeEndpoint, Protocol: pb.Protocol_PROTOCOL_MDMWS, Ca: "issuing", DefaultProfile: "p",
			Auth:  &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_SHARED_SECRET, Username: fakeUser},
			Mdmws: &pb.MdmwsSettings{Platform: "jamf", DefaultDigitalId: fakeDigitalID}},
		certs: map[string]*pb.Certificate{},
		fail:  map[string]error{},
		calls: map[string]int{},
	}
}

// coreError is a failure as ca-core's interceptor sends it: a gRPC code,
// ErrorInfo with the reason and the rule, and RetryInfo when retry > 0.
func coreError(code codes.Code, reason pb.ErrorReason, detail, rule string, retry time.Duration) error {
	md := map[string]string{"request_id": "req-1"}
	if rule != "" {
		md["rule"] = rule
	}
	st, err := status.New(code, detail).WithDetails(&errdetails.ErrorInfo{
		Reason: strings.TrimPrefix(reason.String(), "ERROR_REASON_"), Domain: "certgate.dev", Metadata: md})
	if err != nil {
		panic(err)
	}
	if retry > 0 {
		if st, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}); err != nil {
			panic(err)
		}
	}
	return st.Err()
}

func (f *fakeCore) Invoke(_ context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if err := f.fail[method]; err != nil {
		return err
	}
	var out proto.Message
	switch method {
	case pb.EndpointService_GetEndpoint_FullMethodName:
		req := args.(*pb.GetEndpointRequest)
		if req.GetTenant() != f.endpoint.GetTenant() || req.GetId() != f.endpoint.GetId() {
			return coreError(codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND, "no such endpoint", "", 0)
		}
		out = f.endpoint
	case pb.EndpointService_VerifyEndpointCredential_FullMethodName:
		req := args.(*pb.VerifyEndpointCredentialRequest)
		if req.GetTenant() != fakeTenant || req.GetEndpoint() != fakeEndpoint || req.GetUsername() != fakeUser || req.GetSecret() != fakePassword {
			return coreError(codes.Unauthenticated, pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED, "wrong credential", "", 0)
		}
		out = &pb.VerifyEndpointCredentialResponse{}
	case pb.ChallengeService_CreateChallenge_FullMethodName:
		req := proto.Clone(args.(*pb.CreateChallengeRequest)).(*pb.CreateChallengeRequest)
		f.challenges = append(f.challenges, req)
		out = &pb.Challenge{Tenant: req.GetTenant(), Endpoint: req.GetEndpoint(), Id: "ch-1", Value: fakeChallenge,
			ExpiresAt: timestamppb.New(time.Now().Add(req.GetTtl().AsDuration())), DigitalId: req.GetDigitalId()}
	case pb.CAService_GetCAChain_FullMethodName:
		out = &pb.CAChain{Certificates: [][]byte{f.ca.Raw}}
	case pb.DigitalIDService_GetDigitalID_FullMethodName:
		req := args.(*pb.GetDigitalIDRequest)
		out = &pb.DigitalID{Tenant: req.GetTenant(), Endpoint: req.GetEndpoint(), Name: req.GetName(), RdnFormat: "CN=<device>",
			Variables: []string{"device"}, Mode: pb.DigitalIDMode_DIGITAL_ID_MODE_SCEP}
	case pb.CertificateService_GetCertificate_FullMethodName:
		c, ok := f.certs[args.(*pb.GetCertificateRequest).GetSerial()]
		if !ok {
			return coreError(codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND, "no such certificate", "", 0)
		}
		out = c
	case pb.RevocationService_RevokeCertificate_FullMethodName:
		c, ok := f.certs[args.(*pb.RevokeCertificateRequest).GetSerial()]
		if !ok {
			return coreError(codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND, "no such certificate", "", 0)
		}
		c = proto.Clone(c).(*pb.Certificate)
		c.Status = pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED
		out = c
	default:
		return coreError(codes.Unimplemented, pb.ErrorReason_ERROR_REASON_UNAVAILABLE, "not faked: "+method, "", 0)
	}
	proto.Merge(reply.(proto.Message), out)
	return nil
}

func (f *fakeCore) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("mdmws opens no streams")
}

// callsOf is how many times method was called.
func (f *fakeCore) callsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// failWith makes method answer err.
func (f *fakeCore) failWith(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// received returns the CreateChallenge requests seen so far.
func (f *fakeCore) received() []*pb.CreateChallengeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*pb.CreateChallengeRequest(nil), f.challenges...)
}

// fakeClock is a settable clock for Deps.Now.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestServer is a server on a fake ca-core and a fake clock.
func newTestServer(t testing.TB, cfg Config) (*Server, *fakeCore, *fakeClock) {
	t.Helper()
	core := newFakeCore(t)
	clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := New(cfg, Deps{Conn: core, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, core, clock
}

// call sends one request with the MDM credential user:pass (none when
// user is empty) and records the answer.
func call(s *Server, method, path, user, pass, contentType, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://mdmws.test"+path, rd)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// get sends a GET with the right credential.
func get(s *Server, path string) *httptest.ResponseRecorder {
	return call(s, http.MethodGet, path, fakeUser, fakePassword, "", "")
}

// pagePath is the challenge page of the fake configuration.
const pagePath = "/mdmws/" + fakeTenant + "/" + fakeEndpoint + "/certsrv/mscep_admin/"

// apiPath is the JSON API of the fake configuration.
const apiPath = "/mdmws/" + fakeTenant + "/" + fakeEndpoint + "/v1/"

// pageText decodes a challenge page: UTF-16LE after a byte-order mark, or
// UTF-8 when its Content-Type says so.
func pageText(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	body := w.Body.Bytes()
	if w.Header().Get("Content-Type") == "text/html; charset=utf-8" {
		return string(body)
	}
	if w.Header().Get("Content-Type") != "text/html; charset=utf-16" {
		t.Fatalf("Content-Type %q, want text/html; charset=utf-16", w.Header().Get("Content-Type"))
	}
	if len(body) < 2 || body[0] != 0xff || body[1] != 0xfe || len(body)%2 != 0 {
		t.Fatalf("got % x..., want FF FE and whole UTF-16 units", body[:min(len(body), 4)])
	}
	units := make([]uint16, (len(body)-2)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(body[2+2*i:])
	}
	return string(utf16.Decode(units))
}
