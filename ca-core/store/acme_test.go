package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
	"github.com/certgate/certgate/ca-core/store/storetest"
)

// The ACME state machine of RFC 8555 §7.1.6 as the store keeps it, with a
// clock the tests move. The end-to-end suite walks the happy paths over
// HTTP; these tests look at expiry, refusals and races.

const (
	acmeTenant   = "t1"
	acmeEndpoint = "acme"
	day          = 24 * time.Hour
	// finalizeStale is what acme.Service passes to BeginAcmeFinalize.
	finalizeStale = 10 * time.Minute
	// validAuthzLife is what acme.Service passes to CompleteAcmeChallenge.
	validAuthzLife = 30 * day
)

// acmeEnv is a store with one tenant and an ACME endpoint's worth of
// helpers. in rebinds it to a subtest, sharing store, clock and ids.
type acmeEnv struct {
	t   *testing.T
	s   *store.Store
	clk *clock
	seq *int
}

func newAcmeEnv(t *testing.T, e store.Engine) *acmeEnv {
	clk := newClock()
	s := storetest.Open(t, e, store.Options{Now: clk.Now})
	mkTenant(t, s, acmeTenant, 0, 0)
	return &acmeEnv{t: t, s: s, clk: clk, seq: new(int)}
}

func (a *acmeEnv) in(t *testing.T) *acmeEnv {
	c := *a
	c.t = t
	return &c
}

func (a *acmeEnv) ctx() context.Context { return a.t.Context() }

// id returns a fresh identifier with a readable prefix.
func (a *acmeEnv) id(prefix string) string {
	*a.seq++
	return fmt.Sprintf("%s-%d", prefix, *a.seq)
}

// nonceFor mints a nonce of tenant and endpoint that lives for ttl.
func (a *acmeEnv) nonceFor(tenant, endpoint string, ttl time.Duration) string {
	a.t.Helper()
	n := a.id("nonce")
	if err := a.s.CreateAcmeNonces(a.ctx(), tenant, endpoint, []string{n}, a.clk.Now().Add(ttl)); err != nil {
		a.t.Fatal(err)
	}
	return n
}

func (a *acmeEnv) nonce() string { return a.nonceFor(acmeTenant, acmeEndpoint, time.Hour) }

// req is a request of acct signed with its current key. Its nonce is
// acme.Service's to spend, not the store's.
func (a *acmeEnv) req(acct *store.AcmeAccount) *store.AcmeReq {
	return &store.AcmeReq{Tenant: acmeTenant, Endpoint: acmeEndpoint, AccountID: acct.ID, KeyThumbprint: acct.KeyThumbprint}
}

// newAccount returns an unsaved account with a key of its own.
func (a *acmeEnv) newAccount() *store.AcmeAccount {
	return &store.AcmeAccount{Tenant: acmeTenant, Endpoint: acmeEndpoint, ID: a.id("acct"), KeyThumbprint: a.id("thumb"),
		JWK: []byte(`{"kty":"EC"}`), Contact: []string{"mailto:ops@example.com"}, TermsAgreed: true}
}

func (a *acmeEnv) account() *store.AcmeAccount {
	a.t.Helper()
	acct, created, err := a.s.NewAcmeAccount(a.ctx(), a.newAccount(), false, nil, ev(acmeTenant, "acme.account.create"))
	if err != nil || !created {
		a.t.Fatalf("creating an account: created=%v, %v", created, err)
	}
	return acct
}

// challengeOf names the one http-01 challenge newAuthz gives each
// authorization.
func challengeOf(authzID string) string { return authzID + "-http" }

// newOrder asks for an order of DNS names; new authorizations live for
// authzLife, and valid ones are reused when they outlive the order.
func (a *acmeEnv) newOrder(acct *store.AcmeAccount, names []string, orderLife, authzLife time.Duration, replaces string) (*store.AcmeOrder, error) {
	a.t.Helper()
	now := a.clk.Now()
	idents := make([]store.AcmeIdentifier, len(names))
	for i, n := range names {
		idents[i] = store.AcmeIdentifier{Type: "dns", Value: n}
	}
	o := &store.AcmeOrder{Tenant: acmeTenant, Endpoint: acmeEndpoint, ID: a.id("order"), AccountID: acct.ID, Identifiers: idents,
		Profile: "p", Replaces: replaces, Expires: now.Add(orderLife)}
	newAuthz := func(id store.AcmeIdentifier, wildcard bool) *store.AcmeAuthz {
		zid := a.id("authz")
		return &store.AcmeAuthz{Tenant: acmeTenant, Endpoint: acmeEndpoint, ID: zid, AccountID: acct.ID, Identifier: id, Wildcard: wildcard,
			Status: store.AcmePending, Expires: now.Add(authzLife),
			Challenges: []store.AcmeChallenge{{ID: challengeOf(zid), Type: "http-01", Token: "token-" + zid, Status: store.AcmePending}}}
	}
	return a.s.NewAcmeOrder(a.ctx(), a.req(acct), o, idents, make([]bool, len(names)), newAuthz, now.Add(orderLife), ev(acmeTenant, "acme.order.create"))
}

func (a *acmeEnv) order(acct *store.AcmeAccount, orderLife, authzLife time.Duration, names ...string) *store.AcmeOrder {
	a.t.Helper()
	o, err := a.newOrder(acct, names, orderLife, authzLife, "")
	if err != nil {
		a.t.Fatalf("new order: %v", err)
	}
	return o
}

var incorrectResponse = []byte(`{"type":"urn:ietf:params:acme:error:incorrectResponse","detail":"wrong token"}`)

// validate starts an authorization's challenge and records its outcome.
func (a *acmeEnv) validate(acct *store.AcmeAccount, authzID string, valid bool) *store.AcmeAuthz {
	a.t.Helper()
	_, ch, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), challengeOf(authzID))
	if err != nil || !start || ch.Status != store.AcmeProcessing {
		a.t.Fatalf("starting the challenge of %s: start=%v, %v", authzID, start, err)
	}
	z, err := a.s.CompleteAcmeChallenge(a.ctx(), acmeTenant, acmeEndpoint, challengeOf(authzID), valid, validAuthzLife, incorrectResponse)
	if err != nil {
		a.t.Fatalf("completing the challenge of %s: %v", authzID, err)
	}
	return z
}

// validateAll makes every authorization of o valid.
func (a *acmeEnv) validateAll(acct *store.AcmeAccount, o *store.AcmeOrder) {
	a.t.Helper()
	for _, id := range o.AuthzIDs {
		a.validate(acct, id, true)
	}
}

func (a *acmeEnv) orderStatus(acct *store.AcmeAccount, id string) string {
	a.t.Helper()
	o, err := a.s.GetAcmeOrder(a.ctx(), a.req(acct), id)
	if err != nil {
		a.t.Fatalf("reading order %s: %v", id, err)
	}
	return o.Status
}

func (a *acmeEnv) authzStatus(acct *store.AcmeAccount, id string) string {
	a.t.Helper()
	z, err := a.s.GetAcmeAuthz(a.ctx(), a.req(acct), id, false)
	if err != nil {
		a.t.Fatalf("reading authorization %s: %v", id, err)
	}
	return z.Status
}

func (a *acmeEnv) beginFinalize(acct *store.AcmeAccount, id string) (*store.AcmeOrder, error) {
	a.t.Helper()
	return a.s.BeginAcmeFinalize(a.ctx(), a.req(acct), id, finalizeStale)
}

// wantRule fails unless err is a fault with rule (and reason, when not
// Internal, the zero value).
func wantRule(t *testing.T, err error, reason fault.Reason, rule string) {
	t.Helper()
	fe := fault.As(err)
	if fe == nil || fe.Rule != rule || (reason != fault.Internal && fe.Reason != reason) {
		t.Fatalf("got %v, want %s [%s]", err, reason, rule)
	}
}

func TestAcmeOrderStatusFollowsItsAuthorizations(t *testing.T) {
	cases := []struct {
		name                 string
		names                []string
		orderLife, authzLife time.Duration
		// act moves the clock and the authorizations after the order is made.
		act        func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder)
		wantAuthzs []string
		wantOrder  string
	}{
		{
			name: "new order is pending", names: []string{"a.example", "b.example"}, orderLife: 7 * day, authzLife: 7 * day,
			act:        func(*acmeEnv, *store.AcmeAccount, *store.AcmeOrder) {},
			wantAuthzs: []string{store.AcmePending, store.AcmePending}, wantOrder: store.AcmePending,
		},
		{
			name: "pending authorization just before its expiry", names: []string{"a.example"}, orderLife: 7 * day, authzLife: time.Hour,
			act:        func(a *acmeEnv, _ *store.AcmeAccount, _ *store.AcmeOrder) { a.clk.Add(time.Hour - time.Second) },
			wantAuthzs: []string{store.AcmePending}, wantOrder: store.AcmePending,
		},
		{
			// expires is the first instant the authorization is no longer good.
			name: "pending authorization at its expiry", names: []string{"a.example"}, orderLife: 7 * day, authzLife: time.Hour,
			act:        func(a *acmeEnv, _ *store.AcmeAccount, _ *store.AcmeOrder) { a.clk.Add(time.Hour) },
			wantAuthzs: []string{store.AcmeExpired}, wantOrder: store.AcmeInvalid,
		},
		{
			name: "order past its expiry", names: []string{"a.example"}, orderLife: time.Hour, authzLife: 7 * day,
			act:        func(a *acmeEnv, _ *store.AcmeAccount, _ *store.AcmeOrder) { a.clk.Add(time.Hour + time.Minute) },
			wantAuthzs: []string{store.AcmePending}, wantOrder: store.AcmeInvalid,
		},
		{
			name: "every authorization valid", names: []string{"a.example", "b.example"}, orderLife: 7 * day, authzLife: 7 * day,
			act:        func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) { a.validateAll(acct, o) },
			wantAuthzs: []string{store.AcmeValid, store.AcmeValid}, wantOrder: store.AcmeReady,
		},
		{
			name: "one of two authorizations valid", names: []string{"a.example", "b.example"}, orderLife: 7 * day, authzLife: 7 * day,
			act:        func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) { a.validate(acct, o.AuthzIDs[1], true) },
			wantAuthzs: []string{store.AcmePending, store.AcmeValid}, wantOrder: store.AcmePending,
		},
		{
			name: "one invalid authorization", names: []string{"a.example", "b.example"}, orderLife: 7 * day, authzLife: 7 * day,
			act: func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) {
				a.validate(acct, o.AuthzIDs[0], true)
				a.validate(acct, o.AuthzIDs[1], false)
			},
			wantAuthzs: []string{store.AcmeValid, store.AcmeInvalid}, wantOrder: store.AcmeInvalid,
		},
		{
			name: "one deactivated authorization", names: []string{"a.example", "b.example"}, orderLife: 7 * day, authzLife: 7 * day,
			act: func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) {
				a.validate(acct, o.AuthzIDs[0], true)
				if _, err := a.s.GetAcmeAuthz(a.ctx(), a.req(acct), o.AuthzIDs[1], true); err != nil {
					a.t.Fatal(err)
				}
			},
			wantAuthzs: []string{store.AcmeValid, store.AcmeDeactivated}, wantOrder: store.AcmeInvalid,
		},
		{
			// Validation starts the authorization's valid lifetime.
			name: "valid authorization past the pending one's expiry", names: []string{"a.example"}, orderLife: 7 * day, authzLife: time.Hour,
			act: func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) {
				a.clk.Add(time.Minute)
				a.validateAll(acct, o)
				a.clk.Add(time.Hour)
			},
			wantAuthzs: []string{store.AcmeValid}, wantOrder: store.AcmeReady,
		},
		{
			name: "valid authorization past its expiry", names: []string{"a.example"}, orderLife: 2 * validAuthzLife, authzLife: time.Hour,
			act: func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) {
				a.validateAll(acct, o)
				a.clk.Add(validAuthzLife)
			},
			wantAuthzs: []string{store.AcmeExpired}, wantOrder: store.AcmeInvalid,
		},
		{
			name: "ready order past its expiry", names: []string{"a.example"}, orderLife: time.Hour, authzLife: 7 * day,
			act: func(a *acmeEnv, acct *store.AcmeAccount, o *store.AcmeOrder) {
				a.validateAll(acct, o)
				a.clk.Add(time.Hour)
			},
			wantAuthzs: []string{store.AcmeValid}, wantOrder: store.AcmeInvalid,
		},
	}
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := env.in(t)
				acct := a.account()
				o := a.order(acct, c.orderLife, c.authzLife, c.names...)
				c.act(a, acct, o)

				// Plain reads derive the status.
				for i, id := range o.AuthzIDs {
					if got := a.authzStatus(acct, id); got != c.wantAuthzs[i] {
						t.Errorf("authorization %d reads %s, want %s", i, got, c.wantAuthzs[i])
					}
				}
				if got := a.orderStatus(acct, o.ID); got != c.wantOrder {
					t.Errorf("order reads %s, want %s", got, c.wantOrder)
				}

				// A transaction derives the same one: only a ready order
				// may start finalizing.
				fin, err := a.beginFinalize(acct, o.ID)
				if c.wantOrder == store.AcmeReady {
					if err != nil || fin.Status != store.AcmeProcessing {
						t.Fatalf("finalizing a ready order: %+v, %v", fin, err)
					}
					if got := a.orderStatus(acct, o.ID); got != store.AcmeProcessing {
						t.Fatalf("after BeginAcmeFinalize the order reads %s, want processing", got)
					}
					return
				}
				wantRule(t, err, fault.Conflict, "acme.orderNotReady")
				if d := fault.As(err).Detail; !strings.Contains(d, c.wantOrder) {
					t.Errorf("BeginAcmeFinalize saw another status than %s: %s", c.wantOrder, d)
				}
			})
		}
	})
}

// TestAcmeTransactionsRecordDerivedStatus moves the clock back after a
// transaction saw an expiry: only a recorded status survives that.
func TestAcmeTransactionsRecordDerivedStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)

		t.Run("expired authorization", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := a.order(acct, 7*day, time.Hour, "a.example")
			zid := o.AuthzIDs[0]
			a.clk.Add(time.Hour)
			z, ch, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), challengeOf(zid))
			if err != nil || start || z.Status != store.AcmeExpired || ch.Status != store.AcmePending {
				t.Fatalf("challenge of an expired authorization: authz %v, challenge %v, start=%v, %v", z, ch, start, err)
			}
			a.clk.Add(-time.Hour)
			if got := a.authzStatus(acct, zid); got != store.AcmeExpired {
				t.Fatalf("before its expiry again, the authorization reads %s: the expiry was not recorded", got)
			}
			if got := a.orderStatus(acct, o.ID); got != store.AcmeInvalid {
				t.Fatalf("order with a recorded expired authorization reads %s, want invalid", got)
			}
			// And the challenge cannot start any more.
			if _, _, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), challengeOf(zid)); err != nil || start {
				t.Fatalf("challenge of an expired authorization started: %v", err)
			}
		})

		t.Run("processing order stops following its authorizations", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := a.order(acct, 7*day, 2*time.Hour, "a.example")
			a.validateAll(acct, o)
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatal(err)
			}
			a.clk.Add(time.Hour)
			// Deactivating a valid authorization is allowed, but the order
			// is past the point where that matters.
			if _, err := a.s.GetAcmeAuthz(a.ctx(), a.req(acct), o.AuthzIDs[0], true); err != nil {
				t.Fatal(err)
			}
			a.clk.Add(8 * day)
			if got := a.orderStatus(acct, o.ID); got != store.AcmeProcessing {
				t.Fatalf("processing order reads %s", got)
			}
		})

		t.Run("challenge completed after its authorization expired", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := a.order(acct, 7*day, time.Hour, "a.example")
			zid := o.AuthzIDs[0]
			if _, _, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), challengeOf(zid)); err != nil || !start {
				t.Fatalf("start: %v, %v", start, err)
			}
			a.clk.Add(time.Hour)
			z, err := a.s.CompleteAcmeChallenge(a.ctx(), acmeTenant, acmeEndpoint, challengeOf(zid), true, validAuthzLife, nil)
			if err != nil || z.Status != store.AcmeExpired {
				t.Fatalf("late validation: %+v, %v; want the authorization expired", z, err)
			}
			if got := a.orderStatus(acct, o.ID); got != store.AcmeInvalid {
				t.Fatalf("order reads %s, want invalid", got)
			}
		})
	})
}

func TestAcmeAuthzDeactivation(t *testing.T) {
	cases := []struct {
		name string
		// prepare brings the order's only authorization to a state.
		prepare func(a *acmeEnv, acct *store.AcmeAccount, zid string)
		ok      bool
		// want is the status the authorization reads afterwards.
		want string
	}{
		{"pending", func(*acmeEnv, *store.AcmeAccount, string) {}, true, store.AcmeDeactivated},
		{"valid", func(a *acmeEnv, acct *store.AcmeAccount, zid string) { a.validate(acct, zid, true) }, true, store.AcmeDeactivated},
		{"invalid", func(a *acmeEnv, acct *store.AcmeAccount, zid string) { a.validate(acct, zid, false) }, false, store.AcmeInvalid},
		{"expired", func(a *acmeEnv, _ *store.AcmeAccount, _ string) { a.clk.Add(time.Hour) }, false, store.AcmeExpired},
		{"deactivated", func(a *acmeEnv, acct *store.AcmeAccount, zid string) {
			if _, err := a.s.GetAcmeAuthz(a.ctx(), a.req(acct), zid, true); err != nil {
				a.t.Fatal(err)
			}
		}, false, store.AcmeDeactivated},
	}
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := env.in(t)
				acct := a.account()
				o := a.order(acct, 7*day, time.Hour, "a.example")
				zid := o.AuthzIDs[0]
				c.prepare(a, acct, zid)
				z, err := a.s.GetAcmeAuthz(a.ctx(), a.req(acct), zid, true)
				if c.ok {
					if err != nil || z.Status != store.AcmeDeactivated {
						t.Fatalf("deactivating: %+v, %v", z, err)
					}
					if got := a.orderStatus(acct, o.ID); got != store.AcmeInvalid {
						t.Fatalf("order of a deactivated authorization reads %s, want invalid", got)
					}
				} else {
					wantRule(t, err, fault.Conflict, "acme.malformed")
				}
				if got := a.authzStatus(acct, zid); got != c.want {
					t.Fatalf("authorization reads %s, want %s", got, c.want)
				}
			})
		}

		t.Run("another account's authorization", func(t *testing.T) {
			a := env.in(t)
			owner, other := a.account(), a.account()
			o := a.order(owner, 7*day, 7*day, "a.example")
			_, err := a.s.GetAcmeAuthz(a.ctx(), a.req(other), o.AuthzIDs[0], true)
			wantRule(t, err, fault.NotFound, "acme.malformed")
			if got := a.authzStatus(owner, o.AuthzIDs[0]); got != store.AcmePending {
				t.Fatalf("authorization reads %s after another account tried to deactivate it", got)
			}
		})
	})
}

func TestAcmeNonces(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)
		use := func(a *acmeEnv, tenant, endpoint, nonce string) error {
			return a.s.UseAcmeNonce(a.ctx(), tenant, endpoint, nonce)
		}

		refusals := []struct {
			name string
			// try mints a nonce and redeems it in a way that must fail.
			try func(a *acmeEnv) error
		}{
			{"used twice", func(a *acmeEnv) error {
				n := a.nonce()
				if err := use(a, acmeTenant, acmeEndpoint, n); err != nil {
					a.t.Fatalf("first use: %v", err)
				}
				return use(a, acmeTenant, acmeEndpoint, n)
			}},
			{"expired", func(a *acmeEnv) error {
				n := a.nonceFor(acmeTenant, acmeEndpoint, time.Minute)
				a.clk.Add(time.Minute)
				return use(a, acmeTenant, acmeEndpoint, n)
			}},
			{"another endpoint's", func(a *acmeEnv) error {
				return use(a, acmeTenant, "other", a.nonce())
			}},
			{"another tenant's", func(a *acmeEnv) error {
				return use(a, "t2", acmeEndpoint, a.nonce())
			}},
			{"unknown", func(a *acmeEnv) error {
				return use(a, acmeTenant, acmeEndpoint, "never-issued")
			}},
		}
		for _, c := range refusals {
			t.Run(c.name, func(t *testing.T) {
				wantRule(t, c.try(env.in(t)), fault.BadRequest, "acme.badNonce")
			})
		}

		t.Run("good until just before expiry", func(t *testing.T) {
			a := env.in(t)
			n := a.nonceFor(acmeTenant, acmeEndpoint, time.Minute)
			a.clk.Add(time.Minute - time.Millisecond)
			if err := use(a, acmeTenant, acmeEndpoint, n); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("pruning forgets expired nonces only", func(t *testing.T) {
			a := env.in(t)
			old := a.nonceFor(acmeTenant, acmeEndpoint, time.Minute)
			fresh := a.nonceFor(acmeTenant, acmeEndpoint, time.Hour)
			a.clk.Add(2 * time.Minute)
			if err := a.s.PruneAcmeNonces(a.ctx(), a.clk.Now()); err != nil {
				t.Fatal(err)
			}
			// Back to when both were good: only a nonce that was pruned
			// stays refused.
			a.clk.Add(-2 * time.Minute)
			wantRule(t, use(a, acmeTenant, acmeEndpoint, old), fault.BadRequest, "acme.badNonce")
			if err := use(a, acmeTenant, acmeEndpoint, fresh); err != nil {
				t.Fatalf("pruning removed an unexpired nonce: %v", err)
			}
		})
	})
}

func TestAcmeAccounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)

		t.Run("the same key finds the same account", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			again := a.newAccount()
			again.KeyThumbprint = acct.KeyThumbprint
			got, created, err := a.s.NewAcmeAccount(a.ctx(), again, false, nil, ev(acmeTenant, "acme.account.create"))
			if err != nil || created || got.ID != acct.ID {
				t.Fatalf("got %+v created=%v, %v; want the existing account %s", got, created, err, acct.ID)
			}
			got, created, err = a.s.NewAcmeAccount(a.ctx(), again, true, nil, nil)
			if err != nil || created || got.ID != acct.ID {
				t.Fatalf("onlyReturnExisting: got %+v created=%v, %v", got, created, err)
			}
		})

		t.Run("onlyReturnExisting without an account", func(t *testing.T) {
			a := env.in(t)
			acct := a.newAccount()
			_, _, err := a.s.NewAcmeAccount(a.ctx(), acct, true, nil, nil)
			wantRule(t, err, fault.NotFound, "acme.accountDoesNotExist")
			_, err = a.s.LookupAcmeAccount(a.ctx(), acmeTenant, acmeEndpoint, "", acct.KeyThumbprint)
			wantRule(t, err, fault.Unauthenticated, "acme.accountDoesNotExist")
		})

		t.Run("unknown account", func(t *testing.T) {
			a := env.in(t)
			ghost := a.newAccount()
			_, err := a.s.CheckAcmeAccount(a.ctx(), a.req(ghost))
			wantRule(t, err, fault.Unauthenticated, "acme.accountDoesNotExist")
			_, err = a.s.LookupAcmeAccount(a.ctx(), acmeTenant, acmeEndpoint, ghost.ID, "")
			wantRule(t, err, fault.Unauthenticated, "acme.accountDoesNotExist")
		})

		t.Run("another key", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			r := a.req(acct)
			r.KeyThumbprint = a.account().KeyThumbprint // a real key, of another account
			_, err := a.s.CheckAcmeAccount(a.ctx(), r)
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
		})

		t.Run("another endpoint", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			r := a.req(acct)
			r.Endpoint = "other"
			_, err := a.s.CheckAcmeAccount(a.ctx(), r)
			wantRule(t, err, fault.Unauthenticated, "acme.accountDoesNotExist")
		})

		t.Run("deactivated account", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			got, err := a.s.UpdateAcmeAccount(a.ctx(), a.req(acct), false, nil, true, ev(acmeTenant, "acme.account.deactivate"))
			if err != nil || got.Status != store.AcmeDeactivated {
				t.Fatalf("deactivating: %+v, %v", got, err)
			}
			refused := map[string]error{}
			_, refused["CheckAcmeAccount"] = a.s.CheckAcmeAccount(a.ctx(), a.req(acct))
			_, refused["UpdateAcmeAccount"] = a.s.UpdateAcmeAccount(a.ctx(), a.req(acct), false, nil, true, ev(acmeTenant, "acme.account.deactivate"))
			_, refused["ChangeAcmeAccountKey"] = a.s.ChangeAcmeAccountKey(a.ctx(), a.req(acct), []byte(`{}`), a.id("thumb"), ev(acmeTenant, "acme.account.key_change"))
			_, refused["NewAcmeOrder"] = a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, "")
			again := a.newAccount()
			again.KeyThumbprint = acct.KeyThumbprint
			_, _, refused["NewAcmeAccount with its key"] = a.s.NewAcmeAccount(a.ctx(), again, false, nil, ev(acmeTenant, "acme.account.create"))
			for name, err := range refused {
				if fe := fault.As(err); fe == nil || fe.Rule != "acme.unauthorized" || fe.Reason != fault.Unauthenticated {
					t.Errorf("%s on a deactivated account: got %v, want UNAUTHENTICATED [acme.unauthorized]", name, err)
				}
			}
			// Lookup still finds it, so that the front-end can say why.
			if got, err := a.s.LookupAcmeAccount(a.ctx(), acmeTenant, acmeEndpoint, acct.ID, ""); err != nil || got.Status != store.AcmeDeactivated {
				t.Fatalf("lookup: %+v, %v", got, err)
			}
		})

		t.Run("contacts are replaced", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			want := []string{"mailto:a@example.com", "mailto:b@example.com"}
			if _, err := a.s.UpdateAcmeAccount(a.ctx(), a.req(acct), true, want, false, ev(acmeTenant, "acme.account.update")); err != nil {
				t.Fatal(err)
			}
			got, err := a.s.LookupAcmeAccount(a.ctx(), acmeTenant, acmeEndpoint, acct.ID, "")
			if err != nil || strings.Join(got.Contact, ",") != strings.Join(want, ",") || got.Status != store.AcmeValid {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	})
}

func TestAcmeEABKeyBindsOneAccount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)
		mkKey := func(a *acmeEnv) *store.EABKey {
			k := &store.EABKey{Tenant: acmeTenant, Endpoint: acmeEndpoint, KID: a.id("kid"), HMACKey: []byte(a.id("hmac-key")), Label: "test"}
			if err := a.s.CreateEABKey(a.ctx(), k, ev(acmeTenant, "acme.eab.create")); err != nil {
				a.t.Fatal(err)
			}
			return k
		}
		// bind creates an account bound to kid; mac stands for the MAC
		// check, which gets the stored HMAC key.
		bind := func(a *acmeEnv, kid string, mac func(key []byte) error) (*store.AcmeAccount, error) {
			acct := a.newAccount()
			acct.EABKID = kid
			got, _, err := a.s.NewAcmeAccount(a.ctx(), acct, false, mac, ev(acmeTenant, "acme.account.create"))
			return got, err
		}
		boundTo := func(a *acmeEnv, kid string) string {
			keys, err := a.s.ListEABKeys(a.ctx(), acmeTenant, acmeEndpoint)
			if err != nil {
				a.t.Fatal(err)
			}
			for _, k := range keys {
				if k.KID == kid {
					return k.AccountID
				}
			}
			a.t.Fatalf("EAB key %s is not listed", kid)
			return ""
		}

		t.Run("used twice", func(t *testing.T) {
			a := env.in(t)
			k := mkKey(a)
			good := func(key []byte) error {
				if !bytes.Equal(key, k.HMACKey) {
					return fmt.Errorf("MAC checked with %q, not the stored key", key)
				}
				return nil
			}
			first, err := bind(a, k.KID, good)
			if err != nil || first.EABKID != k.KID {
				t.Fatalf("first binding: %+v, %v", first, err)
			}
			if got := boundTo(a, k.KID); got != first.ID {
				t.Fatalf("key bound to %q, want %s", got, first.ID)
			}
			_, err = bind(a, k.KID, good)
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
			if got := boundTo(a, k.KID); got != first.ID {
				t.Fatalf("key rebound to %q", got)
			}
			// A bound key cannot be deleted from under its account.
			wantRule(t, a.s.DeleteEABKey(a.ctx(), acmeTenant, acmeEndpoint, k.KID, ev(acmeTenant, "acme.eab.delete")), fault.Conflict, "acme.eab_in_use")
		})

		t.Run("bad MAC leaves the key free", func(t *testing.T) {
			a := env.in(t)
			k := mkKey(a)
			acct, err := bind(a, k.KID, func([]byte) error { return fmt.Errorf("MAC mismatch") })
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
			if acct != nil {
				t.Fatalf("an account was returned: %+v", acct)
			}
			if got := boundTo(a, k.KID); got != "" {
				t.Fatalf("key bound to %q after a bad MAC", got)
			}
			if _, err := bind(a, k.KID, func([]byte) error { return nil }); err != nil {
				t.Fatalf("binding with a good MAC afterwards: %v", err)
			}
		})

		t.Run("unknown key", func(t *testing.T) {
			a := env.in(t)
			_, err := bind(a, "no-such-kid", func([]byte) error { return nil })
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
		})

		t.Run("unused key can be deleted", func(t *testing.T) {
			a := env.in(t)
			k := mkKey(a)
			if err := a.s.DeleteEABKey(a.ctx(), acmeTenant, acmeEndpoint, k.KID, ev(acmeTenant, "acme.eab.delete")); err != nil {
				t.Fatal(err)
			}
			_, err := bind(a, k.KID, func([]byte) error { return nil })
			wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
		})
	})
}

func TestAcmeKeyRollover(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		a := newAcmeEnv(t, e)
		acct, other := a.account(), a.account()
		oldKey := acct.KeyThumbprint

		// RFC 8555 §7.3.5: a key another account holds is a conflict, and
		// the account keeps its key.
		_, err := a.s.ChangeAcmeAccountKey(a.ctx(), a.req(acct), []byte(`{"new":1}`), other.KeyThumbprint, ev(acmeTenant, "acme.account.key_change"))
		wantRule(t, err, fault.Conflict, "acme.conflict")
		if _, err := a.s.CheckAcmeAccount(a.ctx(), a.req(acct)); err != nil {
			t.Fatalf("after a refused rollover the old key no longer works: %v", err)
		}
		if _, err := a.s.CheckAcmeAccount(a.ctx(), a.req(other)); err != nil {
			t.Fatalf("the other account lost its key: %v", err)
		}

		newKey := a.id("thumb")
		got, err := a.s.ChangeAcmeAccountKey(a.ctx(), a.req(acct), []byte(`{"new":2}`), newKey, ev(acmeTenant, "acme.account.key_change"))
		if err != nil || got.KeyThumbprint != newKey {
			t.Fatalf("rollover: %+v, %v", got, err)
		}
		old := &store.AcmeReq{Tenant: acmeTenant, Endpoint: acmeEndpoint, AccountID: acct.ID, KeyThumbprint: oldKey}
		_, err = a.s.CheckAcmeAccount(a.ctx(), old)
		wantRule(t, err, fault.Unauthenticated, "acme.unauthorized")
		acct.KeyThumbprint = newKey
		if _, err := a.s.CheckAcmeAccount(a.ctx(), a.req(acct)); err != nil {
			t.Fatalf("new key: %v", err)
		}
		byKey, err := a.s.LookupAcmeAccount(a.ctx(), acmeTenant, acmeEndpoint, "", newKey)
		if err != nil || byKey.ID != acct.ID || string(byKey.JWK) != `{"new":2}` {
			t.Fatalf("lookup by the new key: %+v, %v", byKey, err)
		}
		// The old key is free for a new account.
		fresh := a.newAccount()
		fresh.KeyThumbprint = oldKey
		if _, created, err := a.s.NewAcmeAccount(a.ctx(), fresh, false, nil, ev(acmeTenant, "acme.account.create")); err != nil || !created {
			t.Fatalf("new account with the released key: created=%v, %v", created, err)
		}
	})
}

func TestAcmeChallengeStartsOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		a := newAcmeEnv(t, e)
		acct, other := a.account(), a.account()
		o := a.order(acct, 7*day, 7*day, "a.example")
		ch := challengeOf(o.AuthzIDs[0])

		_, _, _, err := a.s.StartAcmeChallenge(a.ctx(), a.req(other), ch)
		wantRule(t, err, fault.NotFound, "acme.malformed")
		_, err = a.s.CompleteAcmeChallenge(a.ctx(), acmeTenant, acmeEndpoint, ch, true, validAuthzLife, nil)
		wantRule(t, err, fault.Conflict, "acme.malformed")

		// A client that repeats its challenge POST must not start a second
		// validation.
		starts := 0
		for range 3 {
			z, c, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), ch)
			if err != nil || c.Status != store.AcmeProcessing || z.Status != store.AcmePending {
				t.Fatalf("start: authz %+v, challenge %+v, %v", z, c, err)
			}
			if start {
				starts++
			}
		}
		if starts != 1 {
			t.Fatalf("the challenge started %d times", starts)
		}

		a.clk.Add(time.Minute)
		z, err := a.s.CompleteAcmeChallenge(a.ctx(), acmeTenant, acmeEndpoint, ch, false, validAuthzLife, incorrectResponse)
		if err != nil || z.Status != store.AcmeInvalid || len(z.Challenges) != 1 {
			t.Fatalf("failed validation: %+v, %v", z, err)
		}
		c := z.Challenges[0]
		if c.Status != store.AcmeInvalid || string(c.Error) != string(incorrectResponse) || !c.Validated.Equal(a.clk.Now()) {
			t.Fatalf("failed challenge: %+v", c)
		}
		// The outcome is final.
		_, err = a.s.CompleteAcmeChallenge(a.ctx(), acmeTenant, acmeEndpoint, ch, true, validAuthzLife, nil)
		wantRule(t, err, fault.Conflict, "acme.malformed")
		if _, _, start, err := a.s.StartAcmeChallenge(a.ctx(), a.req(acct), ch); err != nil || start {
			t.Fatalf("restarting a failed challenge: start=%v, %v", start, err)
		}
	})
}

func TestAcmeFinalize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)
		// ready makes an order and validates it after delay. Its names are
		// new, so that it reuses no valid authorization.
		ready := func(a *acmeEnv, acct *store.AcmeAccount, delay time.Duration) *store.AcmeOrder {
			o := a.order(acct, 7*day, 7*day, a.id("a")+".example", a.id("b")+".example")
			a.clk.Add(delay)
			a.validateAll(acct, o)
			return o
		}

		t.Run("pending order is not ready", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := a.order(acct, 7*day, 7*day, "a.example")
			_, err := a.beginFinalize(acct, o.ID)
			wantRule(t, err, fault.Conflict, "acme.orderNotReady")
			if got := a.orderStatus(acct, o.ID); got != store.AcmePending {
				t.Fatalf("refused finalize left the order %s", got)
			}
		})

		t.Run("another account's order", func(t *testing.T) {
			a := env.in(t)
			acct, other := a.account(), a.account()
			o := ready(a, acct, 0)
			_, err := a.beginFinalize(other, o.ID)
			wantRule(t, err, fault.NotFound, "acme.malformed")
			if got := a.orderStatus(acct, o.ID); got != store.AcmeReady {
				t.Fatalf("order reads %s", got)
			}
		})

		// A second finalize while the first is processing must be refused
		// however long the client took to get the order ready: the stale
		// takeover is for finalizations that stopped, not old orders.
		for _, delay := range []time.Duration{0, time.Hour} {
			t.Run(fmt.Sprintf("second finalize while processing, order ready after %s", delay), func(t *testing.T) {
				a := env.in(t)
				acct := a.account()
				o := ready(a, acct, delay)
				if _, err := a.beginFinalize(acct, o.ID); err != nil {
					t.Fatal(err)
				}
				a.clk.Add(time.Second)
				_, err := a.beginFinalize(acct, o.ID)
				wantRule(t, err, fault.Conflict, "acme.orderNotReady")
			})
		}

		t.Run("stale finalization is taken over", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := ready(a, acct, 0)
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatal(err)
			}
			a.clk.Add(finalizeStale + time.Second)
			got, err := a.beginFinalize(acct, o.ID)
			if err != nil || got.Status != store.AcmeProcessing {
				t.Fatalf("taking over a finalization stuck for %s: %+v, %v", finalizeStale, got, err)
			}
		})

		t.Run("concurrent finalizes: one wins", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			const rounds, racers = 10, 4
			for round := range rounds {
				o := ready(a, acct, 0)
				reqs := make([]*store.AcmeReq, racers)
				for i := range reqs {
					reqs[i] = a.req(acct)
				}
				errs := make([]error, racers)
				var wg sync.WaitGroup
				startLine := make(chan struct{})
				for i := range reqs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-startLine
						_, errs[i] = a.s.BeginAcmeFinalize(context.Background(), reqs[i], o.ID, finalizeStale)
					}()
				}
				close(startLine)
				wg.Wait()
				won := 0
				for _, err := range errs {
					if err == nil {
						won++
					} else if fe := fault.As(err); fe == nil || fe.Rule != "acme.orderNotReady" {
						t.Fatalf("round %d: unexpected error %v", round, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d of %d concurrent finalizations of one order started, want 1", round, won, racers)
				}
			}
		})

		t.Run("back to ready after a refused CSR", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := ready(a, acct, 0)
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.s.EndAcmeFinalize(a.ctx(), acmeTenant, acmeEndpoint, o.ID, store.AcmeReady, "", nil); err != nil {
				t.Fatal(err)
			}
			if got := a.orderStatus(acct, o.ID); got != store.AcmeReady {
				t.Fatalf("order reads %s, want ready", got)
			}
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatalf("finalizing again with a better CSR: %v", err)
			}
		})

		t.Run("invalid after a refused issuance", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := ready(a, acct, 0)
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatal(err)
			}
			problem := []byte(`{"type":"urn:ietf:params:acme:error:badCSR","detail":"key too small"}`)
			if err := a.s.EndAcmeFinalize(a.ctx(), acmeTenant, acmeEndpoint, o.ID, store.AcmeInvalid, "", problem); err != nil {
				t.Fatal(err)
			}
			got, err := a.s.GetAcmeOrder(a.ctx(), a.req(acct), o.ID)
			if err != nil || got.Status != store.AcmeInvalid || string(got.Error) != string(problem) {
				t.Fatalf("order %+v, %v; want invalid with the problem", got, err)
			}
			_, err = a.beginFinalize(acct, o.ID)
			wantRule(t, err, fault.Conflict, "acme.orderNotReady")
		})

		t.Run("valid with its certificate", func(t *testing.T) {
			a := env.in(t)
			acct, other := a.account(), a.account()
			o := ready(a, acct, 0)
			if _, err := a.beginFinalize(acct, o.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.s.EndAcmeFinalize(a.ctx(), acmeTenant, acmeEndpoint, o.ID, store.AcmeValid, "0a1b", nil); err != nil {
				t.Fatal(err)
			}
			// Once valid, the order no longer expires with its
			// authorizations.
			a.clk.Add(30 * day)
			got, err := a.s.GetAcmeOrder(a.ctx(), a.req(acct), o.ID)
			if err != nil || got.Status != store.AcmeValid || got.CertSerial != "0a1b" {
				t.Fatalf("order %+v, %v", got, err)
			}
			if err := a.s.AcmeCertificateOrder(a.ctx(), a.req(acct), "0a1b"); err != nil {
				t.Fatalf("the ordering account's certificate: %v", err)
			}
			wantRule(t, a.s.AcmeCertificateOrder(a.ctx(), a.req(other), "0a1b"), fault.NotFound, "acme.malformed")
			_, err = a.beginFinalize(acct, o.ID)
			wantRule(t, err, fault.Conflict, "acme.orderNotReady")
		})

		t.Run("ending a finalization that did not begin changes nothing", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			o := ready(a, acct, 0)
			if err := a.s.EndAcmeFinalize(a.ctx(), acmeTenant, acmeEndpoint, o.ID, store.AcmeValid, "0c", nil); err != nil {
				t.Fatal(err)
			}
			got, err := a.s.GetAcmeOrder(a.ctx(), a.req(acct), o.ID)
			if err != nil || got.Status != store.AcmeReady || got.CertSerial != "" {
				t.Fatalf("order %+v, %v", got, err)
			}
		})
	})
}

func TestAcmeAuthzReuse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)

		t.Run("valid authorization outliving the order", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			first := a.order(acct, 7*day, 30*day, "a.example")
			a.validateAll(acct, first)
			second := a.order(acct, 7*day, 30*day, "a.example", "b.example")
			if second.AuthzIDs[0] != first.AuthzIDs[0] || second.AuthzIDs[1] == first.AuthzIDs[0] {
				t.Fatalf("second order's authorizations %v, want %s reused for a.example only", second.AuthzIDs, first.AuthzIDs[0])
			}
			if second.Status != store.AcmePending {
				t.Fatalf("second order is %s with a pending authorization", second.Status)
			}
			third := a.order(acct, 7*day, 30*day, "a.example")
			if third.Status != store.AcmeReady || third.AuthzIDs[0] != first.AuthzIDs[0] {
				t.Fatalf("order of a validated name: %s with %v; want ready with %s", third.Status, third.AuthzIDs, first.AuthzIDs[0])
			}
		})

		t.Run("not reused", func(t *testing.T) {
			a := env.in(t)
			acct, other := a.account(), a.account()
			short := a.order(acct, 7*day, 7*day, "short.example")
			a.validateAll(acct, short)
			a.clk.Add(validAuthzLife - 2*day)
			if o := a.order(acct, 7*day, 30*day, "short.example"); o.AuthzIDs[0] == short.AuthzIDs[0] {
				t.Fatal("an authorization that expires before the order was reused")
			}
			long := a.order(acct, 7*day, 30*day, "long.example")
			a.validateAll(acct, long)
			if o := a.order(other, 7*day, 30*day, "long.example"); o.AuthzIDs[0] == long.AuthzIDs[0] {
				t.Fatal("another account's authorization was reused")
			}
			failed := a.order(acct, 7*day, 30*day, "failed.example")
			a.validate(acct, failed.AuthzIDs[0], false)
			if o := a.order(acct, 7*day, 30*day, "failed.example"); o.AuthzIDs[0] == failed.AuthzIDs[0] {
				t.Fatal("an invalid authorization was reused")
			}
		})
	})
}

// TestAcmeReplaces checks RFC 9773 §5: a certificate is replaced by at most
// one order that is not invalid.
func TestAcmeReplaces(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e store.Engine) {
		env := newAcmeEnv(t, e)

		t.Run("second replacement while the first is pending", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			cert := a.id("ari")
			if _, err := a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, cert); err != nil {
				t.Fatal(err)
			}
			_, err := a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, cert)
			wantRule(t, err, fault.Conflict, "acme.alreadyReplaced")
		})

		t.Run("after the first replacement failed", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			cert := a.id("ari")
			first, err := a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, cert)
			if err != nil {
				t.Fatal(err)
			}
			a.validateAll(acct, first)
			if _, err := a.beginFinalize(acct, first.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.s.EndAcmeFinalize(a.ctx(), acmeTenant, acmeEndpoint, first.ID, store.AcmeInvalid, "", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, cert); err != nil {
				t.Fatalf("replacement after an invalid one: %v", err)
			}
		})

		// An expired order is invalid (RFC 8555 §7.1.6) whether or not a
		// transaction has written that down yet.
		t.Run("after the first replacement expired", func(t *testing.T) {
			a := env.in(t)
			acct := a.account()
			cert := a.id("ari")
			if _, err := a.newOrder(acct, []string{"a.example"}, time.Hour, 7*day, cert); err != nil {
				t.Fatal(err)
			}
			a.clk.Add(2 * time.Hour)
			if _, err := a.newOrder(acct, []string{"a.example"}, 7*day, 7*day, cert); err != nil {
				t.Fatalf("replacement after an expired one: %v", err)
			}
		})
	})
}
