package store

import (
	"context"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
)

// CustomProfile is a tenant's profile document as stored.
type CustomProfile struct {
	Tenant    string
	ID        string
	Document  []byte
	CreatedAt time.Time
}

// CreateProfile stores a tenant's custom profile and records ev.
func (s *Store) CreateProfile(ctx context.Context, p *CustomProfile, ev *audit.Event) error {
	p.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO profiles (tenant_id, id, document, created_at) VALUES (?, ?, ?, ?)`,
			p.Tenant, p.ID, string(p.Document), micros(p.CreatedAt)); err != nil {
			return asAlreadyExists(err, "profile", p.ID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// GetProfile returns a tenant's custom profile.
func (s *Store) GetProfile(ctx context.Context, tenant, id string) (*CustomProfile, error) {
	var p CustomProfile
	var doc string
	var created int64
	err := s.row(ctx, `SELECT tenant_id, id, document, created_at FROM profiles WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&p.Tenant, &p.ID, &doc, &created)
	if isNoRows(err) {
		return nil, notFound("profile", id)
	}
	if err != nil {
		return nil, s.translate(err)
	}
	p.Document, p.CreatedAt = []byte(doc), fromMicros(created)
	return &p, nil
}

// ListProfiles returns a tenant's custom profiles ordered by id.
func (s *Store) ListProfiles(ctx context.Context, tenant string) ([]*CustomProfile, error) {
	rows, err := s.query(ctx, `SELECT tenant_id, id, document, created_at FROM profiles WHERE tenant_id = ? ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*CustomProfile
	for rows.Next() {
		var p CustomProfile
		var doc string
		var created int64
		if err := rows.Scan(&p.Tenant, &p.ID, &doc, &created); err != nil {
			return nil, s.translate(err)
		}
		p.Document, p.CreatedAt = []byte(doc), fromMicros(created)
		out = append(out, &p)
	}
	return out, s.translate(rows.Err())
}

// DeleteProfile removes a tenant's custom profile unless a CA or an
// endpoint still uses it, and records ev.
func (s *Store) DeleteProfile(ctx context.Context, tenant, id string, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		cas, err := tx.query(ctx, `SELECT id, profiles FROM cas WHERE tenant_id = ?`, tenant)
		if err != nil {
			return err
		}
		var users []string
		for cas.Next() {
			var caID, profiles string
			if err := cas.Scan(&caID, &profiles); err != nil {
				cas.Close()
				return err
			}
			if containsJSONString(profiles, id) {
				users = append(users, "CA "+caID)
			}
		}
		cas.Close()
		eps, err := tx.query(ctx, `SELECT id, default_profile, allowed_profiles FROM endpoints WHERE tenant_id = ?`, tenant)
		if err != nil {
			return err
		}
		for eps.Next() {
			var epID, def, allowed string
			if err := eps.Scan(&epID, &def, &allowed); err != nil {
				eps.Close()
				return err
			}
			if def == id || containsJSONString(allowed, id) {
				users = append(users, "endpoint "+epID)
			}
		}
		eps.Close()
		if len(users) > 0 {
			return conflictf("profile.in_use", "profile %q is used by %v", id, users)
		}
		res, err := tx.exec(ctx, `DELETE FROM profiles WHERE tenant_id = ? AND id = ?`, tenant, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("profile", id)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// CustomProfile returns a stored profile document and its creation time
// (profile.CustomStore).
func (s *Store) CustomProfile(ctx context.Context, tenant, id string) ([]byte, time.Time, error) {
	p, err := s.GetProfile(ctx, tenant, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	return p.Document, p.CreatedAt, nil
}

// CustomProfileIDs lists a tenant's custom profile ids (profile.CustomStore).
func (s *Store) CustomProfileIDs(ctx context.Context, tenant string) ([]string, error) {
	ps, err := s.ListProfiles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids, nil
}
