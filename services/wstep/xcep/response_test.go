package xcep

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	userTemplateOID     = "1.3.6.1.4.1.311.21.8.1111.2222.3333.4444.5555.66.1.7"
	computerTemplateOID = "1.3.6.1.4.1.311.21.8.1111.2222.3333.4444.5555.66.1.8"
)

var (
	policyLastUpdate   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oidServerAuth      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidEmailProtection = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
)

func testCA(t testing.TB) []byte {
	t.Helper()
	block, _ := pem.Decode(readFixture(t, "ca.pem"))
	if block == nil {
		t.Fatal("testdata/ca.pem holds no PEM block")
	}
	return block.Bytes
}

// testPolicy is a policy shaped like an ADCS one: a schema 2 user template
// with a legacy CSP, and a schema 3 machine template with CNG algorithms,
// issued by two CAs.
func testPolicy(t testing.TB) *Policy {
	ca := testCA(t)
	userEKU := []asn1.ObjectIdentifier{oidClientAuth, oidEmailProtection}
	machineEKU := []asn1.ObjectIdentifier{oidServerAuth, oidClientAuth}
	return &Policy{
		ID:              "{5B1D2F0E-7C3A-4E8B-9A61-0F2D4C6E8A10}",
		FriendlyName:    "certgate Enrollment Policy",
		NextUpdateHours: 8,
		LastUpdate:      policyLastUpdate,
		Templates: []Template{{
			CommonName:       "certgateUser",
			OID:              userTemplateOID,
			DisplayName:      "certgate User",
			SchemaVersion:    2,
			MajorRevision:    100,
			MinorRevision:    3,
			ValidityPeriod:   365 * 24 * time.Hour,
			RenewalPeriod:    42 * 24 * time.Hour,
			Enroll:           true,
			AutoEnroll:       true,
			MinimalKeyLength: 2048,
			KeySpec:          KeySpecExchange,
			CryptoProviders:  []string{"Microsoft Enhanced Cryptographic Provider v1.0", "Microsoft Base Cryptographic Provider v1.0"},
			PrivateKeyFlags:  PrivateKeyExportable,
			SubjectNameFlags: SubjectNameRequireCommonName | SubjectAltNameRequireUPN | SubjectAltNameRequireEmail,
			EnrollmentFlags:  EnrollmentIncludeSymmetricAlgorithms | EnrollmentPublishToDS,
			Extensions: []Extension{
				KeyUsageExtension(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment),
				EKUExtension(userEKU),
				ApplicationPoliciesExtension(userEKU),
				TemplateInfoExtension(userTemplateOID, 100, 3),
			},
			CAs: []int{0},
		}, {
			CommonName:       "certgateComputer",
			OID:              computerTemplateOID,
			SchemaVersion:    3,
			MajorRevision:    2,
			ValidityPeriod:   90 * 24 * time.Hour,
			RenewalPeriod:    30 * 24 * time.Hour,
			Enroll:           true,
			AutoEnroll:       true,
			MinimalKeyLength: 256,
			KeyUsageProperty: 2, // NCRYPT_ALLOW_SIGNING_FLAG
			AlgorithmOID:     "1.2.840.10045.2.1",
			HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
			SubjectNameFlags: SubjectAltNameRequireDNS | SubjectNameRequireDNSAsCN,
			EnrollmentFlags:  EnrollmentPreviousApprovalValidateReenrollment,
			GeneralFlags:     GeneralMachineType,
			Extensions: []Extension{
				KeyUsageExtension(x509.KeyUsageDigitalSignature),
				EKUExtension(machineEKU),
				ApplicationPoliciesExtension(machineEKU),
				TemplateInfoExtension(computerTemplateOID, 2, 0),
			},
			CAs: []int{1, 0},
		}},
		CAs: []CA{{
			Certificate:      ca,
			EnrollPermission: true,
			URIs: []CAURI{
				{ClientAuthentication: AuthCertificate, URI: "https://ces.example.test/certgate_CES_Certificate/service.svc/CES", Priority: 1},
				{ClientAuthentication: AuthUsernamePassword, URI: "https://ces.example.test/certgate_CES_UsernamePassword/service.svc/CES", Priority: 1},
				{ClientAuthentication: AuthKerberos, URI: "https://ces.example.test/certgate_CES_Kerberos/service.svc/CES", Priority: 1},
			},
		}, {
			Certificate: ca,
			URIs: []CAURI{
				{ClientAuthentication: AuthAnonymous, URI: "https://ces2.example.test/certgate_CES_Certificate/service.svc/CES", Priority: 2, RenewalOnly: true},
			},
		}},
	}
}

func mustParse(t testing.TB, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("output is not well-formed XML: %v\n%s", err, b)
	}
	return doc
}

func relatesTo(doc *etree.Document) string {
	if e := doc.FindElement("/s:Envelope/s:Header/a:RelatesTo"); e != nil {
		return e.Text()
	}
	return ""
}

// checkGolden compares out with testdata/name. The file holds out indented,
// so that a change reads as a diff; removing the indentation must give out
// byte for byte.
func checkGolden(t *testing.T, name string, out []byte) {
	t.Helper()
	doc := mustParse(t, out)
	doc.Indent(2)
	pretty, err := serialize(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff)\ngot:\n%s", path, pretty)
	}
	doc = mustParse(t, want)
	doc.Unindent()
	compact, err := serialize(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact, out) {
		t.Errorf("%s without indentation is not the exact output\nfile: %s\nout:  %s", path, compact, out)
	}
}

func TestBuildResponseGolden(t *testing.T) {
	// Each request fixture is answered by the golden file of the same name.
	for _, name := range []string{"getpolicies-initial", "getpolicies-lastupdate", "getpolicies-nil-filter"} {
		t.Run(name, func(t *testing.T) {
			req, err := ParseRequest(readFixture(t, name+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := BuildResponse(req, testPolicy(t))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+".golden", out)
		})
	}
	t.Run("fault-sender", func(t *testing.T) {
		checkGolden(t, "fault-sender.golden", BuildFault("urn:uuid:0c7e3a52-6b1f-4d2e-9f0a-1e2d3c4b5a69", CodeSender, "The request is not a GetPolicies request."))
	})
}

// sequences lists the child order of each complex type in the response, as
// the xs:sequence definitions of [MS-XCEP] §3.1.4.1.2.2 and §3.1.4.1.3 give
// it, keyed by element name.
var sequences = map[string][]string{
	"GetPoliciesResponse": {"response", "cAs", "oIDs"},
	"response":            {"policyID", "policyFriendlyName", "nextUpdateHours", "policiesNotChanged", "policies"},
	"policy":              {"policyOIDReference", "cAs", "attributes"},
	"attributes": {"commonName", "policySchema", "certificateValidity", "permission", "privateKeyAttributes",
		"revision", "supersededPolicies", "privateKeyFlags", "subjectNameFlags", "enrollmentFlags", "generalFlags",
		"hashAlgorithmOIDReference", "rARequirements", "keyArchivalAttributes", "extensions"},
	"certificateValidity":  {"validityPeriodSeconds", "renewalPeriodSeconds"},
	"permission":           {"enroll", "autoEnroll"},
	"privateKeyAttributes": {"minimalKeyLength", "keySpec", "keyUsageProperty", "permissions", "algorithmOIDReference", "cryptoProviders"},
	"revision":             {"majorRevision", "minorRevision"},
	"extension":            {"oIDReference", "critical", "value"},
	"cA":                   {"uris", "certificate", "enrollPermission", "cAReferenceID"},
	"cAURI":                {"clientAuthentication", "uri", "priority", "renewalOnly"},
	"oID":                  {"value", "group", "oIDReferenceID", "defaultName"},
}

func childNames(e *etree.Element) []string {
	var names []string
	for _, c := range e.ChildElements() {
		names = append(names, c.Tag)
	}
	return names
}

func intText(t *testing.T, e *etree.Element) int {
	t.Helper()
	n, err := strconv.Atoi(e.Text())
	if err != nil {
		t.Fatalf("%s: %q is not an integer", e.GetPath(), e.Text())
	}
	return n
}

// checkResponse asserts the structure of a GetPoliciesResponse envelope and
// returns its GetPoliciesResponse element.
func checkResponse(t *testing.T, out []byte, messageID string) *etree.Element {
	t.Helper()
	doc := mustParse(t, out)
	env := doc.Root()
	if !is(env, nsSOAP12, "Envelope") || !slices.Equal(childNames(env), []string{"Header", "Body"}) {
		t.Fatalf("got envelope %s with children %v, want s:Envelope with Header, Body", env.FullTag(), childNames(env))
	}
	action := doc.FindElement("/s:Envelope/s:Header/a:Action")
	if action == nil || action.Text() != ActionGetPoliciesResponse || action.SelectAttrValue("s:mustUnderstand", "") != "1" {
		t.Errorf("a:Action is wrong: %v", action)
	}
	if got := relatesTo(doc); got != messageID {
		t.Errorf("a:RelatesTo is %q, want %q", got, messageID)
	}
	body := doc.FindElement("/s:Envelope/s:Body")
	if n := len(body.ChildElements()); n != 1 {
		t.Fatalf("s:Body has %d children, want 1", n)
	}
	gpr := body.ChildElements()[0]
	if !is(gpr, nsXCEP, "GetPoliciesResponse") {
		t.Fatalf("body holds %s, want GetPoliciesResponse", gpr.FullTag())
	}
	// Walk the tree: everything is in the xcep namespace, nil elements are
	// empty, and each sequence has its schema order.
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.NamespaceURI() != nsXCEP {
			t.Errorf("%s is in namespace %q", e.GetPath(), e.NamespaceURI())
		}
		if isNil(e) {
			if len(e.Child) != 0 {
				t.Errorf("%s is nil but has content", e.GetPath())
			}
			return
		}
		if want, ok := sequences[e.Tag]; ok && !slices.Equal(childNames(e), want) {
			t.Errorf("%s has children %v, want %v", e.GetPath(), childNames(e), want)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(gpr)
	return gpr
}

// checkReferences asserts that every reference in a full response resolves
// and points at an OID of the right group, and returns the OIDs by ID.
func checkReferences(t *testing.T, gpr *etree.Element) map[int]*etree.Element {
	t.Helper()
	oids := map[int]*etree.Element{}
	for _, o := range gpr.FindElements("./oIDs/oID") {
		id := intText(t, o.SelectElement("oIDReferenceID"))
		if oids[id] != nil {
			t.Errorf("oIDReferenceID %d is not unique", id)
		}
		oids[id] = o
		if o.SelectElement("defaultName").Text() == "" {
			t.Errorf("oID %d has no defaultName", id)
		}
	}
	cas := map[int]bool{}
	for _, ca := range gpr.FindElements("./cAs/cA") {
		id := intText(t, ca.SelectElement("cAReferenceID"))
		if cas[id] {
			t.Errorf("cAReferenceID %d is not unique", id)
		}
		cas[id] = true
	}
	// group of the OID each kind of reference must point at
	refs := map[string]string{
		"policyOIDReference":        "9",
		"algorithmOIDReference":     "3",
		"hashAlgorithmOIDReference": "1",
		"oIDReference":              "6",
	}
	for tag, group := range refs {
		for _, r := range gpr.FindElements("//" + tag) {
			if isNil(r) {
				continue
			}
			o := oids[intText(t, r)]
			if o == nil {
				t.Errorf("%s %s resolves to no oID", r.GetPath(), r.Text())
				continue
			}
			if got := o.SelectElement("group").Text(); got != group {
				t.Errorf("%s points at an OID of group %s, want %s", r.GetPath(), got, group)
			}
		}
	}
	for _, r := range gpr.FindElements("//cAReference") {
		if !cas[intText(t, r)] {
			t.Errorf("cAReference %s resolves to no cA", r.Text())
		}
	}
	return oids
}

func TestBuildResponseStructure(t *testing.T) {
	req, err := ParseRequest(readFixture(t, "getpolicies-initial.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy(t)
	out, err := BuildResponse(req, p)
	if err != nil {
		t.Fatal(err)
	}
	gpr := checkResponse(t, out, req.MessageID)
	oids := checkReferences(t, gpr)

	if got := gpr.FindElement("./response/policiesNotChanged"); !isNil(got) {
		t.Errorf("policiesNotChanged is %q, want nil on a full response", got.Text())
	}
	policies := gpr.FindElements("./response/policies/policy")
	if len(policies) != len(p.Templates) {
		t.Fatalf("got %d policies, want %d", len(policies), len(p.Templates))
	}
	for i, pe := range policies {
		tmpl := p.Templates[i]
		if got := pe.FindElement("./attributes/commonName").Text(); got != tmpl.CommonName {
			t.Errorf("policy %d: commonName %q, want %q", i, got, tmpl.CommonName)
		}
		if got := oids[intText(t, pe.SelectElement("policyOIDReference"))].SelectElement("value").Text(); got != tmpl.OID {
			t.Errorf("policy %d: policyOIDReference points at %s, want %s", i, got, tmpl.OID)
		}
		var cas []int
		for _, r := range pe.FindElements("./cAs/cAReference") {
			cas = append(cas, intText(t, r))
		}
		if !slices.Equal(cas, tmpl.CAs) {
			t.Errorf("policy %d: cAReferences %v, want %v", i, cas, tmpl.CAs)
		}
		exts := pe.FindElements("./attributes/extensions/extension")
		if len(exts) != len(tmpl.Extensions) {
			t.Fatalf("policy %d: %d extensions, want %d", i, len(exts), len(tmpl.Extensions))
		}
		for j, xe := range exts {
			want := tmpl.Extensions[j]
			if got := oids[intText(t, xe.SelectElement("oIDReference"))].SelectElement("value").Text(); got != want.OID {
				t.Errorf("policy %d extension %d: OID %s, want %s", i, j, got, want.OID)
			}
			val, err := base64.StdEncoding.DecodeString(xe.SelectElement("value").Text())
			if err != nil || !bytes.Equal(val, want.Value) {
				t.Errorf("policy %d extension %d: value %x (%v), want %x", i, j, val, err, want.Value)
			}
		}
	}
	// The user template's key usage is the one of the spec's example.
	if got := policies[0].FindElement("./attributes/extensions/extension[1]/value").Text(); got != "AwIFoA==" {
		t.Errorf("key usage value %q, want AwIFoA== as in [MS-XCEP] §4.1.1.2", got)
	}
	// Schema 2 has no hash reference; schema 3 has one.
	if !isNil(policies[0].FindElement("./attributes/hashAlgorithmOIDReference")) || isNil(policies[1].FindElement("./attributes/hashAlgorithmOIDReference")) {
		t.Error("hashAlgorithmOIDReference must be nil for schema 2 and set for schema 3")
	}
	if got := policies[1].FindElement("./attributes/generalFlags").Text(); got != "64" {
		t.Errorf("generalFlags %s, want 64 (machine)", got)
	}

	caElems := gpr.FindElements("./cAs/cA")
	if len(caElems) != len(p.CAs) {
		t.Fatalf("got %d CAs, want %d", len(caElems), len(p.CAs))
	}
	for i, ce := range caElems {
		der, err := base64.StdEncoding.DecodeString(ce.SelectElement("certificate").Text())
		if err != nil {
			t.Fatalf("CA %d certificate: %v", i, err)
		}
		if _, err := x509.ParseCertificate(der); err != nil || !bytes.Equal(der, p.CAs[i].Certificate) {
			t.Errorf("CA %d certificate does not round-trip: %v", i, err)
		}
		if got := len(ce.FindElements("./uris/cAURI")); got != len(p.CAs[i].URIs) {
			t.Errorf("CA %d: %d URIs, want %d", i, got, len(p.CAs[i].URIs))
		}
	}
}

func TestBuildResponseFilter(t *testing.T) {
	p := testPolicy(t)
	tests := map[string]struct {
		oids []string
		want []string // commonNames sent
	}{
		"ok/no-filter":     {nil, []string{"certgateUser", "certgateComputer"}},
		"ok/one":           {[]string{computerTemplateOID}, []string{"certgateComputer"}},
		"ok/unknown-oid":   {[]string{"1.2.3.4"}, nil},
		"ok/both-reversed": {[]string{computerTemplateOID, userTemplateOID}, []string{"certgateUser", "certgateComputer"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := BuildResponse(&Request{MessageID: "m", PolicyOIDs: tc.oids}, p)
			if err != nil {
				t.Fatal(err)
			}
			gpr := checkResponse(t, out, "m")
			checkReferences(t, gpr)
			var got []string
			for _, cn := range gpr.FindElements("./response/policies/policy/attributes/commonName") {
				got = append(got, cn.Text())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got templates %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 && (!isNil(gpr.FindElement("./response/policies")) || !isNil(gpr.SelectElement("oIDs"))) {
				t.Error("with no template selected, policies and oIDs must be nil")
			}
		})
	}
}

func TestPoliciesNotChanged(t *testing.T) {
	tests := map[string]struct {
		client, server time.Time
		notChanged     bool
	}{
		"ok/first-fetch":     {time.Time{}, policyLastUpdate, false},
		"ok/older":           {policyLastUpdate.Add(-time.Second), policyLastUpdate, false},
		"ok/equal":           {policyLastUpdate, policyLastUpdate, true},
		"ok/newer":           {policyLastUpdate.Add(time.Hour), policyLastUpdate, true},
		"ok/server-unknown":  {policyLastUpdate, time.Time{}, false},
		"ok/both-zero":       {time.Time{}, time.Time{}, false},
		"ok/other-time-zone": {policyLastUpdate.In(time.FixedZone("X", 3600)), policyLastUpdate, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := testPolicy(t)
			p.LastUpdate = tc.server
			out, err := BuildResponse(&Request{MessageID: "m", LastUpdate: tc.client}, p)
			if err != nil {
				t.Fatal(err)
			}
			gpr := checkResponse(t, out, "m")
			pnc := gpr.FindElement("./response/policiesNotChanged")
			sections := []*etree.Element{gpr.FindElement("./response/policies"), gpr.SelectElement("cAs"), gpr.SelectElement("oIDs")}
			if tc.notChanged {
				if pnc.Text() != "true" {
					t.Errorf("policiesNotChanged is %q, want true", pnc.Text())
				}
				for _, s := range sections {
					if !isNil(s) {
						t.Errorf("%s is not nil", s.Tag)
					}
				}
				// The header part of the response is still there.
				if got := gpr.FindElement("./response/policyID").Text(); got != p.ID {
					t.Errorf("policyID %q, want %q", got, p.ID)
				}
				return
			}
			if !isNil(pnc) {
				t.Errorf("policiesNotChanged is %q, want nil", pnc.Text())
			}
			for _, s := range sections {
				if isNil(s) {
					t.Errorf("%s is nil on a full response", s.Tag)
				}
			}
			checkReferences(t, gpr)
		})
	}
}

func TestBuildResponseNilOptionals(t *testing.T) {
	p := testPolicy(t)
	p.FriendlyName = ""
	p.NextUpdateHours = 0
	p.CAs = nil
	p.Templates = p.Templates[:1]
	tmpl := &p.Templates[0]
	tmpl.KeySpec, tmpl.CryptoProviders, tmpl.Extensions, tmpl.CAs = 0, nil, nil, nil
	out, err := BuildResponse(&Request{}, p)
	if err != nil {
		t.Fatal(err)
	}
	gpr := checkResponse(t, out, "")
	for _, path := range []string{
		"./response/policyFriendlyName", "./response/nextUpdateHours", "./cAs",
		"./response/policies/policy/cAs",
		"./response/policies/policy/attributes/privateKeyAttributes/keySpec",
		"./response/policies/policy/attributes/privateKeyAttributes/keyUsageProperty",
		"./response/policies/policy/attributes/privateKeyAttributes/algorithmOIDReference",
		"./response/policies/policy/attributes/privateKeyAttributes/cryptoProviders",
		"./response/policies/policy/attributes/extensions",
	} {
		if e := gpr.FindElement(path); e == nil || !isNil(e) {
			t.Errorf("%s is not nil", path)
		}
	}
	checkReferences(t, gpr)
}

func TestBuildResponseInvalid(t *testing.T) {
	tests := map[string]struct {
		edit    func(p *Policy)
		wantErr string
	}{
		"fail/no-id":           {func(p *Policy) { p.ID = "" }, "no ID"},
		"fail/negative-hours":  {func(p *Policy) { p.NextUpdateHours = -1 }, "NextUpdateHours"},
		"fail/no-common-name":  {func(p *Policy) { p.Templates[0].CommonName = "" }, "no common name"},
		"fail/bad-oid":         {func(p *Policy) { p.Templates[0].OID = "1.3.6.x" }, "template OID"},
		"fail/duplicate-name":  {func(p *Policy) { p.Templates[1].CommonName = p.Templates[0].CommonName }, "used twice"},
		"fail/duplicate-oid":   {func(p *Policy) { p.Templates[1].OID = p.Templates[0].OID }, "used twice"},
		"fail/schema-4":        {func(p *Policy) { p.Templates[0].SchemaVersion = 4 }, "schema version 4"},
		"fail/major-0":         {func(p *Policy) { p.Templates[0].MajorRevision = 0 }, "revision"},
		"fail/no-validity":     {func(p *Policy) { p.Templates[0].ValidityPeriod = time.Millisecond }, "at least one second"},
		"fail/no-key-length":   {func(p *Policy) { p.Templates[0].MinimalKeyLength = 0 }, "minimal key length"},
		"fail/key-spec-3":      {func(p *Policy) { p.Templates[0].KeySpec = 3 }, "key spec 3"},
		"fail/hash-schema-2":   {func(p *Policy) { p.Templates[0].HashAlgorithmOID = "2.16.840.1.101.3.4.2.1" }, "schema version 3"},
		"fail/bad-algorithm":   {func(p *Policy) { p.Templates[1].AlgorithmOID = "RSA" }, "algorithm"},
		"fail/empty-provider":  {func(p *Policy) { p.Templates[0].CryptoProviders = []string{""} }, "crypto provider"},
		"fail/ca-out-of-range": {func(p *Policy) { p.Templates[0].CAs = []int{2} }, "CA index 2"},
		"fail/ca-repeated":     {func(p *Policy) { p.Templates[0].CAs = []int{0, 0} }, "CA index 0"},
		"fail/bad-template-info": {func(p *Policy) {
			p.Templates[0].Extensions = append(p.Templates[0].Extensions, TemplateInfoExtension("not-an-oid", 1, 0))
		}, "template information extension"},
		"fail/empty-eku":        {func(p *Policy) { p.Templates[0].Extensions = []Extension{EKUExtension(nil)} }, "at least one OID"},
		"fail/extension-oid":    {func(p *Policy) { p.Templates[0].Extensions = []Extension{{OID: "2.5.29.x"}} }, "extension"},
		"fail/no-certificate":   {func(p *Policy) { p.CAs[0].Certificate = nil }, "no certificate"},
		"fail/bad-certificate":  {func(p *Policy) { p.CAs[0].Certificate = []byte{0x30, 0x00} }, "certificate"},
		"fail/no-uris":          {func(p *Policy) { p.CAs[1].URIs = nil }, "no enrollment URI"},
		"fail/auth-3":           {func(p *Policy) { p.CAs[0].URIs[0].ClientAuthentication = 3 }, "client authentication 3"},
		"fail/relative-uri":     {func(p *Policy) { p.CAs[0].URIs[0].URI = "/CES" }, "not an absolute URL"},
		"fail/negative-priorty": {func(p *Policy) { p.CAs[0].URIs[0].Priority = -1 }, "negative priority"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := testPolicy(t)
			tc.edit(p)
			// An up-to-date client must not hide a broken policy.
			for _, req := range []*Request{{}, {LastUpdate: policyLastUpdate}} {
				out, err := BuildResponse(req, p)
				if err == nil {
					t.Fatalf("got %d bytes, want an error containing %q", len(out), tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "xcep: ") {
					t.Errorf("got error %q, want xcep: ... %q", err, tc.wantErr)
				}
			}
		})
	}
	if _, err := BuildResponse(nil, testPolicy(t)); err == nil {
		t.Error("BuildResponse(nil, p) succeeded")
	}
	if _, err := BuildResponse(&Request{}, nil); err == nil {
		t.Error("BuildResponse(req, nil) succeeded")
	}
}

func TestBuildFault(t *testing.T) {
	tests := map[string]struct {
		code, wantCode, wantAction string
	}{
		"ok/sender":          {CodeSender, "s:Sender", actionFault},
		"ok/receiver":        {CodeReceiver, "s:Receiver", actionFault},
		"ok/must-understand": {CodeMustUnderstand, "s:MustUnderstand", actionSOAPFault},
		"ok/version":         {CodeVersionMismatch, "s:VersionMismatch", actionSOAPFault},
		"ok/unknown-code":    {"s:Bogus", "s:Receiver", actionFault},
	}
	const reason = `bad <input> & "quotes"` + "\r\n"
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := mustParse(t, BuildFault("urn:uuid:1", tc.code, reason))
			if got := doc.FindElement("/s:Envelope/s:Body/s:Fault/s:Code/s:Value").Text(); got != tc.wantCode {
				t.Errorf("code %q, want %q", got, tc.wantCode)
			}
			text := doc.FindElement("/s:Envelope/s:Body/s:Fault/s:Reason/s:Text")
			if text.Text() != reason || text.SelectAttrValue("xml:lang", "") != "en-US" {
				t.Errorf("reason %q lang %q, want %q en-US", text.Text(), text.SelectAttrValue("xml:lang", ""), reason)
			}
			if got := doc.FindElement("/s:Envelope/s:Header/a:Action").Text(); got != tc.wantAction {
				t.Errorf("action %q, want %q", got, tc.wantAction)
			}
			if got := relatesTo(doc); got != "urn:uuid:1" {
				t.Errorf("a:RelatesTo %q, want urn:uuid:1", got)
			}
			if env := doc.Root(); env.NamespaceURI() != nsSOAP12 {
				t.Errorf("envelope namespace %q", env.NamespaceURI())
			}
		})
	}
	if doc := mustParse(t, BuildFault("", CodeSender, "x")); doc.FindElement("//a:RelatesTo") != nil {
		t.Error("a fault without a message ID must not carry a:RelatesTo")
	}
}

// TestRoundTrip feeds each request fixture through ParseRequest and
// BuildResponse and checks the reply with the same assertions as above.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"getpolicies-initial.xml", "getpolicies-lastupdate.xml", "getpolicies-nil-filter.xml"} {
		t.Run(name, func(t *testing.T) {
			req, err := ParseRequest(readFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := BuildResponse(req, testPolicy(t))
			if err != nil {
				t.Fatal(err)
			}
			gpr := checkResponse(t, out, req.MessageID)
			if !isNil(gpr.SelectElement("oIDs")) {
				checkReferences(t, gpr)
			}
			// A reply is not a request: ParseRequest must refuse it.
			if _, err := ParseRequest(out); err == nil || !strings.Contains(err.Error(), "unsupported a:Action") {
				t.Errorf("ParseRequest(response) = %v, want an action error", err)
			}
		})
	}
}

func TestOIDTable(t *testing.T) {
	var tab oidTable
	got := []int{
		tab.ref(userTemplateOID, oidGroupTemplate, "User"),
		tab.ref(oidKeyUsage, oidGroupExtension, ""),
		tab.ref(userTemplateOID, oidGroupTemplate, "ignored on reuse"),
		tab.ref("1.2.3.4", oidGroupExtension, ""),
		tab.ref(oidKeyUsage, oidGroupExtension, ""),
	}
	if want := []int{1, 2, 1, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("got IDs %v, want %v", got, want)
	}
	var names []string
	for _, e := range tab.list {
		names = append(names, e.name)
	}
	if want := []string{"User", "Key Usage", "1.2.3.4"}; !reflect.DeepEqual(names, want) {
		t.Errorf("got names %v, want %v", names, want)
	}
}
