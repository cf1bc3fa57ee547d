package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eggsampler/acme/v3"
)

// jwsSigner builds ACME requests by hand, so that tests can get them wrong
// in ways no client library will.
type jwsSigner struct {
	key *ecdsa.PrivateKey
	kid string // empty: embed the jwk
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (j jwsSigner) jwk() map[string]string {
	// Uncompressed point: 0x04 || X || Y.
	pt, err := j.key.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:])}
}

// sign returns a flattened JWS; header entries override the defaults.
func (j jwsSigner) sign(t *testing.T, nonce, url string, payload []byte, header map[string]any) []byte {
	t.Helper()
	h := map[string]any{"alg": "ES256", "nonce": nonce, "url": url}
	if j.kid != "" {
		h["kid"] = j.kid
	} else {
		h["jwk"] = j.jwk()
	}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	protected := b64(hb)
	encPayload := b64(payload)
	sum := sha256.Sum256([]byte(protected + "." + encPayload))
	r, s, err := ecdsa.Sign(rand.Reader, j.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	body, _ := json.Marshal(map[string]string{"protected": protected, "payload": encPayload, "signature": b64(sig)})
	return body
}

// wireResponse is a response the test inspects; problem documents fill
// Type, Detail and Algs.
type wireResponse struct {
	status int
	header http.Header
	body   []byte
	Type   string   `json:"type"`
	Detail string   `json:"detail"`
	Algs   []string `json:"algorithms"`
}

func post(t *testing.T, hc *http.Client, url, contentType string, body []byte) wireResponse {
	t.Helper()
	resp, err := hc.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := wireResponse{status: resp.StatusCode, header: resp.Header, body: b}
	// RFC 8555 §6.5 and §7.1: every answer to a POST carries a fresh nonce
	// and the directory's URL.
	if resp.Header.Get("Replay-Nonce") == "" || !strings.Contains(resp.Header.Get("Link"), `rel="index"`) {
		t.Errorf("answer %d to POST %s lacks Replay-Nonce or Link rel=index: %v", resp.StatusCode, url, resp.Header)
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("problem document %q: %v", b, err)
		}
	}
	return p
}

func testACMEWire(t *testing.T, a *acmeSuite) {
	hc := a.httpClient(t)
	dir := a.client.Directory()
	nonce := func(t *testing.T) string { return a.nonce(t, hc) }
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	newAcct := jwsSigner{key: key}
	payload := []byte(`{"termsOfServiceAgreed":true}`)
	want := func(t *testing.T, p wireResponse, status int, typ string) {
		t.Helper()
		if p.status != status || p.Type != "urn:ietf:params:acme:error:"+typ {
			t.Errorf("got %d %s (%s), want %d %s", p.status, p.Type, p.Detail, status, typ)
		}
	}

	t.Run("nonce is single use", func(t *testing.T) {
		n := nonce(t)
		if p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, n, dir.NewAccount, payload, nil)); p.status != http.StatusCreated {
			t.Fatalf("new account: %d %s", p.status, p.Detail)
		}
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, n, dir.NewAccount, payload, nil))
		want(t, p, http.StatusBadRequest, "badNonce")
		if p.header.Get("Replay-Nonce") == "" {
			t.Error("a badNonce answer carries no fresh Replay-Nonce to retry with")
		}
	})
	t.Run("invented nonce", func(t *testing.T) {
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, "bm90LWEtbm9uY2U", dir.NewAccount, payload, nil))
		want(t, p, http.StatusBadRequest, "badNonce")
	})
	t.Run("url of another resource", func(t *testing.T) {
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, nonce(t), dir.NewOrder, payload, nil))
		want(t, p, http.StatusForbidden, "unauthorized")
	})
	t.Run("unsupported algorithm", func(t *testing.T) {
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, nonce(t), dir.NewAccount, payload, map[string]any{"alg": "HS256"}))
		want(t, p, http.StatusBadRequest, "badSignatureAlgorithm")
		if len(p.Algs) == 0 {
			t.Error("badSignatureAlgorithm without the algorithms the server accepts")
		}
	})
	t.Run("jwk and kid together", func(t *testing.T) {
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, nonce(t), dir.NewAccount, payload, map[string]any{"kid": dir.NewAccount}))
		want(t, p, http.StatusBadRequest, "malformed")
	})
	t.Run("signature by another key", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p := post(t, hc, dir.NewAccount, "application/jose+json", jwsSigner{key: other}.sign(t, nonce(t), dir.NewAccount, payload, map[string]any{"jwk": newAcct.jwk()}))
		want(t, p, http.StatusForbidden, "unauthorized")
	})
	t.Run("unknown account", func(t *testing.T) {
		acctURL := strings.Replace(dir.NewAccount, "new-account", "acct/0000000000", 1)
		p := post(t, hc, dir.NewOrder, "application/jose+json", jwsSigner{key: key, kid: acctURL}.sign(t, nonce(t), dir.NewOrder, []byte(`{"identifiers":[]}`), nil))
		want(t, p, http.StatusBadRequest, "accountDoesNotExist")
	})
	t.Run("embedded key where an account is needed", func(t *testing.T) {
		p := post(t, hc, dir.NewOrder, "application/jose+json", newAcct.sign(t, nonce(t), dir.NewOrder, []byte(`{"identifiers":[{"type":"dns","value":"x.certgate.test"}]}`), nil))
		want(t, p, http.StatusBadRequest, "malformed")
	})
	t.Run("wrong content type", func(t *testing.T) {
		p := post(t, hc, dir.NewAccount, "application/json", newAcct.sign(t, nonce(t), dir.NewAccount, payload, nil))
		want(t, p, http.StatusUnsupportedMediaType, "malformed")
	})
	t.Run("not a JWS", func(t *testing.T) {
		for _, body := range []string{"", "{", `{"protected":"e30","payload":"","signature":""}`, "eyJ.eyJ.sig"} {
			p := post(t, hc, dir.NewAccount, "application/jose+json", []byte(body))
			want(t, p, http.StatusBadRequest, "malformed")
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		big := []byte(`{"contact":["mailto:` + strings.Repeat("a", 100<<10) + `@certgate.test"]}`)
		p := post(t, hc, dir.NewAccount, "application/jose+json", newAcct.sign(t, nonce(t), dir.NewAccount, big, nil))
		want(t, p, http.StatusRequestEntityTooLarge, "malformed")
	})
	t.Run("GET on a POST-as-GET resource", func(t *testing.T) {
		acct := a.account(t)
		order, err := a.client.NewOrder(acct, []acme.Identifier{{Type: "dns", Value: "get.certgate.test"}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(order.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET order: %d, Allow %q; want 405 and Allow: POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
	t.Run("notBefore and notAfter", func(t *testing.T) {
		acct := a.account(t)
		signer := jwsSigner{key: acct.PrivateKey.(*ecdsa.PrivateKey), kid: acct.URL}
		notAfter := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		body, _ := json.Marshal(map[string]any{"identifiers": []acme.Identifier{{Type: "dns", Value: "short.certgate.test"}}, "notAfter": notAfter.Format(time.RFC3339)})
		r := post(t, hc, dir.NewOrder, "application/jose+json", signer.sign(t, nonce(t), dir.NewOrder, body, nil))
		if r.status != http.StatusCreated {
			t.Fatalf("new order with notAfter: %d %s", r.status, r.body)
		}
		order, err := a.client.FetchOrder(acct, r.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if !order.NotAfter.Equal(notAfter) {
			t.Errorf("order notAfter %v, want %v", order.NotAfter, notAfter)
		}
		chain, _ := a.finalize(t, acct, a.solve(t, acct, order, acme.ChallengeTypeHTTP01))
		if d := chain[0].NotAfter.Sub(notAfter); d < -time.Second || d > time.Second {
			t.Errorf("certificate notAfter %v, ordered %v", chain[0].NotAfter, notAfter)
		}
		for _, bad := range []map[string]any{
			{"notAfter": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			{"notBefore": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339), "notAfter": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			{"notAfter": "tomorrow"},
		} {
			bad["identifiers"] = []acme.Identifier{{Type: "dns", Value: "short.certgate.test"}}
			body, _ := json.Marshal(bad)
			want(t, post(t, hc, dir.NewOrder, "application/jose+json", signer.sign(t, nonce(t), dir.NewOrder, body, nil)), http.StatusBadRequest, "malformed")
		}
	})
	t.Run("another account's order", func(t *testing.T) {
		owner := a.account(t)
		order, err := a.client.NewOrder(owner, []acme.Identifier{{Type: "dns", Value: "mine.certgate.test"}})
		if err != nil {
			t.Fatal(err)
		}
		// As if they did not exist: nothing tells a stranger they do.
		_, err = a.client.FetchOrder(a.account(t), order.URL)
		if p := wantProblem(t, err, "malformed"); p.Status != http.StatusNotFound {
			t.Errorf("another account's order: status %d, want 404", p.Status)
		}
		_, err = a.client.FetchAuthorization(a.account(t), order.Authorizations[0])
		if p := wantProblem(t, err, "malformed"); p.Status != http.StatusNotFound {
			t.Errorf("another account's authorization: status %d, want 404", p.Status)
		}
	})
}

// nonce fetches a fresh nonce with HEAD newNonce (RFC 8555 §7.2).
func (a *acmeSuite) nonce(t *testing.T, hc *http.Client) string {
	t.Helper()
	resp, err := hc.Head(a.client.Directory().NewNonce)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Replay-Nonce") == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HEAD newNonce: %d, Replay-Nonce %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Replay-Nonce"), resp.Header.Get("Cache-Control"))
	}
	return resp.Header.Get("Replay-Nonce")
}
