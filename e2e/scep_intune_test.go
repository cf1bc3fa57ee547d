package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	scepservice "github.com/certgate/certgate/services/scep"
	"github.com/certgate/certgate/services/scep/intune"
	"github.com/certgate/certgate/services/scep/intune/intunetest"
)

// intuneEndpoint is the SCEP endpoint the test creates with auth intune.
const intuneEndpoint = "intune"

// sidURI is the SID URI SAN Intune puts in certificates for strong
// mapping (KB5014754).
const sidURI = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1104"

// TestSCEPIntune enrolls through an endpoint whose auth method is intune,
// served by an in-process SCEP service pointed at the dev suite's ca-core
// and at a fake of Entra ID, Graph and Intune, and checks what Intune is
// told at each step: validateRequest before issuing, successNotification
// after, failureNotification when ca-core refuses, and the revocation
// connector's download and upload.
func TestSCEPIntune(t *testing.T) {
	dir := t.TempDir()
	s := startDev(t, dir)
	s.admin("endpoints", "create", "--id", intuneEndpoint, "--protocol", "scep", "--ca", "issuing",
		"--profile", "intune-digital-signature-key-encipherment", "--auth", "intune")
	fake := intunetest.New(t)
	caFile := intuneCAFile(t, fake)
	base := startIntuneSCEP(t, s, dir, fake, caFile, 0)

	// Filled by earlier cases, used by the revocation connector's.
	var (
		enrolled     *x509.Certificate // issued in ok/valid challenge
		sentSerial   string            // its serial as the success notification gave it
		failedSerial string            // the certificate revoked when Intune could not be told
	)

	t.Run("ok/valid challenge", func(t *testing.T) {
		d := newSCEPDevice(t, base)
		const tid = "tx-intune-ok"
		csr := intuneCSR(t, d.key, "intune-device-1", fake.NewChallenge("CN=intune-device-1", "device-1.contoso.com"),
			[]string{"device-1.contoso.com"}, sidURI)
		cert := wantSCEPSuccess(t, d.enroll("19", tid, csr))

		if cert.Subject.CommonName != "intune-device-1" || !slices.Equal(cert.DNSNames, []string{"device-1.contoso.com"}) {
			t.Errorf("issued subject %v, DNS names %v", cert.Subject, cert.DNSNames)
		}
		if len(cert.URIs) != 1 || cert.URIs[0].String() != sidURI {
			t.Errorf("issued URI SANs %v, want [%s]", cert.URIs, sidURI)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: trustPool(t, s.ep.TrustBundle), Intermediates: poolOf(d.ca...),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("the issued certificate does not verify: %v", err)
		}
		if ku := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; cert.KeyUsage != ku {
			t.Errorf("issued key usage %v, want %v", cert.KeyUsage, ku)
		}

		calls := wantIntuneCalls(t, fake, tid, intunetest.ActionValidate+" 200", intunetest.ActionSuccess+" 200")
		wantIntuneFields(t, calls[0], "request", map[string]string{
			"transactionId":      tid,
			"certificateRequest": base64.StdEncoding.EncodeToString(csr),
			"callerInfo":         "certgate",
		})
		sum := sha1.Sum(cert.Raw)
		wantIntuneFields(t, calls[1], "notification", map[string]string{
			"transactionId":                tid,
			"certificateRequest":           base64.StdEncoding.EncodeToString(csr),
			"certificateThumbprint":        strings.ToUpper(hex.EncodeToString(sum[:])),
			"certificateSerialNumber":      windowsSerial(t, cert),
			"certificateExpirationDateUtc": cert.NotAfter.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			"issuingCertificateAuthority":  cert.Issuer.String(),
			"callerInfo":                   "certgate",
		})

		c := inventoryEntry(t, s, cert.SerialNumber.Text(16))
		if c.GetStatus() != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED || c.GetEndpoint() != intuneEndpoint ||
			c.GetProfile() != "intune-digital-signature-key-encipherment" {
			t.Errorf("ca-core has the certificate as %v, endpoint %q, profile %q", c.GetStatus(), c.GetEndpoint(), c.GetProfile())
		}
		enrolled, sentSerial = cert, intuneField(calls[1], "notification", "certificateSerialNumber")
	})

	t.Run("fail/Intune denies", func(t *testing.T) {
		for _, tc := range []struct {
			name, tid, cn, challenge string
			script                   *intunetest.Outcome
			wantCode                 string
		}{
			{name: "challenge for another subject", tid: "tx-intune-mismatch", cn: "intune-intruder",
				challenge: fake.NewChallenge("CN=intune-device-2"), wantCode: intune.CodeSubjectNameMismatch},
			{name: "challenge expired", tid: "tx-intune-expired", cn: "intune-device-3",
				challenge: fake.NewChallenge("CN=intune-device-3"), wantCode: intune.CodeChallengeExpired,
				script: &intunetest.Outcome{Code: intune.CodeChallengeExpired, Description: "the challenge expired"}},
			{name: "not an Intune challenge", tid: "tx-intune-forged", cn: "intune-device-4",
				challenge: "let-me-in", wantCode: intune.CodeChallengeDeserializationError},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.script != nil {
					fake.Script(tc.tid, *tc.script)
				}
				d := newSCEPDevice(t, base)
				wantSCEPFailure(t, d.enroll("19", tc.tid, d.csr(tc.cn, tc.challenge)), scep.BadRequest)
				// The fake keeps no answers; the refusal quotes the code.
				wantIntuneCalls(t, fake, tc.tid, intunetest.ActionValidate+" 200")
				wantNoIntuneCert(t, s, "CN="+tc.cn)
				wantRefusalAudited(t, s, tc.tid, "Intune refused the request: "+tc.wantCode)
			})
		}
		t.Run("no challenge", func(t *testing.T) {
			// Refused before Intune is asked.
			d := newSCEPDevice(t, base)
			wantSCEPFailure(t, d.enroll("19", "tx-intune-none", d.csr("intune-device-5", "")), scep.BadRequest)
			wantIntuneCalls(t, fake, "tx-intune-none")
			wantNoIntuneCert(t, s, "CN=intune-device-5")
			wantRefusalAudited(t, s, "tx-intune-none", "requires a challengePassword")
		})
	})

	t.Run("fail/Intune outage", func(t *testing.T) {
		const tid = "tx-intune-outage"
		fake.Script(tid, intunetest.Outcome{Status: http.StatusInternalServerError})
		discoveries := len(fake.CallsTo(intunetest.ActionEndpoints))
		d := newSCEPDevice(t, base)
		wantSCEPFailure(t, d.enroll("19", tid, d.csr("intune-device-6", fake.NewChallenge("CN=intune-device-6"))), scep.BadRequest)
		wantIntuneCalls(t, fake, tid, intunetest.ActionValidate+" 500")
		wantNoIntuneCert(t, s, "CN=intune-device-6")
		wantRefusalAudited(t, s, tid, "Intune could not validate the request")

		// Once Intune answers again, so does the service; the failed call
		// made it discover Intune's services again.
		const next = "tx-intune-after-outage"
		wantSCEPSuccess(t, d.enroll("19", next, d.csr("intune-device-6", fake.NewChallenge("CN=intune-device-6"))))
		wantIntuneCalls(t, fake, next, intunetest.ActionValidate+" 200", intunetest.ActionSuccess+" 200")
		if got := len(fake.CallsTo(intunetest.ActionEndpoints)); got != discoveries+1 {
			t.Errorf("%d discovery calls after the outage, want %d", got, discoveries+1)
		}
	})

	t.Run("fail/success notification fails", func(t *testing.T) {
		const tid = "tx-intune-unnotified"
		fake.FailSuccessNotifications(true)
		t.Cleanup(func() { fake.FailSuccessNotifications(false) })
		d := newSCEPDevice(t, base)
		csr := d.csr("intune-device-7", fake.NewChallenge("CN=intune-device-7"))
		wantSCEPFailure(t, d.enroll("19", tid, csr), scep.BadRequest)
		calls := wantIntuneCalls(t, fake, tid, intunetest.ActionValidate+" 200", intunetest.ActionSuccess+" 500")

		// The certificate Intune was not told of exists, revoked.
		serial := intuneField(calls[1], "notification", "certificateSerialNumber")
		list := listIntuneCerts(t, s, "CN=intune-device-7")
		if len(list) != 1 {
			t.Fatalf("%d certificates for CN=intune-device-7, want the one revoked", len(list))
		}
		c := list[0]
		if !sameSerial(c.GetSerial(), serial) {
			t.Errorf("ca-core holds serial %s, Intune was told of %s", c.GetSerial(), serial)
		}
		if c.GetStatus() != pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED ||
			c.GetRevocationReason() != pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION {
			t.Errorf("certificate %s is %v (reason %v), want revoked, cessationOfOperation", c.GetSerial(), c.GetStatus(), c.GetRevocationReason())
		}
		wantRefusalAudited(t, s, tid, "Intune could not be notified")
		failedSerial = c.GetSerial()

		t.Run("retry gets no revoked certificate", func(t *testing.T) {
			// A client retries with the same transactionID and CSR
			// (RFC 8894 §3.2.1.1 suggests deriving the transactionID from
			// the key). Intune answers again; the device must not end up
			// with the certificate revoked above.
			fake.FailSuccessNotifications(false)
			rep := d.enroll("19", tid, csr)
			if rep.PKIStatus != scep.SUCCESS {
				wantSCEPFailure(t, rep, scep.BadRequest)
				return
			}
			got := rep.CertRepMessage.Certificate
			if st := inventoryEntry(t, s, got.SerialNumber.Text(16)).GetStatus(); st != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED {
				if sameSerial(failedSerial, got.SerialNumber.Text(16)) {
					t.Errorf("the retry got SUCCESS with the revoked certificate %s (ca-core replays it by request key; Intune is told of it)", failedSerial)
				}
				t.Errorf("the retry got SUCCESS with certificate %x, which is %v", got.SerialNumber, st)
			}
		})
	})

	t.Run("fail/ca-core refuses after validation", func(t *testing.T) {
		const tid = "tx-intune-weak-key"
		// intune-digital-signature-key-encipherment takes RSA keys of 2048
		// bits and more: Intune validates the challenge, ca-core refuses.
		weak, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		d := newSCEPDevice(t, base)
		csr := intuneCSR(t, weak, "intune-device-8", fake.NewChallenge("CN=intune-device-8"), nil)
		wantSCEPFailure(t, d.enroll("19", tid, csr), scep.BadRequest)
		calls := wantIntuneCalls(t, fake, tid, intunetest.ActionValidate+" 200", intunetest.ActionFailure+" 200")
		wantIntuneFields(t, calls[1], "notification", map[string]string{
			"transactionId":      tid,
			"certificateRequest": base64.StdEncoding.EncodeToString(csr),
			"hResult":            fmt.Sprint(intune.HResultTemplateDenied),
			"callerInfo":         "certgate",
		})
		if desc := intuneField(calls[1], "notification", "errorDescription"); !strings.Contains(desc, "profile.key_type") {
			t.Errorf("errorDescription %q does not name the rule", desc)
		}
		wantNoIntuneCert(t, s, "CN=intune-device-8")
	})

	t.Run("revocation connector", func(t *testing.T) {
		if enrolled == nil || failedSerial == "" {
			t.Skip("needs the certificates of ok/valid challenge and fail/success notification fails")
		}
		if n := len(fake.CallsTo(intunetest.ActionDownloadRevocation)); n != 0 {
			t.Fatalf("%d revocation downloads by a service without a revocation interval", n)
		}
		startIntuneSCEP(t, s, dir, fake, caFile, 200*time.Millisecond)
		issuer := enrolled.Issuer.String()

		t.Run("ok/requests answered", func(t *testing.T) {
			for _, tc := range []struct {
				name, serial string
				succeeded    bool
				code         intune.RevocationErrorCode
			}{
				// The serial as Intune quotes it: as the success notification sent it.
				{"issued through the endpoint", sentSerial, true, intune.RevocationNone},
				{"unknown to ca-core", "7E57C0FFEE", false, intune.RevocationCertificateNotFoundError},
				// Revoked already: what Intune wants is true.
				{"revoked already", strings.ToUpper(failedSerial), true, intune.RevocationNone},
				{"not a serial", "not-a-serial", false, intune.RevocationParameterDataInvalidError},
			} {
				r := revocationResult(t, fake, fake.QueueRevocation(tc.serial, issuer))
				switch {
				case r.Succeeded != tc.succeeded || r.ErrorCode != string(tc.code):
					t.Errorf("%s: succeeded %v, %s, want %v, %s", tc.name, r.Succeeded, r.ErrorCode, tc.succeeded, tc.code)
				case tc.succeeded && r.ErrorMessage != nil:
					t.Errorf("%s: succeeded with message %q", tc.name, *r.ErrorMessage)
				case !tc.succeeded && (r.ErrorMessage == nil || *r.ErrorMessage == ""):
					t.Errorf("%s: failed without a message", tc.name)
				}
			}
			c := inventoryEntry(t, s, enrolled.SerialNumber.Text(16))
			if c.GetStatus() != pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED ||
				c.GetRevocationReason() != pb.RevocationReason_REVOCATION_REASON_UNSPECIFIED {
				t.Errorf("the certificate Intune asked to revoke is %v (reason %v), want revoked, unspecified", c.GetStatus(), c.GetRevocationReason())
			}
			// The certificate revoked when Intune could not be told keeps its reason.
			if c := inventoryEntry(t, s, failedSerial); c.GetRevocationReason() != pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION {
				t.Errorf("certificate %s now has reason %v", failedSerial, c.GetRevocationReason())
			}
			if got, want := len(fake.RevocationResults()), 4; got != want {
				t.Errorf("%d revocation results uploaded, want %d: %+v", got, want, fake.RevocationResults())
			}
		})

		t.Run("fail/certificate of another endpoint", func(t *testing.T) {
			// IntuneConfig.RevocationInterval polls "for this endpoint's
			// certificates": one the static-challenge endpoint issued is
			// not Intune's to revoke.
			d := newSCEPDevice(t, s.ep.SCEP.URL)
			cert := wantSCEPSuccess(t, d.enroll("19", "tx-not-intune", d.csr("not-intune", s.ep.SCEP.Challenge)))
			r := revocationResult(t, fake, fake.QueueRevocation(windowsSerial(t, cert), cert.Issuer.String()))
			st := inventoryEntry(t, s, cert.SerialNumber.Text(16)).GetStatus()
			if r.Succeeded && st == pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED {
				t.Errorf("the connector of %s/%s revoked %x, issued through endpoint %s", s.ep.Tenant, intuneEndpoint, cert.SerialNumber, devSCEPEndpoint(s))
			}
			if r.Succeeded || r.ErrorCode != string(intune.RevocationCertificateNotFoundError) || st != pb.CertificateStatus_CERTIFICATE_STATUS_ISSUED {
				t.Errorf("got succeeded %v, %s, certificate %v; want CertificateNotFoundError, issued", r.Succeeded, r.ErrorCode, st)
			}
		})

		for _, c := range fake.CallsTo(intunetest.ActionUploadRevocation) {
			if c.Status != http.StatusOK {
				t.Errorf("upload answered HTTP %d: %s", c.Status, c.Raw)
			}
		}
	})

	for _, c := range fake.Calls() {
		if c.Action == "" {
			t.Errorf("the service called an unknown path %s %s", c.Method, c.Path)
		}
		if c.Status == http.StatusBadRequest || c.Status == http.StatusUnauthorized {
			t.Errorf("the fake refused %s with HTTP %d: %s", c.Action, c.Status, c.Raw)
		}
	}
}

// startIntuneSCEP runs a SCEP service in-process with the dev suite's
// ca-core and client certificate, and with the intune endpoint pointed at
// fake. It returns the endpoint's URL; the service stops when t ends.
func startIntuneSCEP(t *testing.T, s *suite, dir string, fake *intunetest.Server, caFile string, revocationInterval time.Duration) string {
	t.Helper()
	fc := fake.Config()
	cfg := scepservice.Config{
		CACore: frontend.ClientConfig{Address: s.ep.CACore.GRPC, CAFile: filepath.Join(dir, "mtls", "ca.pem"),
			CertFile: filepath.Join(dir, "mtls", "scep.pem"), KeyFile: filepath.Join(dir, "mtls", "scep-key.pem")},
		Intune: map[string]scepservice.IntuneConfig{s.ep.Tenant + "/" + intuneEndpoint: {
			TenantID: fc.Tenant, ClientID: fc.ClientID, ClientSecret: fc.ClientSecret,
			Authority: fc.Authority, GraphURL: fc.GraphURL, IntuneResource: fc.IntuneResource,
			CAFile: caFile, RevocationInterval: revocationInterval,
		}},
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- scepservice.Run(ctx, cfg, scepservice.Options{Listener: lis, Logger: logger, Ready: func(net.Addr) { close(ready) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("scep.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("scep.Run did not return within 30 s of its context ending")
		}
		if t.Failed() {
			t.Logf("in-process SCEP service log:\n%s", logs)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		lis.Close()
		t.Fatalf("scep.Run: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("scep.Run not ready within 30 s:\n%s", logs)
	}
	return "http://" + lis.Addr().String() + "/scep/" + s.ep.Tenant + "/" + intuneEndpoint
}

// intuneCAFile writes the fake's TLS certificate, as its own client
// verifies it, to a PEM file for IntuneConfig.CAFile.
func intuneCAFile(t *testing.T, fake *intunetest.Server) string {
	t.Helper()
	u, err := url.Parse(fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := fake.Config().HTTPClient.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		t.Fatalf("the fake's client has transport %T", fake.Config().HTTPClient.Transport)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	file := filepath.Join(t.TempDir(), "intune-ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// intuneCSR is a CSR with a challengePassword, DNS names and URI SANs,
// signed by key.
func intuneCSR(t *testing.T, key crypto.Signer, cn, challenge string, dns []string, uris ...string) []byte {
	t.Helper()
	tmpl := &x509util.CertificateRequest{CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns},
		ChallengePassword: challenge}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509util.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// poolOf holds certs.
func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// windowsSerial is a certificate's serial as .NET's
// X509Certificate2.SerialNumber shows it: the upper-case hex of the DER
// INTEGER's content octets.
func windowsSerial(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	der, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(raw.Bytes))
}

// sameSerial compares ca-core's spelling of a serial with Windows'.
func sameSerial(core, windows string) bool {
	return strings.TrimLeft(core, "0") == strings.TrimLeft(strings.ToLower(windows), "0")
}

// intuneField is a string field of a call's "request" or "notification" object.
func intuneField(c intunetest.Call, object, name string) string {
	o, _ := c.Body[object].(map[string]any)
	switch v := o[name].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// wantIntuneFields checks fields of a call's body object.
func wantIntuneFields(t *testing.T, c intunetest.Call, object string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got := intuneField(c, object, name); got != w {
			t.Errorf("%s %s.%s = %q, want %q", c.Action, object, name, got, w)
		}
	}
}

// wantIntuneCalls checks the ScepActions calls the fake received about a
// transaction, in order, as "action status", and returns them.
func wantIntuneCalls(t *testing.T, fake *intunetest.Server, tid string, want ...string) []intunetest.Call {
	t.Helper()
	var calls []intunetest.Call
	var got []string
	for _, c := range fake.Calls() {
		if intuneField(c, "request", "transactionId") == tid || intuneField(c, "notification", "transactionId") == tid {
			calls = append(calls, c)
			got = append(got, fmt.Sprintf("%s %d", c.Action, c.Status))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Intune calls for %s: got %q, want %q", tid, got, want)
	}
	return calls
}

// revocationResult waits for the uploaded result of a queued revocation
// request.
func revocationResult(t *testing.T, fake *intunetest.Server, requestContext string) intunetest.UploadedResult {
	t.Helper()
	var found []intunetest.UploadedResult
	waitFor(t, "the revocation result for "+requestContext, func() (bool, string) {
		found = nil
		for _, r := range fake.RevocationResults() {
			if r.RequestContext == requestContext {
				found = append(found, r)
			}
		}
		return len(found) > 0, fmt.Sprintf("%+v", fake.RevocationResults())
	})
	if len(found) != 1 {
		t.Errorf("%d results for %s, want 1: %+v", len(found), requestContext, found)
	}
	return found[0]
}

// devSCEPEndpoint is the id of the dev suite's static-challenge endpoint.
func devSCEPEndpoint(s *suite) string {
	return s.ep.SCEP.URL[strings.LastIndex(s.ep.SCEP.URL, "/")+1:]
}

// listIntuneCerts is ca-core's inventory of the intune endpoint, only subject's
// certificates unless subject is empty.
func listIntuneCerts(t *testing.T, s *suite, subject string) []*pb.Certificate {
	t.Helper()
	out := s.admin("--json", "certs", "list", "--endpoint", intuneEndpoint, "--limit", "0")
	var list pb.ListCertificatesResponse
	if err := protojson.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("certs list --json: %v\n%s", err, out)
	}
	var certs []*pb.Certificate
	for _, c := range list.GetCertificates() {
		if subject == "" || c.GetSubject() == subject {
			certs = append(certs, c)
		}
	}
	return certs
}

// inventoryEntry is ca-core's inventory entry of a serial.
func inventoryEntry(t *testing.T, s *suite, serial string) *pb.Certificate {
	t.Helper()
	out := s.admin("--json", "certs", "show", serial)
	var c pb.Certificate
	if err := protojson.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("certs show --json: %v\n%s", err, out)
	}
	return &c
}

// wantNoIntuneCert checks that ca-core issued nothing for subject through
// the intune endpoint.
func wantNoIntuneCert(t *testing.T, s *suite, subject string) {
	t.Helper()
	if certs := listIntuneCerts(t, s, subject); len(certs) != 0 {
		t.Errorf("%d certificates issued for %s, want none; the first is %s", len(certs), subject, certs[0].GetSerial())
	}
}

// wantRefusalAudited waits for the request.refuse event the service
// records, in the background, for a refused transaction.
func wantRefusalAudited(t *testing.T, s *suite, tid, reason string) {
	t.Helper()
	waitFor(t, "request.refuse for "+tid, func() (bool, string) {
		out := s.admin("--json", "audit", "list", "--action", "request.refuse", "--endpoint", intuneEndpoint)
		var list pb.ListAuditEventsResponse
		if err := protojson.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("audit list --json: %v\n%s", err, out)
		}
		for _, e := range list.GetEvents() {
			if strings.Contains(e.GetDetail(), "transaction "+tid+":") && strings.Contains(e.GetDetail(), reason) {
				return true, out
			}
		}
		return false, out
	})
}
