package wstepmsg_test

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/smallstep/pkcs7"

	"github.com/certgate/certgate/services/wstep/wstepmsg"
)

// want is what a parsed request must say; zero fields are not checked
// unless noted.
type want struct {
	messageID, to     string
	typ               wstepmsg.RequestType
	kind              wstepmsg.TokenKind
	signer            *x509.Certificate // checked always: nil means no signer
	signerCN          string            // instead of signer, for fixed fixtures
	csrCN             string
	bodyPartID        int
	requestID         string
	username, passwd  string
	context           map[string]string
	template, tmplOID string
}

func check(t *testing.T, req *wstepmsg.Request, w want) {
	t.Helper()
	eq := func(field, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if w.messageID != "" {
		eq("MessageID", req.MessageID, w.messageID)
	}
	eq("To", req.To, w.to)
	if req.Type != w.typ {
		t.Errorf("Type = %v, want %v", req.Type, w.typ)
	}
	if req.TokenKind != w.kind {
		t.Errorf("TokenKind = %v, want %v", req.TokenKind, w.kind)
	}
	switch {
	case w.signerCN != "":
		if req.Signer == nil {
			t.Errorf("Signer = nil, want %q", w.signerCN)
		} else {
			eq("Signer CN", req.Signer.Subject.CommonName, w.signerCN)
		}
	case w.signer == nil && req.Signer != nil:
		t.Errorf("Signer = %v, want nil", req.Signer.Subject)
	case w.signer != nil && (req.Signer == nil || !req.Signer.Equal(w.signer)):
		t.Errorf("Signer = %v, want %v", req.Signer, w.signer.Subject)
	}
	if w.kind == wstepmsg.NoToken {
		if req.Token != nil || req.CSR != nil {
			t.Errorf("Token/CSR set on a request without a token")
		}
	} else {
		if req.CSR == nil {
			t.Fatalf("CSR = nil")
		}
		if w.csrCN != "" {
			eq("CSR CN", req.CSR.Subject.CommonName, w.csrCN)
		}
	}
	wantBP := w.bodyPartID
	if wantBP == 0 {
		wantBP = 1
	}
	if req.BodyPartID != wantBP {
		t.Errorf("BodyPartID = %d, want %d", req.BodyPartID, wantBP)
	}
	eq("RequestID", req.RequestID, w.requestID)
	eq("Username", req.Username, w.username)
	eq("Password", req.Password, w.passwd)
	eq("TemplateName", req.TemplateName, w.template)
	eq("TemplateOID", req.TemplateOID, w.tmplOID)
	if len(req.Context) != len(w.context) {
		t.Errorf("Context = %v, want %v", req.Context, w.context)
	}
	for k, v := range w.context {
		eq("Context["+k+"]", req.Context[k], v)
	}
}

func TestParseRequest(t *testing.T) {
	p := newPKI(t)
	reqKey := newKey(t)
	csr := makeCSR(t, reqKey, "client.example.test")
	templated := makeCSR(t, reqKey, "web.example.test",
		templateExtensions(t, "WebServer", asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 8, 1, 2, 3}, 100, 4)...)
	selfSigned := makeCert(t, "client.example.test", 9, reqKey.Public(), nil, reqKey, false)
	ski := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}

	// CMC signed the way smallstep/pkcs7 would, by a self-signed
	// certificate of the request key.
	cmcSelfSigned := func() []byte {
		sd, err := pkcs7.NewSignedData(pkiData(t, 7, nil, csr))
		if err != nil {
			t.Fatal(err)
		}
		sd.GetSignedData().ContentInfo.ContentType = oidPKIData
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		if err := sd.AddSigner(selfSigned, reqKey, pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
		der, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}()

	tests := map[string]struct {
		body []byte
		want want
	}{
		"ok/spec-4.1.1.1-bare-pkcs10-with-pkcs7-valuetype": {
			body: readFile(t, "spec-4.1.1.1-issue.xml"),
			want: want{messageID: "urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919", typ: wstepmsg.Issue,
				kind: wstepmsg.PKCS10, template: "User"},
		},
		"ok/spec-4.1.2.1-ket": {
			body: readFile(t, "spec-4.1.2.1-ket.xml"),
			want: want{messageID: "urn:uuid:c2884a79-b943-45c6-ac02-7256071de309", typ: wstepmsg.KET},
		},
		"ok/spec-4.1.3.1-query-token-status": {
			body: readFile(t, "spec-4.1.3.1-query.xml"),
			want: want{messageID: "urn:uuid:ce330bb2-0ca2-473b-a29a-19e9264666ff", typ: wstepmsg.QueryTokenStatus, requestID: "65"},
		},
		"ok/spec-4.1.5.1-windows-renewal": {
			// A real Windows renewal: SHA-1/RSA SignerInfo without signed
			// attributes, by the certificate being renewed.
			body: readFile(t, "spec-4.1.5.1-renewal.xml"),
			want: want{messageID: "urn:uuid:b0a9b388-2581-451d-8c03-270d4ffe2928", typ: wstepmsg.Issue,
				kind: wstepmsg.PKCS7, signerCN: "abby", template: "User"},
		},
		"ok/cepces-pkcs10": {
			body: fill(t, "cepces-issue.xml", csr, ""),
			want: want{messageID: "urn:uuid:0d6cbe2e-8f7a-4f3b-a1c9-52e7d4b0c611",
				to:  "https://ces.example.test/Example-CA_CES_Kerberos/service.svc/CES",
				typ: wstepmsg.Issue, kind: wstepmsg.PKCS10, csrCN: "client.example.test"},
		},
		"ok/username-token-and-context": {
			body: fill(t, "usernametoken-issue.xml", csr, ""),
			want: want{to: "https://ces.example.test/Example-CA_CES_UsernamePassword/service.svc/CES",
				typ: wstepmsg.Issue, kind: wstepmsg.PKCS10, username: `EXAMPLE\alice`, passwd: "p&ss w0rd",
				context:  map[string]string{"ccm": "client.example.test", "rmd": `EXAMPLE\client$`, "CertificateTemplate": "WebServer"},
				template: "WebServer"},
		},
		"ok/template-extensions-win-over-context": {
			body: fill(t, "usernametoken-issue.xml", templated, ""),
			want: want{to: "https://ces.example.test/Example-CA_CES_UsernamePassword/service.svc/CES",
				typ: wstepmsg.Issue, kind: wstepmsg.PKCS10, username: `EXAMPLE\alice`, passwd: "p&ss w0rd",
				context:  map[string]string{"ccm": "client.example.test", "rmd": `EXAMPLE\client$`, "CertificateTemplate": "WebServer"},
				template: "WebServer", tmplOID: "1.3.6.1.4.1.311.21.8.1.2.3"},
		},
		"ok/renewal-pkcs7-signed-by-old-certificate": {
			body: fill(t, "windows-issue.xml", renewalPKCS7(t, csr, p.old, p.oldKey), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.PKCS7, signer: p.old, csrCN: "client.example.test"},
		},
		"ok/cmc-signed-by-self-signed-request-certificate": {
			body: fill(t, "windows-issue.xml", cmcSelfSigned, valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC, bodyPartID: 7, csrCN: "client.example.test"},
		},
		"ok/cmc-signed-with-request-key-by-ski": {
			body: fill(t, "windows-issue.xml",
				signCMS(t, oidPKIData, pkiData(t, 1, nil, csr), nil, cmsSigner{ski: ski, key: reqKey}), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC},
		},
		"ok/cmc-no-signature-mechanism": {
			body: fill(t, "windows-issue.xml",
				signCMS(t, oidPKIData, pkiData(t, 1, nil, csr), nil, cmsSigner{ski: ski, noSignature: true}), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC},
		},
		"ok/cmc-renewal-request-key-then-old-certificate": {
			// [MS-WCCE] §3.1.1.4.3.2.2: first SignerInfo by the request
			// key, second by the certificate being renewed.
			body: fill(t, "windows-issue.xml",
				signCMS(t, oidPKIData, pkiData(t, 1, nil, csr), []*x509.Certificate{p.old},
					cmsSigner{ski: ski, key: reqKey}, cmsSigner{cert: p.old, key: p.oldKey}), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC, signer: p.old},
		},
		"ok/cmc-template-from-reginfo": {
			body: fill(t, "windows-issue.xml",
				signCMS(t, oidPKIData, pkiData(t, 3, []control{regInfo(2, "ccm=client&CertificateTemplate=Workstation")}, csr),
					nil, cmsSigner{ski: ski, key: reqKey}), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC, bodyPartID: 3, template: "Workstation"},
		},
		"ok/cmc-template-oid-from-name-value-pair": {
			body: fill(t, "windows-issue.xml",
				signCMS(t, oidPKIData, pkiData(t, 1, []control{nameValuePair(2, "certificatetemplate", "1.3.6.1.4.1.311.21.8.9.8")}, csr),
					nil, cmsSigner{ski: ski, key: reqKey}), valueTypePKCS7),
			want: want{typ: wstepmsg.Issue, kind: wstepmsg.CMC, tmplOID: "1.3.6.1.4.1.311.21.8.9.8"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := wstepmsg.ParseRequest(tc.body)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			check(t, req, tc.want)
		})
	}
}

// The kind comes from the DER: whatever ValueType says, each token is
// read as what it is.
func TestTokenKindIgnoresValueType(t *testing.T) {
	p := newPKI(t)
	key := newKey(t)
	csr := makeCSR(t, key, "client.example.test")
	tokens := map[wstepmsg.TokenKind][]byte{
		wstepmsg.PKCS10: csr,
		wstepmsg.PKCS7:  renewalPKCS7(t, csr, p.old, p.oldKey),
		wstepmsg.CMC:    signCMS(t, oidPKIData, pkiData(t, 1, nil, csr), nil, cmsSigner{ski: []byte{1}, key: key}),
	}
	valueTypes := []string{valueTypePKCS7, valueTypePKCS10, "urn:example:nonsense", ""}
	for kind, token := range tokens {
		for _, vt := range valueTypes {
			req, err := wstepmsg.ParseRequest(fill(t, "windows-issue.xml", token, vt))
			if err != nil {
				t.Fatalf("%v with ValueType %q: %v", kind, vt, err)
			}
			if req.TokenKind != kind {
				t.Errorf("ValueType %q: TokenKind = %v, want %v", vt, req.TokenKind, kind)
			}
			if !bytes.Equal(req.Token, token) {
				t.Errorf("ValueType %q: Token is not the decoded BinarySecurityToken", vt)
			}
			if req.CSR == nil || !bytes.Equal(req.CSR.Raw, csr) {
				t.Errorf("%v: CSR is not the PKCS#10 inside", kind)
			}
		}
	}
}

func TestParseRequestRejects(t *testing.T) {
	p := newPKI(t)
	reqKey := newKey(t)
	csr := makeCSR(t, reqKey, "client.example.test")
	renewal := renewalPKCS7(t, csr, p.old, p.oldKey)
	stranger := newPKI(t)
	issue := string(readFile(t, "spec-4.1.1.1-issue.xml"))
	windows := func(token []byte) string { return string(fill(t, "windows-issue.xml", token, valueTypePKCS7)) }

	// A renewal whose signature was made by another key than the one in
	// the certificate it names.
	wrongKey := renewalPKCS7(t, csr, p.old, stranger.oldKey)
	// A renewal whose signature bytes were altered.
	tampered := renewalPKCS7(t, csr, p.old, p.oldKey)
	parsed, err := pkcs7.Parse(tampered)
	if err != nil {
		t.Fatal(err)
	}
	sig := parsed.Signers[0].EncryptedDigest
	i := bytes.Index(tampered, sig)
	tampered[i+len(sig)/2] ^= 0xff
	// A renewal whose content was altered after signing (same length).
	altered := bytes.Clone(renewal)
	j := bytes.Index(altered, []byte("client.example.test"))
	altered[j] = 'C'
	unsigned := signCMS(t, oidData, csr, nil)
	missingCert := signCMS(t, oidData, csr, nil, cmsSigner{cert: p.old, key: p.oldKey})
	badTemplate := makeCSR(t, reqKey, "x", templateExtensionsRaw(asn1.RawValue{Tag: asn1.TagInteger, Bytes: []byte{1}}))

	tests := map[string]struct {
		body    string
		hresult int32
		reason  string
	}{
		"fail/not-xml":          {body: "not xml at all <", reason: "malformed XML"},
		"fail/doctype":          {body: `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x "y">]>` + issue, reason: "DOCTYPE"},
		"fail/soap11":           {body: strings.ReplaceAll(issue, "http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"), reason: "SOAP 1.1"},
		"fail/not-an-envelope":  {body: `<Envelope/>`, reason: "not a SOAP 1.2 Envelope"},
		"fail/two-roots":        {body: issue + issue, reason: "more than one root"},
		"fail/wrong-action":     {body: strings.Replace(issue, "enrollment/RST/wstep", "enrollmentpolicy/IPolicy/GetPolicies", 1), reason: "unsupported action"},
		"fail/no-action":        {body: strings.Replace(issue, `<a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep</a:Action>`, "", 1), reason: "no WS-Addressing Action"},
		"fail/unknown-type":     {body: strings.Replace(issue, "200512/Issue", "200512/Renew", 1), reason: "unsupported RequestType"},
		"fail/ket-type-on-rst":  {body: strings.Replace(issue, "200512/Issue", "200512/KET", 1), reason: "does not match action"},
		"fail/wrong-token-type": {body: strings.Replace(issue, "#X509v3", "#SAML", 1), reason: "TokenType"},
		"fail/not-base64":       {body: strings.Replace(windows([]byte{0x30, 0}), "MAA=", "%%%not base64%%%", 1), reason: "not base64"},
		"fail/garbage-token":    {body: windows([]byte("this is not DER at all")), reason: "not DER"},
		"fail/der-not-request":  {body: windows(p.ca.Raw), reason: "neither a PKCS#10"},
		"fail/no-token":         {body: strings.ReplaceAll(windows(csr), "BinarySecurityToken", "Other"), reason: "without a BinarySecurityToken"},
		"fail/query-without-id": {body: strings.Replace(string(readFile(t, "spec-4.1.3.1-query.xml")), ">65<", "><", 1), reason: "without a RequestID"},
		"fail/ket-without-requestket": {
			body: strings.Replace(string(readFile(t, "spec-4.1.2.1-ket.xml")), "<RequestKET />", "", 1), reason: "without RequestKET"},
		"fail/password-digest": {
			body:   strings.Replace(string(fill(t, "usernametoken-issue.xml", csr, "")), "#PasswordText", "#PasswordDigest", 1),
			reason: "PasswordDigest"},
		"fail/must-understand": {
			body:   strings.Replace(issue, "<a:ReplyTo>", `<x:Extra s:mustUnderstand="true" xmlns:x="urn:example"/><a:ReplyTo>`, 1),
			reason: "must be understood"},
		"fail/pkcs7-signed-with-wrong-key": {body: windows(wrongKey), hresult: wstepmsg.NTEBadSignature, reason: "does not verify"},
		"fail/pkcs7-signature-tampered":    {body: windows(tampered), hresult: wstepmsg.NTEBadSignature, reason: "does not verify"},
		"fail/pkcs7-content-altered":       {body: windows(altered), hresult: wstepmsg.NTEBadSignature, reason: "messageDigest"},
		"fail/pkcs7-unsigned":              {body: windows(unsigned), hresult: wstepmsg.CryptENoSigner, reason: "not signed"},
		"fail/pkcs7-signer-cert-missing":   {body: windows(missingCert), reason: "certificate is not in the SignedData"},
		"fail/cmc-ski-signed-by-other-key": {
			body:    windows(signCMS(t, oidPKIData, pkiData(t, 1, nil, csr), nil, cmsSigner{ski: []byte{1}, key: stranger.oldKey})),
			hresult: wstepmsg.NTEBadSignature, reason: "does not verify"},
		"fail/cmc-two-requests": {
			body:   windows(signCMS(t, oidPKIData, pkiData(t, 1, nil, csr, csr), nil, cmsSigner{ski: []byte{1}, key: reqKey})),
			reason: "exactly one"},
		"fail/cmc-crmf": {
			body:   windows(signCMS(t, oidPKIData, crmfPKIData(t), nil, cmsSigner{ski: []byte{1}, key: reqKey})),
			reason: "CRMF"},
		"fail/cms-other-content-type": {
			body:   windows(signCMS(t, asn1.ObjectIdentifier{1, 2, 3}, csr, nil, cmsSigner{ski: []byte{1}, key: reqKey})),
			reason: "neither data nor id-cct-PKIData"},
		"fail/malformed-template-extension": {body: windows(badTemplate), reason: "template"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := wstepmsg.ParseRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("ParseRequest = %+v, want an error", req)
			}
			var rerr *wstepmsg.RequestError
			if !errors.As(err, &rerr) {
				t.Fatalf("error %T is not a *RequestError: %v", err, err)
			}
			want := tc.hresult
			if want == 0 {
				want = wstepmsg.ErrorInvalidData
			}
			if rerr.HResult != want {
				t.Errorf("HResult = %#x, want %#x (%v)", uint32(rerr.HResult), uint32(want), err)
			}
			if !strings.Contains(rerr.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to mention %q", rerr.Reason, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), "wstepmsg: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// A refusal after the header was read still names the message, so the
// fault can relate to it.
func TestRequestErrorKeepsMessageID(t *testing.T) {
	body := strings.Replace(string(readFile(t, "spec-4.1.1.1-issue.xml")), "200512/Issue", "200512/Cancel", 1)
	_, err := wstepmsg.ParseRequest([]byte(body))
	var rerr *wstepmsg.RequestError
	if !errors.As(err, &rerr) {
		t.Fatalf("err = %v, want a *RequestError", err)
	}
	if rerr.MessageID != "urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919" {
		t.Errorf("MessageID = %q", rerr.MessageID)
	}
}

// templateExtensionsRaw is a template-info extension with an arbitrary
// (here malformed) value.
func templateExtensionsRaw(v asn1.RawValue) pkix.Extension {
	der, _ := asn1.Marshal(v)
	return pkix.Extension{Id: oidTemplateInfo, Value: der}
}

// crmfPKIData is a PKIData whose only request is CRMF (crm [1]).
func crmfPKIData(t *testing.T) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Controls []control
		Requests []asn1.RawValue
		CMS      []asn1.RawValue
		Other    []asn1.RawValue
	}{[]control{}, []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: []byte{0x02, 0x01, 0x01}}},
		[]asn1.RawValue{}, []asn1.RawValue{}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Client text quoted in a Reason is cut short.
func TestReasonClipsClientText(t *testing.T) {
	long := strings.Repeat("é", 5000)
	body := strings.Replace(string(readFile(t, "spec-4.1.1.1-issue.xml")), "200512/Issue", "200512/"+long, 1)
	_, err := wstepmsg.ParseRequest([]byte(body))
	var rerr *wstepmsg.RequestError
	if !errors.As(err, &rerr) {
		t.Fatalf("err = %v, want a *RequestError", err)
	}
	if len(rerr.Reason) > 200 || !strings.HasSuffix(rerr.Reason, `…"`) {
		t.Errorf("Reason is %d bytes: %.80q", len(rerr.Reason), rerr.Reason)
	}
}
