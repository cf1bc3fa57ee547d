package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/keys"
)

const caColumns = `tenant_id, id, friendly_name, type, status, parent_id, key_type, rsa_pss, key_backend, key_ref, subject, serial,
	not_before, not_after, cert, csr, profiles, path_len, created_at, crl_enabled, ocsp_enabled`

func scanCA(sc interface{ Scan(...any) error }) (*CA, error) {
	var c CA
	var status, kt, profiles string
	var pss, crl, ocsp int
	var nb, na, created int64
	if err := sc.Scan(&c.Tenant, &c.ID, &c.FriendlyName, &c.Type, &status, &c.Parent, &kt, &pss, &c.KeyBackend, &c.KeyRef, &c.Subject, &c.Serial,
		&nb, &na, &c.Cert, &c.CSR, &profiles, &c.PathLen, &created, &crl, &ocsp); err != nil {
		return nil, err
	}
	c.Status, c.KeyType, c.RSAPSS, c.CRLEnabled, c.OCSPEnabled = CAStatus(status), keys.Type(kt), pss == 1, crl == 1, ocsp == 1
	c.NotBefore, c.NotAfter, c.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
	if err := json.Unmarshal([]byte(profiles), &c.Profiles); err != nil {
		return nil, fmt.Errorf("CA %s: stored profiles: %w", c.ID, err)
	}
	return &c, nil
}

// CreateCA inserts a CA and records ev. When the CA has a certificate it is
// also entered in the inventory (not counted against the quota).
func (s *Store) CreateCA(ctx context.Context, c *CA, inventory *Certificate, ev *audit.Event) error {
	c.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	profiles, _ := json.Marshal(nonNilStrings(c.Profiles))
	return s.inTx(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `INSERT INTO cas (`+caColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Tenant, c.ID, c.FriendlyName, c.Type, string(c.Status), c.Parent, string(c.KeyType), boolInt(c.RSAPSS), c.KeyBackend, c.KeyRef,
			c.Subject, c.Serial, micros(c.NotBefore), micros(c.NotAfter), c.Cert, c.CSR, string(profiles), c.PathLen, micros(c.CreatedAt),
			boolInt(c.CRLEnabled), boolInt(c.OCSPEnabled))
		if err != nil {
			return asAlreadyExists(err, "CA", c.ID)
		}
		if inventory != nil {
			if err := s.insertIssued(ctx, tx, inventory); err != nil {
				return err
			}
		}
		if c.CRLEnabled && c.Status == CAActive {
			// Publish the (empty) first CRL at once.
			if err := s.statusChanged(ctx, tx, c.Tenant, c.ID, s.now(), true); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// insertIssued enters a certificate signed outside the issuance pipeline
// (CA certificates) directly as issued.
func (s *Store) insertIssued(ctx context.Context, tx txn, c *Certificate) error {
	c.Status = CertIssued
	c.IssuedAt = s.now().UTC().Truncate(time.Microsecond)
	sans, _ := json.Marshal(nonNilSANs(c.SANs))
	_, err := tx.exec(ctx, `INSERT INTO certificates (serial, tenant_id, ca_id, profile_id, endpoint_id, end_entity_id, status, subject, sans, key_type,
		not_before, not_after, der, sha256, requester, issued_at, request_key, request_hash, counts_quota, rate_scopes, rate_window)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', 0, '', 0)`,
		c.Serial, c.Tenant, c.CA, c.Profile, c.Endpoint, c.EndEntity, string(c.Status), c.Subject, string(sans), string(c.KeyType),
		micros(c.NotBefore), micros(c.NotAfter), c.DER, c.SHA256, c.Requester, micros(c.IssuedAt))
	return err
}

// GetCA returns a CA.
func (s *Store) GetCA(ctx context.Context, tenant, id string) (*CA, error) {
	c, err := scanCA(s.row(ctx, `SELECT `+caColumns+` FROM cas WHERE tenant_id = ? AND id = ?`, tenant, id))
	if isNoRows(err) {
		return nil, notFound("CA", id)
	}
	return c, s.translate(err)
}

// ListCAs returns a tenant's CAs ordered by id.
func (s *Store) ListCAs(ctx context.Context, tenant string) ([]*CA, error) {
	rows, err := s.query(ctx, `SELECT `+caColumns+` FROM cas WHERE tenant_id = ? ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*CA
	for rows.Next() {
		c, err := scanCA(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, c)
	}
	return out, s.translate(rows.Err())
}

// ActivateCA stores the certificate of a CA that was pending its
// certificate, enters it in the inventory and records ev. It fails with
// Conflict if the CA is no longer pending.
func (s *Store) ActivateCA(ctx context.Context, c *CA, inventory *Certificate, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE cas SET status = ?, cert = ?, serial = ?, not_before = ?, not_after = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
			string(CAActive), c.Cert, c.Serial, micros(c.NotBefore), micros(c.NotAfter), c.Tenant, c.ID, string(CAPendingCertificate))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflictf("ca.not_pending", "CA %q is not waiting for a certificate", c.ID)
		}
		if err := s.insertIssued(ctx, tx, inventory); err != nil {
			return err
		}
		c.Status = CAActive
		if c.CRLEnabled {
			if err := s.statusChanged(ctx, tx, c.Tenant, c.ID, s.now(), true); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SetCAProfiles replaces the profiles enabled on a CA and records ev.
func (s *Store) SetCAProfiles(ctx context.Context, tenant, id string, profiles []string, ev *audit.Event) error {
	b, _ := json.Marshal(nonNilStrings(profiles))
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `UPDATE cas SET profiles = ? WHERE tenant_id = ? AND id = ?`, string(b), tenant, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("CA", id)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
