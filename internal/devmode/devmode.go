// Package devmode runs `certgate dev`: the whole suite on loopback with
// embedded defaults, for trying certgate out and for end-to-end tests. It
// keeps everything in one data directory — the service PKI, the soft
// signer's operator secret, ca-core's SQLite database and its
// configuration — so that a second run reuses the tenant, CAs and
// certificates of the first. While it runs, DIR/endpoints.json tells tools
// and tests where everything listens (DESIGN.md §5); it is removed on a
// clean stop because the addresses die with the process.
package devmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"

	cacore "github.com/certgate/certgate/ca-core"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/servicepki"
	"github.com/certgate/certgate/services/acme"
	"github.com/certgate/certgate/services/est"
	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/mdmws"
	"github.com/certgate/certgate/services/scep"
	"github.com/certgate/certgate/services/wstep"
	"github.com/certgate/certgate/services/wstep/directory"
)

// Config says where dev mode keeps its data and reports.
type Config struct {
	// DataDir holds everything dev mode creates. Default: .certgate-dev.
	DataDir string
	// Stdout receives the summary of what started.
	Stdout io.Writer
	// Logger receives the services' logs.
	Logger *slog.Logger
	// ACMEHTTP01Port and ACMETLSALPN01Port are where the ACME validator
	// expects clients' challenge responders (RFC default 80 and 443 need
	// privileges; dev uses 5002 and 5001, as Pebble does).
	ACMEHTTP01Port    int
	ACMETLSALPN01Port int
	// ACMEResolver is the DNS server ("host:port") for dns-01; empty uses
	// the system's.
	ACMEResolver string
}

// The names dev mode creates.
const (
	Tenant        = "default"
	RootCA        = "root"
	IssuingCA     = "issuing"
	ACMEEndpoint  = "acme"
	ESTEndpoint   = "est"
	ESTUsername   = "est-dev"
	SCEPEndpoint  = "scep"
	MDMEndpoint   = "mdm"
	MDMUsername   = "mdm-dev"
	MDMDigitalID  = "device"
	WSTEPEndpoint = "wstep"
	WSTEPUsername = "wstep-dev"
	AdminName     = "admin"
	Endpoints     = "endpoints.json"
	configFile    = "ca-core.yaml"
)

// EndpointsFile is the contract of DIR/endpoints.json (DESIGN.md §5).
type EndpointsFile struct {
	// TrustBundle is a PEM file with the tenant's root CA and the service
	// CA that signs the services' TLS certificates.
	TrustBundle string `json:"trust_bundle"`
	Tenant      string `json:"tenant"`
	CACore      CACore `json:"ca_core"`
	// CRL and OCSP are the issuing CA's CRL URL and OCSP responder URL.
	CRL   string `json:"crl"`
	OCSP  string `json:"ocsp"`
	ACME  *ACME  `json:"acme,omitempty"`
	EST   *EST   `json:"est,omitempty"`
	SCEP  *SCEP  `json:"scep,omitempty"`
	MDMWS *MDMWS `json:"mdmws,omitempty"`
	WSTEP *WSTEP `json:"wstep,omitempty"`
}

// WSTEP describes the dev Windows enrollment endpoint: its policy (CEP)
// and enrollment (CES) URLs and a directory user (static, in dev mode)
// with a password made fresh on every run.
type WSTEP struct {
	CEP      string `json:"cep"`
	CES      string `json:"ces"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// MDMWS describes the dev MDM configuration: its web service (HTTP Basic
// with a password made fresh on every run) and the SCEP URL its devices
// use. Its Digital ID "device" builds CN=<device>,OU=Devices,O=certgate dev.
type MDMWS struct {
	URL       string `json:"url"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	SCEPURL   string `json:"scep_url"`
	DigitalID string `json:"digital_id"`
}

// SCEP describes the dev SCEP endpoint: a static challenge made fresh on
// every run. NDES is the same endpoint at NDES's path.
type SCEP struct {
	URL       string `json:"url"`
	NDESURL   string `json:"ndes_url"`
	Challenge string `json:"challenge"`
}

// EST describes the dev EST endpoint: HTTP Basic with a password made
// fresh on every run.
type EST struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// ACME describes the dev ACME endpoint.
type ACME struct {
	Directory string `json:"directory"`
	// EABKID and EABHMACKey are a fresh, unused external account binding
	// key (base64url), for clients that want to bind.
	EABKID        string `json:"eab_kid"`
	EABHMACKey    string `json:"eab_hmac_key"`
	HTTP01Port    int    `json:"http01_port"`
	TLSALPN01Port int    `json:"tlsalpn01_port"`
}

// CACore says how to reach ca-core as the dev administrator.
type CACore struct {
	GRPC      string `json:"grpc"`
	CAFile    string `json:"ca_file"`
	AdminCert string `json:"admin_cert"`
	AdminKey  string `json:"admin_key"`
	Metrics   string `json:"metrics"`
}

// Run starts the suite and blocks until ctx ends.
func Run(ctx context.Context, c Config) error {
	if c.DataDir == "" {
		c.DataDir = ".certgate-dev"
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if c.ACMEHTTP01Port == 0 {
		c.ACMEHTTP01Port = 5002
	}
	if c.ACMETLSALPN01Port == 0 {
		c.ACMETLSALPN01Port = 5001
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	os.Remove(filepath.Join(dir, Endpoints))

	layout := newLayout(dir)
	if err := layout.ensurePKI(); err != nil {
		return err
	}
	if err := layout.ensureSecret(); err != nil {
		return err
	}
	// Ports persist across runs: certificates carry the public URL, and
	// a restarted suite must keep answering at it.
	ports := layout.loadPorts()
	lis, err := openListeners(ports)
	if err != nil {
		return err
	}
	coreLis, metricsLis, httpLis := lis.grpc, lis.metrics, lis.http
	if ports.HTTP != 0 && ports.HTTP != portOf(httpLis) {
		c.Logger.Warn("dev: the status port changed; CRL and OCSP URLs in earlier certificates no longer answer", "was", ports.HTTP, "now", portOf(httpLis))
	}
	if err := layout.savePorts(lis.ports()); err != nil {
		return err
	}
	publicURL := "http://" + httpLis.Addr().String()
	cfg := layout.coreConfig(coreLis.Addr().String(), metricsLis.Addr().String(), httpLis.Addr().String(), publicURL)
	if err := writeYAML(filepath.Join(dir, configFile), cfg); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	eg, ctx := errgroup.WithContext(ctx)
	ready := make(chan struct{})
	eg.Go(func() error {
		return cacore.Run(ctx, cfg, cacore.Options{Listener: coreLis, MetricsListener: metricsLis, HTTPListener: httpLis,
			Logger: c.Logger.With("service", "ca-core"), Ready: func(net.Addr) { close(ready) }})
	})
	eg.Go(func() error {
		select {
		case <-ctx.Done():
			return nil
		case <-ready:
		}
		ep := &EndpointsFile{
			TrustBundle: layout.bundle, Tenant: Tenant,
			CACore: CACore{GRPC: coreLis.Addr().String(), CAFile: layout.path("mtls", "ca.pem"),
				AdminCert: layout.path("mtls", AdminName+".pem"), AdminKey: layout.path("mtls", AdminName+"-key.pem"),
				Metrics: "http://" + metricsLis.Addr().String() + "/metrics"},
			CRL:  publicURL + "/crl/" + Tenant + "/" + IssuingCA + ".crl",
			OCSP: publicURL + "/ocsp/" + Tenant + "/" + IssuingCA,
		}
		bctx, bcancel := context.WithTimeout(ctx, time.Minute)
		defer bcancel()
		boot, err := bootstrap(bctx, ep)
		if err != nil {
			return fmt.Errorf("dev: bootstrapping the default tenant: %w", err)
		}
		if err := layout.writeBundle(boot.root); err != nil {
			return err
		}
		coreAddr := coreLis.Addr().String()
		acmeURL := "https://" + lis.acme.Addr().String()
		err = startFrontend(ctx, eg, func(ready func(net.Addr)) error {
			return acme.Run(ctx, layout.acmeConfig(coreAddr, acmeURL, c), acme.Options{Listener: lis.acme,
				Logger: c.Logger.With("service", "acme"), Ready: ready})
		})
		if err != nil {
			return err
		}
		ep.ACME = &ACME{Directory: acmeURL + "/acme/" + Tenant + "/" + ACMEEndpoint + "/directory", EABKID: boot.eabKID, EABHMACKey: boot.eabKey,
			HTTP01Port: c.ACMEHTTP01Port, TLSALPN01Port: c.ACMETLSALPN01Port}
		err = startFrontend(ctx, eg, func(ready func(net.Addr)) error {
			return est.Run(ctx, layout.estConfig(coreAddr), est.Options{Listener: lis.est, Logger: c.Logger.With("service", "est"), Ready: ready})
		})
		if err != nil {
			return err
		}
		ep.EST = &EST{URL: "https://" + lis.est.Addr().String() + "/.well-known/est/" + ESTEndpoint, Username: ESTUsername, Password: boot.estPassword}
		err = startFrontend(ctx, eg, func(ready func(net.Addr)) error {
			return scep.Run(ctx, layout.scepConfig(coreAddr), scep.Options{Listener: lis.scep, Logger: c.Logger.With("service", "scep"), Ready: ready})
		})
		if err != nil {
			return err
		}
		scepBase := "http://" + lis.scep.Addr().String()
		ep.SCEP = &SCEP{URL: scepBase + "/scep/" + Tenant + "/" + SCEPEndpoint, NDESURL: scepBase + "/certsrv/mscep/mscep.dll", Challenge: boot.scepChallenge}
		err = startFrontend(ctx, eg, func(ready func(net.Addr)) error {
			return mdmws.Run(ctx, layout.mdmwsConfig(coreAddr, scepBase), mdmws.Options{Listener: lis.mdmws, Logger: c.Logger.With("service", "mdmws"), Ready: ready})
		})
		if err != nil {
			return err
		}
		wstepBase := "https://" + lis.wstep.Addr().String()
		wstepPassword := randomSecret()
		err = startFrontend(ctx, eg, func(ready func(net.Addr)) error {
			return wstep.Run(ctx, layout.wstepConfig(coreAddr, wstepBase, wstepPassword), wstep.Options{Listener: lis.wstep,
				Logger: c.Logger.With("service", "wstep"), Ready: ready})
		})
		if err != nil {
			return err
		}
		ep.WSTEP = &WSTEP{CEP: wstepBase + "/wstep/" + Tenant + "/" + WSTEPEndpoint + "/cep", CES: wstepBase + "/wstep/" + Tenant + "/" + WSTEPEndpoint + "/ces",
			Username: WSTEPUsername + "@certgate.test", Password: wstepPassword}
		ep.MDMWS = &MDMWS{URL: "https://" + lis.mdmws.Addr().String() + "/mdmws/" + Tenant + "/" + MDMEndpoint, Username: MDMUsername,
			Password: boot.mdmPassword, SCEPURL: scepBase + "/scep/" + Tenant + "/" + MDMEndpoint, DigitalID: MDMDigitalID}
		if err := writeJSON(filepath.Join(dir, Endpoints), ep); err != nil {
			return err
		}
		printSummary(c.Stdout, dir, ep)
		<-ctx.Done()
		os.Remove(filepath.Join(dir, Endpoints))
		return nil
	})
	err = eg.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// layout names the files in the data directory.
type layout struct {
	dir    string
	bundle string
}

func newLayout(dir string) *layout {
	return &layout{dir: dir, bundle: filepath.Join(dir, "ca-bundle.pem")}
}

func (l *layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}

// ensurePKI creates what is missing of the service PKI: a CA, ca-core's
// server certificate, the dev administrator's client certificate, and each
// front-end's client and TLS server certificates.
func (l *layout) ensurePKI() error {
	mtls := l.path("mtls")
	ca, err := servicepki.LoadCA(mtls)
	if err != nil {
		if ca, err = servicepki.NewCA("certgate dev services"); err != nil {
			return err
		}
		if err := ca.WriteCA(mtls); err != nil {
			return err
		}
	}
	leaves := []struct {
		name string
		make func() (*servicepki.Leaf, error)
	}{
		{"ca-core", func() (*servicepki.Leaf, error) { return ca.ServerCert("ca-core", "127.0.0.1", "localhost") }},
		{AdminName, func() (*servicepki.Leaf, error) { return ca.AdminCert(AdminName) }},
		{"acme", func() (*servicepki.Leaf, error) { return ca.FrontendCert("acme") }},
		{"acme-tls", func() (*servicepki.Leaf, error) { return ca.ServerCert("acme", "127.0.0.1", "localhost") }},
		{"est", func() (*servicepki.Leaf, error) { return ca.FrontendCert("est") }},
		{"scep", func() (*servicepki.Leaf, error) { return ca.FrontendCert("scep") }},
		{"mdmws", func() (*servicepki.Leaf, error) { return ca.FrontendCert("mdmws") }},
		{"wstep", func() (*servicepki.Leaf, error) { return ca.FrontendCert("wstep") }},
		{"wstep-tls", func() (*servicepki.Leaf, error) { return ca.ServerCert("wstep", "127.0.0.1", "localhost") }},
		{"mdmws-tls", func() (*servicepki.Leaf, error) { return ca.ServerCert("mdmws", "127.0.0.1", "localhost") }},
		{"est-tls", func() (*servicepki.Leaf, error) { return ca.ServerCert("est", "127.0.0.1", "localhost") }},
	}
	for _, lf := range leaves {
		if _, err := os.Stat(filepath.Join(mtls, lf.name+".pem")); err == nil {
			continue
		}
		leaf, err := lf.make()
		if err != nil {
			return err
		}
		if err := leaf.Write(mtls, lf.name); err != nil {
			return err
		}
	}
	return nil
}

func (l *layout) acmeConfig(coreAddr, baseURL string, c Config) acme.Config {
	return acme.Config{
		TLS:     acme.TLS{CertFile: l.path("mtls", "acme-tls.pem"), KeyFile: l.path("mtls", "acme-tls-key.pem")},
		BaseURL: baseURL,
		CACore: frontend.ClientConfig{Address: coreAddr, CAFile: l.path("mtls", "ca.pem"), CertFile: l.path("mtls", "acme.pem"),
			KeyFile: l.path("mtls", "acme-key.pem")},
		Validation: acme.Validation{HTTPPort: c.ACMEHTTP01Port, TLSALPNPort: c.ACMETLSALPN01Port, Resolver: c.ACMEResolver},
	}
}

func (l *layout) estConfig(coreAddr string) est.Config {
	return est.Config{
		TLS:    est.TLS{CertFile: l.path("mtls", "est-tls.pem"), KeyFile: l.path("mtls", "est-tls-key.pem")},
		Tenant: Tenant, DefaultEndpoint: ESTEndpoint,
		CACore: frontend.ClientConfig{Address: coreAddr, CAFile: l.path("mtls", "ca.pem"), CertFile: l.path("mtls", "est.pem"),
			KeyFile: l.path("mtls", "est-key.pem")},
	}
}

func (l *layout) scepConfig(coreAddr string) scep.Config {
	return scep.Config{
		NDESEndpoint: Tenant + "/" + SCEPEndpoint,
		CACore: frontend.ClientConfig{Address: coreAddr, CAFile: l.path("mtls", "ca.pem"), CertFile: l.path("mtls", "scep.pem"),
			KeyFile: l.path("mtls", "scep-key.pem")},
	}
}

func (l *layout) mdmwsConfig(coreAddr, scepURL string) mdmws.Config {
	return mdmws.Config{
		TLS:             mdmws.TLS{CertFile: l.path("mtls", "mdmws-tls.pem"), KeyFile: l.path("mtls", "mdmws-tls-key.pem")},
		DefaultEndpoint: Tenant + "/" + MDMEndpoint,
		SCEPURL:         scepURL,
		CACore: frontend.ClientConfig{Address: coreAddr, CAFile: l.path("mtls", "ca.pem"), CertFile: l.path("mtls", "mdmws.pem"),
			KeyFile: l.path("mtls", "mdmws-key.pem")},
	}
}

// wstepConfig is the dev Windows enrollment service: a static directory
// with one user and one computer instead of Active Directory.
func (l *layout) wstepConfig(coreAddr, baseURL, password string) wstep.Config {
	return wstep.Config{
		TLS:     wstep.TLS{CertFile: l.path("mtls", "wstep-tls.pem"), KeyFile: l.path("mtls", "wstep-tls-key.pem")},
		BaseURL: baseURL,
		CACore: frontend.ClientConfig{Address: coreAddr, CAFile: l.path("mtls", "ca.pem"), CertFile: l.path("mtls", "wstep.pem"),
			KeyFile: l.path("mtls", "wstep-key.pem")},
		Directory: wstep.Directory{Static: []directory.StaticUser{
			{Identity: directory.Identity{Name: WSTEPUsername, DN: "CN=wstep-dev,CN=Users,DC=certgate,DC=test", UPN: WSTEPUsername + "@certgate.test",
				Mail: WSTEPUsername + "@certgate.test", SID: "S-1-5-21-3623811015-3361044348-30300820-1013",
				Groups: []string{"CN=Domain Users,CN=Users,DC=certgate,DC=test"}}, Password: password},
			{Identity: directory.Identity{Name: "PC1$", DN: "CN=PC1,CN=Computers,DC=certgate,DC=test", DNSHostName: "pc1.certgate.test",
				SID: "S-1-5-21-3623811015-3361044348-30300820-1104", Groups: []string{"CN=Domain Computers,CN=Users,DC=certgate,DC=test"}, Computer: true}},
		}},
	}
}

func (l *layout) ensureSecret() error {
	p := l.path("secrets", "soft-secret")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b := make([]byte, 32)
	rand.Read(b)
	return os.WriteFile(p, []byte(hex.EncodeToString(b)), 0o600)
}

func (l *layout) coreConfig(listen, metrics, httpListen, publicURL string) *cacore.Config {
	return &cacore.Config{
		Listen: listen, MetricsListen: metrics, HTTPListen: httpListen, PublicURL: publicURL,
		TLS:    cacore.TLS{CertFile: l.path("mtls", "ca-core.pem"), KeyFile: l.path("mtls", "ca-core-key.pem"), ClientCAFile: l.path("mtls", "ca.pem")},
		Store:  cacore.Store{Engine: "sqlite", DSN: l.path("ca-core.db")},
		Signer: cacore.Signer{Default: "soft", Soft: &cacore.Soft{SecretFile: l.path("secrets", "soft-secret")}},
		Admins: []authz.Binding{{Name: AdminName, Tenants: []string{"*"}, Roles: []authz.Role{authz.Owner}}},
		Log:    "info", LogFormat: "text", ReservationTimeout: 5 * time.Minute,
	}
}

// writeBundle writes the tenant's root and the service CA, the certificates
// a client of the dev suite needs to trust.
func (l *layout) writeBundle(rootDER []byte) error {
	svc, err := os.ReadFile(l.path("mtls", "ca.pem"))
	if err != nil {
		return err
	}
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), svc...)
	return writeAtomic(l.bundle, out, 0o644)
}

func printSummary(w io.Writer, dir string, ep *EndpointsFile) {
	fmt.Fprintf(w, "certgate dev is running (data in %s)\n", dir)
	fmt.Fprintf(w, "  ca-core gRPC   %s (mutual TLS; admin credential in %s)\n", ep.CACore.GRPC, filepath.Dir(ep.CACore.AdminCert))
	fmt.Fprintf(w, "  metrics        %s\n", ep.CACore.Metrics)
	fmt.Fprintf(w, "  CRL            %s\n", ep.CRL)
	fmt.Fprintf(w, "  OCSP           %s\n", ep.OCSP)
	if ep.ACME != nil {
		fmt.Fprintf(w, "  ACME           %s (http-01 on port %d, tls-alpn-01 on port %d)\n", ep.ACME.Directory, ep.ACME.HTTP01Port, ep.ACME.TLSALPN01Port)
	}
	if ep.EST != nil {
		fmt.Fprintf(w, "  EST            %s (user %s, password in endpoints.json)\n", ep.EST.URL, ep.EST.Username)
	}
	if ep.SCEP != nil {
		fmt.Fprintf(w, "  SCEP           %s (also %s; challenge in endpoints.json)\n", ep.SCEP.URL, ep.SCEP.NDESURL)
	}
	if ep.WSTEP != nil {
		fmt.Fprintf(w, "  WSTEP/XCEP     %s (user %s, password in endpoints.json)\n", ep.WSTEP.CEP, ep.WSTEP.Username)
	}
	if ep.MDMWS != nil {
		fmt.Fprintf(w, "  MDMWS          %s (user %s, password in endpoints.json; devices enroll at %s)\n", ep.MDMWS.URL, ep.MDMWS.Username, ep.MDMWS.SCEPURL)
	}
	fmt.Fprintf(w, "  tenant         %s with CAs %s (root) and %s (issuing)\n", ep.Tenant, RootCA, IssuingCA)
	fmt.Fprintf(w, "  trust bundle   %s\n", ep.TrustBundle)
	fmt.Fprintf(w, "  endpoints.json %s\n", filepath.Join(dir, Endpoints))
	fmt.Fprintf(w, "Try: certgate admin --endpoints %s profiles list\n", filepath.Join(dir, Endpoints))
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'), 0o644)
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(path, b, 0o600)
}

// writeAtomic replaces path so that readers never see a partial file.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockDir takes an exclusive lock on the data directory so that two dev
// suites never share one database.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("dev: %s is in use by another certgate dev", dir)
	}
	return func() { f.Close() }, nil
}

// devPorts are the loopback ports of a data directory's suite.
type devPorts struct {
	GRPC    int `json:"grpc"`
	Metrics int `json:"metrics"`
	HTTP    int `json:"http"`
	ACME    int `json:"acme"`
	EST     int `json:"est"`
	SCEP    int `json:"scep"`
	MDMWS   int `json:"mdmws"`
	WSTEP   int `json:"wstep"`
}

func (l *layout) loadPorts() devPorts {
	var p devPorts
	if b, err := os.ReadFile(l.path("ports.json")); err == nil {
		json.Unmarshal(b, &p)
	}
	return p
}

func (l *layout) savePorts(p devPorts) error { return writeJSON(l.path("ports.json"), p) }

// listen opens 127.0.0.1:port, or a free port when port is 0 or taken.
func listen(port int) (net.Listener, error) {
	if port != 0 {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	return l, nil
}

func portOf(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// listeners are the suite's sockets, opened before anything starts so that
// ports.json and endpoints.json can name them.
type listeners struct {
	grpc, metrics, http, acme, est, scep, mdmws, wstep net.Listener
}

func openListeners(p devPorts) (*listeners, error) {
	l := &listeners{}
	for _, x := range []struct {
		dst  *net.Listener
		port int
	}{{&l.grpc, p.GRPC}, {&l.metrics, p.Metrics}, {&l.http, p.HTTP}, {&l.acme, p.ACME}, {&l.est, p.EST}, {&l.scep, p.SCEP}, {&l.mdmws, p.MDMWS}, {&l.wstep, p.WSTEP}} {
		lis, err := listen(x.port)
		if err != nil {
			l.close()
			return nil, err
		}
		*x.dst = lis
	}
	return l, nil
}

func (l *listeners) close() {
	for _, lis := range []net.Listener{l.grpc, l.metrics, l.http, l.acme, l.est, l.scep, l.mdmws, l.wstep} {
		if lis != nil {
			lis.Close()
		}
	}
}

func (l *listeners) ports() devPorts {
	return devPorts{GRPC: portOf(l.grpc), Metrics: portOf(l.metrics), HTTP: portOf(l.http), ACME: portOf(l.acme), EST: portOf(l.est), SCEP: portOf(l.scep), MDMWS: portOf(l.mdmws), WSTEP: portOf(l.wstep)}
}

// startFrontend runs a front-end in eg and returns once it serves.
func startFrontend(ctx context.Context, eg *errgroup.Group, run func(ready func(net.Addr)) error) error {
	ready := make(chan struct{})
	eg.Go(func() error { return run(func(net.Addr) { close(ready) }) })
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-ready:
		return nil
	}
}
