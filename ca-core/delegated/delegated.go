// Package delegated issues and rotates the certificates a CA gives to
// ca-core itself — the OCSP responder (RFC 6960 §4.2.2.2) and the SCEP
// registration authority (RFC 8894 §2.1) — each with an RSA-2048 key
// generated in the CA's own key backend. A certificate is replaced when
// half its life has passed, by one replica at a time.
package delegated

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer"
	"github.com/certgate/certgate/ca-core/store"
)

// Store is what delegated needs from the store.
type Store interface {
	AddDelegated(ctx context.Context, d *store.Delegated, inventory *store.Certificate, ev *audit.Event) error
	CurrentDelegated(ctx context.Context, tenant, ca, purpose string) (*store.Delegated, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Issuers hands out CAs ready to sign.
type Issuers interface {
	Issuer(ctx context.Context, tenant, id string) (*ca.Issuer, error)
}

// Kind describes one purpose's certificates.
type Kind struct {
	// Purpose is the store's name for it (store.PurposeOCSP, ...).
	Purpose string
	// Unit is the subject's OU; the CN is <tenant>_<ca>, the O the tenant.
	Unit        string
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	Extra       []pkix.Extension
	// Validity is the certificate's lifetime, cut at the CA's notAfter.
	Validity time.Duration
	// Action names the audit event of an issuance.
	Action string
	// Decrypt asks for a key that decrypts too (signer.DecryptingBackend).
	Decrypt bool
}

// Issuer makes delegated certificates.
type Issuer struct {
	Store    Store
	Issuers  Issuers
	Backends map[string]signer.Backend
	// Holder names this replica in leases.
	Holder string
	Now    func() time.Time
	Logger *slog.Logger

	// renewing serialises issuance within this replica: leases keep
	// replicas apart, but every goroutine of one replica holds the same
	// lease.
	renewing sync.Mutex
}

const leaseTTL = time.Minute

// halfLife reports whether d has lived half its validity at now.
func halfLife(d *store.Delegated, now time.Time) bool {
	return !now.Before(d.NotBefore.Add(d.NotAfter.Sub(d.NotBefore) / 2))
}

// Ensure returns the CA's current certificate of kind, issuing a new one
// when there is none or the current one is past half its life.
func (i *Issuer) Ensure(ctx context.Context, k Kind, tenant, caID string) (*store.Delegated, error) {
	cur, err := i.Store.CurrentDelegated(ctx, tenant, caID, k.Purpose)
	if err != nil && fault.ReasonOf(err) != fault.NotFound {
		return nil, err
	}
	if cur != nil && !halfLife(cur, i.Now()) {
		return cur, nil
	}
	i.renewing.Lock()
	defer i.renewing.Unlock()
	lease := k.Purpose + ":" + tenant + "/" + caID
	ok, err := i.Store.AcquireLease(ctx, lease, i.Holder, leaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Another replica is renewing it; the current one is still good
		// until it expires.
		if cur != nil {
			return cur, nil
		}
		return nil, &fault.Error{Reason: fault.Unavailable, Rule: "delegated.renewing", Detail: "the " + k.Purpose + " certificate is being issued; retry", RetryAfter: time.Second}
	}
	defer i.Store.ReleaseLease(context.WithoutCancel(ctx), lease, i.Holder)
	// Another replica may have renewed it while we waited for the lease.
	if cur, err := i.Store.CurrentDelegated(ctx, tenant, caID, k.Purpose); err == nil && !halfLife(cur, i.Now()) {
		return cur, nil
	}
	return i.Issue(ctx, k, tenant, caID)
}

// Issue makes a new certificate of kind for a CA, whatever the current one.
func (i *Issuer) Issue(ctx context.Context, k Kind, tenant, caID string) (*store.Delegated, error) {
	iss, err := i.Issuers.Issuer(ctx, tenant, caID)
	if err != nil {
		return nil, err
	}
	backend, ok := i.Backends[iss.Record.KeyBackend]
	if !ok {
		return nil, fmt.Errorf("delegated: key backend %q is not configured", iss.Record.KeyBackend)
	}
	generate := backend.Generate
	if k.Decrypt {
		db, ok := backend.(signer.DecryptingBackend)
		if !ok {
			return nil, fmt.Errorf("delegated: key backend %q cannot make decryption keys", backend.Name())
		}
		generate = db.GenerateDecrypter
	}
	ref, key, err := generate(ctx, keys.RSA2048, tenant+"/"+caID+"/"+k.Purpose)
	if err != nil {
		return nil, fmt.Errorf("delegated: %s key for %s/%s: %w", k.Purpose, tenant, caID, err)
	}
	ski, err := keys.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	serial, err := ca.RandomSerial(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := i.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(k.Validity)
	if notAfter.After(iss.Cert.NotAfter) {
		notAfter = iss.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: tenant + "_" + caID, OrganizationalUnit: []string{k.Unit}, Organization: []string{tenant}},
		NotBefore:          now.Add(-time.Minute),
		NotAfter:           notAfter,
		KeyUsage:           k.KeyUsage,
		ExtKeyUsage:        k.ExtKeyUsage,
		SubjectKeyId:       ski,
		ExtraExtensions:    k.Extra,
		SignatureAlgorithm: iss.SigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, key.Public(), iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("delegated: signing the %s certificate of %s/%s: %w", k.Purpose, tenant, caID, err)
	}
	sum := sha256.Sum256(der)
	hexSerial := ca.SerialHex(serial)
	d := &store.Delegated{Tenant: tenant, CA: caID, Purpose: k.Purpose, Serial: hexSerial, Cert: der, KeyBackend: backend.Name(), KeyRef: ref,
		NotBefore: tmpl.NotBefore, NotAfter: notAfter}
	inv := &store.Certificate{Serial: hexSerial, Tenant: tenant, CA: caID, Subject: tmpl.Subject.String(), KeyType: keys.RSA2048,
		NotBefore: tmpl.NotBefore, NotAfter: notAfter, DER: der, SHA256: hex.EncodeToString(sum[:]), Requester: "system"}
	ev := &audit.Event{Tenant: tenant, Actor: "system", Action: k.Action, Target: caID,
		Detail: "serial=" + hexSerial + " not_after=" + notAfter.Format(time.RFC3339)}
	if err := i.Store.AddDelegated(ctx, d, inv, ev); err != nil {
		return nil, err
	}
	if i.Logger != nil {
		i.Logger.Info("issued delegated certificate", "purpose", k.Purpose, "tenant", tenant, "ca", caID, "serial", hexSerial, "not_after", notAfter)
	}
	return d, nil
}

// Key loads a delegated certificate's private key.
func (i *Issuer) Key(ctx context.Context, d *store.Delegated) (crypto.Signer, error) {
	b, ok := i.Backends[d.KeyBackend]
	if !ok {
		return nil, fmt.Errorf("delegated: key backend %q is not configured", d.KeyBackend)
	}
	return b.Load(ctx, d.KeyRef)
}
