package ocspwire_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
)

// fuzzKey signs the responses the fuzz target builds; ECDSA keeps it fast.
var fuzzKey = sync.OnceValues(func() (crypto.Signer, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
})

// FuzzParseRequest checks that ParseRequest never panics, fails only with
// *MalformedError, and that every request it accepts is consistent: each
// CertID has a serial of zero or more and the hash lengths of its
// algorithm, parsing Raw again gives the same request, a request rebuilt
// from the CertIDs' Raw (or re-encoded from their fields) and the nonce
// parses to the same CertIDs, and CreateResponse echoes every Raw and the
// nonce byte for byte (CreateResponse verifies its own signature).
func FuzzParseRequest(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.der"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		der, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	// Every case, fail/too-large included: without it the fuzzer finds
	// the size limit itself and then spends minutes minimizing a 64 KiB
	// input that cannot shrink.
	for _, tc := range parseCases(f) {
		f.Add(tc.der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		req, err := ocspwire.ParseRequest(der)
		if err != nil {
			var merr *ocspwire.MalformedError
			if req != nil || !errors.As(err, &merr) || !strings.HasPrefix(err.Error(), "ocspwire: ") {
				t.Fatalf("ParseRequest(%x) = %v, %v (%T)", der, req, err, err)
			}
			return
		}
		if !bytes.Equal(req.Raw, der) || len(req.IDs) == 0 || len(req.IDs) > ocspwire.MaxRequestCertIDs {
			t.Fatalf("ParseRequest(%x): Raw %x, %d IDs", der, req.Raw, len(req.IDs))
		}
		if req.Nonce != nil && (len(req.Nonce) == 0 || len(req.Nonce) > ocspwire.MaxNonceLen+2) {
			t.Fatalf("ParseRequest(%x): nonce %x", der, req.Nonce)
		}
		for i, id := range req.IDs {
			if len(id.Raw) == 0 || id.SerialNumber == nil || id.SerialNumber.Sign() < 0 ||
				len(id.IssuerNameHash) != id.HashAlgorithm.Size() || len(id.IssuerKeyHash) != id.HashAlgorithm.Size() {
				t.Fatalf("ParseRequest(%x): IDs[%d] = %+v", der, i, id)
			}
		}

		again, err := ocspwire.ParseRequest(req.Raw)
		if err != nil {
			t.Fatalf("ParseRequest(Raw): %v", err)
		}
		sameRequest(t, "ParseRequest(Raw)", req, again, true)

		// Rebuilt from the CertIDs' Raw, and from their fields.
		fromRaw := testRequest{}
		fromFields := testRequest{}
		if req.Nonce != nil {
			fromRaw.exts = []testExt{{oid: oidNonce, value: req.Nonce}}
			fromFields.exts = fromRaw.exts
		}
		for i, id := range req.IDs {
			fields, err := ocspwire.MarshalCertID(id)
			if err != nil {
				t.Fatalf("IDs[%d] does not re-encode: %v", i, err)
			}
			fromRaw.singles = append(fromRaw.singles, testSingle{certID: id.Raw})
			fromFields.singles = append(fromFields.singles, testSingle{certID: fields})
		}
		rebuilt, err := ocspwire.ParseRequest(fromRaw.der())
		if err != nil {
			t.Fatalf("request rebuilt from the CertIDs' Raw: %v", err)
		}
		sameRequest(t, "rebuilt from Raw", req, rebuilt, true)
		reencoded, err := ocspwire.ParseRequest(fromFields.der())
		if err != nil {
			t.Fatalf("request re-encoded from the CertIDs' fields: %v", err)
		}
		sameRequest(t, "re-encoded from fields", req, reencoded, false)

		// The response echoes every Raw and the nonce.
		key, err := fuzzKey()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		r := &ocspwire.Response{ProducedAt: now, Nonce: req.Nonce}
		for _, id := range req.IDs {
			r.Responses = append(r.Responses, ocspwire.SingleResponse{ID: id, Status: ocspwire.Good,
				RevocationReason: ocspwire.NoRevocationReason, ThisUpdate: now})
		}
		resp, err := ocspwire.CreateResponse(r, key, x509.ECDSAWithSHA256)
		if err != nil {
			t.Fatalf("CreateResponse for an accepted request: %v", err)
		}
		d := decodeResponse(t, resp)
		if len(d.data.Responses) != len(req.IDs) {
			t.Fatalf("%d SingleResponses for %d CertIDs", len(d.data.Responses), len(req.IDs))
		}
		for i, s := range d.data.Responses {
			if !bytes.Equal(s.CertID.FullBytes, req.IDs[i].Raw) {
				t.Fatalf("responses[%d].certID %x, request %x", i, s.CertID.FullBytes, req.IDs[i].Raw)
			}
		}
		if req.Nonce != nil && (len(d.data.Extensions) != 1 || !bytes.Equal(d.data.Extensions[0].Value, req.Nonce)) {
			t.Fatalf("nonce %x echoed as %+v", req.Nonce, d.data.Extensions)
		}
	})
}

// sameRequest compares two parsed requests; withRaw also compares the
// CertIDs' DER.
func sameRequest(t *testing.T, what string, want, got *ocspwire.Request, withRaw bool) {
	t.Helper()
	if len(got.IDs) != len(want.IDs) || !bytes.Equal(got.Nonce, want.Nonce) || (got.Nonce == nil) != (want.Nonce == nil) {
		t.Fatalf("%s: %d IDs nonce %x, want %d IDs nonce %x", what, len(got.IDs), got.Nonce, len(want.IDs), want.Nonce)
	}
	for i := range want.IDs {
		if got.IDs[i].Key() != want.IDs[i].Key() || withRaw && !bytes.Equal(got.IDs[i].Raw, want.IDs[i].Raw) {
			t.Fatalf("%s: IDs[%d] = %s %x, want %s %x", what, i, got.IDs[i].Key(), got.IDs[i].Raw, want.IDs[i].Key(), want.IDs[i].Raw)
		}
	}
}
