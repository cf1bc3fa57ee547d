package est

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// fakeCore answers the ca-core calls the service makes: one EST endpoint
// "e1" with no authentication, and issuance that signs whatever arrives
// with a throwaway CA.
type fakeCore struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

func newFakeCore(t testing.TB) *fakeCore {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &fakeCore{ca: ca, caKey: key}
}

func (f *fakeCore) Invoke(_ context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	var out proto.Message
	switch method {
	case pb.EndpointService_GetEndpoint_FullMethodName:
		if args.(*pb.GetEndpointRequest).GetId() != "e1" {
			return &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_NOT_FOUND, Detail: "no such endpoint"}
		}
		out = &pb.Endpoint{Id: "e1", Protocol: pb.Protocol_PROTOCOL_EST, DefaultProfile: "p", Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_NONE}}
	case pb.CAService_GetCAChain_FullMethodName:
		out = &pb.CAChain{Certificates: [][]byte{f.ca.Raw}}
	case pb.IssuanceService_Issue_FullMethodName:
		csr, err := x509.ParseCertificateRequest(args.(*pb.IssueRequest).GetCsr())
		if err != nil {
			return &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_BAD_CSR, Detail: err.Error()}
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, csr.PublicKey, f.caKey)
		if err != nil {
			return &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_BAD_CSR, Detail: err.Error()}
		}
		out = &pb.IssueResponse{Certificate: &pb.Certificate{Der: der}}
	default:
		return &frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_UNAVAILABLE, Detail: "not faked: " + method}
	}
	proto.Merge(reply.(proto.Message), out)
	return nil
}

func (f *fakeCore) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("no streams")
}

func newTestServer(t testing.TB, cfg Config) *Server {
	s, err := New(cfg, Deps{Conn: newFakeCore(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func post(s *Server, path, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "https://est.test"+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Content-Transfer-Encoding", "base64")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func testCSR(t testing.TB, attrs ...pkix.AttributeTypeAndValueSET) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	//lint:ignore SA1019 crypto/x509 puts arbitrary CSR attributes only from this field
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "d"}, Attributes: attrs}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestEveryReasonHasAStatus keeps the mapping complete as reasons are
// added to the contract.
func TestEveryReasonHasAStatus(t *testing.T) {
	for v, name := range pb.ErrorReason_name {
		if _, ok := statusOf[pb.ErrorReason(v)]; !ok {
			t.Errorf("%s has no HTTP status", name)
		}
	}
	e := toHTTP(&frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_RATE_LIMITED, Detail: "slow", RetryAfter: 1500 * time.Millisecond}, quietLog()).(*httpError)
	if e.status != http.StatusServiceUnavailable || e.RetryAfter() != 2 {
		t.Errorf("rate limit became %d, Retry-After %d", e.status, e.RetryAfter())
	}
	e = toHTTP(&frontend.Error{Reason: pb.ErrorReason_ERROR_REASON_INTERNAL, Detail: "pq: secret detail"}, quietLog()).(*httpError)
	if strings.Contains(e.text, "pq:") {
		t.Errorf("internal detail leaked: %q", e.text)
	}
}

func TestEnrollAndRefusals(t *testing.T) {
	s := newTestServer(t, Config{Tenant: "t", DefaultEndpoint: "e1"})
	for name, tc := range map[string]struct {
		path, contentType string
		body              []byte
		want              int
	}{
		"ok/labelled":               {"/.well-known/est/e1/simpleenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString(testCSR(t))), 200},
		"ok/default endpoint":       {"/.well-known/est/simpleenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString(testCSR(t))), 200},
		"fail/unknown label":        {"/.well-known/est/nope/simpleenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString(testCSR(t))), 404},
		"fail/not base64":           {"/.well-known/est/e1/simpleenroll", "application/pkcs10", []byte("%%%not base64%%%"), 400},
		"fail/not a CSR":            {"/.well-known/est/e1/simpleenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString([]byte("hello"))), 400},
		"fail/wrong content type":   {"/.well-known/est/e1/simpleenroll", "text/plain", []byte(base64.StdEncoding.EncodeToString(testCSR(t))), 415},
		"fail/fullcmc":              {"/.well-known/est/e1/fullcmc", "application/pkcs7-mime", []byte("x"), 501},
		"fail/reenroll without TLS": {"/.well-known/est/e1/simplereenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString(testCSR(t))), 403},
	} {
		t.Run(name, func(t *testing.T) {
			if w := post(s, tc.path, tc.contentType, tc.body); w.Code != tc.want {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, tc.want)
			}
		})
	}
}

func TestNoDefaultEndpoint(t *testing.T) {
	s := newTestServer(t, Config{Tenant: "t"})
	if w := post(s, "/.well-known/est/simpleenroll", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString(testCSR(t)))); w.Code != 404 {
		t.Fatalf("got %d, want 404 without a default endpoint", w.Code)
	}
}

func TestCSRAttrsFollowTheProfile(t *testing.T) {
	ep := &pb.Endpoint{Auth: &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE}}
	p := &pb.Profile{KeyTypes: []pb.KeyType{pb.KeyType_KEY_TYPE_EC_P384, pb.KeyType_KEY_TYPE_RSA_2048},
		Subject: &pb.SubjectRules{Required: []string{"CN", "O"}}, San: &pb.SANRules{Required: true}}
	attrs := csrAttrsOf(ep, p)
	der, err := attrs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Expected: challengePassword, CN, O, subjectAltName, ecdsa-with-SHA384
	// and the P-384 key attribute, in that order.
	want := []asn1.ObjectIdentifier{oidChallengePassword, {2, 5, 4, 3}, {2, 5, 4, 10}, oidSubjectAltName, {1, 2, 840, 10045, 4, 3, 3}}
	if len(attrs.OIDs) != len(want) {
		t.Fatalf("OIDs %v, want %v", attrs.OIDs, want)
	}
	for i := range want {
		if !attrs.OIDs[i].Equal(want[i]) {
			t.Errorf("OID %d is %v, want %v", i, attrs.OIDs[i], want[i])
		}
	}
	if len(attrs.Attributes) != 1 || !attrs.Attributes[0].Type.Equal(oidECPublicKey) ||
		!attrs.Attributes[0].Values[0].(asn1.ObjectIdentifier).Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 34}) {
		t.Errorf("key attribute %+v, want id-ecPublicKey secp384r1", attrs.Attributes)
	}
	var back struct{ raw []asn1.RawValue }
	if _, err := asn1.Unmarshal(der, &back.raw); err != nil {
		t.Errorf("csrattrs do not parse back: %v", err)
	}
}

func TestKeyEncryptionRequested(t *testing.T) {
	attr := func(oid asn1.ObjectIdentifier) pkix.AttributeTypeAndValueSET {
		return pkix.AttributeTypeAndValueSET{Type: oid, Value: [][]pkix.AttributeTypeAndValue{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "k"}}}}
	}
	for name, tc := range map[string]struct {
		attrs []pkix.AttributeTypeAndValueSET
		want  keyEncryption
	}{
		"none":       {nil, noEncryption},
		"asymmetric": {[]pkix.AttributeTypeAndValueSET{attr(oidAsymmDecryptKeyID)}, asymmetric},
		"symmetric":  {[]pkix.AttributeTypeAndValueSET{attr(oidDecryptKeyID)}, symmetric},
	} {
		csr, err := x509.ParseCertificateRequest(testCSR(t, tc.attrs...))
		if err != nil {
			t.Fatal(err)
		}
		if got := encryption(csr); got != tc.want {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}
}

func TestTrustedProxyHeader(t *testing.T) {
	cfg := Config{TLS: TLS{CertFile: "c", KeyFile: "k"}, TrustedProxy: &TrustedProxy{From: []string{"10.0.0.0/8", "192.0.2.7"}},
		CACore: frontend.ClientConfig{Address: "x:1", CAFile: "a", CertFile: "b", KeyFile: "c"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	core := newFakeCore(t)
	header := url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: core.ca.Raw})))
	for name, tc := range map[string]struct {
		remote, value string
		wantCert      bool
		wantErr       bool
	}{
		"from the proxy":       {"10.1.2.3:5555", header, true, false},
		"from a listed host":   {"192.0.2.7:5555", header, true, false},
		"from anyone else":     {"203.0.113.9:5555", header, false, false},
		"garbage from proxy":   {"10.1.2.3:5555", "not-a-cert", false, true},
		"no header from proxy": {"10.1.2.3:5555", "", false, false},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "https://est.test/.well-known/est/e1/simplereenroll", nil)
			r.RemoteAddr = tc.remote
			r.TLS = &tls.ConnectionState{}
			if tc.value != "" {
				r.Header.Set("X-SSL-Client-Cert", tc.value)
			}
			out, err := cfg.TrustedProxy.apply(r)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err == nil && (len(out.TLS.PeerCertificates) > 0) != tc.wantCert {
				t.Errorf("client certificate taken: %v, want %v", len(out.TLS.PeerCertificates) > 0, tc.wantCert)
			}
		})
	}
	bad := cfg
	bad.TrustedProxy = &TrustedProxy{From: []string{"not-an-address"}}
	if err := bad.Validate(); err == nil {
		t.Error("a trusted proxy with a bad address was accepted")
	}
}

// FuzzEnrollBody sends arbitrary bodies to simpleenroll and serverkeygen:
// whatever arrives, the answer is a client error or a certificate, never
// a server error or a panic.
func FuzzEnrollBody(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(testCSR(f))))
	f.Add([]byte("MIIB"))
	f.Add([]byte(""))
	f.Add(bytes.Repeat([]byte("A"), 70000))
	s := newTestServer(f, Config{Tenant: "t", DefaultEndpoint: "e1"})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range []string{"simpleenroll", "serverkeygen"} {
			w := post(s, "/.well-known/est/e1/"+op, "application/pkcs10", body)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s answered %d %q", op, w.Code, w.Body)
			}
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
