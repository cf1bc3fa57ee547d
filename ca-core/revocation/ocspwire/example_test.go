package ocspwire_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
)

func ExampleParseRequest() {
	// A request made by "openssl ocsp -issuer ca-ec.pem -cert a.pem -cert b.pem".
	der, err := os.ReadFile("testdata/req-nonce.der")
	if err != nil {
		panic(err)
	}
	req, err := ocspwire.ParseRequest(der)
	if err != nil {
		// Every error is a *MalformedError: answer
		// ocspwire.ErrorResponse(ocspwire.MalformedRequest).
		panic(err)
	}
	for _, id := range req.IDs {
		fmt.Printf("%v serial %x\n", id.HashAlgorithm, id.SerialNumber)
	}
	fmt.Printf("nonce extnValue: %d octets, starting %x\n", len(req.Nonce), req.Nonce[:2])
	// Output:
	// SHA-1 serial 1001
	// SHA-1 serial 8badf00ddeadbeef0123456789abcdef01234567
	// nonce extnValue: 18 octets, starting 0410
}

func ExampleCreateResponse() {
	der, err := os.ReadFile("testdata/req-nonce.der")
	if err != nil {
		panic(err)
	}
	req, err := ocspwire.ParseRequest(der)
	if err != nil {
		panic(err)
	}
	// In ca-core the signer is the delegated responder's key from the
	// signer backend, and ResponderCert and Certs its certificate.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	resp := &ocspwire.Response{ProducedAt: now, Nonce: req.Nonce}
	for _, id := range req.IDs {
		// The status comes from the inventory; IssuerMatches(id, caCert)
		// tells whether the CertID is this CA's at all.
		resp.Responses = append(resp.Responses, ocspwire.SingleResponse{
			ID: id, Status: ocspwire.Good, RevocationReason: ocspwire.NoRevocationReason,
			ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour),
		})
	}
	out, err := ocspwire.CreateResponse(resp, key, x509.ECDSAWithSHA256)
	if err != nil {
		// Answer ocspwire.ErrorResponse(ocspwire.InternalError).
		panic(err)
	}
	fmt.Printf("signed %d statuses in a %s response (%t)\n", len(resp.Responses), ocspwire.Successful, len(out) > 0)
	// Output: signed 2 statuses in a successful response (true)
}
