package mdmws

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// reservedParams are query parameters of the challenge page that are not
// Digital ID variables.
var reservedParams = map[string]bool{"digital_id": true, "encoding": true}

// challengePage answers NDES's dynamic challenge page, mscep_admin, the
// way MDMs parse it: HTML (UTF-16LE, as NDES sends; ?encoding=utf-8 for
// UTF-8) with "The enrollment challenge password is: <B> … </B>". Query
// parameters choose the Digital ID (digital_id, default: the
// configuration's) and give its variables.
func (s *Server) challengePage(w http.ResponseWriter, r *http.Request) int {
	utf8 := strings.EqualFold(r.URL.Query().Get("encoding"), "utf-8")
	tenant, id := r.PathValue("tenant"), r.PathValue("endpoint")
	if tenant == "" {
		tenant, id, _ = strings.Cut(s.cfg.DefaultEndpoint, "/")
		if id == "" {
			return s.writePage(w, utf8, http.StatusNotFound, ndesError("This server has no default MDM configuration; use /mdmws/{tenant}/{endpoint}/certsrv/mscep_admin/."))
		}
	}
	t, err := s.authenticate(r, tenant, id)
	if err != nil {
		ae := s.fromCore(err)
		setErrorHeaders(w, ae)
		text := ae.text
		if ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden {
			// NDES's own words, which MDMs recognise.
			text = "You do not have sufficient permission to enroll with SCEP. Please contact your system administrator."
		}
		return s.writePage(w, utf8, ae.status, ndesError(text))
	}
	q := r.URL.Query()
	digitalID := q.Get("digital_id")
	if digitalID == "" {
		digitalID = t.ep.GetMdmws().GetDefaultDigitalId()
	}
	vars := map[string]string{}
	for k, v := range q {
		if !reservedParams[k] && len(v) > 0 {
			vars[k] = v[0]
		}
	}
	ch, err := s.challenges.CreateChallenge(r.Context(), &pb.CreateChallengeRequest{Tenant: t.tenant, Endpoint: t.ep.GetId(),
		DigitalId: digitalID, Variables: vars, Ttl: durationpb.New(s.cfg.ChallengeTTL), Format: pb.ChallengeFormat_CHALLENGE_FORMAT_NDES})
	if err != nil {
		ae := s.fromCore(err)
		setErrorHeaders(w, ae)
		return s.writePage(w, utf8, ae.status, ndesError(ae.text))
	}
	thumb := ""
	if chain, err := s.cas.GetCAChain(r.Context(), &pb.GetCAChainRequest{Tenant: t.tenant, Endpoint: t.ep.GetId()}); err == nil && len(chain.GetCertificates()) > 0 {
		// NDES shows the thumbprint of the CA it enrolls for.
		if c, err := x509.ParseCertificate(chain.GetCertificates()[0]); err == nil {
			sum := sha1.Sum(c.Raw)
			thumb = fmt.Sprintf("%X", sum[:])
		}
	}
	minutes := int(s.cfg.ChallengeTTL.Round(time.Minute) / time.Minute)
	body := fmt.Sprintf(`<P> The thumbprint (hash value) for the CA certificate is: <B> %s </B> <P> The enrollment challenge password is: <B> %s </B> <P> This password can be used only once and will expire within %d minutes. <P> Each enrollment requires a new challenge password. You can refresh this web page to obtain a new challenge password.`,
		thumb, ch.GetValue(), minutes)
	s.log.Info("mdmws: challenge issued", "tenant", t.tenant, "endpoint", t.ep.GetId(), "user", t.user, "digital_id", digitalID, "challenge_id", ch.GetId())
	return s.writePage(w, utf8, http.StatusOK, body)
}

func ndesError(text string) string {
	return "<P> " + html.EscapeString(text) + " <P>"
}

// writePage wraps body in NDES's page and writes it in UTF-16LE with a
// byte-order mark, or UTF-8.
func (s *Server) writePage(w http.ResponseWriter, utf8 bool, status int, body string) int {
	charset := "utf-16"
	if utf8 {
		charset = "utf-8"
	}
	page := `<HTML><Head><Meta HTTP-Equiv="Content-Type" Content="text/html; charset=` + charset + `">` +
		`<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF><Font ID=locPageFont Face="Arial">` +
		`<Table Border=0 CellSpacing=0 CellPadding=4 Width=100% BgColor=#008080><TR><TD><Font Color=#FFFFFF><LocID ID=locMSCertSrv>` +
		`<Font Face="Arial" Size=-1><B><I>Network Device Enrollment Service</I></B></Font></LocID></Font></TD></TR></Table>` +
		`<P> Network Device Enrollment Service allows you to obtain certificates for routers or other network devices using the Simple Certificate Enrollment Protocol (SCEP). ` +
		body + `</Font></Body></HTML>`
	out := []byte(page)
	if !utf8 {
		units := utf16.Encode([]rune(page))
		out = make([]byte, 2+2*len(units))
		out[0], out[1] = 0xff, 0xfe
		for i, u := range units {
			binary.LittleEndian.PutUint16(out[2+2*i:], u)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset="+charset)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(out)
	return status
}
