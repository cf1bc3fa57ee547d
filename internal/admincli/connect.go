package admincli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	pb "github.com/certgate/certgate/proto/certgate/v1"
	"github.com/certgate/certgate/services/frontend"
)

// defaultEndpointsFile is where `certgate dev` writes its endpoints, relative
// to the directory it runs in.
const defaultEndpointsFile = ".certgate-dev/endpoints.json"

// endpointsEnv names the environment variable pointing at endpoints.json.
const endpointsEnv = "CERTGATE_ENDPOINTS"

// defaultTenant is used when neither --tenant nor endpoints.json names one.
const defaultTenant = "default"

// endpointsJSON is the part of `certgate dev`'s endpoints.json the CLI
// reads; other keys are ignored.
type endpointsJSON struct {
	Tenant string `json:"tenant"`
	CACore struct {
		GRPC      string `json:"grpc"`
		CAFile    string `json:"ca_file"`
		AdminCert string `json:"admin_cert"`
		AdminKey  string `json:"admin_key"`
	} `json:"ca_core"`
}

// resolveConnection decides where ca-core is and who we are. The endpoints
// file is --endpoints, else $CERTGATE_ENDPOINTS, else
// .certgate-dev/endpoints.json; a missing default file is not an error when
// the flags say everything. --grpc, --ca-file, --cert and --key override
// the file's values one by one, and --tenant its tenant. Relative paths in
// the file are taken from the file's directory.
func resolveConnection(g globals, env func(string) string) (frontend.ClientConfig, string, error) {
	path, explicit := g.endpointsFile, true
	if path == "" {
		path = env(endpointsEnv)
	}
	if path == "" {
		path, explicit = defaultEndpointsFile, false
	}
	var ep endpointsJSON
	found := false
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &ep); err != nil {
			return frontend.ClientConfig{}, "", fmt.Errorf("endpoints file %s: %w", path, err)
		}
		found = true
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return frontend.ClientConfig{}, "", fmt.Errorf("endpoints file: %w", err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cfg := frontend.ClientConfig{
		Address:  ep.CACore.GRPC,
		CAFile:   rel(ep.CACore.CAFile),
		CertFile: rel(ep.CACore.AdminCert),
		KeyFile:  rel(ep.CACore.AdminKey),
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&cfg.Address, g.addr)
	override(&cfg.CAFile, g.caFile)
	override(&cfg.CertFile, g.certFile)
	override(&cfg.KeyFile, g.keyFile)
	tenant := defaultTenant
	override(&tenant, ep.Tenant)
	override(&tenant, g.tenant)

	if cfg.Address == "" || cfg.CAFile == "" || cfg.CertFile == "" || cfg.KeyFile == "" {
		where := "no endpoints file at " + path
		if found {
			where = path + " lacks ca_core settings"
		}
		return frontend.ClientConfig{}, "", fmt.Errorf("cannot reach ca-core: %s; run 'certgate dev', or pass --endpoints FILE, or --grpc, --ca-file, --cert and --key", where)
	}
	return cfg, tenant, nil
}

// session is an open connection to ca-core and the tenant commands act on.
type session struct {
	conn   *grpc.ClientConn
	addr   string
	tenant string
}

// session opens the connection on first use. Commands call it after their
// local validation, so a bad flag is reported before any setup problem.
func (c *cli) session() (*session, error) {
	if c.sess != nil {
		return c.sess, nil
	}
	cfg, tenant, err := resolveConnection(c.g, c.env)
	if err != nil {
		return nil, err
	}
	conn, err := frontend.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to ca-core: %w", err)
	}
	c.sess = &session{conn: conn, addr: cfg.Address, tenant: tenant}
	return c.sess, nil
}

func (s *session) tenants() pb.TenantServiceClient   { return pb.NewTenantServiceClient(s.conn) }
func (s *session) cas() pb.CAServiceClient           { return pb.NewCAServiceClient(s.conn) }
func (s *session) profiles() pb.ProfileServiceClient { return pb.NewProfileServiceClient(s.conn) }
func (s *session) endpoints() pb.EndpointServiceClient {
	return pb.NewEndpointServiceClient(s.conn)
}
func (s *session) issuance() pb.IssuanceServiceClient { return pb.NewIssuanceServiceClient(s.conn) }
func (s *session) certs() pb.CertificateServiceClient {
	return pb.NewCertificateServiceClient(s.conn)
}
func (s *session) endEntities() pb.EndEntityServiceClient {
	return pb.NewEndEntityServiceClient(s.conn)
}
func (s *session) challenges() pb.ChallengeServiceClient { return pb.NewChallengeServiceClient(s.conn) }
func (s *session) pending() pb.PendingRequestServiceClient {
	return pb.NewPendingRequestServiceClient(s.conn)
}
func (s *session) audit() pb.AuditServiceClient { return pb.NewAuditServiceClient(s.conn) }
func (s *session) acme() pb.AcmeServiceClient   { return pb.NewAcmeServiceClient(s.conn) }
func (s *session) revocation() pb.RevocationServiceClient {
	return pb.NewRevocationServiceClient(s.conn)
}

// CallError is a refused or failed call to ca-core, in certgate's error
// vocabulary. errors.As finds the decoded *frontend.Error in it.
type CallError struct {
	Err *frontend.Error
	// desc is frontend.Describe's one-line text.
	desc string
}

func (e *CallError) Error() string {
	if e.Err.Field != "" {
		return e.desc + " (field " + e.Err.Field + ")"
	}
	return e.desc
}

func (e *CallError) Unwrap() error { return e.Err }

// callError wraps an RPC error.
func callError(err error) error {
	return &CallError{Err: frontend.Decode(err), desc: frontend.Describe(err)}
}
