package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

const pendingColumns = `id, tenant_id, endpoint_id, transaction_id, status, csr, profile_id, end_entity_id, subject, sans, serial, reason,
	requester, decided_by, created_at, updated_at`

func scanPending(sc interface{ Scan(...any) error }) (*PendingRequest, error) {
	var p PendingRequest
	var status, sans string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.Tenant, &p.Endpoint, &p.TransactionID, &status, &p.CSR, &p.Profile, &p.EndEntity, &p.Subject, &sans,
		&p.Serial, &p.Reason, &p.Requester, &p.DecidedBy, &created, &updated); err != nil {
		return nil, err
	}
	p.Status, p.CreatedAt, p.UpdatedAt = PendingStatus(status), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(sans), &p.SANs); err != nil {
		return nil, fmt.Errorf("pending request %s: stored SANs: %w", p.ID, err)
	}
	return &p, nil
}

// CreatePending stores a pending request, or returns the stored one with
// the same (endpoint, transaction id) and created=false. ev is recorded
// only for a new request.
func (s *Store) CreatePending(ctx context.Context, p *PendingRequest, ev *audit.Event) (stored *PendingRequest, created bool, err error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	p.Status, p.CreatedAt, p.UpdatedAt = PendingWaiting, now, now
	sans, _ := json.Marshal(nonNilSANs(p.SANs))
	err = s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `INSERT INTO pending_requests (`+pendingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, '', ?, ?)
			ON CONFLICT (tenant_id, endpoint_id, transaction_id) DO NOTHING`,
			p.ID, p.Tenant, p.Endpoint, p.TransactionID, string(p.Status), p.CSR, p.Profile, p.EndEntity, p.Subject, string(sans),
			p.Requester, micros(now), micros(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			stored, created = p, true
			return s.appendAudit(ctx, tx, ev)
		}
		stored, err = scanPending(tx.row(ctx, `SELECT `+pendingColumns+` FROM pending_requests WHERE tenant_id = ? AND endpoint_id = ? AND transaction_id = ?`,
			p.Tenant, p.Endpoint, p.TransactionID))
		created = false
		return err
	})
	return stored, created, err
}

// GetPending returns a pending request by id, or by endpoint and
// transaction id when id is empty.
func (s *Store) GetPending(ctx context.Context, tenant, endpoint, id, transactionID string) (*PendingRequest, error) {
	var row interface{ Scan(...any) error }
	if id != "" {
		row = s.row(ctx, `SELECT `+pendingColumns+` FROM pending_requests WHERE tenant_id = ? AND id = ?`, tenant, id)
	} else {
		row = s.row(ctx, `SELECT `+pendingColumns+` FROM pending_requests WHERE tenant_id = ? AND endpoint_id = ? AND transaction_id = ?`, tenant, endpoint, transactionID)
	}
	p, err := scanPending(row)
	if isNoRows(err) {
		return nil, notFound("pending request", id+transactionID)
	}
	return p, s.translate(err)
}

// ListPending returns a page of pending requests, newest first.
func (s *Store) ListPending(ctx context.Context, tenant, endpoint string, status PendingStatus, size int, token string) ([]*PendingRequest, string, error) {
	where := []string{"tenant_id = ?"}
	args := []any{tenant}
	if endpoint != "" {
		where = append(where, "endpoint_id = ?")
		args = append(args, endpoint)
	}
	if status != "" {
		where = append(where, "status = ?")
		args = append(args, string(status))
	}
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		at, id, ok := strings.Cut(string(b), ":")
		v, perr := strconv.ParseInt(at, 10, 64)
		if err != nil || !ok || perr != nil {
			return nil, "", fault.Field("page_token", "page token %q is not one this server returned", token)
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, v, v, id)
	}
	size = pageSize(size)
	rows, err := s.query(ctx, `SELECT `+pendingColumns+` FROM pending_requests WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, size+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*PendingRequest
	for rows.Next() {
		p, err := scanPending(rows)
		if err != nil {
			return nil, "", s.translate(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.translate(err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(micros(last.CreatedAt), 10) + ":" + last.ID))
	}
	return out, next, nil
}

// DecidePending moves a waiting request to issued (with serial) or
// rejected (with reason) and records ev. It fails with Conflict when the
// request was decided already.
func (s *Store) DecidePending(ctx context.Context, tenant, id string, status PendingStatus, serial, reason, decidedBy string, ev *audit.Event) error {
	now := s.now()
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE pending_requests SET status = ?, serial = ?, reason = ?, decided_by = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
			string(status), serial, reason, decidedBy, micros(now), tenant, id, string(PendingWaiting))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflictf("pending.decided", "pending request %q is not waiting for a decision", id)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
