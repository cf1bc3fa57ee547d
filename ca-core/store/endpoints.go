package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
)

const endpointColumns = `tenant_id, id, protocol, description, ca_id, default_profile, allowed_profiles, frontend, disabled,
	auth_method, auth_username, secret_hash, rate_per_window, require_registered, created_at, settings`

func scanEndpoint(sc interface{ Scan(...any) error }) (*Endpoint, error) {
	var e Endpoint
	var allowed, settings string
	var disabled, reg int
	var created int64
	if err := sc.Scan(&e.Tenant, &e.ID, &e.Protocol, &e.Description, &e.CA, &e.DefaultProfile, &allowed, &e.Frontend, &disabled,
		&e.AuthMethod, &e.AuthUsername, &e.SecretHash, &e.RatePerWindow, &reg, &created, &settings); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &e.Settings); err != nil {
		return nil, fmt.Errorf("endpoint %s: stored settings: %w", e.ID, err)
	}
	e.Disabled, e.RequireRegistered, e.CreatedAt = disabled == 1, reg == 1, fromMicros(created)
	if err := json.Unmarshal([]byte(allowed), &e.AllowedProfiles); err != nil {
		return nil, fmt.Errorf("endpoint %s: stored profiles: %w", e.ID, err)
	}
	return &e, nil
}

// CreateEndpoint inserts an endpoint and records ev.
func (s *Store) CreateEndpoint(ctx context.Context, e *Endpoint, ev *audit.Event) error {
	e.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	allowed, _ := json.Marshal(nonNilStrings(e.AllowedProfiles))
	settings, _ := json.Marshal(e.Settings)
	return s.inTx(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `INSERT INTO endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Tenant, e.ID, e.Protocol, e.Description, e.CA, e.DefaultProfile, string(allowed), e.Frontend, boolInt(e.Disabled),
			e.AuthMethod, e.AuthUsername, e.SecretHash, e.RatePerWindow, boolInt(e.RequireRegistered), micros(e.CreatedAt), string(settings))
		if err != nil {
			return asAlreadyExists(err, "endpoint", e.ID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// UpdateEndpoint replaces an endpoint's mutable settings and records ev.
func (s *Store) UpdateEndpoint(ctx context.Context, e *Endpoint, ev *audit.Event) error {
	allowed, _ := json.Marshal(nonNilStrings(e.AllowedProfiles))
	settings, _ := json.Marshal(e.Settings)
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE endpoints SET description = ?, ca_id = ?, default_profile = ?, allowed_profiles = ?, frontend = ?, disabled = ?,
			auth_method = ?, auth_username = ?, secret_hash = ?, rate_per_window = ?, require_registered = ?, settings = ? WHERE tenant_id = ? AND id = ?`,
			e.Description, e.CA, e.DefaultProfile, string(allowed), e.Frontend, boolInt(e.Disabled), e.AuthMethod, e.AuthUsername, e.SecretHash,
			e.RatePerWindow, boolInt(e.RequireRegistered), string(settings), e.Tenant, e.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("endpoint", e.ID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// GetEndpoint returns an endpoint.
func (s *Store) GetEndpoint(ctx context.Context, tenant, id string) (*Endpoint, error) {
	e, err := scanEndpoint(s.row(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE tenant_id = ? AND id = ?`, tenant, id))
	if isNoRows(err) {
		return nil, notFound("endpoint", id)
	}
	return e, s.translate(err)
}

// ListEndpoints returns a tenant's endpoints ordered by id, optionally of
// one protocol.
func (s *Store) ListEndpoints(ctx context.Context, tenant, protocol string) ([]*Endpoint, error) {
	q := `SELECT ` + endpointColumns + ` FROM endpoints WHERE tenant_id = ?`
	args := []any{tenant}
	if protocol != "" {
		q += ` AND protocol = ?`
		args = append(args, protocol)
	}
	rows, err := s.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, e)
	}
	return out, s.translate(rows.Err())
}

// DeleteEndpoint removes an endpoint and its end-entities, challenges and
// pending requests; issued certificates stay in the inventory.
func (s *Store) DeleteEndpoint(ctx context.Context, tenant, id string, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `DELETE FROM endpoints WHERE tenant_id = ? AND id = ?`, tenant, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("endpoint", id)
		}
		for _, table := range []string{"end_entities", "challenges", "pending_requests", "digital_ids"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND endpoint_id = ?`, tenant, id); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
