package xcep

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRequest(t *testing.T) {
	tests := map[string]struct {
		file string
		want Request
	}{
		// [MS-XCEP] §4.1.1.1: first fetch with a UsernameToken.
		"ok/initial-usernametoken": {
			file: "getpolicies-initial.xml",
			want: Request{
				MessageID: "urn:uuid:0c7e3a52-6b1f-4d2e-9f0a-1e2d3c4b5a69",
				To:        "https://cep.example.test/ADPolicyProvider_CEP_UsernamePassword/service.svc/CEP",
				Username:  `EXAMPLE\alice`,
				Password:  "correct horse & battery",
			},
		},
		// [MS-XCEP] §4.1.2.1: a client that has fetched before.
		"ok/lastupdate": {
			file: "getpolicies-lastupdate.xml",
			want: Request{
				MessageID:  "urn:uuid:7d2f4b81-0e6a-4c39-b5d8-93a1f6e2c047",
				To:         "https://cep.example.test/ADPolicyProvider_CEP_Kerberos/service.svc/CEP",
				LastUpdate: time.Date(2026, 3, 15, 9, 38, 46, 0, time.UTC),
			},
		},
		"ok/nil-lastupdate-filter": {
			file: "getpolicies-nil-filter.xml",
			want: Request{
				MessageID:         "urn:uuid:e3b1c8d2-5a47-4f06-8c9b-2d7e1f0a6b53",
				To:                "https://cep.example.test/ADPolicyProvider_CEP_Certificate/service.svc/CEP",
				PreferredLanguage: "en-US",
				PolicyOIDs:        []string{"1.3.6.1.4.1.311.21.8.1111.2222.3333.4444.5555.66.1.7"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRequest(readFixture(t, tc.file))
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// request builds a GetPolicies envelope from a header and a client body.
func request(header, getPolicies string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"` +
		` xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"` +
		` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<s:Header>` + header + `</s:Header><s:Body>` + getPolicies + `</s:Body></s:Envelope>`
}

const (
	actionHeader = `<a:Action s:mustUnderstand="1">` + ActionGetPolicies + `</a:Action><a:MessageID>urn:uuid:1</a:MessageID>`
	plainBody    = `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">` +
		`<client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client><requestFilter xsi:nil="true"/></GetPolicies>`
)

func bodyWithLastUpdate(v string) string {
	return strings.Replace(plainBody, `<lastUpdate xsi:nil="true"/>`, `<lastUpdate>`+v+`</lastUpdate>`, 1)
}

func usernameToken(passwordAttr string) string {
	return actionHeader + `<o:Security s:mustUnderstand="1"><o:UsernameToken><o:Username>bob</o:Username>` +
		`<o:Password` + passwordAttr + `>secret</o:Password></o:UsernameToken></o:Security>`
}

func TestParseRequestSmallCases(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Request
	}{
		"ok/minimal": {
			in:   request(actionHeader, plainBody),
			want: Request{MessageID: "urn:uuid:1"},
		},
		"ok/password-type-absent-means-text": {
			in:   request(usernameToken(""), plainBody),
			want: Request{MessageID: "urn:uuid:1", Username: "bob", Password: "secret"},
		},
		"ok/lastupdate-with-zone": {
			in:   request(actionHeader, bodyWithLastUpdate("2026-03-15T10:38:46.25+01:00")),
			want: Request{MessageID: "urn:uuid:1", LastUpdate: time.Date(2026, 3, 15, 9, 38, 46, 250e6, time.UTC)},
		},
		"ok/lastupdate-zero-is-zero": {
			in:   request(actionHeader, bodyWithLastUpdate("0001-01-01T00:00:00")),
			want: Request{MessageID: "urn:uuid:1"},
		},
		"ok/security-without-token": {
			in:   request(actionHeader+`<o:Security s:mustUnderstand="1"/>`, plainBody),
			want: Request{MessageID: "urn:uuid:1"},
		},
		"ok/xml-declaration": {
			in:   `<?xml version="1.0" encoding="utf-8"?>` + request(actionHeader, plainBody),
			want: Request{MessageID: "urn:uuid:1"},
		},
		"ok/client-only": {
			in: request(actionHeader, `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">`+
				`<client><preferredLanguage> de-DE </preferredLanguage><extra/></client></GetPolicies>`),
			want: Request{MessageID: "urn:uuid:1", PreferredLanguage: "de-DE"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// badRequests are inputs ParseRequest must refuse, with a fragment of the
// expected message. They also seed FuzzParseRequest.
var badRequests = map[string]struct {
	in      string
	wantErr string
	is      error // if set, the error must match with errors.Is
}{
	"fail/soap11": {
		in:      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`,
		wantErr: "not a SOAP 1.2 envelope",
		is:      ErrVersionMismatch,
	},
	"fail/not-an-envelope": {
		in:      `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"/>`,
		wantErr: "not a SOAP 1.2 envelope",
		is:      ErrVersionMismatch,
	},
	"fail/wrong-action": {
		in:      request(`<a:Action>http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/KET</a:Action>`, plainBody),
		wantErr: "unsupported a:Action",
	},
	"fail/missing-action": {
		in:      request(`<a:MessageID>urn:uuid:1</a:MessageID>`, plainBody),
		wantErr: "missing a:Action",
	},
	"fail/no-header": {
		in:      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` + plainBody + `</s:Body></s:Envelope>`,
		wantErr: "missing a:Action",
	},
	"fail/action-twice": {
		in:      request(actionHeader+`<a:Action>`+ActionGetPolicies+`</a:Action>`, plainBody),
		wantErr: "more than once",
	},
	"fail/action-in-wrong-namespace": {
		in:      request(`<Action xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">`+ActionGetPolicies+`</Action>`, plainBody),
		wantErr: "missing a:Action",
	},
	"fail/doctype": {
		in:      `<!DOCTYPE s:Envelope [<!ENTITY x "y">]>` + request(actionHeader, plainBody),
		wantErr: "DOCTYPE",
	},
	"fail/undeclared-entity": {
		in:      request(actionHeader, strings.Replace(plainBody, "<client>", "<client>&x;", 1)),
		wantErr: "malformed XML",
	},
	"fail/processing-instruction": {
		in:      request(actionHeader+`<?php echo 1 ?>`, plainBody),
		wantErr: "processing instructions",
	},
	"fail/malformed": {
		in:      request(actionHeader, plainBody)[:200],
		wantErr: "malformed XML",
	},
	"fail/mismatched-tags": {
		in:      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body></s:Header></s:Envelope>`,
		wantErr: "malformed XML",
	},
	"fail/two-roots": {
		in:      request(actionHeader, plainBody) + `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>`,
		wantErr: "exactly one root",
	},
	"fail/latin1": {
		in:      `<?xml version="1.0" encoding="ISO-8859-1"?>` + request(actionHeader, plainBody),
		wantErr: "UTF-8",
	},
	"fail/password-digest": {
		in:      request(usernameToken(` Type="`+passwordDigest+`"`), plainBody),
		wantErr: "PasswordDigest is not supported",
	},
	"fail/password-type-unknown": {
		in:      request(usernameToken(` Type="urn:example:otp"`), plainBody),
		wantErr: "unknown UsernameToken password type",
	},
	"fail/username-without-password": {
		in:      request(actionHeader+`<o:Security><o:UsernameToken><o:Username>bob</o:Username></o:UsernameToken></o:Security>`, plainBody),
		wantErr: "needs a Username and a Password",
	},
	"fail/must-understand": {
		in:      request(actionHeader+`<x:Route xmlns:x="urn:example" s:mustUnderstand="1"/>`, plainBody),
		wantErr: "urn:example}Route",
		is:      ErrMustUnderstand,
	},
	"fail/reply-to-not-anonymous": {
		in:      request(actionHeader+`<a:ReplyTo><a:Address>https://attacker.example/</a:Address></a:ReplyTo>`, plainBody),
		wantErr: "only the anonymous address",
	},
	"fail/no-body": {
		in:      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/></s:Envelope>`,
		wantErr: "no s:Body",
	},
	"fail/body-before-header": {
		in:      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/><s:Header/></s:Envelope>`,
		wantErr: "unexpected element s:Header",
	},
	"fail/empty-body": {
		in:      request(actionHeader, ""),
		wantErr: "does not hold an xcep:GetPolicies",
	},
	"fail/wrong-body-element": {
		in:      request(actionHeader, `<RequestSecurityToken xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512"/>`),
		wantErr: "does not hold an xcep:GetPolicies",
	},
	"fail/two-body-elements": {
		in:      request(actionHeader, plainBody+plainBody),
		wantErr: "exactly one element",
	},
	"fail/no-client": {
		in:      request(actionHeader, `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"/>`),
		wantErr: "no client element",
	},
	"fail/nil-client": {
		in:      request(actionHeader, `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"><client xsi:nil="true"/></GetPolicies>`),
		wantErr: "no client element",
	},
	// The value printed in [MS-XCEP] §4.1.2.1 is not an xs:dateTime.
	"fail/spec-example-lastupdate": {
		in:      request(actionHeader, bodyWithLastUpdate("20090-03-15-T09:38:46")),
		wantErr: "is not an xs:dateTime",
	},
	"fail/lastupdate-with-element": {
		in:      request(actionHeader, bodyWithLastUpdate("<b>2026-01-01T00:00:00</b>")),
		wantErr: "must hold text",
	},
	"fail/bad-filter-oid": {
		in: request(actionHeader, `<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">`+
			`<client/><requestFilter><policyOIDs><oid>1.3.6.01</oid></policyOIDs></requestFilter></GetPolicies>`),
		wantErr: "not a dotted OID",
	},
	"fail/too-deep": {
		in:      request(actionHeader, strings.Repeat("<x>", 100)+strings.Repeat("</x>", 100)),
		wantErr: "malformed XML",
	},
}

func TestParseRequestErrors(t *testing.T) {
	for name, tc := range badRequests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.in))
			if err == nil {
				t.Fatalf("got %+v, want an error containing %q", got, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %q, want it to contain %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "xcep: ") {
				t.Errorf("got error %q, want the xcep: prefix", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got error %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	tests := map[string]struct {
		in   string
		want time.Time
		ok   bool
	}{
		"ok/no-zone-is-utc":  {"2026-03-15T09:38:46", time.Date(2026, 3, 15, 9, 38, 46, 0, time.UTC), true},
		"ok/z":               {"2026-03-15T09:38:46Z", time.Date(2026, 3, 15, 9, 38, 46, 0, time.UTC), true},
		"ok/fraction":        {"2026-03-15T09:38:46.1234567", time.Date(2026, 3, 15, 9, 38, 46, 123456700, time.UTC), true},
		"ok/offset":          {"2026-03-15T00:00:00-05:00", time.Date(2026, 3, 15, 5, 0, 0, 0, time.UTC), true},
		"ok/zero":            {"0001-01-01T00:00:00", time.Time{}, true},
		"fail/date-only":     {"2026-03-15", time.Time{}, false},
		"fail/spec-typo":     {"20090-03-15-T09:38:46", time.Time{}, false},
		"fail/empty":         {"", time.Time{}, false},
		"fail/month-13":      {"2026-13-01T00:00:00", time.Time{}, false},
		"fail/trailing-junk": {"2026-03-15T09:38:46Zjunk", time.Time{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseDateTime(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("got error %v, want ok=%v", err, tc.ok)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("got %v, want %v in UTC", got, tc.want)
			}
		})
	}
}

// FuzzParseRequest checks that ParseRequest never panics and that whatever
// it accepts can be answered: the reply is well-formed and relates to the
// request's MessageID.
func FuzzParseRequest(f *testing.F) {
	for _, name := range []string{"getpolicies-initial.xml", "getpolicies-lastupdate.xml", "getpolicies-nil-filter.xml"} {
		f.Add(readFixture(f, name))
	}
	for _, tc := range badRequests {
		f.Add([]byte(tc.in))
	}
	policy := testPolicy(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseRequest(b)
		if err != nil {
			return
		}
		out, err := BuildResponse(req, policy)
		if err != nil {
			t.Fatalf("BuildResponse after a successful parse: %v", err)
		}
		doc := mustParse(t, out)
		if got := relatesTo(doc); got != req.MessageID {
			t.Errorf("a:RelatesTo is %q, want %q", got, req.MessageID)
		}
		if fault := BuildFault(req.MessageID, CodeSender, "x"); relatesTo(mustParse(t, fault)) != req.MessageID {
			t.Errorf("fault does not relate to %q", req.MessageID)
		}
	})
}
