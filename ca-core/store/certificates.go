package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/keys"
)

// Reservation asks Reserve to hold a serial, a quota unit and rate-window
// slots for a certificate about to be signed.
type Reservation struct {
	// Cert carries every field except DER, SHA256 and Status.
	Cert *Certificate
	// EndpointRate is the endpoint's per-window limit (0 = none).
	EndpointRate int64
	// EndEntity, when set, must be active (or is created when
	// CreateEndEntity is true) on Cert.Endpoint.
	EndEntity       string
	Protocol        string
	CreateEndEntity bool
	// ChallengeHash, when set, names an unused, unexpired challenge of the
	// endpoint that Finalize consumes.
	ChallengeHash string
	// ChallengeBinding is the certificate's canonical subject and SANs;
	// a challenge bound to others refuses it.
	ChallengeBinding string
}

// Reserve runs the admission checks of an issuance in one transaction and,
// when they pass, stores the certificate row as reserved. It returns
// (existing, nil) when Cert.RequestKey was already used for the same request
// and that certificate is issued: the caller replays it.
//
// Errors: RateLimited (with RetryAfter), QuotaExceeded, Conflict (end-entity
// or challenge state, request key reused for another request), Unavailable
// (the same request key is being signed right now), NotFound (tenant,
// unregistered end-entity, unknown challenge as Unauthenticated).
func (s *Store) Reserve(ctx context.Context, r *Reservation) (existing *Certificate, err error) {
	c := r.Cert
	now := s.now()
	c.Status = CertReserved
	c.IssuedAt = now.UTC().Truncate(time.Microsecond)
	err = s.inTx(ctx, func(tx txn) error {
		existing = nil
		if c.RequestKey != "" {
			prev, err := s.certByRequestKey(ctx, tx, c.Tenant, c.RequestKey)
			if err != nil && !isNoRows(err) {
				return err
			}
			if prev != nil {
				if prev.RequestHash != c.RequestHash {
					return fault.Conflictf("request_key.reused", "request key %q was used for a different request", c.RequestKey)
				}
				if prev.Status == CertReserved {
					return &fault.Error{Reason: fault.Unavailable, Rule: "request_key.in_progress",
						Detail: "a request with this key is being processed; retry", RetryAfter: time.Second}
				}
				existing = prev
				return nil
			}
		}
		tenant, err := s.lockTenantRow(ctx, tx, c.Tenant)
		if err != nil {
			return err
		}
		var scopes []string
		window := windowStart(now)
		charge := func(scope string, limit int64, rule string) error {
			if limit <= 0 {
				return nil
			}
			var n int64
			if err := tx.row(ctx, `INSERT INTO rate_windows (scope, window_start, count) VALUES (?, ?, 1)
				ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_windows.count + 1 RETURNING count`, scope, window).Scan(&n); err != nil {
				return err
			}
			if n > limit {
				retry := time.UnixMicro(window).Add(RateWindow).Sub(now)
				return &fault.Error{Reason: fault.RateLimited, Rule: rule, RetryAfter: retry,
					Detail: fmt.Sprintf("more than %d issuance requests in %s; retry in %s", limit, RateWindow, retry.Round(time.Millisecond))}
			}
			scopes = append(scopes, scope)
			return nil
		}
		if err := charge(tenantScope(c.Tenant), tenant.RatePerWindow, "rate.tenant"); err != nil {
			return err
		}
		if c.Endpoint != "" {
			if err := charge(endpointScope(c.Tenant, c.Endpoint), r.EndpointRate, "rate.endpoint"); err != nil {
				return err
			}
		}
		if r.EndEntity != "" {
			if err := s.admitEndEntity(ctx, tx, r, now); err != nil {
				return err
			}
		}
		if r.ChallengeHash != "" {
			ch, err := s.usableChallenge(ctx, tx, c.Tenant, c.Endpoint, r.ChallengeHash, r.EndEntity, now)
			if err != nil {
				return err
			}
			// A Digital ID challenge gave the request its identity itself.
			if !ch.ApplyBinding && ch.Binding != "" && ch.Binding != r.ChallengeBinding {
				return fault.Policy("challenge.binding", "the challenge is bound to another subject or other subjectAltNames than this request's")
			}
		}
		if c.CountsQuota {
			// Expired certificates only matter at the cap: sweep them then,
			// not on every request.
			taken, err := s.takeLicence(ctx, tx, c.Tenant)
			if err == nil && !taken {
				if err = s.expireSweep(ctx, tx, c.Tenant, now); err == nil {
					taken, err = s.takeLicence(ctx, tx, c.Tenant)
				}
			}
			if err != nil {
				return err
			}
			if !taken {
				return &fault.Error{Reason: fault.QuotaExceeded, Rule: "quota.active_certificates",
					Detail: fmt.Sprintf("tenant %q has reached its cap of %d active certificates; revoke certificates or raise the quota", c.Tenant, tenant.MaxActive)}
			}
		}
		var reqKey any
		if c.RequestKey != "" {
			reqKey = c.RequestKey
		}
		sans, _ := json.Marshal(nonNilSANs(c.SANs))
		_, err = tx.exec(ctx, `INSERT INTO certificates (serial, tenant_id, ca_id, profile_id, endpoint_id, end_entity_id, status, subject, sans, key_type,
			not_before, not_after, der, sha256, requester, issued_at, request_key, request_hash, counts_quota, rate_scopes, rate_window)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?, ?, ?, ?, ?, ?)`,
			c.Serial, c.Tenant, c.CA, c.Profile, c.Endpoint, c.EndEntity, string(CertReserved), c.Subject, string(sans), string(c.KeyType),
			micros(c.NotBefore), micros(c.NotAfter), c.Requester, micros(c.IssuedAt), reqKey, c.RequestHash, boolInt(c.CountsQuota),
			strings.Join(scopes, ","), window)
		if isUnique(err) {
			// A concurrent request with the same key won the insert.
			return &fault.Error{Reason: fault.Unavailable, Rule: "request_key.in_progress",
				Detail: "a request with this key is being processed; retry", RetryAfter: time.Second}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// Finalization completes a reservation.
type Finalization struct {
	Serial    string
	DER       []byte
	SHA256    string
	NotBefore time.Time
	NotAfter  time.Time
	// Tenant, Endpoint, EndEntity and ChallengeHash repeat the
	// reservation's, for the end-entity and challenge updates.
	Tenant        string
	Endpoint      string
	EndEntity     string
	ChallengeHash string
}

// Finalize stores the signed certificate of a reservation, consumes its
// challenge, stamps the end-entity and records ev, atomically. It fails with
// Conflict when the reservation is gone (released as stale), the challenge
// was used meanwhile, or the end-entity stopped being active; the caller then
// releases the reservation and discards the certificate.
func (s *Store) Finalize(ctx context.Context, f *Finalization, ev *audit.Event) error {
	now := s.now()
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE certificates SET status = ?, der = ?, sha256 = ?, not_before = ?, not_after = ? WHERE serial = ? AND status = ?`,
			string(CertIssued), f.DER, f.SHA256, micros(f.NotBefore), micros(f.NotAfter), f.Serial, string(CertReserved))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflictf("issuance.reservation_lost", "the reservation for serial %s expired before signing completed", f.Serial)
		}
		if f.ChallengeHash != "" {
			res, err := tx.exec(ctx, `UPDATE challenges SET used_at = ? WHERE value_hash = ? AND used_at = 0 AND expires_at > ?`, micros(now), f.ChallengeHash, micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return &fault.Error{Reason: fault.Unauthenticated, Rule: "challenge.invalid", Detail: "the challenge is unknown, expired or already used"}
			}
		}
		if f.EndEntity != "" && f.Endpoint != "" {
			res, err := tx.exec(ctx, `UPDATE end_entities SET last_enrolled_at = ?, updated_at = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
				micros(now), micros(now), f.Tenant, f.Endpoint, f.EndEntity, string(EntityActive))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fault.Conflictf("end_entity.inactive", "end-entity %q is no longer active", f.EndEntity)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Release undoes a reservation: the row, its quota unit and its rate-window
// slots go away, and ev (a failure event) is recorded. Releasing a serial
// that is not reserved only records ev.
func (s *Store) Release(ctx context.Context, serial string, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		var tenant, scopes string
		var counts int
		var window int64
		err := tx.row(ctx, `SELECT tenant_id, counts_quota, rate_scopes, rate_window FROM certificates WHERE serial = ? AND status = ?`+s.forUpdate(),
			serial, string(CertReserved)).Scan(&tenant, &counts, &scopes, &window)
		if isNoRows(err) {
			return s.appendAudit(ctx, tx, ev)
		}
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM certificates WHERE serial = ? AND status = ?`, serial, string(CertReserved))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.appendAudit(ctx, tx, ev)
		}
		if counts == 1 {
			if _, err := tx.exec(ctx, `UPDATE tenants SET active_count = active_count - 1 WHERE id = ?`, tenant); err != nil {
				return err
			}
		}
		for _, scope := range strings.Split(scopes, ",") {
			if scope == "" {
				continue
			}
			if _, err := tx.exec(ctx, `UPDATE rate_windows SET count = count - 1 WHERE scope = ? AND window_start = ? AND count > 0`, scope, window); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// StaleReservations returns the serials of reservations older than cutoff:
// left behind by a ca-core process that died while signing.
func (s *Store) StaleReservations(ctx context.Context, cutoff time.Time) ([]*Certificate, error) {
	rows, err := s.query(ctx, `SELECT `+certColumns+` FROM certificates WHERE status = ? AND issued_at < ? ORDER BY issued_at LIMIT 1000`,
		string(CertReserved), micros(cutoff))
	if err != nil {
		return nil, err
	}
	out, err := scanCerts(rows)
	return out, s.translate(err)
}

// PruneRateWindows deletes rate windows that ended before cutoff.
func (s *Store) PruneRateWindows(ctx context.Context, cutoff time.Time) error {
	_, err := s.exec(ctx, `DELETE FROM rate_windows WHERE window_start < ?`, micros(cutoff.Add(-RateWindow)))
	return err
}

// takeLicence counts one more active certificate unless the tenant is at
// its cap. The caller holds the tenant row lock.
func (s *Store) takeLicence(ctx context.Context, tx txn, tenant string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE tenants SET active_count = active_count + 1 WHERE id = ? AND (max_active = 0 OR active_count < max_active)`, tenant)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// lockTenantRow reads and row-locks a tenant for the rest of the transaction.
func (s *Store) lockTenantRow(ctx context.Context, tx txn, id string) (*Tenant, error) {
	t, err := scanTenant(tx.row(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`+s.forUpdate(), id))
	if isNoRows(err) {
		return nil, notFound("tenant", id)
	}
	return t, err
}

func (s *Store) lockTenant(ctx context.Context, tx txn, id string) error {
	_, err := s.lockTenantRow(ctx, tx, id)
	return err
}

// expireSweep marks a tenant's quota-counted certificates past notAfter as
// expired and returns their licences. The caller holds the tenant row lock.
func (s *Store) expireSweep(ctx context.Context, tx txn, tenant string, now time.Time) error {
	res, err := tx.exec(ctx, `UPDATE certificates SET status = ? WHERE tenant_id = ? AND status IN (?, ?) AND not_after <= ? AND counts_quota = 1`,
		string(CertExpired), tenant, string(CertIssued), string(CertOnHold), micros(now))
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		_, err = tx.exec(ctx, `UPDATE tenants SET active_count = active_count - ? WHERE id = ?`, n, tenant)
	}
	return err
}

func windowStart(now time.Time) int64 {
	return now.Truncate(RateWindow).UnixMicro()
}

func tenantScope(tenant string) string { return "t:" + tenant }

func endpointScope(tenant, endpoint string) string { return "e:" + tenant + "/" + endpoint }

const certColumns = `serial, tenant_id, ca_id, profile_id, endpoint_id, end_entity_id, status, subject, sans, key_type,
	not_before, not_after, der, sha256, requester, issued_at, request_key, request_hash, counts_quota, revoked_at, revocation_reason, invalidity_date`

func scanCert(sc interface{ Scan(...any) error }) (*Certificate, error) {
	var c Certificate
	var status, sans, kt string
	var nb, na, issued, revoked, invalidity int64
	var reqKey sql.NullString
	var counts int
	if err := sc.Scan(&c.Serial, &c.Tenant, &c.CA, &c.Profile, &c.Endpoint, &c.EndEntity, &status, &c.Subject, &sans, &kt,
		&nb, &na, &c.DER, &c.SHA256, &c.Requester, &issued, &reqKey, &c.RequestHash, &counts, &revoked, &c.RevocationReason, &invalidity); err != nil {
		return nil, err
	}
	c.RevokedAt, c.InvalidityDate = fromMicros(revoked), fromMicros(invalidity)
	c.Status = CertStatus(status)
	c.KeyType = keys.Type(kt)
	c.NotBefore, c.NotAfter, c.IssuedAt = fromMicros(nb), fromMicros(na), fromMicros(issued)
	c.RequestKey = reqKey.String
	c.CountsQuota = counts == 1
	if err := json.Unmarshal([]byte(sans), &c.SANs); err != nil {
		return nil, fmt.Errorf("certificate %s: stored SANs: %w", c.Serial, err)
	}
	return &c, nil
}

func scanCerts(rows *sql.Rows) ([]*Certificate, error) {
	defer rows.Close()
	var out []*Certificate
	for rows.Next() {
		c, err := scanCert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) certByRequestKey(ctx context.Context, tx txn, tenant, key string) (*Certificate, error) {
	return scanCert(tx.row(ctx, `SELECT `+certColumns+` FROM certificates WHERE tenant_id = ? AND request_key = ?`, tenant, key))
}

// GetCertificate returns a certificate of tenant by serial (lowercase hex).
// Reservations are not visible.
func (s *Store) GetCertificate(ctx context.Context, tenant, serial string) (*Certificate, error) {
	c, err := scanCert(s.row(ctx, `SELECT `+certColumns+` FROM certificates WHERE serial = ? AND tenant_id = ? AND status <> ?`, serial, tenant, string(CertReserved)))
	if isNoRows(err) {
		return nil, notFound("certificate", serial)
	}
	return c, s.translate(err)
}

// CertFilter selects certificates for ListCertificates.
type CertFilter struct {
	Tenant        string
	CA            string
	Profile       string
	Endpoint      string
	EndEntity     string
	Status        CertStatus
	ExpiresBefore time.Time
	PageSize      int
	PageToken     string
}

// ListCertificates returns a page of certificates, newest first.
func (s *Store) ListCertificates(ctx context.Context, f CertFilter) ([]*Certificate, string, error) {
	now := s.now()
	where := []string{"tenant_id = ?", "status <> ?"}
	args := []any{f.Tenant, string(CertReserved)}
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if f.CA != "" {
		add("ca_id = ?", f.CA)
	}
	if f.Profile != "" {
		add("profile_id = ?", f.Profile)
	}
	if f.Endpoint != "" {
		add("endpoint_id = ?", f.Endpoint)
	}
	if f.EndEntity != "" {
		add("end_entity_id = ?", f.EndEntity)
	}
	switch f.Status {
	case "":
	case CertExpired:
		add("(status = ? OR (status IN (?, ?) AND not_after <= ?))", string(CertExpired), string(CertIssued), string(CertOnHold), micros(now))
	case CertIssued, CertOnHold:
		add("status = ? AND not_after > ?", string(f.Status), micros(now))
	default:
		add("status = ?", string(f.Status))
	}
	if !f.ExpiresBefore.IsZero() {
		add("not_after < ?", micros(f.ExpiresBefore))
	}
	if f.PageToken != "" {
		at, serial, err := decodeCertToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		add("(issued_at < ? OR (issued_at = ? AND serial < ?))", at, at, serial)
	}
	size := pageSize(f.PageSize)
	rows, err := s.query(ctx, `SELECT `+certColumns+` FROM certificates WHERE `+strings.Join(where, " AND ")+
		` ORDER BY issued_at DESC, serial DESC LIMIT ?`, append(args, size+1)...)
	if err != nil {
		return nil, "", err
	}
	certs, err := scanCerts(rows)
	if err != nil {
		return nil, "", s.translate(err)
	}
	next := ""
	if len(certs) > size {
		certs = certs[:size]
		last := certs[size-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(micros(last.IssuedAt), 10) + ":" + last.Serial))
	}
	return certs, next, nil
}

func decodeCertToken(tok string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		at, serial, ok := strings.Cut(string(b), ":")
		if v, err := strconv.ParseInt(at, 10, 64); ok && err == nil {
			return v, serial, nil
		}
	}
	return 0, "", fault.Field("page_token", "page token %q is not one this server returned", tok)
}

func nonNilSANs(s []SAN) []SAN {
	if s == nil {
		return []SAN{}
	}
	return s
}
