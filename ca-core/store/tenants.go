package store

import (
	"context"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
)

// CreateTenant inserts a tenant and records ev.
func (s *Store) CreateTenant(ctx context.Context, t *Tenant, ev *audit.Event) error {
	t.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `INSERT INTO tenants (id, display_name, max_active, rate_per_window, active_count, created_at) VALUES (?, ?, ?, ?, 0, ?)`,
			t.ID, t.DisplayName, t.MaxActive, t.RatePerWindow, micros(t.CreatedAt))
		if err != nil {
			return asAlreadyExists(err, "tenant", t.ID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const tenantColumns = `id, display_name, max_active, rate_per_window, created_at`

func scanTenant(sc interface{ Scan(...any) error }) (*Tenant, error) {
	var t Tenant
	var created int64
	if err := sc.Scan(&t.ID, &t.DisplayName, &t.MaxActive, &t.RatePerWindow, &created); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// GetTenant returns a tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	t, err := scanTenant(s.row(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		if isNoRows(err) {
			return nil, notFound("tenant", id)
		}
		return nil, s.translate(err)
	}
	return t, nil
}

// ListTenants returns every tenant ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]*Tenant, error) {
	rows, err := s.query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, t)
	}
	return out, s.translate(rows.Err())
}

// UpdateQuota replaces a tenant's limits and records ev.
func (s *Store) UpdateQuota(ctx context.Context, id string, maxActive, ratePerWindow int64, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		r, err := tx.exec(ctx, `UPDATE tenants SET max_active = ?, rate_per_window = ? WHERE id = ?`, maxActive, ratePerWindow, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return notFound("tenant", id)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Usage is a tenant's consumption snapshot.
type Usage struct {
	Active         int64
	WindowRequests int64
	WindowStart    int64
}

// QuotaUsage reports active certificates (after expiring those past
// notAfter) and the tenant-wide count of the current rate window.
func (s *Store) QuotaUsage(ctx context.Context, tenant string) (*Usage, error) {
	var u Usage
	now := s.now()
	err := s.inTx(ctx, func(tx txn) error {
		if err := s.lockTenant(ctx, tx, tenant); err != nil {
			return err
		}
		if err := s.expireSweep(ctx, tx, tenant, now); err != nil {
			return err
		}
		if err := tx.row(ctx, `SELECT active_count FROM tenants WHERE id = ?`, tenant).Scan(&u.Active); err != nil {
			return err
		}
		u.WindowStart = windowStart(now)
		err := tx.row(ctx, `SELECT count FROM rate_windows WHERE scope = ? AND window_start = ?`, tenantScope(tenant), u.WindowStart).Scan(&u.WindowRequests)
		if isNoRows(err) {
			err = nil
		}
		return err
	})
	return &u, err
}
