package wstepmsg_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/services/wstep/wstepmsg"
)

// FuzzParseRequest feeds ParseRequest arbitrary bodies, seeded with every
// request in testdata and the templates filled with each kind of token.
// It must never panic, must refuse with a *RequestError, and what it
// accepts must be self-consistent.
func FuzzParseRequest(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	p := newPKI(f)
	key := newKey(f)
	csr := makeCSR(f, key, "fuzz.example.test",
		templateExtensions(f, "User", []int{1, 3, 6, 1, 4, 1, 311, 21, 8, 1}, 1, 0)...)
	for _, token := range [][]byte{
		csr,
		renewalPKCS7(f, csr, p.old, p.oldKey),
		signCMS(f, oidPKIData, pkiData(f, 1, []control{regInfo(2, "CertificateTemplate=User")}, csr), nil, cmsSigner{ski: []byte{1}, key: key}),
	} {
		f.Add(fill(f, "windows-issue.xml", token, valueTypePKCS7))
		f.Add(fill(f, "usernametoken-issue.xml", token, ""))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := wstepmsg.ParseRequest(body)
		if err != nil {
			var rerr *wstepmsg.RequestError
			if !errors.As(err, &rerr) {
				t.Fatalf("error %T is not a *RequestError: %v", err, err)
			}
			if rerr.Reason == "" || !strings.HasPrefix(err.Error(), "wstepmsg: ") {
				t.Fatalf("unhelpful error %q", err)
			}
			return
		}
		switch req.Type {
		case wstepmsg.Issue:
			if req.Token == nil || req.CSR == nil || req.TokenKind == wstepmsg.NoToken {
				t.Fatalf("Issue request accepted without a token: %+v", req)
			}
		case wstepmsg.QueryTokenStatus:
			if req.RequestID == "" {
				t.Fatalf("QueryTokenStatus accepted without a RequestID")
			}
		case wstepmsg.KET:
		default:
			t.Fatalf("accepted RequestType %v", req.Type)
		}
		if (req.Token == nil) != (req.TokenKind == wstepmsg.NoToken) || (req.Token == nil) != (req.CSR == nil) {
			t.Fatalf("Token, TokenKind and CSR disagree: %v %v %v", req.Token == nil, req.TokenKind, req.CSR == nil)
		}
		if req.Signer != nil && req.TokenKind != wstepmsg.PKCS7 && req.TokenKind != wstepmsg.CMC {
			t.Fatalf("Signer set on a %v token", req.TokenKind)
		}
		// Whatever was accepted can be answered.
		if out := wstepmsg.Fault(req, req.RequestID, wstepmsg.EFail, "x", false, nil); len(out) == 0 {
			t.Fatal("empty fault")
		}
	})
}
