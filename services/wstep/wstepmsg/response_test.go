package wstepmsg_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/wstep/wstepmsg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	nsSOAP   = "http://www.w3.org/2003/05/soap-envelope"
	nsWSA    = "http://www.w3.org/2005/08/addressing"
	nsWST    = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsEnroll = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"
	x509v3   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	cesURL   = "https://ces.example.test/Example-CA_CES_Kerberos/service.svc/CES"
)

// golden compares got with testdata/golden/name, or rewrites the file
// under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}

// parseXML parses a response and returns its Envelope.
func parseXML(t *testing.T, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("response is not XML: %v", err)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != nsSOAP {
		t.Fatalf("root is not a SOAP 1.2 Envelope")
	}
	return env
}

// children returns e's child elements named {ns}local.
func children(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// one walks a path of {ns, local} steps, requiring exactly one match at
// each step.
func one(t *testing.T, e *etree.Element, path ...[2]string) *etree.Element {
	t.Helper()
	for _, step := range path {
		got := children(e, step[0], step[1])
		if len(got) != 1 {
			t.Fatalf("%s has %d {%s}%s children, want 1", e.GetPath(), len(got), step[0], step[1])
		}
		e = got[0]
	}
	return e
}

func attrValue(e *etree.Element, ns, local string) string {
	for _, a := range e.Attr {
		if a.Key == local && a.NamespaceURI() == ns {
			return a.Value
		}
	}
	return ""
}

func b64(t *testing.T, e *etree.Element) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(e.Text()), ""))
	if err != nil {
		t.Fatalf("%s is not base64: %v", e.GetPath(), err)
	}
	return b
}

var (
	hdrAction    = [2]string{nsWSA, "Action"}
	hdrRelatesTo = [2]string{nsWSA, "RelatesTo"}
	header       = [2]string{nsSOAP, "Header"}
	body         = [2]string{nsSOAP, "Body"}
	rstrc        = [2]string{nsWST, "RequestSecurityTokenResponseCollection"}
	rstr         = [2]string{nsWST, "RequestSecurityTokenResponse"}
	requested    = [2]string{nsWST, "RequestedSecurityToken"}
	bst          = [2]string{nsWSSE, "BinarySecurityToken"}
	requestID    = [2]string{nsEnroll, "RequestID"}
)

// specIssue is the request of [MS-WSTEP] §4.1.1.1 and the CMC response and
// certificate of its answer in §4.1.1.2.
func specIssue(t *testing.T) (*wstepmsg.Request, []byte, *x509.Certificate) {
	t.Helper()
	req, err := wstepmsg.ParseRequest(readFile(t, "spec-4.1.1.1-issue.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r := one(t, parseXML(t, readFile(t, "spec-4.1.1.2-response.xml")), body, rstrc, rstr)
	cmc := b64(t, one(t, r, bst))
	cert, err := x509.ParseCertificate(b64(t, one(t, r, requested, bst)))
	if err != nil {
		t.Fatal(err)
	}
	return req, cmc, cert
}

func TestIssued(t *testing.T) {
	req, cmc, cert := specIssue(t)
	out, err := wstepmsg.Issued(req, "61", cert, nil, cmc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "issued.xml", out)

	env := parseXML(t, out)
	if got := strings.TrimSpace(one(t, env, header, hdrAction).Text()); got != wstepmsg.ActionRSTRC {
		t.Errorf("Action = %q", got)
	}
	if got := one(t, env, header, hdrRelatesTo).Text(); got != req.MessageID {
		t.Errorf("RelatesTo = %q, want %q", got, req.MessageID)
	}
	r := one(t, env, body, rstrc, rstr) // exactly one RSTR
	if got := one(t, r, [2]string{nsWST, "TokenType"}).Text(); got != x509v3 {
		t.Errorf("TokenType = %q", got)
	}
	if got := one(t, r, [2]string{nsEnroll, "DispositionMessage"}).Text(); got != "Issued" {
		t.Errorf("DispositionMessage = %q", got)
	}
	if got := b64(t, one(t, r, bst)); !bytes.Equal(got, cmc) {
		t.Errorf("PKCS7 BinarySecurityToken is not the CMC response")
	}
	tok := one(t, r, requested, bst)
	if got := attrValue(tok, "", "ValueType"); got != x509v3 {
		t.Errorf("RequestedSecurityToken ValueType = %q", got)
	}
	got, err := x509.ParseCertificate(b64(t, tok))
	if err != nil || !got.Equal(cert) {
		t.Errorf("X509v3 token does not decode to the certificate: %v", err)
	}
	if got := one(t, r, requestID).Text(); got != "61" {
		t.Errorf("RequestID = %q, want 61", got)
	}
}

// Issued answers the spec's request exactly as the spec's server does,
// element for element, apart from the optional WCF ActivityId header.
func TestIssuedMatchesSpecExample(t *testing.T) {
	req, cmc, cert := specIssue(t)
	out, err := wstepmsg.Issued(req, "61", cert, nil, cmc)
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(parseXML(t, out))
	want := canonical(parseXML(t, readFile(t, "spec-4.1.1.2-response.xml")))
	if got != want {
		t.Errorf("response differs from [MS-WSTEP] §4.1.1.2:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// canonical renders a tree as namespace-resolved names, non-xmlns
// attributes and whitespace-free text, one element per line, leaving out
// the WCF diagnostics header.
func canonical(e *etree.Element) string {
	var b strings.Builder
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		if e.Tag == "ActivityId" {
			return
		}
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			attrs = append(attrs, "{"+a.NamespaceURI()+"}"+a.Key+"="+a.Value)
		}
		sort.Strings(attrs)
		text := strings.Join(strings.Fields(e.Text()), "")
		b.WriteString(strings.Repeat(" ", depth) + "{" + e.NamespaceURI() + "}" + e.Tag + " " + strings.Join(attrs, " ") + " " + text + "\n")
		for _, c := range e.ChildElements() {
			walk(c, depth+1)
		}
	}
	walk(e, 0)
	return b.String()
}

// Without a CMC response, a certs-only PKCS#7 of the certificate and its
// chain takes its place.
func TestIssuedWithoutCMCResponse(t *testing.T) {
	req, cmc, cert := specIssue(t)
	p7, err := pkcs7.Parse(cmc)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, c := range p7.Certificates {
		if !c.Equal(cert) {
			chain = append(chain, c)
		}
	}
	out, err := wstepmsg.Issued(req, "61", cert, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "issued-certs-only.xml", out)
	r := one(t, parseXML(t, out), body, rstrc, rstr)
	certsOnly, err := pkcs7.Parse(b64(t, one(t, r, bst)))
	if err != nil {
		t.Fatal(err)
	}
	if len(certsOnly.Certificates) != 1+len(chain) || !certsOnly.Certificates[0].Equal(cert) {
		t.Errorf("certs-only PKCS#7 holds %d certificates, want the certificate then %d chain certificates",
			len(certsOnly.Certificates), len(chain))
	}
}

func TestPending(t *testing.T) {
	req, _, _ := specIssue(t)
	ca, caKey, _ := fixedCA(t)
	cmc, err := wstepmsg.CMCResponse(wstepmsg.CMCPending, wstepmsg.DispositionPending, []int{req.BodyPartID}, nil, nil, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	out, err := wstepmsg.Pending(req, "62", cesURL, cmc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pending.xml", out)

	env := parseXML(t, out)
	if got := one(t, env, header, hdrRelatesTo).Text(); got != req.MessageID {
		t.Errorf("RelatesTo = %q", got)
	}
	r := one(t, env, body, rstrc, rstr)
	if got := one(t, r, [2]string{nsEnroll, "DispositionMessage"}).Text(); got != "Taken Under Submission" {
		t.Errorf("DispositionMessage = %q", got)
	}
	if got := b64(t, one(t, r, bst)); !bytes.Equal(got, cmc) {
		t.Errorf("PKCS7 BinarySecurityToken is not the CMC response")
	}
	ref := one(t, r, requested, [2]string{nsWSSE, "SecurityTokenReference"}, [2]string{nsWSSE, "Reference"})
	if got := attrValue(ref, "", "URI"); got != cesURL {
		t.Errorf("Reference URI = %q, want %q", got, cesURL)
	}
	if len(children(one(t, r, requested), nsWSSE, "BinarySecurityToken")) != 0 {
		t.Errorf("pending response carries a certificate")
	}
	if got := one(t, r, requestID).Text(); got != "62" {
		t.Errorf("RequestID = %q, want 62", got)
	}
	if st := decodeStatus(t, cmc); st.Status != int(wstepmsg.CMCPending) {
		t.Errorf("CMC status = %d, want pending", st.Status)
	}
}

func TestKeyExchange(t *testing.T) {
	req, err := wstepmsg.ParseRequest(readFile(t, "spec-4.1.2.1-ket.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _, _ := fixedCA(t)
	out, err := wstepmsg.KeyExchange(req, ca)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ket.xml", out)
	env := parseXML(t, out)
	if got := strings.TrimSpace(one(t, env, header, hdrAction).Text()); got != wstepmsg.ActionKETFinal {
		t.Errorf("Action = %q", got)
	}
	tok := one(t, env, body, rstrc, rstr, requested, [2]string{nsWST, "KeyExchangeToken"}, bst)
	if got, err := x509.ParseCertificate(b64(t, tok)); err != nil || !got.Equal(ca) {
		t.Errorf("KeyExchangeToken does not hold the certificate: %v", err)
	}
}

func TestFault(t *testing.T) {
	req, _, _ := specIssue(t)
	ca, caKey, _ := fixedCA(t)
	cmc, err := wstepmsg.CMCResponse(wstepmsg.CMCFailed, "Denied by Policy Module", []int{1}, nil, nil, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		req            *wstepmsg.Request
		requestID      string
		hresult        int32
		reason         string
		invalid        bool
		cmc            []byte
		code, errCode  string
		wantRelatesTo  bool
		wantBinaryNil  bool
		wantRequestNil bool
	}{
		"ok/denied-by-policy": {req: req, requestID: "63", hresult: wstepmsg.CertsrvETemplateDenied, reason: "Denied by Policy Module",
			invalid: true, cmc: cmc, code: "s:Sender", errCode: "-2146877422", wantRelatesTo: true},
		"ok/unreadable-request": {hresult: wstepmsg.ErrorInvalidData, code: "s:Receiver", errCode: "-2147024883",
			wantBinaryNil: true, wantRequestNil: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := wstepmsg.Fault(tc.req, tc.requestID, tc.hresult, tc.reason, tc.invalid, tc.cmc)
			golden(t, strings.TrimPrefix(name, "ok/")+".xml", out)
			env := parseXML(t, out)
			if got := strings.TrimSpace(one(t, env, header, hdrAction).Text()); got != wstepmsg.ActionFault {
				t.Errorf("Action = %q", got)
			}
			if rel := children(one(t, env, header), nsWSA, "RelatesTo"); tc.wantRelatesTo != (len(rel) == 1) {
				t.Errorf("RelatesTo present = %v, want %v", len(rel) == 1, tc.wantRelatesTo)
			}
			fault := one(t, env, body, [2]string{nsSOAP, "Fault"})
			if got := one(t, fault, [2]string{nsSOAP, "Code"}, [2]string{nsSOAP, "Value"}).Text(); got != tc.code {
				t.Errorf("Code = %q, want %q", got, tc.code)
			}
			if got := one(t, fault, [2]string{nsSOAP, "Reason"}, [2]string{nsSOAP, "Text"}).Text(); got == "" || (tc.reason != "" && got != tc.reason) {
				t.Errorf("Reason = %q, want %q", got, tc.reason)
			}
			d := one(t, fault, [2]string{nsSOAP, "Detail"}, [2]string{nsEnroll, "CertificateEnrollmentWSDetail"})
			br := one(t, d, [2]string{nsEnroll, "BinaryResponse"})
			if tc.wantBinaryNil {
				if attrValue(br, nsXSI, "nil") != "true" {
					t.Errorf("BinaryResponse is not xsi:nil")
				}
			} else if !bytes.Equal(b64(t, br), tc.cmc) {
				t.Errorf("BinaryResponse is not the CMC response")
			}
			if got := one(t, d, [2]string{nsEnroll, "ErrorCode"}).Text(); got != tc.errCode {
				t.Errorf("ErrorCode = %q, want %q", got, tc.errCode)
			}
			wantInvalid := "false"
			if tc.invalid {
				wantInvalid = "true"
			}
			if got := one(t, d, [2]string{nsEnroll, "InvalidRequest"}).Text(); got != wantInvalid {
				t.Errorf("InvalidRequest = %q, want %q", got, wantInvalid)
			}
			rid := one(t, d, [2]string{nsEnroll, "RequestID"})
			if tc.wantRequestNil {
				if attrValue(rid, nsXSI, "nil") != "true" {
					t.Errorf("RequestID is not xsi:nil")
				}
			} else if rid.Text() != tc.requestID {
				t.Errorf("RequestID = %q, want %q", rid.Text(), tc.requestID)
			}
		})
	}
}

func TestResponsesRefuseMissingInputs(t *testing.T) {
	req, cmc, cert := specIssue(t)
	if _, err := wstepmsg.Issued(nil, "1", cert, nil, cmc); err == nil {
		t.Error("Issued without a request succeeded")
	}
	if _, err := wstepmsg.Issued(req, "1", nil, nil, cmc); err == nil {
		t.Error("Issued without a certificate succeeded")
	}
	if _, err := wstepmsg.Pending(req, "", cesURL, cmc); err == nil {
		t.Error("Pending without a request ID succeeded")
	}
	if _, err := wstepmsg.Pending(req, "1", "", cmc); err == nil {
		t.Error("Pending without the CES URL succeeded")
	}
	if _, err := wstepmsg.KeyExchange(req, nil); err == nil {
		t.Error("KeyExchange without a certificate succeeded")
	}
}

// Text from the request is escaped, never interpreted.
func TestResponsesEscape(t *testing.T) {
	req := &wstepmsg.Request{MessageID: `urn:x"<&>`}
	out := wstepmsg.Fault(req, `<RequestID>`, wstepmsg.EFail, "a < b & \x00", false, nil)
	env := parseXML(t, out)
	if got := one(t, env, header, hdrRelatesTo).Text(); got != req.MessageID {
		t.Errorf("RelatesTo = %q", got)
	}
}
