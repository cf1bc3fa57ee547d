package frontend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// ClientConfig locates ca-core and the caller's credentials.
type ClientConfig struct {
	// Address is ca-core's gRPC host:port.
	Address string `yaml:"address" json:"address"`
	// CAFile is the PEM bundle that signed ca-core's server certificate.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// CertFile and KeyFile are this caller's client certificate (with its
	// urn:certgate:... identity URI) and key, PEM.
	CertFile string `yaml:"cert_file" json:"cert_file"`
	KeyFile  string `yaml:"key_file" json:"key_file"`
	// ServerName overrides the name checked in ca-core's certificate;
	// default: the host of Address.
	ServerName string `yaml:"server_name" json:"server_name"`
}

// Validate reports missing settings.
func (c ClientConfig) Validate() error {
	switch {
	case c.Address == "":
		return errors.New("frontend: ca-core address is required")
	case c.CAFile == "" || c.CertFile == "" || c.KeyFile == "":
		return errors.New("frontend: ca_file, cert_file and key_file are required (ca-core only accepts mutual TLS)")
	}
	return nil
}

// TLSConfig builds the client side of the mutual-TLS connection.
func (c ClientConfig) TLSConfig() (*tls.Config, error) {
	pemBytes, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("frontend: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("frontend: %s holds no PEM certificate", c.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("frontend: client certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: c.ServerName, MinVersion: tls.VersionTLS13}, nil
}

// Dial opens a connection to ca-core. The connection is lazy: the first
// RPC establishes it.
func Dial(c ClientConfig, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tc)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
	}, opts...)
	conn, err := grpc.NewClient(c.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("frontend: %w", err)
	}
	return conn, nil
}

// CallTimeout is a sensible per-call deadline for enrollment RPCs.
const CallTimeout = 30 * time.Second

// WithTimeout returns ctx bounded by CallTimeout unless it has an earlier
// deadline.
func WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < CallTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, CallTimeout)
}
