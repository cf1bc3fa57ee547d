// Package coretest runs a real ca-core for tests: cacore.Run on a loopback
// listener with a fresh service PKI, a store of the requested engine and the
// soft signer (optionally SoftHSM2), and hands out mutual-TLS gRPC
// connections for administrators and front-ends.
package coretest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	cacore "github.com/certgate/certgate/ca-core"
	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/servicepki"
	"github.com/certgate/certgate/ca-core/signer/pkcs11/softhsmtest"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// Core is a running ca-core.
type Core struct {
	Addr string
	// HTTP is the base URL of the public status endpoints (/crl, /ocsp,
	// /ca) when Options.HTTP is set.
	HTTP string
	PKI  *servicepki.CA
	dir  string
}

// Options select the engine and backend.
type Options struct {
	Engine store.Engine
	// DSN reuses a database (for a second replica); empty makes a new one.
	DSN string
	// PKCS11 puts CA keys in a fresh SoftHSM2 token.
	PKCS11 bool
	// PKI reuses a service PKI (for a second replica).
	PKI *servicepki.CA
	// Admins overrides the default binding (admin "root", owner of "*").
	Admins []authz.Binding
	// Profiles are files of global custom profiles.
	Profiles []string
	// HTTP serves the status endpoints and puts their URLs in
	// certificates; CRLs follow status changes within CRLDelay.
	HTTP     bool
	CRLDelay time.Duration
}

// Start runs ca-core until the test ends.
func Start(t testing.TB, o Options) *Core {
	t.Helper()
	dir := t.TempDir()
	if o.Engine == "" {
		o.Engine = store.SQLite
	}
	if o.DSN == "" {
		o.DSN = storetest.DSN(t, o.Engine)
	}
	pki := o.PKI
	var err error
	if pki == nil {
		if pki, err = servicepki.NewCA("certgate test services"); err != nil {
			t.Fatal(err)
		}
	}
	must(t, pki.WriteCA(dir))
	srv, err := pki.ServerCert("ca-core", "127.0.0.1", "localhost")
	must(t, err)
	must(t, srv.Write(dir, "ca-core"))
	must(t, os.WriteFile(filepath.Join(dir, "soft-secret"), []byte("coretest operator secret"), 0o600))
	admins := o.Admins
	if admins == nil {
		admins = []authz.Binding{{Name: "root", Tenants: []string{"*"}, Roles: []authz.Role{authz.Owner}}}
	}
	cfg := &cacore.Config{
		TLS:    cacore.TLS{CertFile: filepath.Join(dir, "ca-core.pem"), KeyFile: filepath.Join(dir, "ca-core-key.pem"), ClientCAFile: filepath.Join(dir, "ca.pem")},
		Store:  cacore.Store{Engine: o.Engine, DSN: o.DSN},
		Signer: cacore.Signer{Default: "soft", Soft: &cacore.Soft{SecretFile: filepath.Join(dir, "soft-secret")}},
		Admins: admins, Profiles: o.Profiles, Log: "warn", LogFormat: "text", ReservationTimeout: 5 * time.Minute,
	}
	if o.PKCS11 {
		tok := softhsmtest.NewToken(t)
		must(t, os.WriteFile(filepath.Join(dir, "pin"), []byte(tok.PIN), 0o600))
		cfg.Signer.Default = "pkcs11"
		cfg.Signer.PKCS11 = &cacore.PKCS11{Module: tok.Module, TokenLabel: tok.TokenLabel, PINFile: filepath.Join(dir, "pin"), MaxSessions: 8}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	opts := cacore.Options{Listener: lis, RevocationTick: 100 * time.Millisecond}
	core := &Core{Addr: lis.Addr().String(), PKI: pki, dir: dir}
	if o.HTTP {
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		opts.HTTPListener = hl
		core.HTTP = "http://" + hl.Addr().String()
		cfg.PublicURL = core.HTTP
		cfg.Revocation.CRLDelay = o.CRLDelay
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cacore.Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ca-core stopped with %v", err)
		}
	})
	return core
}

// Admin returns a connection authenticated as administrator name.
func (c *Core) Admin(t testing.TB, name string) *grpc.ClientConn {
	t.Helper()
	l, err := c.PKI.AdminCert(name)
	must(t, err)
	return c.Dial(t, l)
}

// Frontend returns a connection authenticated as front-end name.
func (c *Core) Frontend(t testing.TB, name string) *grpc.ClientConn {
	t.Helper()
	l, err := c.PKI.FrontendCert(name)
	must(t, err)
	return c.Dial(t, l)
}

// Dial connects with the given client certificate (nil: none).
func (c *Core) Dial(t testing.TB, l *servicepki.Leaf) *grpc.ClientConn {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(c.PKI.Cert)
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}
	if l != nil {
		tc.Certificates = []tls.Certificate{{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}}
	}
	conn, err := grpc.NewClient(c.Addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
