package wstepmsg

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// XML namespaces of the messages ([MS-WSTEP] §2.2.1).
const (
	nsSOAP   = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsWSA    = "http://www.w3.org/2005/08/addressing"
	nsWST    = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsEnroll = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
	nsAuth   = "http://schemas.xmlsoap.org/ws/2006/12/authorization"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"
	nsXSD    = "http://www.w3.org/2001/XMLSchema"
)

// SOAP actions ([MS-WSTEP] §3.1.4.2 and §4.1).
const (
	// ActionRST is the a:Action of issue, renewal and QueryTokenStatus
	// requests.
	ActionRST = nsEnroll + "/RST/wstep"
	// ActionKET is the a:Action of a key-exchange-token request.
	ActionKET = nsWST + "/RST/KET"
	// ActionRSTRC is the a:Action of [Issued] and [Pending].
	ActionRSTRC = nsEnroll + "/RSTRC/wstep"
	// ActionKETFinal is the a:Action of [KeyExchange].
	ActionKETFinal = nsWST + "/RSTR/KETFinal"
	// ActionFault is the a:Action of [Fault].
	ActionFault = nsEnroll + "/RequestSecurityTokenCertificateEnrollmentWSDetailFault"
)

const (
	tokenTypeX509v3   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	valueTypePKCS7    = nsWSSE + "#PKCS7"
	encodingBase64    = nsWSSE + "#base64binary"
	passwordTextType  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	dispositionIssued = "Issued"
	// DispositionPending is what [Pending] puts in DispositionMessage, the
	// text ADCS uses.
	DispositionPending = "Taken Under Submission"
)

// RequestType is the wst:RequestType of a RequestSecurityToken
// ([MS-WSTEP] §3.1.4.1.2.7). The zero value is not a valid type.
type RequestType int

// The request types WSTEP defines; [ParseRequest] refuses any other.
const (
	// Issue asks for a new certificate or renews one.
	Issue RequestType = iota + 1
	// QueryTokenStatus polls a pending request by [Request.RequestID].
	QueryTokenStatus
	// KET asks for the CA's key-exchange certificate (key archival).
	KET
)

var requestTypeURIs = map[RequestType]string{
	Issue:            nsWST + "/Issue",
	QueryTokenStatus: nsEnroll + "/QueryTokenStatus",
	KET:              nsWST + "/KET",
}

func (t RequestType) String() string {
	switch t {
	case Issue:
		return "Issue"
	case QueryTokenStatus:
		return "QueryTokenStatus"
	case KET:
		return "KET"
	}
	return fmt.Sprintf("RequestType(%d)", int(t))
}

// TokenKind is what the BinarySecurityToken holds, read from its DER.
type TokenKind int

// Token kinds ([MS-WCCE] §2.2.2.6).
const (
	// NoToken: the request carried no BinarySecurityToken (QueryTokenStatus,
	// KET).
	NoToken TokenKind = iota
	// PKCS10 is a bare PKCS#10 CertificationRequest.
	PKCS10
	// PKCS7 is a CMS SignedData whose content (id-data) is a PKCS#10, such
	// as a renewal signed with the certificate being renewed.
	PKCS7
	// CMC is a Full PKI Request: SignedData over id-cct-PKIData.
	CMC
)

func (k TokenKind) String() string {
	switch k {
	case NoToken:
		return "none"
	case PKCS10:
		return "PKCS#10"
	case PKCS7:
		return "PKCS#7"
	case CMC:
		return "CMC"
	}
	return fmt.Sprintf("TokenKind(%d)", int(k))
}

// Request is a parsed RequestSecurityToken message.
type Request struct {
	// MessageID and To are the WS-Addressing a:MessageID and a:To.
	MessageID, To string
	// Type is the wst:RequestType.
	Type RequestType
	// TokenKind says what Token holds, detected from its DER.
	TokenKind TokenKind
	// Token is the decoded BinarySecurityToken, nil if there was none.
	Token []byte
	// CSR is the PKCS#10 in Token: the token itself, the SignedData
	// content, or the CMC request's only TaggedRequest. Its own signature
	// has not been checked (see the package documentation).
	CSR *x509.CertificateRequest
	// BodyPartID is the CMC TaggedRequest's bodyPartID, and 1 for the
	// other kinds (ADCS answers a bare PKCS#10 with bodyList {1}). Pass it
	// to [CMCResponse].
	BodyPartID int
	// Signer, for a PKCS7 or CMC token, is the certificate whose signature
	// over the content was verified: the old certificate of a renewal, or
	// an enrollment agent. It is nil for a bare PKCS#10 and for a CMC
	// request signed only with the request key (subjectKeyIdentifier
	// SignerInfo, a self-signed certificate of the request key, or the
	// no-signature mechanism). Only the signature is checked: the caller
	// decides whether Signer chains to its CA, is valid and may renew.
	Signer *x509.Certificate
	// RequestID is wstep:RequestID, empty when absent or xsi:nil. It is
	// required for QueryTokenStatus and ignored by Issue
	// ([MS-WSTEP] §3.1.4.2.1.1).
	RequestID string
	// Context holds the auth:AdditionalContext items, ContextItem Name →
	// Value (for example ccm, rmd, CertificateTemplate). The first item of
	// a name wins. Nil when there were none.
	Context map[string]string
	// Username and Password come from a WS-Security UsernameToken in the
	// header (PasswordText), empty when there was none. Nothing has
	// checked them.
	Username, Password string
	// TemplateName and TemplateOID name the certificate template the
	// client asks for: the CSR's extensions 1.3.6.1.4.1.311.20.2 (name)
	// and 1.3.6.1.4.1.311.21.7 (OID), else a CertificateTemplate
	// name-value pair in the CSR or CMC controls, else the
	// CertificateTemplate context item. Empty when the request names none.
	TemplateName, TemplateOID string
}

// ParseRequest reads a RequestSecurityToken message: a SOAP 1.2 envelope
// whose a:Action is [ActionRST] (Issue, QueryTokenStatus) or [ActionKET]
// (KET). An Issue request must carry a BinarySecurityToken, which is
// decoded and, when signed, verified; QueryTokenStatus needs a RequestID
// and KET a RequestKET element. Every refusal is a *[RequestError].
//
// ParseRequest does not limit the size of body; the caller does.
func ParseRequest(body []byte) (*Request, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		return nil, invalid("malformed XML", err)
	}
	if hasDirective(&doc.Element) {
		return nil, invalid("XML directives (DOCTYPE) are not allowed", nil)
	}
	env := doc.Root()
	switch {
	case env == nil:
		return nil, invalid("empty message", nil)
	case len(doc.ChildElements()) > 1:
		return nil, invalid("more than one root element", nil)
	case env.Tag == "Envelope" && env.NamespaceURI() == nsSOAP11:
		return nil, invalid("SOAP 1.1 envelope; WSTEP uses SOAP 1.2", nil)
	case !is(env, nsSOAP, "Envelope"):
		return nil, invalid(fmt.Sprintf("root element is %s, not a SOAP 1.2 Envelope", clip(env.Tag)), nil)
	}
	var header, bodyEl *etree.Element
	for _, c := range env.ChildElements() {
		switch {
		case is(c, nsSOAP, "Header") && header == nil && bodyEl == nil:
			header = c
		case is(c, nsSOAP, "Body") && bodyEl == nil:
			bodyEl = c
		default:
			return nil, invalid(fmt.Sprintf("unexpected %s in the SOAP Envelope", clip(c.Tag)), nil)
		}
	}
	if header == nil {
		return nil, invalid("no SOAP Header (WS-Addressing Action is required)", nil)
	}
	if bodyEl == nil {
		return nil, invalid("no SOAP Body", nil)
	}

	req := &Request{BodyPartID: 1}
	action, rerr := req.readHeader(header)
	if rerr == nil {
		rerr = req.readBody(bodyEl, action)
	}
	if rerr != nil {
		rerr.MessageID = req.MessageID
		return nil, rerr
	}
	return req, nil
}

// readHeader reads the WS-Addressing and WS-Security header blocks and
// returns the a:Action.
func (req *Request) readHeader(header *etree.Element) (string, *RequestError) {
	var action string
	seen := map[string]bool{}
	for _, h := range header.ChildElements() {
		key := h.NamespaceURI() + " " + h.Tag
		switch {
		case is(h, nsWSA, "Action"), is(h, nsWSA, "MessageID"), is(h, nsWSA, "To"), is(h, nsWSSE, "Security"):
			if seen[key] {
				return "", invalid(fmt.Sprintf("more than one %s header", clip(h.Tag)), nil)
			}
			seen[key] = true
		}
		switch {
		case is(h, nsWSA, "Action"):
			action = strings.TrimSpace(h.Text())
		case is(h, nsWSA, "MessageID"):
			req.MessageID = strings.TrimSpace(h.Text())
		case is(h, nsWSA, "To"):
			req.To = strings.TrimSpace(h.Text())
		case is(h, nsWSSE, "Security"):
			if err := req.readSecurity(h); err != nil {
				return "", err
			}
		case is(h, nsWSA, "ReplyTo"), is(h, nsWSA, "From"), is(h, nsWSA, "FaultTo"), is(h, nsWSA, "RelatesTo"):
			// Replies go back on the HTTP response whatever these say.
		default:
			if mustUnderstand(h) {
				return "", invalid(fmt.Sprintf("header %s {%s} must be understood and is not", clip(h.Tag), clip(h.NamespaceURI())), nil)
			}
		}
	}
	switch action {
	case ActionRST, ActionKET:
		return action, nil
	case "":
		return "", invalid("no WS-Addressing Action header", nil)
	}
	return "", invalid(fmt.Sprintf("unsupported action %q", clip(action)), nil)
}

// readSecurity reads a wsse:Security header: only the UsernameToken
// matters here; a Timestamp or anything else is ignored.
func (req *Request) readSecurity(sec *etree.Element) *RequestError {
	for _, tok := range sec.ChildElements() {
		if !is(tok, nsWSSE, "UsernameToken") {
			continue
		}
		if req.Username != "" {
			return invalid("more than one UsernameToken", nil)
		}
		for _, c := range tok.ChildElements() {
			switch {
			case is(c, nsWSSE, "Username"):
				req.Username = strings.TrimSpace(c.Text())
			case is(c, nsWSSE, "Password"):
				if t := attr(c, "Type"); t != "" && t != passwordTextType {
					return invalid(fmt.Sprintf("UsernameToken password type %q is not supported (want PasswordText)", clip(t)), nil)
				}
				req.Password = c.Text()
			}
		}
		if req.Username == "" {
			return invalid("UsernameToken without a Username", nil)
		}
	}
	return nil
}

// readBody reads the wst:RequestSecurityToken in the SOAP Body.
func (req *Request) readBody(body *etree.Element, action string) *RequestError {
	children := body.ChildElements()
	if len(children) != 1 || !is(children[0], nsWST, "RequestSecurityToken") {
		return invalid("SOAP Body must hold exactly one wst:RequestSecurityToken", nil)
	}
	var (
		requestType, tokenType string
		bst                    *etree.Element
		requestKET, haveType   bool
	)
	for _, c := range children[0].ChildElements() {
		switch {
		case is(c, nsWST, "TokenType"):
			tokenType = strings.TrimSpace(c.Text())
		case is(c, nsWST, "RequestType"):
			if haveType {
				return invalid("more than one RequestType", nil)
			}
			haveType = true
			requestType = strings.TrimSpace(c.Text())
		case is(c, nsWSSE, "BinarySecurityToken"):
			if bst != nil {
				return invalid("more than one BinarySecurityToken", nil)
			}
			bst = c
		case is(c, nsEnroll, "RequestID"):
			if !isNil(c) {
				req.RequestID = strings.TrimSpace(c.Text())
			}
		case is(c, nsAuth, "AdditionalContext"):
			req.readContext(c)
		case is(c, nsWST, "RequestKET"):
			requestKET = true
		}
		// Anything else SHOULD be ignored ([MS-WSTEP] §3.1.4.1.3.3).
	}
	if tokenType != "" && tokenType != tokenTypeX509v3 {
		return invalid(fmt.Sprintf("unsupported TokenType %q (want X509v3)", clip(tokenType)), nil)
	}
	if requestType == "" {
		return invalid("no RequestType", nil)
	}
	req.Type = 0
	for t, uri := range requestTypeURIs {
		if uri == requestType {
			req.Type = t
		}
	}
	switch {
	case req.Type == 0:
		return invalid(fmt.Sprintf("unsupported RequestType %q", clip(requestType)), nil)
	case (action == ActionKET) != (req.Type == KET):
		return invalid(fmt.Sprintf("RequestType %s does not match action %s", req.Type, action), nil)
	case req.Type == KET && !requestKET:
		return invalid("KET request without RequestKET", nil)
	case req.Type == QueryTokenStatus && req.RequestID == "":
		return invalid("QueryTokenStatus without a RequestID", nil)
	case req.Type == Issue && bst == nil:
		return invalid("Issue request without a BinarySecurityToken", nil)
	}
	var pairs []nameValue
	if bst != nil {
		var rerr *RequestError
		if pairs, rerr = req.readToken(bst); rerr != nil {
			return rerr
		}
	}
	return req.fillTemplate(pairs)
}

// readContext reads auth:AdditionalContext/ContextItem elements.
func (req *Request) readContext(ac *etree.Element) {
	for _, item := range ac.ChildElements() {
		if !is(item, nsAuth, "ContextItem") {
			continue
		}
		name := attr(item, "Name")
		if name == "" {
			continue
		}
		var value string
		for _, v := range item.ChildElements() {
			if is(v, nsAuth, "Value") {
				value = v.Text()
				break
			}
		}
		if req.Context == nil {
			req.Context = map[string]string{}
		}
		if _, dup := req.Context[name]; !dup {
			req.Context[name] = value
		}
	}
}

// readToken decodes the BinarySecurityToken's base64 and then its DER,
// and returns the name-value pairs the token carries. The ValueType is not
// consulted; clients disagree about it.
func (req *Request) readToken(bst *etree.Element) ([]nameValue, *RequestError) {
	if enc := attr(bst, "EncodingType"); enc != "" && !strings.HasSuffix(strings.ToLower(enc), "#base64binary") {
		return nil, invalid(fmt.Sprintf("unsupported BinarySecurityToken EncodingType %q", clip(enc)), nil)
	}
	text := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, bst.Text())
	if text == "" {
		return nil, invalid("empty BinarySecurityToken", nil)
	}
	der, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, invalid("BinarySecurityToken is not base64", err)
	}
	tok, rerr := decodeToken(der)
	if rerr != nil {
		return nil, rerr
	}
	req.Token = der
	req.TokenKind = tok.kind
	req.CSR = tok.csr
	req.Signer = tok.signer
	req.BodyPartID = tok.bodyPartID
	return tok.pairs, nil
}

// clip shortens client-supplied text quoted in a RequestError.Reason.
func clip(s string) string {
	const limit = 100
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// is reports whether e is the element {ns}local.
func is(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

// attr returns the value of e's attribute with the given local name,
// whatever its prefix: cepces qualifies ValueType and EncodingType with the
// wsse prefix, Windows does not.
func attr(e *etree.Element, local string) string {
	for _, a := range e.Attr {
		if a.Key == local && a.Space != "xmlns" {
			return a.Value
		}
	}
	return ""
}

// isNil reports whether e carries xsi:nil="true".
func isNil(e *etree.Element) bool {
	for _, a := range e.Attr {
		if a.Key == "nil" && a.NamespaceURI() == nsXSI {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// mustUnderstand reports whether a header block carries
// s:mustUnderstand="true" (SOAP 1.2 Part 1 §5.2.3).
func mustUnderstand(e *etree.Element) bool {
	for _, a := range e.Attr {
		if a.Key == "mustUnderstand" && a.NamespaceURI() == nsSOAP {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// hasDirective reports whether any <!…> directive (DOCTYPE, ENTITY) is
// in the tree.
func hasDirective(e *etree.Element) bool {
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return true
		case *etree.Element:
			if hasDirective(t) {
				return true
			}
		}
	}
	return false
}
