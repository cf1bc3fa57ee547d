package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/smallstep/pkcs7"
)

// soapEnvelope wraps body as Windows sends it: SOAP 1.2, WS-Addressing,
// and a UsernameToken when user is set.
func soapEnvelope(action, to, user, pass, body string) []byte {
	security := ""
	if user != "" {
		security = `<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
			`<wsse:UsernameToken><wsse:Username>` + user + `</wsse:Username>` +
			`<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">` + pass +
			`</wsse:Password></wsse:UsernameToken></wsse:Security>`
	}
	return []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">` +
		`<s:Header><a:Action s:mustUnderstand="1">` + action + `</a:Action><a:MessageID>urn:uuid:6a1b8e0c-41d4-4b55-9c1e-2f4a3b7c9d01</a:MessageID>` +
		`<a:To s:mustUnderstand="1">` + to + `</a:To>` + security + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
}

const (
	actionGetPolicies = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies"
	actionRST         = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep"
)

func getPoliciesBody() string {
	return `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client><requestFilter xsi:nil="true"/></GetPolicies>`
}

// rstBody is an Issue request carrying token (base64) with the ValueType
// Windows uses whatever the content.
func rstBody(token []byte) string {
	return `<RequestSecurityToken xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512">` +
		`<TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3</TokenType>` +
		`<RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</RequestType>` +
		`<BinarySecurityToken ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#PKCS7" ` +
		`EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary" ` +
		`xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` + base64.StdEncoding.EncodeToString(token) +
		`</BinarySecurityToken><RequestID xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment"/>` +
		`</RequestSecurityToken>`
}

func soapPost(t *testing.T, hc *http.Client, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := hc.Post(url, "application/soap+xml; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// templateNameExt is 1.3.6.1.4.1.311.20.2, the template name Windows puts
// in its requests, as a BMPString.
func templateNameExt(name string) pkix.Extension {
	u := utf16.Encode([]rune(name))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c>>8), byte(c)
	}
	v, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagBMPString, Bytes: b})
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}, Value: v}
}

func windowsCSR(t *testing.T, key *rsa.PrivateKey, template, cn string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn},
		ExtraExtensions: []pkix.Extension{templateNameExt(template)}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

var x509TokenRE = regexp.MustCompile(`ValueType="[^"]*#X509v3"[^>]*>([A-Za-z0-9+/=\s]+)<`)

// issuedCert reads the X509v3 token of an RSTRC.
func issuedCert(t *testing.T, status int, body string) *x509.Certificate {
	t.Helper()
	m := x509TokenRE.FindStringSubmatch(body)
	if status != 200 || m == nil || !strings.Contains(body, "RequestSecurityTokenResponseCollection") {
		t.Fatalf("HTTP %d, no issued certificate:\n%s", status, body)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWSTEP(t *testing.T) {
	s := startDev(t, t.TempDir())
	hc := s.httpClient(t)
	cep, ces, user, pass := s.ep.WSTEP.CEP, s.ep.WSTEP.CES, s.ep.WSTEP.Username, s.ep.WSTEP.Password

	t.Run("GetPolicies lists the templates", func(t *testing.T) {
		status, body := soapPost(t, hc, cep, soapEnvelope(actionGetPolicies, cep, user, pass, getPoliciesBody()))
		if status != 200 {
			t.Fatalf("HTTP %d:\n%s", status, body)
		}
		for _, want := range []string{"GetPoliciesResponse", ">User<", ">Machine<", ">WebServer<", ces, "<policyID>"} {
			if !strings.Contains(body, want) {
				t.Errorf("policy lacks %q", want)
			}
		}
		if status, body := soapPost(t, hc, cep, soapEnvelope(actionGetPolicies, cep, user, "wrong", getPoliciesBody())); status != 401 || !strings.Contains(body, "Fault") {
			t.Errorf("wrong password: HTTP %d %s", status, body)
		}
	})

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	var userCert *x509.Certificate
	t.Run("Issue: user template built from the directory, with the SID", func(t *testing.T) {
		status, body := soapPost(t, hc, ces, soapEnvelope(actionRST, ces, user, pass, rstBody(windowsCSR(t, key, "User", "ignored"))))
		userCert = issuedCert(t, status, body)
		if userCert.Subject.CommonName != "wstep-dev" {
			t.Errorf("subject %v", userCert.Subject)
		}
		var sid bool
		for _, e := range userCert.Extensions {
			sid = sid || (e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}) && bytes.Contains(e.Value, []byte("S-1-5-21-3623811015-3361044348-30300820-1013")))
		}
		if !sid {
			t.Error("no SID extension")
		}
		if len(userCert.EmailAddresses) != 1 || userCert.EmailAddresses[0] != "wstep-dev@certgate.test" {
			t.Errorf("SAN email %v", userCert.EmailAddresses)
		}
		if !strings.Contains(body, "RequestID") || !strings.Contains(body, "Issued") {
			t.Errorf("RSTR lacks RequestID or disposition:\n%s", body)
		}
	})

	t.Run("Issue: requester supplies the subject", func(t *testing.T) {
		status, body := soapPost(t, hc, ces, soapEnvelope(actionRST, ces, user, pass, rstBody(windowsCSR(t, key, "WebServer", "www.certgate.test"))))
		if c := issuedCert(t, status, body); c.Subject.CommonName != "www.certgate.test" {
			t.Errorf("subject %v", c.Subject)
		}
	})

	t.Run("renewal signed with the issued certificate needs no password", func(t *testing.T) {
		sd, err := pkcs7.NewSignedData(windowsCSR(t, key, "User", "ignored"))
		if err != nil {
			t.Fatal(err)
		}
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		if err := sd.AddSigner(userCert, key, pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
		token, _ := sd.Finish()
		status, body := soapPost(t, hc, ces, soapEnvelope(actionRST, ces, "", "", rstBody(token)))
		renewed := issuedCert(t, status, body)
		if renewed.SerialNumber.Cmp(userCert.SerialNumber) == 0 || renewed.Subject.String() != userCert.Subject.String() {
			t.Fatalf("renewal gave %v %v", renewed.SerialNumber, renewed.Subject)
		}
	})

	t.Run("renewal with the certificate as TLS client certificate", func(t *testing.T) {
		tr := hc.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{userCert.Raw}, PrivateKey: key}}
		withCert := &http.Client{Transport: tr}
		status, body := soapPost(t, withCert, ces, soapEnvelope(actionRST, ces, "", "", rstBody(windowsCSR(t, key, "User", "ignored"))))
		if renewed := issuedCert(t, status, body); renewed.Subject.String() != userCert.Subject.String() {
			t.Fatalf("renewal gave %v", renewed.Subject)
		}
	})

	t.Run("approval: pending, then QueryTokenStatus", func(t *testing.T) {
		s.admin("endpoints", "create", "--id", "wstep-held", "--protocol", "wstep", "--ca", "issuing", "--profile",
			"wstep-digital-signature-key-encipherment", "--auth", "none", "--require-approval")
		s.admin("templates", "add", "--endpoint", "wstep-held", "--name", "User", "--subject-from-directory")
		held := strings.Replace(ces, "/wstep/default/wstep/", "/wstep/default/wstep-held/", 1)
		status, body := soapPost(t, hc, held, soapEnvelope(actionRST, held, user, pass, rstBody(windowsCSR(t, key, "User", "x"))))
		m := regexp.MustCompile(`<RequestID[^>]*>([^<]+)</RequestID>`).FindStringSubmatch(body)
		if status != 200 || m == nil || !strings.Contains(body, "Taken Under Submission") || x509TokenRE.MatchString(body) {
			t.Fatalf("want pending with a RequestID: HTTP %d\n%s", status, body)
		}
		query := func() (int, string) {
			q := `<RequestSecurityToken xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512">` +
				`<TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3</TokenType>` +
				`<RequestType>http://schemas.microsoft.com/windows/pki/2009/01/enrollment/QueryTokenStatus</RequestType>` +
				`<RequestID xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">` + m[1] + `</RequestID></RequestSecurityToken>`
			return soapPost(t, hc, held, soapEnvelope(actionRST, held, user, pass, q))
		}
		if status, body := query(); status != 200 || x509TokenRE.MatchString(body) {
			t.Fatalf("before approval: HTTP %d\n%s", status, body)
		}
		s.admin("pending", "approve", m[1])
		status, body = query()
		if c := issuedCert(t, status, body); c.Subject.CommonName != "wstep-dev" {
			t.Fatalf("approved certificate %v", c.Subject)
		}
	})

	t.Run("refusals are SOAP faults", func(t *testing.T) {
		for name, tc := range map[string]struct {
			body   []byte
			status int
			want   string
		}{
			"wrong password":   {soapEnvelope(actionRST, ces, user, "wrong", rstBody(windowsCSR(t, key, "User", "x"))), 401, "CertificateEnrollmentWSDetail"},
			"no credentials":   {soapEnvelope(actionRST, ces, "", "", rstBody(windowsCSR(t, key, "User", "x"))), 401, "CertificateEnrollmentWSDetail"},
			"unknown template": {soapEnvelope(actionRST, ces, user, pass, rstBody(windowsCSR(t, key, "DomainController", "x"))), 500, "not offered"},
			"machine template": {soapEnvelope(actionRST, ces, user, pass, rstBody(windowsCSR(t, key, "Machine", "x"))), 500, "computers"},
			"garbage token":    {soapEnvelope(actionRST, ces, user, pass, rstBody([]byte("garbage"))), 500, "Fault"},
			"not SOAP":         {[]byte("<hello/>"), 500, "Fault"},
		} {
			status, body := soapPost(t, hc, ces, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s: HTTP %d, want %d with %q:\n%s", name, status, tc.status, tc.want, body)
			}
		}
	})
}
