package revocation

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
)

// Handler serves the public status URLs of DESIGN.md §4 over plain HTTP,
// as relying parties expect (RFC 5280 §4.2.1.13, RFC 6960 Appendix A):
//
//	GET  /crl/{tenant}/{ca}.crl       DER CRL (PEM with ?format=pem or Accept: application/x-pem-file)
//	GET  /ca/{tenant}/{ca}.crt        DER CA certificate (PEM likewise)
//	POST /ocsp/{tenant}/{ca}          OCSP request in the body
//	GET  /ocsp/{tenant}/{ca}/{req}    base64 OCSP request in the path (RFC 5019)
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crl/{tenant}/{file}", s.serveCRL)
	mux.HandleFunc("GET /ca/{tenant}/{file}", s.serveCACert)
	mux.HandleFunc("POST /ocsp/{tenant}/{ca}", s.serveOCSPPost)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// GET requests carry base64 in the path, which may hold "/" and
		// "//" when clients do not URL-encode it; ServeMux would clean
		// (and redirect) such paths, so they bypass it.
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ocsp/") {
			s.serveOCSPGet(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Service) serveCRL(w http.ResponseWriter, r *http.Request) {
	caID, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
	if !ok {
		http.NotFound(w, r)
		return
	}
	c, err := s.d.Store.GetCRL(r.Context(), r.PathValue("tenant"), caID)
	if err != nil || len(c.DER) == 0 {
		s.httpError(w, r, err)
		return
	}
	now := s.d.Now()
	etag := `"` + strconv.FormatInt(c.Number, 10) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", c.ThisUpdate.UTC().Format(http.TimeFormat))
	h.Set("Expires", c.NextUpdate.UTC().Format(http.TimeFormat))
	// Caches may keep the CRL briefly; a revocation republishes within the
	// configured delay, so a long max-age would hide it.
	maxAge := min(s.d.Config.CRLDelay, c.NextUpdate.Sub(now))
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(max(0, int(maxAge.Seconds())))+", no-transform")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !c.ThisUpdate.Truncate(time.Second).After(t) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeDERorPEM(w, r, "X509 CRL", "application/pkix-crl", c.DER)
}

func (s *Service) serveCACert(w http.ResponseWriter, r *http.Request) {
	caID, ok := strings.CutSuffix(r.PathValue("file"), ".crt")
	if !ok {
		http.NotFound(w, r)
		return
	}
	c, err := s.d.Store.GetCA(r.Context(), r.PathValue("tenant"), caID)
	if err != nil || len(c.Cert) == 0 {
		s.httpError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.writeDERorPEM(w, r, "CERTIFICATE", "application/pkix-cert", c.Cert)
}

func (s *Service) writeDERorPEM(w http.ResponseWriter, r *http.Request, pemType, derType string, der []byte) {
	if r.URL.Query().Get("format") == "pem" || strings.Contains(r.Header.Get("Accept"), "application/x-pem-file") {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}))
		return
	}
	w.Header().Set("Content-Type", derType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(der))
}

func (s *Service) httpError(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil || fault.ReasonOf(err) == fault.NotFound {
		http.NotFound(w, r)
		return
	}
	s.d.Logger.Error("revocation: serving", "path", r.URL.Path, "err", err)
	http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
}
