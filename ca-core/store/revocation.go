package store

import (
	"context"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// ReasonCertificateHold is the RFC 5280 CRLReason of a held certificate.
const ReasonCertificateHold = 6

// StatusChange moves a certificate between issued, on hold and revoked.
type StatusChange struct {
	Tenant string
	Serial string
	// To is CertRevoked, CertOnHold or CertIssued (release from hold).
	To CertStatus
	// Reason is the RFC 5280 CRLReason for To == CertRevoked.
	Reason         int
	InvalidityDate time.Time
	// Publish asks for a new CRL at once instead of after the usual delay.
	Publish bool
}

// ChangeStatus applies a revocation, hold or release atomically with its
// audit event, the licence it frees (a revoked certificate no longer counts
// against the tenant's cap), the CA's status version (OCSP caches) and the
// CA's CRL becoming due. Allowed moves: issued → on_hold | revoked,
// on_hold → issued | revoked, expired → revoked; anything else is
// CONFLICT.
func (s *Store) ChangeStatus(ctx context.Context, ch *StatusChange, ev *audit.Event) (*Certificate, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var out *Certificate
	err := s.inTx(ctx, func(tx txn) error {
		c, err := scanCert(tx.row(ctx, `SELECT `+certColumns+` FROM certificates WHERE serial = ? AND tenant_id = ?`+s.forUpdate(), ch.Serial, ch.Tenant))
		if isNoRows(err) {
			return notFound("certificate", ch.Serial)
		}
		if err != nil {
			return err
		}
		from := c.EffectiveStatus(now)
		allowed := map[CertStatus][]CertStatus{
			CertIssued:  {CertOnHold, CertRevoked},
			CertOnHold:  {CertIssued, CertRevoked},
			CertExpired: {CertRevoked},
		}[from]
		ok := false
		for _, to := range allowed {
			ok = ok || to == ch.To
		}
		if !ok || c.Status == CertReserved {
			return fault.Conflictf("revocation.transition", "certificate %s is %s; it cannot become %s", c.Serial, from, ch.To)
		}
		switch ch.To {
		case CertRevoked:
			c.RevokedAt, c.RevocationReason, c.InvalidityDate = now, ch.Reason, ch.InvalidityDate.UTC().Truncate(time.Microsecond)
		case CertOnHold:
			c.RevokedAt, c.RevocationReason, c.InvalidityDate = now, ReasonCertificateHold, time.Time{}
		case CertIssued:
			c.RevokedAt, c.RevocationReason, c.InvalidityDate = time.Time{}, -1, time.Time{}
		}
		if _, err := tx.exec(ctx, `UPDATE certificates SET status = ?, revoked_at = ?, revocation_reason = ?, invalidity_date = ? WHERE serial = ?`,
			string(ch.To), micros(c.RevokedAt), c.RevocationReason, micros(c.InvalidityDate), c.Serial); err != nil {
			return err
		}
		// The licence is held while the row is issued or on hold (expired
		// rows were already returned by the sweep).
		if ch.To == CertRevoked && c.CountsQuota && (c.Status == CertIssued || c.Status == CertOnHold) {
			if _, err := tx.exec(ctx, `UPDATE tenants SET active_count = active_count - 1 WHERE id = ?`, c.Tenant); err != nil {
				return err
			}
		}
		c.Status = ch.To
		if err := s.statusChanged(ctx, tx, c.Tenant, c.CA, now, ch.Publish); err != nil {
			return err
		}
		out = c
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}

// statusChanged bumps the CA's status version and marks its CRL due.
func (s *Store) statusChanged(ctx context.Context, tx txn, tenant, ca string, now time.Time, publish bool) error {
	if _, err := tx.exec(ctx, `UPDATE cas SET status_version = status_version + 1 WHERE tenant_id = ? AND id = ?`, tenant, ca); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO crls (tenant_id, ca_id, crl_number, this_update, next_update, der, entries, dirty_since, publish_requested, generated_by)
		VALUES (?, ?, 0, 0, 0, NULL, 0, ?, ?, '')
		ON CONFLICT (tenant_id, ca_id) DO UPDATE SET
			dirty_since = CASE WHEN crls.dirty_since = 0 THEN excluded.dirty_since ELSE crls.dirty_since END,
			publish_requested = CASE WHEN excluded.publish_requested = 1 THEN 1 ELSE crls.publish_requested END`,
		tenant, ca, micros(now), boolInt(publish))
	return err
}

// StatusVersion returns a CA's status version.
func (s *Store) StatusVersion(ctx context.Context, tenant, ca string) (int64, error) {
	var v int64
	err := s.row(ctx, `SELECT status_version FROM cas WHERE tenant_id = ? AND id = ?`, tenant, ca).Scan(&v)
	if isNoRows(err) {
		return 0, notFound("CA", ca)
	}
	return v, s.translate(err)
}

// RevokedEntry is one CRL entry.
type RevokedEntry struct {
	Serial         string
	RevokedAt      time.Time
	Reason         int
	InvalidityDate time.Time
}

// RevokedEntries calls fn for every revoked or held certificate a CA
// issued, in serial order, streaming so that a million entries do not need
// a million rows in memory at once.
func (s *Store) RevokedEntries(ctx context.Context, tenant, ca string, fn func(RevokedEntry) error) error {
	rows, err := s.query(ctx, `SELECT serial, revoked_at, revocation_reason, invalidity_date FROM certificates
		WHERE tenant_id = ? AND ca_id = ? AND status IN (?, ?) ORDER BY serial`, tenant, ca, string(CertRevoked), string(CertOnHold))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e RevokedEntry
		var at, inv int64
		if err := rows.Scan(&e.Serial, &at, &e.Reason, &inv); err != nil {
			return s.translate(err)
		}
		e.RevokedAt, e.InvalidityDate = fromMicros(at), fromMicros(inv)
		if err := fn(e); err != nil {
			return err
		}
	}
	return s.translate(rows.Err())
}

// CRL is a CA's published CRL and its bookkeeping.
type CRL struct {
	Tenant           string
	CA               string
	Number           int64
	ThisUpdate       time.Time
	NextUpdate       time.Time
	DER              []byte
	Entries          int64
	DirtySince       time.Time
	PublishRequested bool
	GeneratedBy      string
}

const crlColumns = `tenant_id, ca_id, crl_number, this_update, next_update, der, entries, dirty_since, publish_requested, generated_by`

func scanCRL(sc rowScanner) (*CRL, error) {
	var c CRL
	var tu, nu, dirty int64
	var pub int
	if err := sc.Scan(&c.Tenant, &c.CA, &c.Number, &tu, &nu, &c.DER, &c.Entries, &dirty, &pub, &c.GeneratedBy); err != nil {
		return nil, err
	}
	c.ThisUpdate, c.NextUpdate, c.DirtySince, c.PublishRequested = fromMicros(tu), fromMicros(nu), fromMicros(dirty), pub == 1
	return &c, nil
}

// GetCRL returns a CA's CRL state; NotFound when none was ever generated or
// requested.
func (s *Store) GetCRL(ctx context.Context, tenant, ca string) (*CRL, error) {
	c, err := scanCRL(s.row(ctx, `SELECT `+crlColumns+` FROM crls WHERE tenant_id = ? AND ca_id = ?`, tenant, ca))
	if isNoRows(err) {
		return nil, fault.NotFoundf("no CRL for CA %q", ca)
	}
	return c, s.translate(err)
}

// RevocationTarget is a CA whose CRL or OCSP responder needs upkeep.
type RevocationTarget struct {
	CA  *CA
	CRL *CRL // nil when none exists yet
}

// RevocationTargets lists every active CA with CRL or OCSP enabled and its
// CRL state.
func (s *Store) RevocationTargets(ctx context.Context) ([]RevocationTarget, error) {
	rows, err := s.query(ctx, `SELECT `+caColumns+` FROM cas WHERE status = ? AND (crl_enabled = 1 OR ocsp_enabled = 1) ORDER BY tenant_id, id`, string(CAActive))
	if err != nil {
		return nil, err
	}
	var out []RevocationTarget
	for rows.Next() {
		c, err := scanCA(rows)
		if err != nil {
			rows.Close()
			return nil, s.translate(err)
		}
		out = append(out, RevocationTarget{CA: c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.translate(err)
	}
	for i, t := range out {
		c, err := s.GetCRL(ctx, t.CA.Tenant, t.CA.ID)
		if err == nil {
			out[i].CRL = c
		} else if fault.ReasonOf(err) != fault.NotFound {
			return nil, err
		}
	}
	return out, nil
}

// PublishCRL stores a newly generated CRL. It succeeds only if the stored
// number is still prevNumber, so CRL numbers never go backwards even when
// two generators race; it clears the due marks that the CRL covers
// (changes made before startedAt).
func (s *Store) PublishCRL(ctx context.Context, c *CRL, prevNumber int64, startedAt time.Time, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE crls SET crl_number = ?, this_update = ?, next_update = ?, der = ?, entries = ?, generated_by = ?,
			dirty_since = CASE WHEN dirty_since <= ? THEN 0 ELSE dirty_since END,
			publish_requested = CASE WHEN dirty_since <= ? THEN 0 ELSE publish_requested END
			WHERE tenant_id = ? AND ca_id = ? AND crl_number = ?`,
			c.Number, micros(c.ThisUpdate), micros(c.NextUpdate), c.DER, c.Entries, c.GeneratedBy, micros(startedAt), micros(startedAt),
			c.Tenant, c.CA, prevNumber)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if prevNumber != 0 {
				return fault.Conflictf("crl.number", "CRL %d of CA %q was superseded while generating", prevNumber, c.CA)
			}
			// The first CRL of a CA that had no row yet.
			if _, err := tx.exec(ctx, `INSERT INTO crls (`+crlColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`,
				c.Tenant, c.CA, c.Number, micros(c.ThisUpdate), micros(c.NextUpdate), c.DER, c.Entries, c.GeneratedBy); err != nil {
				if isUnique(err) {
					return fault.Conflictf("crl.number", "the first CRL of CA %q was published concurrently", c.CA)
				}
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// RequestCRL marks a CA's CRL for immediate regeneration.
func (s *Store) RequestCRL(ctx context.Context, tenant, ca string) error {
	return s.inTx(ctx, func(tx txn) error {
		return s.statusChanged(ctx, tx, tenant, ca, s.now(), true)
	})
}

// AcquireLease makes holder the holder of name until now+ttl, unless
// another holder's lease is still running. It reports whether holder holds
// the lease. Leases elect the one replica that generates a CA's CRL or
// renews its OCSP responder.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	res, err := s.exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at < ? OR leases.holder = excluded.holder`, name, holder, micros(now.Add(ttl)), micros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease gives a lease up early.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}

// Purposes of delegated certificates.
const (
	PurposeOCSP   = "ocsp"
	PurposeSCEPRA = "scep-ra"
)

// Delegated is a certificate a CA issues to ca-core itself, with a key in
// the CA's backend: the OCSP responder, the SCEP registration authority.
type Delegated struct {
	Tenant     string
	CA         string
	Purpose    string
	Serial     string
	Cert       []byte
	KeyBackend string
	KeyRef     string
	NotBefore  time.Time
	NotAfter   time.Time
	CreatedAt  time.Time
}

// AddDelegated stores a new delegated certificate, enters it in the
// inventory (no profile, not counted against the quota) and records ev.
func (s *Store) AddDelegated(ctx context.Context, d *Delegated, inventory *Certificate, ev *audit.Event) error {
	d.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO ocsp_responders (tenant_id, ca_id, purpose, serial, cert, key_backend, key_ref, not_before, not_after, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.Tenant, d.CA, d.Purpose, d.Serial, d.Cert, d.KeyBackend, d.KeyRef, micros(d.NotBefore), micros(d.NotAfter), micros(d.CreatedAt)); err != nil {
			return err
		}
		if err := s.insertIssued(ctx, tx, inventory); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ListDelegated returns a CA's delegated certificates for purpose that are
// still valid at t, the one expiring last first.
func (s *Store) ListDelegated(ctx context.Context, tenant, ca, purpose string, t time.Time) ([]*Delegated, error) {
	rows, err := s.query(ctx, `SELECT tenant_id, ca_id, purpose, serial, cert, key_backend, key_ref, not_before, not_after, created_at FROM ocsp_responders
		WHERE tenant_id = ? AND ca_id = ? AND purpose = ? AND not_after > ? ORDER BY not_after DESC`, tenant, ca, purpose, micros(t))
	if err != nil {
		return nil, s.translate(err)
	}
	defer rows.Close()
	var out []*Delegated
	for rows.Next() {
		var d Delegated
		var nb, na, created int64
		if err := rows.Scan(&d.Tenant, &d.CA, &d.Purpose, &d.Serial, &d.Cert, &d.KeyBackend, &d.KeyRef, &nb, &na, &created); err != nil {
			return nil, err
		}
		d.NotBefore, d.NotAfter, d.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// CurrentDelegated returns the CA's valid delegated certificate for purpose
// that expires last; NotFound when it has none.
func (s *Store) CurrentDelegated(ctx context.Context, tenant, ca, purpose string) (*Delegated, error) {
	all, err := s.ListDelegated(ctx, tenant, ca, purpose, s.now())
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fault.NotFoundf("CA %q has no %s certificate", ca, purpose)
	}
	return all[0], nil
}

// SetCARevocation turns a CA's CRL and OCSP publication on or off and
// records ev. Turning CRLs on makes the first CRL due at once.
func (s *Store) SetCARevocation(ctx context.Context, tenant, id string, crl, ocsp bool, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE cas SET crl_enabled = ?, ocsp_enabled = ? WHERE tenant_id = ? AND id = ?`, boolInt(crl), boolInt(ocsp), tenant, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("CA", id)
		}
		if crl {
			if err := s.statusChanged(ctx, tx, tenant, id, s.now(), true); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
