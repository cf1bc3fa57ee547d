package cacore_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/internal/coretest"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// revocationSetup makes tenant t1 (root + issuing with CRL and OCSP) and
// returns the issuing CA certificate.
func revocationSetup(t *testing.T, core *coretest.Core) *x509.Certificate {
	t.Helper()
	setup(t, core.Admin(t, "root"), nil)
	ca, err := pb.NewCAServiceClient(core.Admin(t, "root")).GetCA(context.Background(), &pb.GetCARequest{Tenant: "t1", Id: "issuing"})
	if err != nil {
		t.Fatal(err)
	}
	if !ca.CrlEnabled || !ca.OcspEnabled || ca.CrlUrl != core.HTTP+"/crl/t1/issuing.crl" || ca.OcspUrl != core.HTTP+"/ocsp/t1/issuing" {
		t.Fatalf("issuing CA status services: %v", ca)
	}
	c, _ := x509.ParseCertificate(ca.Certificate)
	eventually(t, "first CRL", func() error {
		_, err := pb.NewRevocationServiceClient(core.Admin(t, "root")).GetCRL(context.Background(), &pb.GetCRLRequest{Tenant: "t1", Ca: "issuing"})
		return err
	})
	waitForOCSP(t, core, c)
	return c
}

// waitForOCSP waits until core's responder for the issuing CA answers
// (the delegated responder certificate is made asynchronously).
func waitForOCSP(t *testing.T, core *coretest.Core, issuer *x509.Certificate) {
	t.Helper()
	req, _ := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1)}, issuer, nil)
	eventually(t, "OCSP responder", func() error {
		resp, err := http.Post(core.HTTP+"/ocsp/t1/issuing", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		_, err = ocsp.ParseResponse(body, issuer)
		return err
	})
}

func issueOne(t *testing.T, core *coretest.Core, dns string) *x509.Certificate {
	t.Helper()
	res, err := pb.NewIssuanceServiceClient(core.Admin(t, "root")).Issue(context.Background(), &pb.IssueRequest{Tenant: "t1", Profile: "acme-tls-server", Csr: csr(t, dns)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(res.Certificate.Der)
	return c
}

// eventually retries check for up to five seconds: CRL and OCSP upkeep are
// asynchronous by design.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type errorf string

func (e errorf) Error() string { return string(e) }

func fetchCRL(t *testing.T, url string, issuer *x509.Certificate) (*x509.RevocationList, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, resp
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("CRL does not parse: %v", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return crl, resp
}

func ocspQuery(t *testing.T, core *coretest.Core, issuer *x509.Certificate, serial *big.Int, get bool) (*ocsp.Response, *http.Response) {
	t.Helper()
	req, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: serial}, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	if get {
		resp, err = http.Get(core.HTTP + "/ocsp/t1/issuing/" + base64.StdEncoding.EncodeToString(req))
	} else {
		resp, err = http.Post(core.HTTP+"/ocsp/t1/issuing", "application/ocsp-request", bytes.NewReader(req))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r, err := ocsp.ParseResponseForCert(body, &x509.Certificate{SerialNumber: serial}, issuer)
	if err != nil {
		t.Fatalf("OCSP response: %v", err)
	}
	return r, resp
}

func TestRevocationIsPublishedByCRLAndOCSP(t *testing.T) {
	core := coretest.Start(t, coretest.Options{HTTP: true, CRLDelay: 200 * time.Millisecond})
	issuer := revocationSetup(t, core)
	ctx := context.Background()
	leaf := issueOne(t, core, "revoke-me.example.com")
	if len(leaf.CRLDistributionPoints) != 1 || len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != core.HTTP+"/ocsp/t1/issuing" ||
		len(leaf.IssuingCertificateURL) != 1 {
		t.Fatalf("leaf lacks CDP/AIA: %v %v %v", leaf.CRLDistributionPoints, leaf.OCSPServer, leaf.IssuingCertificateURL)
	}
	var first *x509.RevocationList
	eventually(t, "first CRL", func() error {
		crl, _ := fetchCRL(t, leaf.CRLDistributionPoints[0], issuer)
		if crl == nil {
			return errorf("no CRL yet")
		}
		first = crl
		return nil
	})
	if r, _ := ocspQuery(t, core, issuer, leaf.SerialNumber, false); r.Status != ocsp.Good {
		t.Fatalf("fresh certificate: OCSP status %d", r.Status)
	}
	if r, _ := ocspQuery(t, core, issuer, big.NewInt(12345), false); r.Status != ocsp.Unknown {
		t.Fatalf("unknown serial: OCSP status %d", r.Status)
	}

	rev := pb.NewRevocationServiceClient(core.Admin(t, "root"))
	invalid := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	got, err := rev.RevokeCertificate(ctx, &pb.RevokeCertificateRequest{Tenant: "t1", Serial: strings.ToUpper(leaf.SerialNumber.Text(16)),
		Reason: pb.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE, InvalidityDate: timestampOf(invalid)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != pb.CertificateStatus_CERTIFICATE_STATUS_REVOKED || got.RevocationReason != pb.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE {
		t.Fatalf("revoked certificate: %v %v", got.Status, got.RevocationReason)
	}
	// OCSP sees it within a second, on GET (cached answers) and POST.
	eventually(t, "OCSP after revocation", func() error {
		r, resp := ocspQuery(t, core, issuer, leaf.SerialNumber, true)
		if r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
			return errorf("status " + ocspStatus(r))
		}
		if !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
			return errorf("GET answer without caching headers")
		}
		return nil
	})
	if r, _ := ocspQuery(t, core, issuer, leaf.SerialNumber, false); r.Status != ocsp.Revoked {
		t.Fatalf("POST after revocation: %s", ocspStatus(r))
	}
	// The CRL follows within the configured delay, with a higher number.
	eventually(t, "CRL after revocation", func() error {
		crl, _ := fetchCRL(t, leaf.CRLDistributionPoints[0], issuer)
		if crl.Number.Cmp(first.Number) <= 0 || len(crl.RevokedCertificateEntries) != 1 {
			return errorf("CRL " + crl.Number.String() + " without the entry")
		}
		e := crl.RevokedCertificateEntries[0]
		if e.SerialNumber.Cmp(leaf.SerialNumber) != 0 || e.ReasonCode != 1 {
			t.Fatalf("CRL entry %v reason %d", e.SerialNumber, e.ReasonCode)
		}
		if len(e.Extensions) != 2 { // reasonCode and invalidityDate
			t.Fatalf("CRL entry extensions %v", e.Extensions)
		}
		if !crl.NextUpdate.After(time.Now().Add(6 * 24 * time.Hour)) {
			t.Fatalf("nextUpdate %v, want 7 days out", crl.NextUpdate)
		}
		return nil
	})
	_, resp := fetchCRL(t, leaf.CRLDistributionPoints[0], issuer)
	req, _ := http.NewRequest(http.MethodGet, leaf.CRLDistributionPoints[0], nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional CRL fetch: %v %v", r.StatusCode, err)
	}
	// A revoked certificate stays revoked, and its licence was returned.
	_, err = rev.RevokeCertificate(ctx, &pb.RevokeCertificateRequest{Tenant: "t1", Serial: leaf.SerialNumber.Text(16)})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("revoking twice: %v", err)
	}
	u, _ := pb.NewTenantServiceClient(core.Admin(t, "root")).GetQuotaUsage(ctx, &pb.GetQuotaUsageRequest{Tenant: "t1"})
	if u.ActiveCertificates != 0 {
		t.Fatalf("%d active certificates after the only one was revoked", u.ActiveCertificates)
	}
	// The CA certificate is served for AIA caIssuers.
	r, err := http.Get(leaf.IssuingCertificateURL[0])
	if err != nil || r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/pkix-cert" {
		t.Fatalf("CA certificate URL: %v %v", r, err)
	}
	r.Body.Close()
}

func TestHoldAndRelease(t *testing.T) {
	core := coretest.Start(t, coretest.Options{HTTP: true, CRLDelay: 100 * time.Millisecond})
	issuer := revocationSetup(t, core)
	ctx := context.Background()
	leaf := issueOne(t, core, "hold.example.com")
	rev := pb.NewRevocationServiceClient(core.Admin(t, "root"))
	if _, err := rev.HoldCertificate(ctx, &pb.CertificateStatusRequest{Tenant: "t1", Serial: leaf.SerialNumber.Text(16), Publish: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hold in OCSP and CRL", func() error {
		if r, _ := ocspQuery(t, core, issuer, leaf.SerialNumber, false); r.Status != ocsp.Revoked || r.RevocationReason != ocsp.CertificateHold {
			return errorf("OCSP " + ocspStatus(r))
		}
		crl, _ := fetchCRL(t, leaf.CRLDistributionPoints[0], issuer)
		if crl == nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].ReasonCode != 6 {
			return errorf("CRL without the hold")
		}
		return nil
	})
	if _, err := rev.ReleaseCertificate(ctx, &pb.CertificateStatusRequest{Tenant: "t1", Serial: leaf.SerialNumber.Text(16), Publish: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "release in OCSP and CRL", func() error {
		if r, _ := ocspQuery(t, core, issuer, leaf.SerialNumber, true); r.Status != ocsp.Good {
			return errorf("OCSP " + ocspStatus(r))
		}
		crl, _ := fetchCRL(t, leaf.CRLDistributionPoints[0], issuer)
		if crl == nil || len(crl.RevokedCertificateEntries) != 0 {
			return errorf("CRL still lists the released certificate")
		}
		return nil
	})
}

func TestOCSPRefusals(t *testing.T) {
	core := coretest.Start(t, coretest.Options{HTTP: true})
	issuer := revocationSetup(t, core)
	leaf := issueOne(t, core, "x.example.com")
	_ = leaf
	post := func(path string, body []byte) []byte {
		resp, err := http.Post(core.HTTP+path, "application/ocsp-request", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	wantError := func(name string, body []byte, want ocsp.ResponseStatus) {
		t.Helper()
		_, err := ocsp.ParseResponse(body, nil)
		re, ok := err.(ocsp.ResponseError)
		if !ok || re.Status != want {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
	wantError("garbage", post("/ocsp/t1/issuing", []byte("not DER")), ocsp.Malformed)
	req, _ := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(5)}, issuer, nil)
	wantError("unknown CA", post("/ocsp/t1/nope", req), ocsp.Unauthorized)
	rootResp, err := pb.NewCAServiceClient(core.Admin(t, "root")).GetCA(context.Background(), &pb.GetCARequest{Tenant: "t1", Id: "root"})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootResp.Certificate)
	other, _ := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(5)}, root, nil)
	wantError("request for another issuer", post("/ocsp/t1/issuing", other), ocsp.Unauthorized)
}

func TestBulkRevocation(t *testing.T) {
	core := coretest.Start(t, coretest.Options{HTTP: true, CRLDelay: time.Hour})
	issuer := revocationSetup(t, core)
	ctx := context.Background()
	var serials []*big.Int
	for i := 0; i < 6; i++ {
		serials = append(serials, issueOne(t, core, "bulk.example.com").SerialNumber)
	}
	var before *x509.RevocationList
	eventually(t, "first CRL", func() error {
		if before, _ = fetchCRL(t, core.HTTP+"/crl/t1/issuing.crl", issuer); before == nil {
			return errorf("no CRL")
		}
		return nil
	})
	// Serials in the second column, header row, mixed case and leading
	// zeros, one garbage row and one unknown serial.
	csv := "host,Serial Number\n" +
		"a," + strings.ToUpper(serials[0].Text(16)) + "\n" +
		"b,0000" + serials[1].Text(16) + "\n" +
		"c,not-a-serial\n" +
		"d,00ab\n" +
		"e," + serials[2].Text(16) + "\n"
	rev := pb.NewRevocationServiceClient(core.Admin(t, "root"))
	job, err := rev.StartBulkRevocation(ctx, &pb.StartBulkRevocationRequest{Tenant: "t1", Csv: []byte(csv), SerialColumn: "serial number",
		Reason: pb.RevocationReason_REVOCATION_REASON_SUPERSEDED})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bulk job", func() error {
		j, err := rev.GetBulkRevocation(ctx, &pb.GetBulkRevocationRequest{Tenant: "t1", Id: job.Id})
		if err != nil {
			return err
		}
		if j.Status != pb.BulkRevocation_STATUS_DONE {
			return errorf("still running")
		}
		if j.Total != 5 || j.Done != 5 || j.Failed != 2 {
			t.Fatalf("job %v", j)
		}
		return nil
	})
	res, err := rev.ListBulkRevocationResults(ctx, &pb.ListBulkRevocationResultsRequest{Tenant: "t1", Id: job.Id, FailedOnly: true})
	if err != nil || len(res.Results) != 2 || res.Results[0].Detail != "not a hex serial" || res.Results[1].Detail != "no such certificate" {
		t.Fatalf("failed results %v, %v", res, err)
	}
	// One CRL regeneration at the end, although the delay is an hour.
	eventually(t, "CRL after the job", func() error {
		crl, _ := fetchCRL(t, core.HTTP+"/crl/t1/issuing.crl", issuer)
		if len(crl.RevokedCertificateEntries) != 3 {
			return errorf("CRL has " + big.NewInt(int64(len(crl.RevokedCertificateEntries))).String() + " entries")
		}
		if crl.Number.Int64() != before.Number.Int64()+1 {
			t.Fatalf("CRL number went from %v to %v: want exactly one regeneration", before.Number, crl.Number)
		}
		return nil
	})
	// A selector revokes the rest.
	job2, err := rev.StartBulkRevocation(ctx, &pb.StartBulkRevocationRequest{Tenant: "t1", Selector: &pb.BulkSelector{Ca: "issuing"},
		Reason: pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "selector job", func() error {
		j, _ := rev.GetBulkRevocation(ctx, &pb.GetBulkRevocationRequest{Tenant: "t1", Id: job2.Id})
		if j.Status != pb.BulkRevocation_STATUS_DONE {
			return errorf("running")
		}
		if j.Total != 3 || j.Failed != 0 {
			t.Fatalf("selector job %v", j)
		}
		return nil
	})
	u, _ := pb.NewTenantServiceClient(core.Admin(t, "root")).GetQuotaUsage(ctx, &pb.GetQuotaUsageRequest{Tenant: "t1"})
	if u.ActiveCertificates != 0 {
		t.Fatalf("%d licences left after revoking everything", u.ActiveCertificates)
	}
}

func TestRevocationAcrossReplicas(t *testing.T) {
	dsn := storetest.DSN(t, store.Postgres)
	a := coretest.Start(t, coretest.Options{Engine: store.Postgres, DSN: dsn, HTTP: true, CRLDelay: 100 * time.Millisecond})
	b := coretest.Start(t, coretest.Options{Engine: store.Postgres, DSN: dsn, PKI: a.PKI, HTTP: true, CRLDelay: 100 * time.Millisecond})
	issuer := revocationSetup(t, a)
	waitForOCSP(t, b, issuer)
	ctx := context.Background()
	var leaves []*x509.Certificate
	for i := 0; i < 8; i++ {
		leaves = append(leaves, issueOne(t, a, "r.example.com"))
	}
	// Warm replica b's OCSP cache with "good" answers.
	for _, l := range leaves {
		if r, _ := ocspQuery(t, b, issuer, l.SerialNumber, true); r.Status != ocsp.Good {
			t.Fatalf("before: %s", ocspStatus(r))
		}
	}
	// Revoke concurrently through both replicas.
	errs := make(chan error, len(leaves))
	for i, l := range leaves {
		go func(i int, serial string) {
			core := []*coretest.Core{a, b}[i%2]
			_, err := pb.NewRevocationServiceClient(core.Admin(t, "root")).RevokeCertificate(ctx, &pb.RevokeCertificateRequest{Tenant: "t1", Serial: serial})
			errs <- err
		}(i, l.SerialNumber.Text(16))
	}
	for range leaves {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var numbers []int64
	for _, core := range []*coretest.Core{b, a} {
		eventually(t, "both replicas agree", func() error {
			for _, l := range leaves {
				if r, _ := ocspQuery(t, core, issuer, l.SerialNumber, true); r.Status != ocsp.Revoked {
					return errorf("OCSP still " + ocspStatus(r))
				}
			}
			crl, _ := fetchCRL(t, core.HTTP+"/crl/t1/issuing.crl", issuer)
			if crl == nil || len(crl.RevokedCertificateEntries) != len(leaves) {
				return errorf("CRL incomplete")
			}
			numbers = append(numbers, crl.Number.Int64())
			return nil
		})
	}
	if numbers[1] < numbers[0] {
		t.Fatalf("CRL numbers seen %v: went backwards", numbers)
	}
}

func ocspStatus(r *ocsp.Response) string {
	return map[int]string{ocsp.Good: "good", ocsp.Revoked: "revoked", ocsp.Unknown: "unknown"}[r.Status]
}

func timestampOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
