package scep

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// registrationAuthority is an endpoint's RA as ca-core hands it out.
type registrationAuthority struct {
	// certs are the valid RA certificates, the current one first.
	certs []*x509.Certificate
	chain []*x509.Certificate
	next  []*x509.Certificate
}

// current is the RA certificate that signs answers and that GetCACert
// hands out.
func (ra *registrationAuthority) current() *x509.Certificate { return ra.certs[0] }

// bySerial finds the RA certificate a request was encrypted to.
func (ra *registrationAuthority) bySerial(n *big.Int) *x509.Certificate {
	for _, c := range ra.certs {
		if n != nil && c.SerialNumber.Cmp(n) == 0 {
			return c
		}
	}
	return nil
}

func parseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("scep: ca-core sent a certificate that does not parse: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// raOf returns t's RA, from the cache when fresh: devices fetch
// GetCACert before every enrollment.
func (s *Server) raOf(ctx context.Context, t *target) (*registrationAuthority, error) {
	// A new next CA must not wait for the entry to expire.
	key := t.tenant + "/" + t.ep.GetId() + "/" + t.ep.GetScep().GetNextCa()
	if ra, ok := s.ras.Get(key); ok {
		return ra, nil
	}
	resp, err := s.scep.GetRegistrationAuthority(ctx, &pb.GetRegistrationAuthorityRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()})
	if err != nil {
		return nil, err
	}
	ra := &registrationAuthority{}
	if ra.certs, err = parseCerts(resp.GetCertificates()); err != nil {
		return nil, err
	}
	if len(ra.certs) == 0 {
		return nil, errors.New("scep: ca-core returned no RA certificate")
	}
	if ra.chain, err = parseCerts(resp.GetCaChain()); err != nil {
		return nil, err
	}
	if ra.next, err = parseCerts(resp.GetNextCaChain()); err != nil {
		return nil, err
	}
	s.ras.Put(key, ra)
	return ra, nil
}

// raKey is an RA private key that stays in ca-core: each operation is
// one RPC. It is a crypto.Signer for pkcs7's signing and a
// crypto.Decrypter for its envelope decryption.
type raKey struct {
	ctx    context.Context
	client pb.ScepServiceClient
	tenant string
	ep     string
	cert   *x509.Certificate
	serial string
}

func (s *Server) keyOf(ctx context.Context, t *target, cert *x509.Certificate) *raKey {
	return &raKey{ctx: ctx, client: s.scep, tenant: t.tenant, ep: t.ep.GetId(), cert: cert, serial: serialHex(cert.SerialNumber)}
}

// serialHex formats a serial as ca-core does: lower-case hex, even length.
func serialHex(n *big.Int) string {
	s := n.Text(16)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func (k *raKey) Public() crypto.PublicKey { return k.cert.PublicKey }

var hashNames = map[crypto.Hash]string{crypto.SHA1: "SHA-1", crypto.SHA256: "SHA-256", crypto.SHA384: "SHA-384", crypto.SHA512: "SHA-512"}

func (k *raKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	name, ok := hashNames[opts.HashFunc()]
	if !ok {
		return nil, fmt.Errorf("scep: the RA does not sign with %v", opts.HashFunc())
	}
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	resp, err := k.client.SignWithRA(ctx, &pb.SignWithRARequest{Tenant: k.tenant, Endpoint: k.ep, RaSerial: k.serial, Digest: digest, Hash: name})
	if err != nil {
		return nil, err
	}
	return resp.GetSignature(), nil
}

func (k *raKey) Decrypt(_ io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	req := &pb.DecryptWithRARequest{Tenant: k.tenant, Endpoint: k.ep, RaSerial: k.serial, Ciphertext: ciphertext}
	switch o := opts.(type) {
	//lint:ignore SA1019 most SCEP clients still send PKCS #1 v1.5 key transport
	case nil, *rsa.PKCS1v15DecryptOptions:
	case *rsa.OAEPOptions:
		name, ok := hashNames[o.Hash]
		if !ok || (o.MGFHash != 0 && o.MGFHash != o.Hash) || len(o.Label) > 0 {
			return nil, fmt.Errorf("scep: unsupported OAEP parameters")
		}
		req.OaepHash = name
	default:
		return nil, fmt.Errorf("scep: unsupported decryption options %T", opts)
	}
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	resp, err := k.client.DecryptWithRA(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetPlaintext(), nil
}
