package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// BulkJob is a bulk revocation job.
type BulkJob struct {
	ID             string
	Tenant         string
	Status         string // running, done
	Reason         int
	InvalidityDate time.Time
	// Source describes the input ("csv column serial", "selector ca=x").
	Source      string
	Total       int64
	Done        int64
	Failed      int64
	RequestedBy string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  time.Time
}

// Bulk job and item states.
const (
	BulkRunning = "running"
	BulkDone    = "done"

	ItemPending = "pending"
	ItemRevoked = "revoked"
	ItemFailed  = "failed"
)

// BulkItem is one input line of a job.
type BulkItem struct {
	Seq int64
	// Serial is the canonical serial, or the raw input when it did not
	// parse (then State is failed from the start).
	Serial string
	State  string
	Detail string
}

const bulkJobColumns = `id, tenant_id, status, reason, invalidity_date, source, total, done, failed, requested_by, created_at, updated_at, finished_at`

func scanBulkJob(sc rowScanner) (*BulkJob, error) {
	var j BulkJob
	var inv, created, updated, finished int64
	if err := sc.Scan(&j.ID, &j.Tenant, &j.Status, &j.Reason, &inv, &j.Source, &j.Total, &j.Done, &j.Failed, &j.RequestedBy,
		&created, &updated, &finished); err != nil {
		return nil, err
	}
	j.InvalidityDate, j.CreatedAt, j.UpdatedAt, j.FinishedAt = fromMicros(inv), fromMicros(created), fromMicros(updated), fromMicros(finished)
	return &j, nil
}

// bulkInsertRows is how many items one INSERT statement carries.
const bulkInsertRows = 250

// CreateBulkJob stores a job and its items (already failed ones count as
// done) and records ev.
func (s *Store) CreateBulkJob(ctx context.Context, j *BulkJob, items []BulkItem, ev *audit.Event) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	j.Status, j.CreatedAt, j.UpdatedAt, j.Total = BulkRunning, now, now, int64(len(items))
	j.Done, j.Failed = 0, 0
	for _, it := range items {
		if it.State == ItemFailed {
			j.Done++
			j.Failed++
		}
	}
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO bulk_jobs (`+bulkJobColumns+`, lease_holder, lease_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0)`,
			j.ID, j.Tenant, j.Status, j.Reason, micros(j.InvalidityDate), j.Source, j.Total, j.Done, j.Failed, j.RequestedBy, micros(now), micros(now)); err != nil {
			return err
		}
		for start := 0; start < len(items); start += bulkInsertRows {
			chunk := items[start:min(start+bulkInsertRows, len(items))]
			q := `INSERT INTO bulk_items (job_id, seq, serial, state, detail) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(chunk)), ", ")
			args := make([]any, 0, 5*len(chunk))
			for _, it := range chunk {
				args = append(args, j.ID, it.Seq, it.Serial, it.State, it.Detail)
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// GetBulkJob returns a job of tenant.
func (s *Store) GetBulkJob(ctx context.Context, tenant, id string) (*BulkJob, error) {
	j, err := scanBulkJob(s.row(ctx, `SELECT `+bulkJobColumns+` FROM bulk_jobs WHERE tenant_id = ? AND id = ?`, tenant, id))
	if isNoRows(err) {
		return nil, notFound("bulk revocation", id)
	}
	return j, s.translate(err)
}

// RunningBulkJobs lists unfinished jobs, oldest first.
func (s *Store) RunningBulkJobs(ctx context.Context) ([]*BulkJob, error) {
	rows, err := s.query(ctx, `SELECT `+bulkJobColumns+` FROM bulk_jobs WHERE status = ? ORDER BY created_at`, BulkRunning)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*BulkJob
	for rows.Next() {
		j, err := scanBulkJob(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, j)
	}
	return out, s.translate(rows.Err())
}

// ListBulkItems returns a page of a job's items in input order.
func (s *Store) ListBulkItems(ctx context.Context, jobID string, failedOnly bool, size int, token string) ([]BulkItem, string, error) {
	where, args := "job_id = ?", []any{jobID}
	if failedOnly {
		where += " AND state = ?"
		args = append(args, ItemFailed)
	}
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		after, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil {
			return nil, "", fault.Field("page_token", "page token %q is not one this server returned", token)
		}
		where += " AND seq > ?"
		args = append(args, after)
	}
	size = pageSize(size)
	rows, err := s.query(ctx, `SELECT seq, serial, state, detail FROM bulk_items WHERE `+where+` ORDER BY seq LIMIT ?`, append(args, size+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []BulkItem
	for rows.Next() {
		var it BulkItem
		if err := rows.Scan(&it.Seq, &it.Serial, &it.State, &it.Detail); err != nil {
			return nil, "", s.translate(err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.translate(err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(out[size-1].Seq, 10)))
	}
	return out, next, nil
}

// PendingBulkItems returns up to n unprocessed items of a job.
func (s *Store) PendingBulkItems(ctx context.Context, jobID string, n int) ([]BulkItem, error) {
	rows, err := s.query(ctx, `SELECT seq, serial, state, detail FROM bulk_items WHERE job_id = ? AND state = ? ORDER BY seq LIMIT ?`, jobID, ItemPending, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BulkItem
	for rows.Next() {
		var it BulkItem
		if err := rows.Scan(&it.Seq, &it.Serial, &it.State, &it.Detail); err != nil {
			return nil, s.translate(err)
		}
		out = append(out, it)
	}
	return out, s.translate(rows.Err())
}

// RevokeBatch revokes a batch of a job's items in one transaction: each
// certificate that is issued, held or expired becomes revoked (licence
// returned, audited), anything else fails with its reason; the job's
// counters move and the CAs' OCSP status versions are bumped. CRLs are not
// marked due here: FinishBulkJob publishes once per CA. It returns the CAs
// touched.
func (s *Store) RevokeBatch(ctx context.Context, j *BulkJob, items []BulkItem) (map[string]bool, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	cas := map[string]bool{}
	err := s.inTx(ctx, func(tx txn) error {
		clear(cas)
		var done, failed int64
		for _, it := range items {
			state, detail := ItemRevoked, ""
			c, err := scanCert(tx.row(ctx, `SELECT `+certColumns+` FROM certificates WHERE serial = ? AND tenant_id = ?`+s.forUpdate(), it.Serial, j.Tenant))
			switch {
			case isNoRows(err):
				state, detail = ItemFailed, "no such certificate"
			case err != nil:
				return err
			case c.Status == CertRevoked:
				state, detail = ItemFailed, "already revoked"
			case c.Status == CertReserved:
				state, detail = ItemFailed, "no such certificate"
			}
			if state == ItemRevoked {
				if _, err := tx.exec(ctx, `UPDATE certificates SET status = ?, revoked_at = ?, revocation_reason = ?, invalidity_date = ? WHERE serial = ?`,
					string(CertRevoked), micros(now), j.Reason, micros(j.InvalidityDate), c.Serial); err != nil {
					return err
				}
				if c.CountsQuota && (c.Status == CertIssued || c.Status == CertOnHold) {
					if _, err := tx.exec(ctx, `UPDATE tenants SET active_count = active_count - 1 WHERE id = ?`, j.Tenant); err != nil {
						return err
					}
				}
				if !cas[c.CA] {
					if _, err := tx.exec(ctx, `UPDATE cas SET status_version = status_version + 1 WHERE tenant_id = ? AND id = ?`, j.Tenant, c.CA); err != nil {
						return err
					}
				}
				cas[c.CA] = true
				if err := s.appendAudit(ctx, tx, &audit.Event{Tenant: j.Tenant, Actor: j.RequestedBy, Action: "certificate.revoke", Target: c.Serial,
					Detail: "bulk=" + j.ID + " reason=" + strconv.Itoa(j.Reason)}); err != nil {
					return err
				}
			} else {
				failed++
			}
			done++
			if _, err := tx.exec(ctx, `UPDATE bulk_items SET state = ?, detail = ? WHERE job_id = ? AND seq = ?`, state, detail, j.ID, it.Seq); err != nil {
				return err
			}
		}
		_, err := tx.exec(ctx, `UPDATE bulk_jobs SET done = done + ?, failed = failed + ?, updated_at = ? WHERE id = ?`, done, failed, micros(now), j.ID)
		return err
	})
	return cas, err
}

// FinishBulkJob marks a job done and makes the CRL of every CA it touched
// due at once (one regeneration each), recording ev.
func (s *Store) FinishBulkJob(ctx context.Context, j *BulkJob, ev *audit.Event) error {
	now := s.now()
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE bulk_jobs SET status = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
			BulkDone, micros(now), micros(now), j.ID, BulkRunning)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rows, err := tx.query(ctx, `SELECT DISTINCT c.ca_id FROM bulk_items b JOIN certificates c ON c.serial = b.serial
			WHERE b.job_id = ? AND b.state = ? AND c.tenant_id = ?`, j.ID, ItemRevoked, j.Tenant)
		if err != nil {
			return err
		}
		var cas []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			cas = append(cas, id)
		}
		rows.Close()
		for _, caID := range cas {
			if err := s.statusChanged(ctx, tx, j.Tenant, caID, now, true); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// BulkSelector picks issued or held certificates of a tenant.
type BulkSelector struct {
	CA, Profile, Endpoint, EndEntity string
	IssuedAfter, IssuedBefore        time.Time
}

// SelectSerials returns the serials of a tenant's issued or held,
// quota-counted certificates matching sel, oldest first.
func (s *Store) SelectSerials(ctx context.Context, tenant string, sel BulkSelector) ([]string, error) {
	where := []string{"tenant_id = ?", "status IN (?, ?)", "counts_quota = 1"}
	args := []any{tenant, string(CertIssued), string(CertOnHold)}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if sel.CA != "" {
		add("ca_id = ?", sel.CA)
	}
	if sel.Profile != "" {
		add("profile_id = ?", sel.Profile)
	}
	if sel.Endpoint != "" {
		add("endpoint_id = ?", sel.Endpoint)
	}
	if sel.EndEntity != "" {
		add("end_entity_id = ?", sel.EndEntity)
	}
	if !sel.IssuedAfter.IsZero() {
		add("issued_at >= ?", micros(sel.IssuedAfter))
	}
	if !sel.IssuedBefore.IsZero() {
		add("issued_at < ?", micros(sel.IssuedBefore))
	}
	rows, err := s.query(ctx, `SELECT serial FROM certificates WHERE `+strings.Join(where, " AND ")+` ORDER BY issued_at, serial`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return nil, s.translate(err)
		}
		out = append(out, serial)
	}
	return out, s.translate(rows.Err())
}
