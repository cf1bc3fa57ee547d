package jws

import (
	"crypto"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	acme "github.com/eggsampler/acme/v3"
	jose "github.com/go-jose/go-jose/v4"
)

// fakeACME is a minimal ACME server built on this package, used to check
// that requests signed by a real client library parse and verify.
type fakeACME struct {
	t      *testing.T
	srv    *httptest.Server
	macKey []byte

	mu       sync.Mutex
	nonces   map[string]bool // issued and unused
	accounts map[string]crypto.PublicKey
	errs     []string
	handled  map[string]int
}

func newFakeACME(t *testing.T) *fakeACME {
	f := &fakeACME{
		t:        t,
		macKey:   []byte("eab mac key for the interop test"),
		nonces:   map[string]bool{},
		accounts: map[string]crypto.PublicKey{},
		handled:  map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /directory", f.directory)
	mux.HandleFunc("HEAD /new-nonce", func(w http.ResponseWriter, r *http.Request) { f.addNonce(w) })
	mux.HandleFunc("POST /new-account", f.newAccount)
	mux.HandleFunc("POST /acct/{id}", f.account)
	mux.HandleFunc("POST /key-change", f.keyChange)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeACME) url(path string) string { return f.srv.URL + path }

func (f *fakeACME) addNonce(w http.ResponseWriter) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	n := b64(b)
	f.mu.Lock()
	f.nonces[n] = true
	f.mu.Unlock()
	w.Header().Set("Replay-Nonce", n)
	w.Header().Set("Cache-Control", "no-store")
}

func (f *fakeACME) directory(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"newNonce":   f.url("/new-nonce"),
		"newAccount": f.url("/new-account"),
		"newOrder":   f.url("/new-order"),
		"revokeCert": f.url("/revoke-cert"),
		"keyChange":  f.url("/key-change"),
	})
}

// problem records err and answers with an RFC 7807 problem document.
func (f *fakeACME) problem(w http.ResponseWriter, r *http.Request, err error) {
	f.mu.Lock()
	f.errs = append(f.errs, r.URL.Path+": "+err.Error())
	f.mu.Unlock()
	typ := "urn:ietf:params:acme:error:serverInternal"
	if e, ok := err.(*Error); ok {
		typ = e.URN()
	}
	f.addNonce(w)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "detail": err.Error(), "status": 400})
}

// authenticate runs the checks every POST gets: Parse, CheckURL, nonce,
// and the signature with the account key (or the jwk when allowJWK).
func (f *fakeACME) authenticate(w http.ResponseWriter, r *http.Request, allowJWK bool) (*Request, crypto.PublicKey, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		f.problem(w, r, err)
		return nil, nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/jose+json" {
		f.problem(w, r, fmt.Errorf("content type %q", ct))
		return nil, nil, false
	}
	req, err := Parse(body)
	if err != nil {
		f.problem(w, r, err)
		return nil, nil, false
	}
	if err := req.CheckURL(f.url(r.URL.Path)); err != nil {
		f.problem(w, r, err)
		return nil, nil, false
	}
	f.mu.Lock()
	fresh := f.nonces[req.Nonce]
	delete(f.nonces, req.Nonce)
	var key crypto.PublicKey = req.JWK
	if req.KID != "" {
		key = f.accounts[req.KID]
	}
	f.mu.Unlock()
	if !fresh {
		f.problem(w, r, &Error{Type: TypeBadNonce, Detail: "unknown nonce"})
		return nil, nil, false
	}
	if req.JWK != nil && !allowJWK {
		f.problem(w, r, &Error{Type: TypeMalformed, Detail: "jwk not allowed here"})
		return nil, nil, false
	}
	if key == nil {
		f.problem(w, r, &Error{Type: TypeAccountDoesNotExist, Detail: "no such account"})
		return nil, nil, false
	}
	if err := req.Verify(key); err != nil {
		f.problem(w, r, err)
		return nil, nil, false
	}
	f.mu.Lock()
	f.handled[r.URL.Path]++
	f.mu.Unlock()
	return req, key, true
}

func (f *fakeACME) newAccount(w http.ResponseWriter, r *http.Request) {
	req, _, ok := f.authenticate(w, r, true)
	if !ok {
		return
	}
	var p struct {
		TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
		ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
	}
	if err := json.Unmarshal(req.Payload, &p); err != nil {
		f.problem(w, r, err)
		return
	}
	if !p.TermsOfServiceAgreed {
		f.problem(w, r, fmt.Errorf("terms of service not agreed"))
		return
	}
	if len(p.ExternalAccountBinding) != 0 && string(p.ExternalAccountBinding) != "null" {
		eab, err := ParseEAB(p.ExternalAccountBinding, req.URL, req.JWK)
		if err != nil {
			f.problem(w, r, err)
			return
		}
		if eab.KID != "interop-kid" {
			f.problem(w, r, fmt.Errorf("eab kid %q", eab.KID))
			return
		}
		if err := eab.VerifyHMAC(f.macKey); err != nil {
			f.problem(w, r, err)
			return
		}
		f.mu.Lock()
		f.handled["eab"]++
		f.mu.Unlock()
	}
	f.mu.Lock()
	acct := f.url(fmt.Sprintf("/acct/%d", len(f.accounts)+1))
	f.accounts[acct] = req.JWK.Key
	f.mu.Unlock()
	f.addNonce(w)
	w.Header().Set("Location", acct)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"status":"valid"}`)
}

func (f *fakeACME) account(w http.ResponseWriter, r *http.Request) {
	req, _, ok := f.authenticate(w, r, false)
	if !ok {
		return
	}
	if req.KID != f.url(r.URL.Path) {
		f.problem(w, r, &Error{Type: TypeUnauthorized, Detail: "kid is not this account"})
		return
	}
	if req.PostAsGet {
		f.mu.Lock()
		f.handled["post-as-get"]++
		f.mu.Unlock()
	}
	f.addNonce(w)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"valid"}`)
}

func (f *fakeACME) keyChange(w http.ResponseWriter, r *http.Request) {
	req, key, ok := f.authenticate(w, r, false)
	if !ok {
		return
	}
	newKey, err := ParseKeyChange(req, key)
	if err != nil {
		f.problem(w, r, err)
		return
	}
	f.mu.Lock()
	f.accounts[req.KID] = newKey.Key
	f.mu.Unlock()
	f.addNonce(w)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"valid"}`)
}

// TestInteropEggsampler drives github.com/eggsampler/acme/v3 (the client
// certgate's e2e tests use) against a fake server built on this package:
// newAccount with jwk and EAB, POST-as-GET with kid, and key rollover.
func TestInteropEggsampler(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name           string
		oldKey, newKey crypto.Signer
	}{
		{"ok/RS256-to-ES256", k.rsa2048, k.p256},
		{"ok/ES256-to-ES384", k.p256, k.p384},
		{"ok/ES384-to-ES512", k.p384, k.p521},
		{"ok/ES512-to-RS256-4096", k.p521, k.rsa4096},
		{"ok/ES256-to-ES256", k.p256, k.p256b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeACME(t)
			client, err := acme.NewClient(f.url("/directory"), acme.WithRetryCount(1))
			if err != nil {
				t.Fatal(err)
			}
			account, err := client.NewAccountOptions(tc.oldKey,
				acme.NewAcctOptAgreeTOS(),
				acme.NewAcctOptExternalAccountBinding(acme.ExternalAccountBinding{
					KeyIdentifier: "interop-kid",
					MacKey:        b64(f.macKey),
					Algorithm:     "HS256",
					HashFunc:      crypto.SHA256,
				}))
			if err != nil {
				t.Fatalf("new account: %v; server errors: %v", err, f.errs)
			}
			tp, err := Thumbprint(tc.oldKey.Public())
			wantErr(t, err, "")
			if tp != account.Thumbprint {
				t.Fatalf("thumbprint %s, client computed %s", tp, account.Thumbprint)
			}
			// Same (empty) contacts: the client sends a POST-as-GET.
			if account, err = client.UpdateAccount(account); err != nil {
				t.Fatalf("post-as-get: %v; server errors: %v", err, f.errs)
			}
			if account, err = client.UpdateAccount(account, "mailto:ops@example.org"); err != nil {
				t.Fatalf("update: %v; server errors: %v", err, f.errs)
			}
			if account, err = client.AccountKeyChange(account, tc.newKey); err != nil {
				t.Fatalf("key change: %v; server errors: %v", err, f.errs)
			}
			if _, err = client.UpdateAccount(account); err != nil {
				t.Fatalf("post-as-get with new key: %v; server errors: %v", err, f.errs)
			}
			// Signing with the old key must now fail: unauthorized when the
			// key types agree, badSignatureAlgorithm when they do not.
			stale := account
			stale.PrivateKey = tc.oldKey
			want := "error:unauthorized"
			if joseAlgFor(tc.oldKey) != joseAlgFor(tc.newKey) {
				want = "error:badSignatureAlgorithm"
			}
			if _, err = client.UpdateAccount(stale); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("old key after rollover: err = %v, want %s", err, want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.handled["eab"] != 1 || f.handled["post-as-get"] != 2 || f.handled["/key-change"] != 1 {
				t.Fatalf("handled = %v", f.handled)
			}
		})
	}
}

// TestInteropClientShapes checks requests shaped the way other clients
// build them: certbot (josepy: spaces after separators, header members in
// its own order), lego (go-jose: sorted members), acme.sh (hand-assembled
// JSON with the nonce first), and pretty-printed bodies.
func TestInteropClientShapes(t *testing.T) {
	k := testKeys()
	rsaJWK := `{"e": "AQAB", "kty": "RSA", "n": "` + jwkField(t, []byte(jwkJSON(t, k.rsa2048.Public())), "n") + `"}`
	ecJWK := jwkJSON(t, k.p256.Public())
	payload := []byte(`{"contact": ["mailto:ops@example.org"], "termsOfServiceAgreed": true}`)
	for _, tc := range []struct {
		name    string
		alg     string
		key     crypto.Signer
		hdr     string
		payload []byte
		shape   func(j handJWS) []byte
	}{
		{"ok/certbot-style", "RS256", k.rsa2048,
			`{"alg": "RS256", "jwk": ` + rsaJWK + `, "nonce": "` + testNonce + `", "url": "` + newAccountURL + `"}`, payload,
			func(j handJWS) []byte {
				return fmt.Appendf(nil, `{"protected": %q, "payload": %q, "signature": %q}`, j.Protected, j.Payload, j.Signature)
			}},
		{"ok/certbot-style-kid-post-as-get", "ES256", k.p256,
			`{"alg": "ES256", "kid": "` + testKID + `", "nonce": "` + testNonce + `", "url": "` + testKID + `"}`, nil,
			func(j handJWS) []byte {
				return fmt.Appendf(nil, `{"protected": %q, "payload": %q, "signature": %q}`, j.Protected, j.Payload, j.Signature)
			}},
		{"ok/acme.sh-style", "ES256", k.p256,
			`{"nonce": "` + testNonce + `", "url": "` + newAccountURL + `", "alg": "ES256", "jwk": ` + ecJWK + `}`, payload,
			func(j handJWS) []byte {
				return fmt.Appendf(nil, `{"protected": "%s", "payload": "%s", "signature": "%s"}`, j.Protected, j.Payload, j.Signature)
			}},
		{"ok/pretty-printed-body", "EdDSA", k.ed,
			header("url", newAccountURL, "jwk", json.RawMessage(jwkJSON(t, k.ed.Public())), "alg", "EdDSA", "nonce", testNonce), payload,
			func(j handJWS) []byte {
				return fmt.Appendf(nil, "{\n  \"signature\": %q,\n  \"payload\": %q,\n  \"protected\": %q\n}\n", j.Signature, j.Payload, j.Protected)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.shape(signHand(t, tc.alg, tc.key, tc.hdr, tc.payload))
			r, err := Parse(body)
			wantErr(t, err, "")
			wantErr(t, r.Verify(tc.key.Public()), "")
			if r.PostAsGet != (len(tc.payload) == 0) {
				t.Fatalf("PostAsGet = %v", r.PostAsGet)
			}
		})
	}
	t.Run("ok/lego-style", func(t *testing.T) {
		// lego signs with go-jose exactly like this.
		body := joseSign(t, jose.ES256, k.p256, "", testNonce, newAccountURL, payload)
		r, err := Parse(body)
		wantErr(t, err, "")
		wantErr(t, r.Verify(r.JWK), "")
	})
}
