package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
)

const digitalIDColumns = `tenant_id, endpoint_id, name, parent_dn, rdn_format, san_formats, ca_id, profile_id, mode, created_at`

// CreateDigitalID stores d and records ev.
func (s *Store) CreateDigitalID(ctx context.Context, d *DigitalID, ev *audit.Event) error {
	d.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	sans, _ := json.Marshal(nonNilStrings(d.SANFormats))
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO digital_ids (`+digitalIDColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Tenant, d.Endpoint, d.Name, d.ParentDN, d.RDNFormat, string(sans), d.CA, d.Profile, d.Mode, micros(d.CreatedAt)); err != nil {
			return asAlreadyExists(err, "digital ID", d.Name)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func scanDigitalID(sc interface{ Scan(...any) error }) (*DigitalID, error) {
	var d DigitalID
	var sans string
	var created int64
	if err := sc.Scan(&d.Tenant, &d.Endpoint, &d.Name, &d.ParentDN, &d.RDNFormat, &sans, &d.CA, &d.Profile, &d.Mode, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(sans), &d.SANFormats); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// GetDigitalID returns one Digital ID.
func (s *Store) GetDigitalID(ctx context.Context, tenant, endpoint, name string) (*DigitalID, error) {
	d, err := scanDigitalID(s.row(ctx, `SELECT `+digitalIDColumns+` FROM digital_ids WHERE tenant_id = ? AND endpoint_id = ? AND name = ?`,
		tenant, endpoint, name))
	if isNoRows(err) {
		return nil, notFound("digital ID", name)
	}
	return d, s.translate(err)
}

// ListDigitalIDs returns an endpoint's Digital IDs by name.
func (s *Store) ListDigitalIDs(ctx context.Context, tenant, endpoint string) ([]*DigitalID, error) {
	rows, err := s.query(ctx, `SELECT `+digitalIDColumns+` FROM digital_ids WHERE tenant_id = ? AND endpoint_id = ? ORDER BY name`, tenant, endpoint)
	if err != nil {
		return nil, s.translate(err)
	}
	defer rows.Close()
	var out []*DigitalID
	for rows.Next() {
		d, err := scanDigitalID(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDigitalID removes a Digital ID and records ev; challenges already
// rendered from it stay good.
func (s *Store) DeleteDigitalID(ctx context.Context, tenant, endpoint, name string, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `DELETE FROM digital_ids WHERE tenant_id = ? AND endpoint_id = ? AND name = ?`, tenant, endpoint, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("digital ID", name)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
