package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// appendAudit links e to its tenant's chain head and stores it, inside the
// caller's transaction so that the event and the change it records commit
// together. The head row lock serialises each tenant's chain across
// replicas.
func (s *Store) appendAudit(ctx context.Context, t txn, e *audit.Event) error {
	if e == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	// The store keeps microseconds; hash what is stored.
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Result == "" {
		e.Result = audit.Success
	}
	var seq int64
	var prev []byte
	err := t.row(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`+s.forUpdate(), e.Tenant).Scan(&seq, &prev)
	if isNoRows(err) {
		// A tenant's first event: create its head, then lock it (another
		// replica may have created it meanwhile).
		if _, err := t.exec(ctx, `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (tenant_id) DO NOTHING`, e.Tenant, []byte{}); err != nil {
			return err
		}
		err = t.row(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`+s.forUpdate(), e.Tenant).Scan(&seq, &prev)
	}
	if err != nil {
		return err
	}
	audit.Link(e, seq, prev)
	if _, err := t.exec(ctx, `INSERT INTO audit_events (tenant_id, seq, time, actor, action, endpoint_id, end_entity_id, target, result, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Tenant, e.Seq, micros(e.Time), e.Actor, e.Action, e.Endpoint, e.EndEntity, e.Target, string(e.Result), e.Detail, e.PrevHash, e.Hash); err != nil {
		return err
	}
	_, err = t.exec(ctx, `UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, e.Seq, e.Hash, e.Tenant)
	return err
}

// AppendAudit records an event on its own, for actions that change nothing
// else (refused requests, credential checks).
func (s *Store) AppendAudit(ctx context.Context, e *audit.Event) error {
	return s.inTx(ctx, func(t txn) error { return s.appendAudit(ctx, t, e) })
}

// AuditFilter selects events for ListAudit.
type AuditFilter struct {
	Tenant    string
	Action    string
	Endpoint  string
	EndEntity string
	Result    audit.Result
	Since     time.Time
	PageSize  int
	PageToken string
}

// ListAudit returns a page of events newest first and the next page token.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]*audit.Event, string, error) {
	where := []string{"tenant_id = ?"}
	args := []any{f.Tenant}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Endpoint != "" {
		add("endpoint_id = ?", f.Endpoint)
	}
	if f.EndEntity != "" {
		add("end_entity_id = ?", f.EndEntity)
	}
	if f.Result != "" {
		add("result = ?", string(f.Result))
	}
	if !f.Since.IsZero() {
		add("time >= ?", micros(f.Since))
	}
	if f.PageToken != "" {
		seq, err := decodeSeqToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		add("seq < ?", seq)
	}
	size := pageSize(f.PageSize)
	rows, err := s.query(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq DESC LIMIT ?`, append(args, size+1)...)
	if err != nil {
		return nil, "", err
	}
	events, err := scanAudit(rows)
	if err != nil {
		return nil, "", s.translate(err)
	}
	next := ""
	if len(events) > size {
		events = events[:size]
		next = encodeSeqToken(events[size-1].Seq)
	}
	return events, next, nil
}

// AuditTenants lists the tenants that have a chain (including "" for the
// system chain).
func (s *Store) AuditTenants(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT tenant_id FROM audit_heads ORDER BY tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.translate(err)
		}
		out = append(out, id)
	}
	return out, s.translate(rows.Err())
}

// VerifyAudit walks tenant's chain in order and checks it against its
// head; it returns how many events verified and an *audit.Break when the
// chain is broken.
func (s *Store) VerifyAudit(ctx context.Context, tenant string) (int64, error) {
	var headSeq int64
	var headHash []byte
	err := s.row(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, tenant).Scan(&headSeq, &headHash)
	if err == sql.ErrNoRows {
		headSeq, headHash = 0, nil
	} else if err != nil {
		return 0, s.translate(err)
	}
	v := audit.NewVerifier(tenant)
	// Page through the chain so that memory stays flat on long chains.
	const batch = 1000
	var after int64
	for {
		// Only up to the head read above: events appended meanwhile (each
		// commits with its head update) belong to a later verification.
		rows, err := s.query(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE tenant_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, tenant, after, headSeq, batch)
		if err != nil {
			return v.Checked(), err
		}
		events, err := scanAudit(rows)
		if err != nil {
			return v.Checked(), s.translate(err)
		}
		for _, e := range events {
			if err := v.Next(e); err != nil {
				return v.Checked(), err
			}
			after = e.Seq
		}
		if len(events) < batch {
			break
		}
	}
	return v.Checked(), v.End(headSeq, headHash)
}

const auditColumns = `tenant_id, seq, time, actor, action, endpoint_id, end_entity_id, target, result, detail, prev_hash, hash`

func scanAudit(rows *sql.Rows) ([]*audit.Event, error) {
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		var e audit.Event
		var at int64
		var result string
		if err := rows.Scan(&e.Tenant, &e.Seq, &at, &e.Actor, &e.Action, &e.Endpoint, &e.EndEntity, &e.Target, &result, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.Time = fromMicros(at)
		e.Result = audit.Result(result)
		if e.PrevHash == nil {
			e.PrevHash = []byte{}
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func encodeSeqToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

func decodeSeqToken(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return v, nil
		}
	}
	return 0, fault.Field("page_token", "page token %q is not one this server returned", tok)
}

// notFound reports a missing object.
func notFound(kind, id string) error {
	return fault.NotFoundf("%s %q does not exist", kind, id)
}

// alreadyExists reports a duplicate object.
func alreadyExists(kind, id string) error {
	return fault.New(fault.AlreadyExists, "%s %q already exists", kind, id)
}

// asAlreadyExists reports a unique violation on insert as "kind id exists".
func asAlreadyExists(err error, kind, id string) error {
	if isUnique(err) {
		return alreadyExists(kind, id)
	}
	return err
}
