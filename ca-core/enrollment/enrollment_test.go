package enrollment_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"sync"
	"testing"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/enrollment"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/issuance"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/profile"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/signer/soft"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

func newService(t *testing.T) (*enrollment.Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite, store.Options{})
	set, _ := profile.NewSet()
	res := profile.NewResolver(set, st)
	sb, _ := soft.New([]byte("enrollment test secret"), nil)
	auth, err := ca.New(ca.Deps{Store: st, Profiles: res, Backends: map[string]signer.Backend{"soft": sb}, DefaultBackend: "soft"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, &store.Tenant{ID: "t1"}, &audit.Event{Tenant: "t1", Actor: "test", Action: audit.ActionTenantCreate}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "root", Type: profile.Root, KeyType: keys.P256, Subject: "CN=R"}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Create(ctx, &ca.CreateRequest{Tenant: "t1", ID: "issuing", Type: profile.Issuing, Parent: "root", KeyType: keys.P256, Subject: "CN=I",
		Profiles: []string{"scep-client-auth", "est-client-auth"}}); err != nil {
		t.Fatal(err)
	}
	pipeline, _ := issuance.New(issuance.Deps{Store: st, Issuers: auth, Profiles: res})
	return enrollment.New(st, res, pipeline, nil), st
}

func TestEndpointValidation(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	for name, tc := range map[string]struct {
		e      store.Endpoint
		secret string
		rule   string
		reason fault.Reason
	}{
		"ok/scep":                {store.Endpoint{ID: "scep1", Protocol: "scep", CA: "issuing", DefaultProfile: "scep-client-auth"}, "", "", 0},
		"ok/shared-secret":       {store.Endpoint{ID: "est1", Protocol: "est", CA: "issuing", DefaultProfile: "est-client-auth", AuthMethod: "shared_secret", AuthUsername: "dev"}, "s3cret", "", 0},
		"fail/profile-not-on-ca": {store.Endpoint{ID: "e2", Protocol: "acme", CA: "issuing", DefaultProfile: "acme-tls-server"}, "", "endpoint.profile", fault.PolicyRejected},
		"fail/root-ca":           {store.Endpoint{ID: "e3", Protocol: "scep", CA: "root", DefaultProfile: "scep-client-auth"}, "", "endpoint.ca", fault.PolicyRejected},
		"fail/secret-missing":    {store.Endpoint{ID: "e4", Protocol: "est", CA: "issuing", DefaultProfile: "est-client-auth", AuthMethod: "shared_secret"}, "", "", fault.BadRequest},
		"fail/protocol":          {store.Endpoint{ID: "e5", Protocol: "cmp", CA: "issuing", DefaultProfile: "scep-client-auth"}, "", "", fault.BadRequest},
		"fail/auth-method":       {store.Endpoint{ID: "e6", Protocol: "scep", CA: "issuing", DefaultProfile: "scep-client-auth", AuthMethod: "magic"}, "", "", fault.BadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			tc.e.Tenant = "t1"
			err := svc.CreateEndpoint(ctx, "admin:test", &tc.e, tc.secret)
			if tc.reason == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tc.e.Frontend != tc.e.Protocol {
					t.Errorf("frontend %q, want the protocol's name", tc.e.Frontend)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Reason != tc.reason || (tc.rule != "" && fe.Rule != tc.rule) {
				t.Fatalf("got %v, want %v %s", err, tc.reason, tc.rule)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	e := &store.Endpoint{Tenant: "t1", ID: "est1", Protocol: "est", CA: "issuing", DefaultProfile: "est-client-auth", AuthMethod: "shared_secret", AuthUsername: "device"}
	if err := svc.CreateEndpoint(ctx, "admin:test", e, "correct horse"); err != nil {
		t.Fatal(err)
	}
	stored, _ := st.GetEndpoint(ctx, "t1", "est1")
	if stored.SecretHash == "" || stored.SecretHash == "correct horse" {
		t.Fatalf("secret stored as %q", stored.SecretHash)
	}
	if err := svc.VerifyCredential(ctx, "frontend:est", stored, "device", "correct horse"); err != nil {
		t.Fatalf("right credential: %v", err)
	}
	for _, c := range [][2]string{{"device", "wrong"}, {"other", "correct horse"}, {"device", ""}} {
		if err := svc.VerifyCredential(ctx, "frontend:est", stored, c[0], c[1]); fault.ReasonOf(err) != fault.Unauthenticated {
			t.Errorf("%v: got %v, want UNAUTHENTICATED", c, err)
		}
	}
	// Updating without a secret keeps it.
	stored.Description = "renamed"
	if err := svc.UpdateEndpoint(ctx, "admin:test", stored, ""); err != nil {
		t.Fatal(err)
	}
	again, _ := st.GetEndpoint(ctx, "t1", "est1")
	if err := svc.VerifyCredential(ctx, "frontend:est", again, "device", "correct horse"); err != nil || again.Description != "renamed" {
		t.Fatalf("after update: %v, %q", err, again.Description)
	}
}

func TestPendingApprovalIssuesOnce(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	e := &store.Endpoint{Tenant: "t1", ID: "scep1", Protocol: "scep", CA: "issuing", DefaultProfile: "scep-client-auth"}
	if err := svc.CreateEndpoint(ctx, "admin:test", e, ""); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "router-7"}}, k)
	if _, err := svc.CreatePending(ctx, "frontend:scep", e, &store.PendingRequest{TransactionID: "tx", CSR: []byte("junk")}); fault.ReasonOf(err) != fault.BadCSR {
		t.Fatalf("garbage CSR queued: %v", err)
	}
	p, err := svc.CreatePending(ctx, "frontend:scep", e, &store.PendingRequest{TransactionID: "tx-1", CSR: csr, EndEntity: "router-7"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	serials := make([]string, 4)
	for i := range serials {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, res, err := svc.Approve(ctx, "admin:ops", "t1", p.ID)
			if err != nil {
				t.Error(err)
				return
			}
			serials[i] = res.Certificate.Serial
		}(i)
	}
	wg.Wait()
	for _, s := range serials {
		if s != serials[0] {
			t.Fatalf("concurrent approvals issued %v", serials)
		}
	}
	got, err := st.GetPending(ctx, "t1", "scep1", "", "tx-1")
	if err != nil || got.Status != store.PendingIssued || got.Serial != serials[0] || got.DecidedBy != "admin:ops" {
		t.Fatalf("pending after approval: %+v, %v", got, err)
	}
	if _, err := svc.Reject(ctx, "admin:ops", "t1", p.ID, "too late"); fault.ReasonOf(err) != fault.Conflict {
		t.Fatalf("rejecting an issued request: %v", err)
	}
}
