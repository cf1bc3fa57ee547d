package store

import (
	"context"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// CreateChallenge stores a challenge (its hash only) and records ev.
func (s *Store) CreateChallenge(ctx context.Context, c *Challenge, ev *audit.Event) error {
	c.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO challenges (id, tenant_id, endpoint_id, value_hash, end_entity_id, binding, apply_binding, profile_id, digital_id, expires_at, created_at, used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`, c.ID, c.Tenant, c.Endpoint, c.ValueHash, c.EndEntity, c.Binding, boolInt(c.ApplyBinding), c.Profile, c.DigitalID,
			micros(c.ExpiresAt), micros(c.CreatedAt)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const challengeColumns = `id, tenant_id, endpoint_id, value_hash, end_entity_id, binding, apply_binding, profile_id, digital_id, expires_at, created_at, used_at`

func scanChallenge(sc interface{ Scan(...any) error }) (*Challenge, error) {
	var c Challenge
	var exp, created, used, apply int64
	if err := sc.Scan(&c.ID, &c.Tenant, &c.Endpoint, &c.ValueHash, &c.EndEntity, &c.Binding, &apply, &c.Profile, &c.DigitalID, &exp, &created, &used); err != nil {
		return nil, err
	}
	c.ApplyBinding = apply != 0
	c.ExpiresAt, c.CreatedAt, c.UsedAt = fromMicros(exp), fromMicros(created), fromMicros(used)
	return &c, nil
}

var errBadChallenge = &fault.Error{Reason: fault.Unauthenticated, Rule: "challenge.invalid", Detail: "the challenge is unknown, expired or already used"}

// usableChallenge returns the challenge with hash if it belongs to the
// endpoint (and end-entity, when bound), is unused and unexpired. Every
// refusal is the same error, so that probing reveals nothing.
func (s *Store) usableChallenge(ctx context.Context, tx txn, tenant, endpoint, hash, endEntity string, now time.Time) (*Challenge, error) {
	c, err := scanChallenge(tx.row(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE value_hash = ?`, hash))
	if isNoRows(err) {
		return nil, errBadChallenge
	}
	if err != nil {
		return nil, err
	}
	if c.Tenant != tenant || c.Endpoint != endpoint || !c.UsedAt.IsZero() || !now.Before(c.ExpiresAt) ||
		(c.EndEntity != "" && c.EndEntity != endEntity) {
		return nil, errBadChallenge
	}
	return c, nil
}

// UsableChallenge returns the challenge with hash when it is usable on
// the endpoint (see usableChallenge), without using it up: issuance reads
// a Digital ID challenge's subject before it signs.
func (s *Store) UsableChallenge(ctx context.Context, tenant, endpoint, hash, endEntity string) (*Challenge, error) {
	var out *Challenge
	err := s.inTx(ctx, func(tx txn) error {
		var err error
		out, err = s.usableChallenge(ctx, tx, tenant, endpoint, hash, endEntity, s.now())
		return err
	})
	return out, err
}

// ConsumeChallenge marks a usable challenge used and records ev.
func (s *Store) ConsumeChallenge(ctx context.Context, tenant, endpoint, hash, endEntity string, ev *audit.Event) (*Challenge, error) {
	now := s.now()
	var out *Challenge
	err := s.inTx(ctx, func(tx txn) error {
		c, err := s.usableChallenge(ctx, tx, tenant, endpoint, hash, endEntity, now)
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE challenges SET used_at = ? WHERE id = ? AND used_at = 0`, micros(now), c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errBadChallenge
		}
		c.UsedAt = now
		out = c
		ev.Target = c.ID
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}

// PruneChallenges deletes challenges that expired before cutoff.
func (s *Store) PruneChallenges(ctx context.Context, cutoff time.Time) error {
	_, err := s.exec(ctx, `DELETE FROM challenges WHERE expires_at < ?`, micros(cutoff))
	return err
}
