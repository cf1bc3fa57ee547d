package store

import "context"

// TamperForTest overwrites a column of a stored audit event, as an attacker
// with database access would.
func (s *Store) TamperForTest(ctx context.Context, tenant string, seq int64, column, value string) error {
	_, err := s.exec(ctx, `UPDATE audit_events SET `+column+` = ? WHERE tenant_id = ? AND seq = ?`, value, tenant, seq)
	return err
}
