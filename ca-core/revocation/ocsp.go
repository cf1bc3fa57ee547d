package revocation

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/revocation/ocspwire"
	"github.com/certgate/certgate/ca-core/store"
)

// How fresh a replica's view of a CA must be: status versions are re-read
// every second (so a revocation on any replica shows within a second), the
// CA record and responder certificate every ten.
const (
	versionRefresh   = time.Second
	responderRefresh = 10 * time.Second
	maxCachedAnswers = 200_000
)

// ocspCache holds, per CA, what answering needs, and pre-signed answers to
// single-certificate requests without a nonce (RFC 5019), which are most
// requests.
type ocspCache struct {
	mu      sync.Mutex // guards cas and answers
	cas     map[string]*caView
	answers map[string]*answer
}

func newOCSPCache() *ocspCache {
	return &ocspCache{cas: map[string]*caView{}, answers: map[string]*answer{}}
}

// caView is a replica's recent view of a CA.
type caView struct {
	mu        sync.Mutex // guards the fields below
	rec       *store.CA
	cert      *x509.Certificate
	version   int64
	versionAt time.Time
	recAt     time.Time
	responder *loadedResponder
	serial    string
}

// answer is a signed response and what it is valid for.
type answer struct {
	der        []byte
	version    int64
	thisUpdate time.Time
	nextUpdate time.Time
}

// view returns a CA's current state as this replica knows it.
func (s *Service) view(ctx context.Context, tenant, caID string) (*caView, error) {
	key := tenant + "/" + caID
	s.ocsp.mu.Lock()
	v, ok := s.ocsp.cas[key]
	if !ok {
		v = &caView{}
		s.ocsp.cas[key] = v
	}
	s.ocsp.mu.Unlock()
	now := s.d.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	// Without a responder yet (a new CA), look again on every request.
	if v.rec == nil || v.responder == nil || now.Sub(v.recAt) >= responderRefresh {
		rec, err := s.d.Store.GetCA(ctx, tenant, caID)
		if err != nil {
			return nil, err
		}
		if v.cert == nil || v.rec.Serial != rec.Serial {
			if v.cert, err = x509.ParseCertificate(rec.Cert); err != nil {
				return nil, err
			}
		}
		v.rec, v.recAt = rec, now
		r, err := s.d.Store.CurrentDelegated(ctx, tenant, caID, store.PurposeOCSP)
		switch {
		case err == nil && r.Serial != v.serial:
			lr, err := s.loadResponder(ctx, rec, r)
			if err != nil {
				return nil, err
			}
			v.responder, v.serial = lr, r.Serial
		case err != nil && fault.ReasonOf(err) != fault.NotFound:
			return nil, err
		}
	}
	if now.Sub(v.versionAt) >= versionRefresh {
		ver, err := s.d.Store.StatusVersion(ctx, tenant, caID)
		if err != nil {
			return nil, err
		}
		v.version, v.versionAt = ver, now
	}
	return v, nil
}

func (s *Service) loadResponder(ctx context.Context, caRec *store.CA, r *store.Delegated) (*loadedResponder, error) {
	cert, err := x509.ParseCertificate(r.Cert)
	if err != nil {
		return nil, err
	}
	sg, err := s.signerFor(ctx, r.KeyBackend, r.KeyRef)
	if err != nil {
		return nil, err
	}
	return &loadedResponder{cert: cert, signer: sg, alg: sigAlgFor(caRec)}, nil
}

// Respond answers one OCSP request for a CA. It always returns a DER
// OCSPResponse: errors become malformedRequest, unauthorized (a CA this
// responder does not serve) or tryLater. cacheable reports a response that
// HTTP caches may keep until nextUpdate.
func (s *Service) Respond(ctx context.Context, tenant, caID string, reqDER []byte) (der []byte, a *answer, cacheable bool) {
	req, err := ocspwire.ParseRequest(reqDER)
	if err != nil {
		return ocspwire.ErrorResponse(ocspwire.MalformedRequest), nil, false
	}
	v, err := s.view(ctx, tenant, caID)
	if err != nil {
		if fault.ReasonOf(err) == fault.NotFound {
			return ocspwire.ErrorResponse(ocspwire.Unauthorized), nil, false
		}
		s.d.Logger.Error("ocsp: loading the CA", "tenant", tenant, "ca", caID, "err", err)
		return ocspwire.ErrorResponse(ocspwire.TryLater), nil, false
	}
	v.mu.Lock()
	rec, caCert, version, responder := v.rec, v.cert, v.version, v.responder
	v.mu.Unlock()
	if !rec.OCSPEnabled || rec.Status != store.CAActive {
		return ocspwire.ErrorResponse(ocspwire.Unauthorized), nil, false
	}
	for _, id := range req.IDs {
		if !ocspwire.IssuerMatches(id, caCert) {
			return ocspwire.ErrorResponse(ocspwire.Unauthorized), nil, false
		}
	}
	if responder == nil || !s.d.Now().Before(responder.cert.NotAfter) {
		return ocspwire.ErrorResponse(ocspwire.TryLater), nil, false
	}
	cacheable = len(req.IDs) == 1 && req.Nonce == nil
	var key string
	now := s.d.Now()
	if cacheable {
		key = tenant + "/" + caID + "/" + hex.EncodeToString(req.IDs[0].Raw)
		s.ocsp.mu.Lock()
		a, ok := s.ocsp.answers[key]
		s.ocsp.mu.Unlock()
		// Reuse until half the validity has passed, so that caches
		// downstream always get a useful nextUpdate.
		if ok && a.version == version && now.Before(a.thisUpdate.Add(s.d.Config.OCSPValidity/2)) {
			return a.der, a, true
		}
	}
	thisUpdate := now.UTC().Truncate(time.Second)
	resp := &ocspwire.Response{ProducedAt: thisUpdate, Nonce: req.Nonce, ResponderCert: responder.cert, Certs: []*x509.Certificate{responder.cert}}
	for _, id := range req.IDs {
		sr, err := s.status(ctx, tenant, caID, id)
		if err != nil {
			s.d.Logger.Error("ocsp: status lookup", "tenant", tenant, "ca", caID, "err", err)
			return ocspwire.ErrorResponse(ocspwire.TryLater), nil, false
		}
		sr.ThisUpdate, sr.NextUpdate = thisUpdate, thisUpdate.Add(s.d.Config.OCSPValidity)
		resp.Responses = append(resp.Responses, sr)
	}
	der, err = ocspwire.CreateResponse(resp, responder.signer, responder.alg)
	if err != nil {
		s.d.Logger.Error("ocsp: signing", "tenant", tenant, "ca", caID, "err", err)
		return ocspwire.ErrorResponse(ocspwire.InternalError), nil, false
	}
	a = &answer{der: der, version: version, thisUpdate: thisUpdate, nextUpdate: thisUpdate.Add(s.d.Config.OCSPValidity)}
	if cacheable {
		s.ocsp.mu.Lock()
		if len(s.ocsp.answers) >= maxCachedAnswers {
			// Dropping everything is crude but bounded and rare: the cache
			// refills from the requests that matter.
			clear(s.ocsp.answers)
		}
		s.ocsp.answers[key] = a
		s.ocsp.mu.Unlock()
	}
	return der, a, cacheable
}

// status looks a certificate up. Certificates of other CAs and serials
// certgate never issued are unknown (RFC 6960 §2.2).
func (s *Service) status(ctx context.Context, tenant, caID string, id ocspwire.CertID) (ocspwire.SingleResponse, error) {
	sr := ocspwire.SingleResponse{ID: id, Status: ocspwire.Unknown, RevocationReason: -1}
	if id.SerialNumber == nil || id.SerialNumber.Sign() <= 0 || id.SerialNumber.Cmp(maxSerial) > 0 {
		return sr, nil
	}
	c, err := s.d.Store.GetCertificate(ctx, tenant, ca.SerialHex(id.SerialNumber))
	if fault.ReasonOf(err) == fault.NotFound {
		return sr, nil
	}
	if err != nil {
		return sr, err
	}
	if c.CA != caID {
		return sr, nil
	}
	switch c.Status {
	case store.CertRevoked, store.CertOnHold:
		sr.Status, sr.RevokedAt, sr.RevocationReason = ocspwire.Revoked, c.RevokedAt, c.RevocationReason
		if sr.RevocationReason == Unspecified {
			// RFC 5280 §5.3.1: omit the reason rather than say unspecified.
			sr.RevocationReason = -1
		}
	default:
		sr.Status = ocspwire.Good
	}
	return sr, nil
}

// maxSerial is 2^160-1: RFC 5280 serials have at most 20 octets.
var maxSerial = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1))

// MaxOCSPRequest bounds a request body.
const MaxOCSPRequest = 64 << 10

func (s *Service) serveOCSPPost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxOCSPRequest+1))
	if err != nil || len(body) > MaxOCSPRequest {
		writeOCSP(w, ocspwire.ErrorResponse(ocspwire.MalformedRequest), nil, false)
		return
	}
	der, a, _ := s.Respond(r.Context(), r.PathValue("tenant"), r.PathValue("ca"), body)
	// POST answers are not cached by HTTP caches (RFC 5019 §5).
	writeOCSP(w, der, a, false)
}

func (s *Service) serveOCSPGet(w http.ResponseWriter, r *http.Request) {
	// /ocsp/{tenant}/{ca}/{url-encoded base64 request}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/"), "/", 3)
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	tenant, err1 := url.PathUnescape(parts[0])
	caID, err2 := url.PathUnescape(parts[1])
	raw, err3 := url.PathUnescape(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		writeOCSP(w, ocspwire.ErrorResponse(ocspwire.MalformedRequest), nil, false)
		return
	}
	var reqDER []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if reqDER, err = enc.DecodeString(raw); err == nil {
			break
		}
	}
	if err != nil || len(reqDER) > MaxOCSPRequest {
		writeOCSP(w, ocspwire.ErrorResponse(ocspwire.MalformedRequest), nil, false)
		return
	}
	der, a, cacheable := s.Respond(r.Context(), tenant, caID, reqDER)
	writeOCSP(w, der, a, cacheable)
}

// ocspMaxAge caps how long HTTP caches keep a GET answer: a revocation must
// be visible within minutes even behind a CDN.
const ocspMaxAge = time.Minute

func writeOCSP(w http.ResponseWriter, der []byte, a *answer, cacheable bool) {
	h := w.Header()
	h.Set("Content-Type", "application/ocsp-response")
	h.Set("Content-Length", strconv.Itoa(len(der)))
	if cacheable && a != nil {
		sum := sha1.Sum(der)
		maxAge := min(ocspMaxAge, time.Until(a.nextUpdate))
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(max(0, int(maxAge.Seconds())))+", no-transform, must-revalidate")
		h.Set("Last-Modified", a.thisUpdate.UTC().Format(http.TimeFormat))
		h.Set("Expires", a.nextUpdate.UTC().Format(http.TimeFormat))
		h.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	} else {
		h.Set("Cache-Control", "no-cache, no-store")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(der)
}
