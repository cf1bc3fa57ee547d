package wstepmsg

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/beevik/etree"
	"github.com/smallstep/pkcs7"
)

// Issued answers an Issue or QueryTokenStatus request with the issued
// certificate ([MS-WSTEP] §4.1.1.2): a RequestSecurityTokenResponseCollection
// with one RequestSecurityTokenResponse holding DispositionMessage "Issued",
// cmcResponse (see [CMCResponse]) as the PKCS7 BinarySecurityToken, cert as
// the X509v3 RequestedSecurityToken, and requestID (xsi:nil when empty).
//
// Windows expects the CMC response. When cmcResponse is nil, a certs-only
// PKCS#7 of cert and chain stands in for it, which other clients (cepces)
// accept; chain is not used otherwise.
func Issued(req *Request, requestID string, cert *x509.Certificate, chain []*x509.Certificate, cmcResponse []byte) ([]byte, error) {
	if req == nil {
		return nil, errors.New("wstepmsg: Issued needs the request")
	}
	if cert == nil {
		return nil, errors.New("wstepmsg: Issued needs the certificate")
	}
	outer := cmcResponse
	if len(outer) == 0 {
		var raw []byte
		raw = append(raw, cert.Raw...)
		for _, c := range chain {
			raw = append(raw, c.Raw...)
		}
		var err error
		if outer, err = pkcs7.DegenerateCertificate(raw); err != nil {
			return nil, err
		}
	}
	doc, body := envelope(ActionRSTRC, req.MessageID)
	rstr := responseCollection(body)
	disposition(rstr, dispositionIssued)
	binaryToken(rstr, valueTypePKCS7, outer)
	binaryToken(rstr.CreateElement("RequestedSecurityToken"), tokenTypeX509v3, cert.Raw)
	requestIDElement(rstr, requestID)
	return write(doc), nil
}

// Pending answers that the request awaits a decision: DispositionMessage
// [DispositionPending], cmcResponse (a [CMCResponse] with status
// [CMCPending]) as the PKCS7 BinarySecurityToken, a RequestedSecurityToken
// whose SecurityTokenReference points at cesURL (where to send
// QueryTokenStatus), and requestID, which the client polls with. Windows
// expects the CMC response; when cmcResponse is nil the element is left
// out.
func Pending(req *Request, requestID, cesURL string, cmcResponse []byte) ([]byte, error) {
	if req == nil {
		return nil, errors.New("wstepmsg: Pending needs the request")
	}
	if requestID == "" {
		return nil, errors.New("wstepmsg: Pending needs a request ID to poll with")
	}
	if cesURL == "" {
		return nil, errors.New("wstepmsg: Pending needs the CES URL")
	}
	doc, body := envelope(ActionRSTRC, req.MessageID)
	rstr := responseCollection(body)
	disposition(rstr, DispositionPending)
	if len(cmcResponse) > 0 {
		binaryToken(rstr, valueTypePKCS7, cmcResponse)
	}
	ref := rstr.CreateElement("RequestedSecurityToken").CreateElement("SecurityTokenReference")
	ref.CreateAttr("xmlns", nsWSSE)
	ref.CreateElement("Reference").CreateAttr("URI", cesURL)
	requestIDElement(rstr, requestID)
	return write(doc), nil
}

// KeyExchange answers a KET request with the CA's key-exchange
// certificate, which the client encrypts its private key to for archival
// ([MS-WSTEP] §4.1.2.2).
func KeyExchange(req *Request, cert *x509.Certificate) ([]byte, error) {
	if req == nil {
		return nil, errors.New("wstepmsg: KeyExchange needs the request")
	}
	if cert == nil {
		return nil, errors.New("wstepmsg: KeyExchange needs the key-exchange certificate")
	}
	doc, body := envelope(ActionKETFinal, req.MessageID)
	rstr := responseCollection(body)
	ket := rstr.CreateElement("RequestedSecurityToken").CreateElement("KeyExchangeToken")
	binaryToken(ket, tokenTypeX509v3, cert.Raw)
	return write(doc), nil
}

// Fault is the SOAP 1.2 fault a CES sends (with HTTP 500) when it cannot
// issue: code s:Sender when invalidRequest (the issuer denied or could not
// read the request) and s:Receiver otherwise, reason as the fault text, and
// the CertificateEnrollmentWSDetail of [MS-WSTEP] §3.1.4.1.3.7 carrying
// cmcResponse (xsi:nil when nil), hresult (see the constants in this
// package), invalidRequest and requestID (xsi:nil when empty). req may be
// nil when the request could not be read; a:RelatesTo is then left out.
func Fault(req *Request, requestID string, hresult int32, reason string, invalidRequest bool, cmcResponse []byte) []byte {
	relatesTo := ""
	if req != nil {
		relatesTo = req.MessageID
	}
	if reason == "" {
		reason = "The certificate request failed."
	}
	doc, body := envelope(ActionFault, relatesTo)
	fault := body.CreateElement("s:Fault")
	code := "s:Receiver"
	if invalidRequest {
		code = "s:Sender"
	}
	fault.CreateElement("s:Code").CreateElement("s:Value").SetText(code)
	text := fault.CreateElement("s:Reason").CreateElement("s:Text")
	text.CreateAttr("xml:lang", "en-US")
	text.SetText(reason)
	detail := fault.CreateElement("s:Detail").CreateElement("CertificateEnrollmentWSDetail")
	detail.CreateAttr("xmlns", nsEnroll)
	detail.CreateAttr("xmlns:xsd", nsXSD)
	detail.CreateAttr("xmlns:xsi", nsXSI)
	br := detail.CreateElement("BinaryResponse")
	if len(cmcResponse) > 0 {
		br.SetText(base64.StdEncoding.EncodeToString(cmcResponse))
	} else {
		br.CreateAttr("xsi:nil", "true")
	}
	detail.CreateElement("ErrorCode").SetText(strconv.FormatInt(int64(hresult), 10))
	detail.CreateElement("InvalidRequest").SetText(strconv.FormatBool(invalidRequest))
	requestIDElement(detail, requestID)
	return write(doc)
}

// envelope starts a response: SOAP 1.2 Envelope, a:Action, a:RelatesTo
// (when the request had a MessageID), and the Body to fill.
func envelope(action, relatesTo string) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", nsSOAP)
	env.CreateAttr("xmlns:a", nsWSA)
	header := env.CreateElement("s:Header")
	a := header.CreateElement("a:Action")
	a.CreateAttr("s:mustUnderstand", "1")
	a.SetText(action)
	if relatesTo != "" {
		header.CreateElement("a:RelatesTo").SetText(relatesTo)
	}
	return doc, env.CreateElement("s:Body")
}

// responseCollection adds the RSTRC with its single RSTR (MS-WSTEP
// §3.1.4.1.3.5: exactly one) and the X509v3 TokenType, and returns the RSTR.
func responseCollection(body *etree.Element) *etree.Element {
	rstrc := body.CreateElement("RequestSecurityTokenResponseCollection")
	rstrc.CreateAttr("xmlns", nsWST)
	rstr := rstrc.CreateElement("RequestSecurityTokenResponse")
	rstr.CreateElement("TokenType").SetText(tokenTypeX509v3)
	return rstr
}

func disposition(rstr *etree.Element, msg string) {
	d := rstr.CreateElement("DispositionMessage")
	d.CreateAttr("xml:lang", "en-US")
	d.CreateAttr("xmlns", nsEnroll)
	d.SetText(msg)
}

// binaryToken adds a wsse:BinarySecurityToken of the given ValueType.
func binaryToken(parent *etree.Element, valueType string, der []byte) {
	t := parent.CreateElement("BinarySecurityToken")
	t.CreateAttr("ValueType", valueType)
	t.CreateAttr("EncodingType", encodingBase64)
	t.CreateAttr("xmlns", nsWSSE)
	t.SetText(base64.StdEncoding.EncodeToString(der))
}

// requestIDElement adds a wstep:RequestID, xsi:nil when id is empty. In a
// fault the enrollment namespace is already the default one.
func requestIDElement(parent *etree.Element, id string) {
	e := parent.CreateElement("RequestID")
	if parent.NamespaceURI() != nsEnroll {
		e.CreateAttr("xmlns", nsEnroll)
	}
	if id == "" {
		if parent.NamespaceURI() != nsEnroll {
			e.CreateAttr("xmlns:xsi", nsXSI)
		}
		e.CreateAttr("xsi:nil", "true")
		return
	}
	e.SetText(id)
}

func write(doc *etree.Document) []byte {
	doc.Indent(2)
	var buf bytes.Buffer
	// Writing to a bytes.Buffer cannot fail.
	_, _ = doc.WriteTo(&buf)
	return buf.Bytes()
}
