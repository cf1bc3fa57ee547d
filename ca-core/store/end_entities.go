package store

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// admitEndEntity checks (or registers) the reservation's end-entity inside
// the reservation transaction.
func (s *Store) admitEndEntity(ctx context.Context, tx txn, r *Reservation, now time.Time) error {
	c := r.Cert
	e, err := scanEndEntity(tx.row(ctx, `SELECT `+entityColumns+` FROM end_entities WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, c.Tenant, c.Endpoint, r.EndEntity))
	if isNoRows(err) {
		if !r.CreateEndEntity {
			return fault.Policy("end_entity.unregistered", "end-entity %q is not registered on endpoint %q", r.EndEntity, c.Endpoint)
		}
		at := micros(now)
		_, err := tx.exec(ctx, `INSERT INTO end_entities (tenant_id, endpoint_id, id, protocol, status, expires_at, created_at, updated_at, last_enrolled_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, 0) ON CONFLICT (tenant_id, endpoint_id, id) DO NOTHING`,
			c.Tenant, c.Endpoint, r.EndEntity, r.Protocol, string(EntityActive), at, at)
		return err
	}
	if err != nil {
		return err
	}
	return checkEntityUsable(e, now)
}

func checkEntityUsable(e *EndEntity, now time.Time) error {
	switch {
	case e.Status == EntityDeactivated:
		return fault.Conflictf("end_entity.deactivated", "end-entity %q is deactivated", e.ID)
	case e.Status == EntityDecommissioned:
		return fault.Conflictf("end_entity.decommissioned", "end-entity %q is decommissioned", e.ID)
	case !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt):
		return fault.Conflictf("end_entity.expired", "end-entity %q expired at %s", e.ID, e.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

const entityColumns = `tenant_id, endpoint_id, id, protocol, status, expires_at, created_at, updated_at, last_enrolled_at`

func scanEndEntity(sc interface{ Scan(...any) error }) (*EndEntity, error) {
	var e EndEntity
	var status string
	var exp, created, updated, enrolled int64
	if err := sc.Scan(&e.Tenant, &e.Endpoint, &e.ID, &e.Protocol, &status, &exp, &created, &updated, &enrolled); err != nil {
		return nil, err
	}
	e.Status = EndEntityStatus(status)
	e.ExpiresAt, e.CreatedAt, e.UpdatedAt, e.LastEnrolledAt = fromMicros(exp), fromMicros(created), fromMicros(updated), fromMicros(enrolled)
	return &e, nil
}

// CreateEndEntity registers an active end-entity and records ev.
func (s *Store) CreateEndEntity(ctx context.Context, e *EndEntity, ev *audit.Event) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	e.Status, e.CreatedAt, e.UpdatedAt = EntityActive, now, now
	return s.inTx(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `INSERT INTO end_entities (tenant_id, endpoint_id, id, protocol, status, expires_at, created_at, updated_at, last_enrolled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`, e.Tenant, e.Endpoint, e.ID, e.Protocol, string(e.Status), micros(e.ExpiresAt), micros(now), micros(now))
		if err != nil {
			return asAlreadyExists(err, "end-entity", e.ID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// GetEndEntity returns an end-entity.
func (s *Store) GetEndEntity(ctx context.Context, tenant, endpoint, id string) (*EndEntity, error) {
	e, err := scanEndEntity(s.row(ctx, `SELECT `+entityColumns+` FROM end_entities WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, tenant, endpoint, id))
	if isNoRows(err) {
		return nil, notFound("end-entity", id)
	}
	return e, s.translate(err)
}

// ListEndEntities returns a page of an endpoint's end-entities by id.
func (s *Store) ListEndEntities(ctx context.Context, tenant, endpoint string, status EndEntityStatus, size int, token string) ([]*EndEntity, string, error) {
	where := []string{"tenant_id = ?", "endpoint_id = ?"}
	args := []any{tenant, endpoint}
	if status != "" {
		where = append(where, "status = ?")
		args = append(args, string(status))
	}
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", fault.Field("page_token", "page token %q is not one this server returned", token)
		}
		where = append(where, "id > ?")
		args = append(args, string(after))
	}
	size = pageSize(size)
	rows, err := s.query(ctx, `SELECT `+entityColumns+` FROM end_entities WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, append(args, size+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*EndEntity
	for rows.Next() {
		e, err := scanEndEntity(rows)
		if err != nil {
			return nil, "", s.translate(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.translate(err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[size-1].ID))
	}
	return out, next, nil
}

// SetEndEntityStatus moves an end-entity to status, enforcing the state
// machine ACTIVE ⇄ DEACTIVATED → DECOMMISSIONED (terminal), and records ev.
func (s *Store) SetEndEntityStatus(ctx context.Context, tenant, endpoint, id string, status EndEntityStatus, ev *audit.Event) (*EndEntity, error) {
	var out *EndEntity
	err := s.inTx(ctx, func(tx txn) error {
		e, err := scanEndEntity(tx.row(ctx, `SELECT `+entityColumns+` FROM end_entities WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`+s.forUpdate(), tenant, endpoint, id))
		if isNoRows(err) {
			return notFound("end-entity", id)
		}
		if err != nil {
			return err
		}
		switch {
		case e.Status == EntityDecommissioned:
			return fault.Conflictf("end_entity.decommissioned", "end-entity %q is decommissioned; that is final", id)
		case status == EntityActive && e.Status != EntityDeactivated:
			return fault.Conflictf("end_entity.not_deactivated", "end-entity %q is %s; only a deactivated end-entity can be activated", id, e.Status)
		case status == EntityDeactivated && e.Status != EntityActive:
			return fault.Conflictf("end_entity.not_active", "end-entity %q is %s; only an active end-entity can be deactivated", id, e.Status)
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if _, err := tx.exec(ctx, `UPDATE end_entities SET status = ?, updated_at = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`,
			string(status), micros(now), tenant, endpoint, id); err != nil {
			return err
		}
		e.Status, e.UpdatedAt = status, now
		out = e
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}
