package admincli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
	"github.com/certgate/certgate/services/frontend"
)

func TestConnectionPrecedence(t *testing.T) {
	h := newHarness(t)
	flagFile := h.writeEndpoints(filepath.Join(h.dir, "flag", "endpoints.json"), "from-flag", h.addr)
	envFile := h.writeEndpoints(filepath.Join(h.dir, "env", "endpoints.json"), "from-env", h.addr)
	devDir := filepath.Join(h.dir, "project")
	h.writeEndpoints(filepath.Join(devDir, defaultEndpointsFile), "from-dev", h.addr)
	badAddrFile := h.writeEndpoints(filepath.Join(h.dir, "bad", "endpoints.json"), "from-bad", "127.0.0.1:1")
	emptyDir := t.TempDir()
	conn := []string{"--grpc", h.addr, "--ca-file", h.caFile, "--cert", h.certFile, "--key", h.keyFile}

	cases := []struct {
		name       string
		cwd        string
		env        map[string]string
		args       []string
		wantTenant string
		wantErr    string
	}{
		{name: "ok/default-file", cwd: devDir, args: []string{"cas", "list"}, wantTenant: "from-dev"},
		{name: "ok/env-beats-default", cwd: devDir, env: map[string]string{endpointsEnv: envFile}, args: []string{"cas", "list"}, wantTenant: "from-env"},
		{name: "ok/flag-beats-env", cwd: devDir, env: map[string]string{endpointsEnv: envFile}, args: []string{"--endpoints", flagFile, "cas", "list"}, wantTenant: "from-flag"},
		{name: "ok/flag-after-verb", cwd: devDir, env: map[string]string{endpointsEnv: envFile}, args: []string{"cas", "list", "--endpoints", flagFile}, wantTenant: "from-flag"},
		{name: "ok/tenant-flag-beats-file", cwd: devDir, args: []string{"--tenant", "t1", "cas", "list"}, wantTenant: "t1"},
		{name: "ok/tenant-flag-after-verb", cwd: devDir, args: []string{"--tenant", "t1", "cas", "list", "--tenant", "t2"}, wantTenant: "t2"},
		{name: "ok/grpc-flag-overrides-file", cwd: emptyDir, args: []string{"--endpoints", badAddrFile, "--grpc", h.addr, "cas", "list"}, wantTenant: "from-bad"},
		{name: "ok/flags-without-file", cwd: emptyDir, args: append(slices.Clone(conn), "cas", "list"), wantTenant: "default"},
		{name: "fail/explicit-file-missing", cwd: devDir, args: []string{"--endpoints", filepath.Join(emptyDir, "nope.json"), "cas", "list"}, wantErr: "nope.json"},
		{name: "fail/env-file-missing", cwd: devDir, env: map[string]string{endpointsEnv: filepath.Join(emptyDir, "nope.json")}, args: []string{"cas", "list"}, wantErr: "nope.json"},
		{name: "fail/no-file-no-flags", cwd: emptyDir, args: []string{"cas", "list"}, wantErr: "certgate dev"},
		{name: "fail/partial-flags", cwd: emptyDir, args: []string{"--grpc", h.addr, "cas", "list"}, wantErr: "--ca-file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(tc.cwd)
			before := len(h.cas.listed.all())
			r := run(t, tc.env, tc.args...)
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one mentioning %q", r.err, tc.wantErr)
				}
				if n := len(h.cas.listed.all()); n != before {
					t.Fatalf("got %d calls, want none", n-before)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("got error %v (stderr %q)", r.err, r.stderr)
			}
			if got := h.cas.listed.last(t).GetTenant(); got != tc.wantTenant {
				t.Fatalf("got tenant %q, want %q", got, tc.wantTenant)
			}
			if !strings.Contains(r.stdout, "issuing") || !strings.HasPrefix(r.stdout, "ID ") {
				t.Fatalf("got output %q, want a table listing CA issuing", r.stdout)
			}
		})
	}
}

func TestResolveConnectionRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "endpoints.json")
	doc := `{"tenant":"t","ca_core":{"grpc":"127.0.0.1:9","ca_file":"mtls/ca.pem","admin_cert":"/abs/admin.pem","admin_key":"mtls/admin-key.pem"}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, tenant, err := resolveConnection(globals{endpointsFile: path, keyFile: "k.pem"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := frontend.ClientConfig{Address: "127.0.0.1:9", CAFile: filepath.Join(dir, "mtls/ca.pem"), CertFile: "/abs/admin.pem", KeyFile: "k.pem"}
	if cfg != want || tenant != "t" {
		t.Fatalf("got %+v tenant %q, want %+v tenant %q", cfg, tenant, want, "t")
	}
}

func TestCertsIssue(t *testing.T) {
	h := newHarness(t)
	csr := newCSR(t)
	pemCSR := writePEMFile(t, h.dir, "req.pem", "CERTIFICATE REQUEST", csr)
	derCSR := filepath.Join(h.dir, "req.der")
	if err := os.WriteFile(derCSR, csr, 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, issuing, root := []byte{0x30, 1, 1}, []byte{0x30, 2, 2}, []byte{0x30, 3, 3}
	h.issuance.set(&pb.IssueResponse{
		Certificate: &pb.Certificate{Serial: "0a0b", Der: leaf},
		Chain:       [][]byte{issuing, root},
	}, nil)

	cases := []struct {
		name string
		args []string
		want *pb.IssueRequest
	}{
		{
			name: "ok/pem-csr-overrides",
			args: []string{"certs", "issue", "--profile", "tls-server", "--csr", pemCSR, "--ca", "issuing",
				"--subject", "CN=www.example.com,O=Example", "--san", "dns:www.example.com", "--san", "ip:192.0.2.1",
				"--san", "email:ops@example.com", "--san", "uri:https://example.com/x", "--san", "upn:ops@corp.example",
				"--validity", "P30D", "--end-entity", "host-1", "--request-key", "k1", "--challenge", "c1"},
			want: &pb.IssueRequest{
				Tenant: "acme", Ca: "issuing", Profile: "tls-server", Csr: csr, Subject: "CN=www.example.com,O=Example",
				SubjectAltNames: []*pb.SubjectAltName{
					{Type: pb.SubjectAltName_TYPE_DNS, Value: "www.example.com"},
					{Type: pb.SubjectAltName_TYPE_IP, Value: "192.0.2.1"},
					{Type: pb.SubjectAltName_TYPE_EMAIL, Value: "ops@example.com"},
					{Type: pb.SubjectAltName_TYPE_URI, Value: "https://example.com/x"},
					{Type: pb.SubjectAltName_TYPE_UPN, Value: "ops@corp.example"},
				},
				Validity:  durationpbOf(30 * 24 * time.Hour),
				EndEntity: "host-1", RequestKey: "k1", Challenge: "c1",
			},
		},
		{
			name: "ok/der-csr-go-duration-endpoint",
			args: []string{"certs", "issue", "--endpoint", "scep1", "--csr", derCSR, "--validity", "720h",
				"--not-before", "2030-01-02T03:04:05Z"},
			want: &pb.IssueRequest{
				Tenant: "acme", Endpoint: "scep1", Csr: csr, Validity: durationpbOf(720 * time.Hour),
				NotBefore: timestamppbOf(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)),
			},
		},
		{
			name: "ok/iso-year-from-not-before",
			args: []string{"certs", "issue", "--profile", "p", "--csr", pemCSR, "--validity", "P1Y",
				"--not-before", "2028-01-01T00:00:00Z"},
			want: &pb.IssueRequest{
				Tenant: "acme", Profile: "p", Csr: csr, Validity: durationpbOf(366 * 24 * time.Hour),
				NotBefore: timestamppbOf(time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.admin(tc.args...)
			if r.err != nil {
				t.Fatalf("got error %v (stderr %q)", r.err, r.stderr)
			}
			got := h.issuance.issued.last(t)
			if diff := diffProto(got, tc.want); diff != "" {
				t.Fatalf("IssueRequest mismatch (-got +want):\n%s", diff)
			}
			ders := pemDERs(t, r.stdout, "CERTIFICATE")
			if want := [][]byte{leaf, issuing, root}; !slices.EqualFunc(ders, want, bytes.Equal) {
				t.Fatalf("got PEM chain %x, want leaf first: %x", ders, want)
			}
		})
	}

	t.Run("ok/out-file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "chain.pem")
		r := h.admin("certs", "issue", "--profile", "p", "--csr", pemCSR, "--out", out)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.stdout != "" {
			t.Fatalf("got stdout %q, want nothing", r.stdout)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if ders := pemDERs(t, string(b), "CERTIFICATE"); len(ders) != 3 || !bytes.Equal(ders[0], leaf) {
			t.Fatalf("got file chain %x, want 3 certificates, leaf first", ders)
		}
	})
}

func TestCertsIssuePolicyRejection(t *testing.T) {
	h := newHarness(t)
	st, err := status.New(codes.FailedPrecondition, "SAN type email is not allowed by profile tls-server").WithDetails(
		&errdetails.ErrorInfo{Reason: "POLICY_REJECTED", Domain: "certgate.dev", Metadata: map[string]string{"rule": "profile.san.types"}})
	if err != nil {
		t.Fatal(err)
	}
	h.issuance.set(nil, st.Err())
	csr := writePEMFile(t, h.dir, "req.pem", "CERTIFICATE REQUEST", newCSR(t))

	r := h.admin("certs", "issue", "--profile", "tls-server", "--csr", csr, "--san", "email:a@example.com")
	if r.err == nil {
		t.Fatal("got no error, want the policy rejection")
	}
	for _, want := range []string{"certs issue", "POLICY_REJECTED", "profile.san.types", "SAN type email is not allowed"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("got error %q, want it to contain %q", r.err, want)
		}
	}
	var fe *frontend.Error
	if !errors.As(r.err, &fe) || fe.Reason != pb.ErrorReason_ERROR_REASON_POLICY_REJECTED || fe.Rule != "profile.san.types" {
		t.Fatalf("got %#v, want a *frontend.Error with reason POLICY_REJECTED and rule profile.san.types", fe)
	}
	if r.stdout != "" {
		t.Fatalf("got stdout %q, want nothing", r.stdout)
	}
}

func TestEndpointsUpdate(t *testing.T) {
	h := newHarness(t)
	stored := &pb.Endpoint{
		Tenant: "acme", Id: "scep1", Protocol: pb.Protocol_PROTOCOL_SCEP, Description: "old", Ca: "issuing",
		DefaultProfile: "device", AllowedProfiles: []string{"device-p384"}, Frontend: "scep",
		Auth:                   &pb.EndpointAuth{Method: pb.EndpointAuth_METHOD_SHARED_SECRET, Username: "mdm", SecretSet: true},
		IssueRequestsPerWindow: 5, RequireRegisteredEndEntities: true,
	}
	h.endpointSvc.setStored(stored)
	secret := filepath.Join(h.dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(f func(ep *pb.Endpoint)) *pb.Endpoint {
		ep := proto.CloneOf(stored)
		f(ep)
		return ep
	}

	cases := []struct {
		name       string
		args       []string
		want       *pb.Endpoint
		wantSecret string
		wantErr    string
	}{
		{
			name: "ok/description-and-disable",
			args: []string{"endpoints", "update", "scep1", "--description", "new", "--disabled"},
			want: with(func(ep *pb.Endpoint) { ep.Description, ep.Disabled = "new", true }),
		},
		{
			name: "ok/flags-before-id-clear-list-false-bool",
			args: []string{"endpoints", "update", "--allow", "", "--require-registered=false", "scep1"},
			want: with(func(ep *pb.Endpoint) { ep.AllowedProfiles, ep.RequireRegisteredEndEntities = nil, false }),
		},
		{
			name: "ok/auth-and-secret",
			args: []string{"endpoints", "update", "scep1", "--auth", "one_time_challenge", "--secret-file", secret, "--rate", "0"},
			want: with(func(ep *pb.Endpoint) {
				ep.Auth.Method, ep.IssueRequestsPerWindow = pb.EndpointAuth_METHOD_ONE_TIME_CHALLENGE, 0
			}),
			wantSecret: "s3cret",
		},
		{name: "fail/nothing-to-update", args: []string{"endpoints", "update", "scep1", "--json"}, wantErr: "nothing to update"},
		{name: "fail/protocol-change", args: []string{"endpoints", "update", "scep1", "--protocol", "est", "--description", "x"}, wantErr: "protocol cannot change"},
		{name: "fail/bad-auth", args: []string{"endpoints", "update", "scep1", "--auth", "kerberos"}, wantErr: "shared_secret"},
		{name: "fail/unknown-endpoint", args: []string{"endpoints", "update", "nope", "--description", "x"}, wantErr: "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.endpointSvc.updated.all())
			r := h.admin(tc.args...)
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", r.err, tc.wantErr)
				}
				if n := len(h.endpointSvc.updated.all()); n != before {
					t.Fatalf("got %d UpdateEndpoint calls, want none", n-before)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("got error %v (stderr %q)", r.err, r.stderr)
			}
			got := h.endpointSvc.updated.last(t)
			if diff := diffProto(got.GetEndpoint(), tc.want); diff != "" {
				t.Fatalf("endpoint mismatch (-got +want):\n%s", diff)
			}
			if got.GetSecret() != tc.wantSecret {
				t.Fatalf("got secret %q, want %q", got.GetSecret(), tc.wantSecret)
			}
		})
	}
}

func TestAuditVerify(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name       string
		args       []string
		resp       *pb.VerifyAuditChainResponse
		wantTenant string
		wantOut    string
		wantErr    bool
		wantJSON   bool
	}{
		{name: "ok/tenant", args: []string{"audit", "verify"}, resp: &pb.VerifyAuditChainResponse{Ok: true, EventsChecked: 42},
			wantTenant: "acme", wantOut: "audit chain OK: 42 events verified\n"},
		{name: "ok/all", args: []string{"audit", "verify", "--all"}, resp: &pb.VerifyAuditChainResponse{Ok: true, EventsChecked: 7},
			wantTenant: "", wantOut: "audit chain OK: 7 events verified\n"},
		{name: "fail/broken", args: []string{"audit", "verify"}, resp: &pb.VerifyAuditChainResponse{Ok: false, EventsChecked: 4, Tenant: "acme", Seq: 5, Problem: "hash mismatch"},
			wantTenant: "acme", wantOut: "hash mismatch", wantErr: true},
		{name: "fail/broken-json", args: []string{"--json", "audit", "verify", "--all"}, resp: &pb.VerifyAuditChainResponse{Ok: false, Tenant: "beta", Seq: 9, Problem: "gap"},
			wantTenant: "", wantOut: `"problem": "gap"`, wantErr: true, wantJSON: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.audit.set(tc.resp)
			r := h.admin(tc.args...)
			if tc.wantErr {
				var broken *AuditChainError
				if !errors.As(r.err, &broken) || broken.Seq != tc.resp.GetSeq() {
					t.Fatalf("got error %v, want an *AuditChainError at seq %d", r.err, tc.resp.GetSeq())
				}
			} else if r.err != nil {
				t.Fatalf("got error %v", r.err)
			}
			if got := h.audit.verified.last(t).GetTenant(); got != tc.wantTenant {
				t.Fatalf("got tenant %q, want %q", got, tc.wantTenant)
			}
			if !strings.Contains(r.stdout, tc.wantOut) {
				t.Fatalf("got stdout %q, want it to contain %q", r.stdout, tc.wantOut)
			}
			if tc.wantJSON {
				var got pb.VerifyAuditChainResponse
				if err := protojson.Unmarshal([]byte(r.stdout), &got); err != nil || !proto.Equal(&got, tc.resp) {
					t.Fatalf("got JSON %q (%v), want %v", r.stdout, err, tc.resp)
				}
			}
		})
	}
}

func TestCertsListPagingAndJSON(t *testing.T) {
	h := newHarness(t)
	var certs []*pb.Certificate
	for _, s := range []string{"01", "02", "03", "04", "05"} {
		certs = append(certs, &pb.Certificate{Serial: s, Status: pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED, Subject: "CN=" + s,
			NotAfter: timestamppbOf(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))})
	}
	h.certs.set(2, certs...)

	t.Run("ok/limit-follows-pages", func(t *testing.T) {
		r := h.admin("certs", "list", "--limit", "3", "--status", "issued", "--expires-before", "2031-01-01T00:00:00Z")
		if r.err != nil {
			t.Fatal(r.err)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "SERIAL") || !strings.HasPrefix(lines[3], "03 ") {
			t.Fatalf("got table %q, want a header and serials 01-03", r.stdout)
		}
		if !strings.Contains(r.stdout, "2030-01-01T00:00:00Z") {
			t.Fatalf("got table %q, want RFC 3339 UTC times", r.stdout)
		}
		if !strings.Contains(r.stderr, "raise --limit") {
			t.Fatalf("got stderr %q, want a note that rows were left out", r.stderr)
		}
		reqs := h.certs.listed.all()
		last := reqs[len(reqs)-1]
		if len(reqs) != 2 || reqs[0].GetPageSize() != 3 || last.GetPageSize() != 1 || last.GetPageToken() != "2" {
			t.Fatalf("got requests %v, want page sizes 3 then 1 with token 2", reqs)
		}
		if last.GetStatus() != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED || last.GetExpiresBefore().AsTime().Year() != 2031 {
			t.Fatalf("got filters %v, want status issued and expires_before 2031", last)
		}
	})

	t.Run("ok/json-all", func(t *testing.T) {
		r := h.admin("--json", "certs", "list", "--limit", "0")
		if r.err != nil {
			t.Fatal(r.err)
		}
		var got struct {
			Certificates []struct {
				Serial   string `json:"serial"`
				Status   string `json:"status"`
				NotAfter string `json:"notAfter"`
			} `json:"certificates"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("got unparsable JSON %q: %v", r.stdout, err)
		}
		if len(got.Certificates) != 5 || got.Certificates[4].Serial != "05" || got.Certificates[0].Status != "CERTIFICATE_STATUS_ISSUED" ||
			got.Certificates[0].NotAfter != "2030-01-01T00:00:00Z" {
			t.Fatalf("got %+v, want 5 certificates", got)
		}
	})

	t.Run("ok/json-after-verb", func(t *testing.T) {
		r := h.admin("cas", "list", "--json")
		if r.err != nil {
			t.Fatal(r.err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("got unparsable JSON %q: %v", r.stdout, err)
		}
		if _, ok := got["cas"]; !ok {
			t.Fatalf("got %v, want a cas key", got)
		}
	})
}

func TestTenantsCreateQuota(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		args []string
		want *pb.Quota
	}{
		{name: "ok/no-quota", args: []string{"tenants", "create", "beta", "--name", "Beta"}},
		{name: "ok/rate-only", args: []string{"tenants", "create", "beta", "--rate", "50"}, want: &pb.Quota{IssueRequestsPerWindow: 50}},
		{name: "ok/both", args: []string{"tenants", "create", "--max-active", "10", "--rate", "5", "beta"}, want: &pb.Quota{MaxActiveCertificates: 10, IssueRequestsPerWindow: 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.admin(tc.args...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			got := h.tenants.created.last(t)
			if got.GetId() != "beta" {
				t.Fatalf("got id %q, want beta", got.GetId())
			}
			if diff := diffProto(got.GetQuota(), tc.want); diff != "" {
				t.Fatalf("quota mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestPendingApprovePrintsLeafFirst(t *testing.T) {
	h := newHarness(t)
	leaf, issuing, root := []byte{0x30, 1}, []byte{0x30, 2}, []byte{0x30, 3}
	h.pending.setCert(&pb.Certificate{Serial: "ab", Ca: "issuing", Der: leaf}, issuing, root)
	r := h.admin("pending", "approve", "p-17")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := h.pending.approved.last(t); got.GetId() != "p-17" || got.GetTenant() != "acme" {
		t.Fatalf("got approval %v, want p-17 in acme", got)
	}
	if ders := pemDERs(t, r.stdout, "CERTIFICATE"); !slices.EqualFunc(ders, [][]byte{leaf, issuing, root}, bytes.Equal) {
		t.Fatalf("got %x, want leaf, issuing, root", ders)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	csr := writePEMFile(t, dir, "req.pem", "CERTIFICATE REQUEST", newCSR(t))
	// A missing endpoints file makes any attempt to connect fail with a
	// different error, so these cases prove nothing was sent.
	noServer := []string{"--endpoints", filepath.Join(dir, "missing.json")}
	cases := []struct {
		name string
		args []string
		// wantErr is a substring of the usage error; empty means success.
		wantErr    string
		wantStdout string
		wantStderr string
	}{
		{name: "ok/help", args: []string{"help"}, wantStdout: "end-entities"},
		{name: "ok/dash-h", args: []string{"-h"}, wantStderr: "Nouns:"},
		{name: "ok/noun-help", args: []string{"certs", "help"}, wantStdout: "issue --profile NAME --csr FILE"},
		{name: "ok/noun-dash-h", args: []string{"certs", "-h"}, wantStderr: "Verbs:"},
		{name: "ok/help-noun-verb", args: []string{"help", "cas", "create"}, wantStdout: "--path-len"},
		{name: "ok/verb-dash-h", args: []string{"certs", "issue", "-h"}, wantStderr: "--san TYPE:VALUE"},
		{name: "ok/verb-help", args: []string{"audit", "verify", "help"}, wantStdout: "--all"},
		{name: "ok/noun-help-verb", args: []string{"pending", "help", "reject"}, wantStdout: "--reason"},
		{name: "fail/no-args", args: nil, wantErr: "missing command"},
		{name: "fail/unknown-noun", args: []string{"widgets", "list"}, wantErr: `unknown command "widgets"`},
		{name: "fail/missing-verb", args: []string{"certs"}, wantErr: "missing verb"},
		{name: "fail/unknown-verb", args: []string{"certs", "destroy", "01"}, wantErr: `unknown verb "destroy"`},
		{name: "fail/unknown-flag", args: []string{"cas", "list", "--bogus"}, wantErr: "bogus"},
		{name: "fail/missing-argument", args: []string{"cas", "show"}, wantErr: "missing argument"},
		{name: "fail/extra-argument", args: []string{"cas", "list", "x"}, wantErr: `unexpected argument "x"`},
		{name: "fail/missing-csr", args: []string{"certs", "issue", "--profile", "p"}, wantErr: "--csr is required"},
		{name: "fail/missing-profile", args: []string{"certs", "issue", "--csr", csr}, wantErr: "--profile is required"},
		{name: "fail/ca-and-endpoint", args: []string{"certs", "issue", "--csr", csr, "--ca", "a", "--endpoint", "e"}, wantErr: "exclude each other"},
		{name: "fail/bad-san-type", args: []string{"certs", "issue", "--profile", "p", "--csr", csr, "--san", "dn:CN=x"}, wantErr: `unknown type "dn"`},
		{name: "fail/bad-san-ip", args: []string{"certs", "issue", "--profile", "p", "--csr", csr, "--san", "ip:300.1.1.1"}, wantErr: "not an IP address"},
		{name: "fail/bad-validity", args: []string{"certs", "issue", "--profile", "p", "--csr", csr, "--validity", "30 days"}, wantErr: "--validity"},
		{name: "fail/bad-status", args: []string{"certs", "list", "--status", "gone"}, wantErr: "issued|on_hold|revoked|expired"},
		{name: "fail/missing-cas-flags", args: []string{"cas", "create", "--id", "x", "--type", "root"}, wantErr: "--subject is required"},
		{name: "fail/bad-key-type", args: []string{"cas", "create", "--id", "x", "--type", "root", "--subject", "CN=x", "--key", "ed25519"}, wantErr: `unknown value "ed25519"`},
		{name: "fail/pss-on-ec", args: []string{"cas", "create", "--id", "x", "--type", "root", "--subject", "CN=x", "--pss"}, wantErr: "--pss needs an RSA key"},
		{name: "fail/parent-required", args: []string{"cas", "create", "--id", "x", "--type", "issuing", "--subject", "CN=x"}, wantErr: "--parent is required"},
		{name: "fail/bad-not-after", args: []string{"cas", "create", "--id", "x", "--type", "root", "--subject", "CN=x", "--not-after", "next year"}, wantErr: "YYYY-MM-DD"},
		{name: "fail/endpoint-missing-flags", args: []string{"endpoints", "create", "--id", "e", "--protocol", "scep", "--ca", "c"}, wantErr: "--profile is required"},
		{name: "fail/endpoint-bad-protocol", args: []string{"endpoints", "create", "--id", "e", "--protocol", "ftp", "--ca", "c", "--profile", "p"}, wantErr: "acme|scep|est|mdmws|wstep|api"},
		{name: "fail/end-entity-needs-endpoint", args: []string{"end-entities", "show", "dev-1"}, wantErr: "--endpoint is required"},
		{name: "fail/reject-needs-reason", args: []string{"pending", "reject", "p1"}, wantErr: "--reason is required"},
		{name: "fail/quota-needs-a-flag", args: []string{"tenants", "quota", "acme"}, wantErr: "--max-active"},
		{name: "fail/cas-profiles-needs-set", args: []string{"cas", "profiles", "issuing"}, wantErr: "--set is required"},
		{name: "fail/audit-since", args: []string{"audit", "list", "--since", "yesterday"}, wantErr: "--since"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, append(slices.Clone(noServer), tc.args...)...)
			if tc.wantErr != "" {
				var ue *UsageError
				if !errors.As(r.err, &ue) {
					t.Fatalf("got error %v, want a *UsageError", r.err)
				}
				if !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("got error %q, want it to contain %q", r.err, tc.wantErr)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("got error %v", r.err)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Fatalf("got stdout %q stderr %q, want them to contain %q and %q", r.stdout, r.stderr, tc.wantStdout, tc.wantStderr)
			}
		})
	}
}

func diffProto(got, want proto.Message) string {
	if proto.Equal(got, want) {
		return ""
	}
	return "got:  " + protoText(got) + "\nwant: " + protoText(want)
}

func protoText(m proto.Message) string {
	b, err := prototext.MarshalOptions{}.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func durationpbOf(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func timestamppbOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// TestEveryVerbDefinesItsFlags builds every verb's flag set, which panics
// on a flag defined twice, and checks each has usage text.
func TestEveryVerbDefinesItsFlags(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, env: func(string) string { return "" }}
	for _, n := range nouns(c) {
		for _, v := range n.verbs {
			t.Run("ok/"+n.name+"/"+v.name, func(t *testing.T) {
				r := run(t, nil, "help", n.name, v.name)
				if r.err != nil || !strings.Contains(r.stdout, "usage: certgate admin "+n.name+" "+v.name) {
					t.Fatalf("got %v, stdout %q; want usage", r.err, r.stdout)
				}
			})
		}
	}
}

func TestTimeoutNamesTheServer(t *testing.T) {
	h := newHarness(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A listener that never completes a TLS handshake: the call waits for
	// the deadline.
	t.Cleanup(func() { _ = lis.Close() })
	dead := h.writeEndpoints(filepath.Join(t.TempDir(), "endpoints.json"), "acme", lis.Addr().String())
	r := run(t, nil, "--endpoints", dead, "--timeout", "200ms", "cas", "list")
	if r.err == nil || !strings.Contains(r.err.Error(), "no answer from ca-core at "+lis.Addr().String()) {
		t.Fatalf("got error %v, want one naming the address", r.err)
	}
}
