package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/fault"
)

// ACME records. Errors are stored as the JSON of an RFC 7807 problem; the
// acme domain package owns their shape.

// AcmeAccount is an ACME account.
type AcmeAccount struct {
	Tenant, Endpoint, ID string
	KeyThumbprint        string
	JWK                  []byte
	Contact              []string
	Status               string
	EABKID               string
	TermsAgreed          bool
	CreatedAt            time.Time
}

// AcmeIdentifier is an order or authorization identifier.
type AcmeIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// AcmeOrder is an ACME order.
type AcmeOrder struct {
	Tenant, Endpoint, ID, AccountID string
	Status                          string
	Identifiers                     []AcmeIdentifier
	AuthzIDs                        []string
	NotBefore, NotAfter             time.Time
	Profile                         string
	Replaces                        string
	Expires                         time.Time
	Error                           []byte
	CertSerial                      string
	CreatedAt                       time.Time
	// processingSince is when the last finalization began.
	processingSince time.Time
}

// AcmeAuthz is an ACME authorization with its challenges.
type AcmeAuthz struct {
	Tenant, Endpoint, ID, AccountID string
	Identifier                      AcmeIdentifier
	Wildcard                        bool
	Status                          string
	Expires, CreatedAt              time.Time
	Challenges                      []AcmeChallenge
}

// AcmeChallenge is one challenge of an authorization.
type AcmeChallenge struct {
	ID, AuthzID, Type, Token, Status string
	Validated                        time.Time
	Error                            []byte
}

// AcmeReq identifies the signed request a store call acts for: its account
// must be valid and still hold the key. Its nonce is acme.Service's to
// spend (UseAcmeNonce) before anything else; store calls ignore it.
type AcmeReq struct {
	Tenant, Endpoint, Nonce, AccountID, KeyThumbprint string
}

// ACME object states (RFC 8555 §7.1.6).
const (
	AcmeValid       = "valid"
	AcmePending     = "pending"
	AcmeReady       = "ready"
	AcmeProcessing  = "processing"
	AcmeInvalid     = "invalid"
	AcmeDeactivated = "deactivated"
	AcmeExpired     = "expired"
	AcmeRevoked     = "revoked"
)

func acmeFault(reason fault.Reason, typ, format string, args ...any) error {
	return &fault.Error{Reason: reason, Rule: "acme." + typ, Detail: fmt.Sprintf(format, args...)}
}

// CreateAcmeNonces records fresh nonces.
func (s *Store) CreateAcmeNonces(ctx context.Context, tenant, endpoint string, nonces []string, expires time.Time) error {
	if len(nonces) == 0 {
		return nil
	}
	return s.nonces.add(ctx, tenant, endpoint, nonces, expires)
}

// PruneAcmeNonces forgets expired nonces.
func (s *Store) PruneAcmeNonces(ctx context.Context, now time.Time) error {
	return s.nonces.prune(ctx, now)
}

// acmeRead runs fn for a request that changes nothing, as plain reads: its
// nonce was spent already, and statuses derived from the clock are
// reported, not recorded.
func (s *Store) acmeRead(fn func(q querier) error) error {
	return s.translate(fn(s))
}

const acmeAccountColumns = `tenant_id, endpoint_id, id, key_thumbprint, jwk, contact, status, eab_kid, terms_agreed, created_at`

func scanAcmeAccount(sc rowScanner) (*AcmeAccount, error) {
	var a AcmeAccount
	var jwk, contact string
	var terms int
	var created int64
	if err := sc.Scan(&a.Tenant, &a.Endpoint, &a.ID, &a.KeyThumbprint, &jwk, &contact, &a.Status, &a.EABKID, &terms, &created); err != nil {
		return nil, err
	}
	a.JWK, a.TermsAgreed, a.CreatedAt = []byte(jwk), terms == 1, fromMicros(created)
	if err := json.Unmarshal([]byte(contact), &a.Contact); err != nil {
		return nil, err
	}
	return &a, nil
}

// acmeAccount checks the request's account.
func (s *Store) acmeAccount(ctx context.Context, q querier, r *AcmeReq) (*AcmeAccount, error) {
	a, err := scanAcmeAccount(q.row(ctx, `SELECT `+acmeAccountColumns+` FROM acme_accounts WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, r.Tenant, r.Endpoint, r.AccountID))
	if isNoRows(err) {
		return nil, acmeFault(fault.Unauthenticated, "accountDoesNotExist", "account %q does not exist", r.AccountID)
	}
	if err != nil {
		return nil, err
	}
	if a.KeyThumbprint != r.KeyThumbprint {
		return nil, acmeFault(fault.Unauthenticated, "unauthorized", "the request is not signed with the account's current key")
	}
	if a.Status != AcmeValid {
		return nil, acmeFault(fault.Unauthenticated, "unauthorized", "account %q is %s", a.ID, a.Status)
	}
	return a, nil
}

// LookupAcmeAccount finds an account by id or, when id is empty, by key
// thumbprint.
func (s *Store) LookupAcmeAccount(ctx context.Context, tenant, endpoint, id, thumbprint string) (*AcmeAccount, error) {
	q, arg := `SELECT `+acmeAccountColumns+` FROM acme_accounts WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, id
	if id == "" {
		q, arg = `SELECT `+acmeAccountColumns+` FROM acme_accounts WHERE tenant_id = ? AND endpoint_id = ? AND key_thumbprint = ?`, thumbprint
	}
	a, err := scanAcmeAccount(s.row(ctx, q, tenant, endpoint, arg))
	if isNoRows(err) {
		return nil, acmeFault(fault.Unauthenticated, "accountDoesNotExist", "no such account")
	}
	return a, s.translate(err)
}

// NewAcmeAccount creates an account (and its end-entity), or returns the
// account that already holds the key. eabKID, when set, names the EAB key
// to bind; checkEAB verifies the binding's MAC with that key.
func (s *Store) NewAcmeAccount(ctx context.Context, a *AcmeAccount, onlyExisting bool, checkEAB func(hmacKey []byte) error, ev *audit.Event) (*AcmeAccount, bool, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var out *AcmeAccount
	created := false
	err := s.inTx(ctx, func(tx txn) error {
		out, created = nil, false
		prev, err := scanAcmeAccount(tx.row(ctx, `SELECT `+acmeAccountColumns+` FROM acme_accounts WHERE tenant_id = ? AND endpoint_id = ? AND key_thumbprint = ?`,
			a.Tenant, a.Endpoint, a.KeyThumbprint))
		if err == nil {
			if prev.Status != AcmeValid {
				return acmeFault(fault.Unauthenticated, "unauthorized", "the account of this key is %s", prev.Status)
			}
			out = prev
			return nil
		}
		if !isNoRows(err) {
			return err
		}
		if onlyExisting {
			return acmeFault(fault.NotFound, "accountDoesNotExist", "no account exists for this key")
		}
		if a.EABKID != "" {
			var key []byte
			var bound string
			err := tx.row(ctx, `SELECT hmac_key, account_id FROM acme_eab_keys WHERE tenant_id = ? AND endpoint_id = ? AND kid = ?`+s.forUpdate(),
				a.Tenant, a.Endpoint, a.EABKID).Scan(&key, &bound)
			if isNoRows(err) {
				return acmeFault(fault.Unauthenticated, "unauthorized", "external account binding key %q does not exist", a.EABKID)
			}
			if err != nil {
				return err
			}
			if bound != "" {
				return acmeFault(fault.Unauthenticated, "unauthorized", "external account binding key %q is already bound to an account", a.EABKID)
			}
			if err := checkEAB(key); err != nil {
				return acmeFault(fault.Unauthenticated, "unauthorized", "the external account binding signature does not verify")
			}
			if _, err := tx.exec(ctx, `UPDATE acme_eab_keys SET account_id = ? WHERE tenant_id = ? AND endpoint_id = ? AND kid = ?`, a.ID, a.Tenant, a.Endpoint, a.EABKID); err != nil {
				return err
			}
		}
		contact, _ := json.Marshal(nonNilStrings(a.Contact))
		a.Status, a.CreatedAt = AcmeValid, now
		if _, err := tx.exec(ctx, `INSERT INTO acme_accounts (`+acmeAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Tenant, a.Endpoint, a.ID, a.KeyThumbprint, string(a.JWK), string(contact), a.Status, a.EABKID, boolInt(a.TermsAgreed), micros(now)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO end_entities (tenant_id, endpoint_id, id, protocol, status, expires_at, created_at, updated_at, last_enrolled_at)
			VALUES (?, ?, ?, 'acme', ?, 0, ?, ?, 0) ON CONFLICT (tenant_id, endpoint_id, id) DO NOTHING`, a.Tenant, a.Endpoint, a.ID, string(EntityActive), micros(now), micros(now)); err != nil {
			return err
		}
		out, created = a, true
		return s.appendAudit(ctx, tx, ev)
	})
	return out, created, err
}

// UpdateAcmeAccount replaces contacts and/or deactivates the account (its
// end-entity is decommissioned with it: RFC 8555 deactivation is final).
func (s *Store) UpdateAcmeAccount(ctx context.Context, r *AcmeReq, setContact bool, contact []string, deactivate bool, ev *audit.Event) (*AcmeAccount, error) {
	now := s.now()
	var out *AcmeAccount
	err := s.inTx(ctx, func(tx txn) error {
		a, err := s.acmeAccount(ctx, tx, r)
		if err != nil {
			return err
		}
		if setContact {
			b, _ := json.Marshal(nonNilStrings(contact))
			if _, err := tx.exec(ctx, `UPDATE acme_accounts SET contact = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, string(b), r.Tenant, r.Endpoint, a.ID); err != nil {
				return err
			}
			a.Contact = contact
		}
		if deactivate {
			if _, err := tx.exec(ctx, `UPDATE acme_accounts SET status = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, AcmeDeactivated, r.Tenant, r.Endpoint, a.ID); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE end_entities SET status = ?, updated_at = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`,
				string(EntityDecommissioned), micros(now), r.Tenant, r.Endpoint, a.ID); err != nil {
				return err
			}
			a.Status = AcmeDeactivated
		}
		out = a
		if !setContact && !deactivate {
			return nil
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}

// ChangeAcmeAccountKey replaces the account's key.
func (s *Store) ChangeAcmeAccountKey(ctx context.Context, r *AcmeReq, jwk []byte, thumbprint string, ev *audit.Event) (*AcmeAccount, error) {
	var out *AcmeAccount
	err := s.inTx(ctx, func(tx txn) error {
		a, err := s.acmeAccount(ctx, tx, r)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE acme_accounts SET key_thumbprint = ?, jwk = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`,
			thumbprint, string(jwk), r.Tenant, r.Endpoint, a.ID)
		if isUnique(err) {
			return acmeFault(fault.Conflict, "conflict", "the new key already belongs to another account")
		}
		if err != nil {
			return err
		}
		a.KeyThumbprint, a.JWK = thumbprint, jwk
		out = a
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}

// ListAcmeOrders returns the ids of an account's orders, newest first.
func (s *Store) ListAcmeOrders(ctx context.Context, r *AcmeReq) ([]string, error) {
	var ids []string
	err := s.acmeRead(func(q querier) error {
		if _, err := s.acmeAccount(ctx, q, r); err != nil {
			return err
		}
		rows, err := q.query(ctx, `SELECT id FROM acme_orders WHERE tenant_id = ? AND endpoint_id = ? AND account_id = ? ORDER BY created_at DESC LIMIT 1000`,
			r.Tenant, r.Endpoint, r.AccountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

const acmeOrderColumns = `tenant_id, endpoint_id, id, account_id, status, identifiers, authz_ids, not_before, not_after, profile_id, replaces, expires_at, error, cert_serial, created_at, processing_since`

func scanAcmeOrder(sc rowScanner) (*AcmeOrder, error) {
	var o AcmeOrder
	var idents, authz, errJSON string
	var nb, na, exp, created, processing int64
	if err := sc.Scan(&o.Tenant, &o.Endpoint, &o.ID, &o.AccountID, &o.Status, &idents, &authz, &nb, &na, &o.Profile, &o.Replaces, &exp, &errJSON, &o.CertSerial, &created, &processing); err != nil {
		return nil, err
	}
	o.NotBefore, o.NotAfter, o.Expires, o.CreatedAt, o.processingSince = fromMicros(nb), fromMicros(na), fromMicros(exp), fromMicros(created), fromMicros(processing)
	if errJSON != "" {
		o.Error = []byte(errJSON)
	}
	if err := json.Unmarshal([]byte(idents), &o.Identifiers); err != nil {
		return nil, err
	}
	return &o, json.Unmarshal([]byte(authz), &o.AuthzIDs)
}

const acmeAuthzColumns = `tenant_id, endpoint_id, id, account_id, ident_type, ident_value, wildcard, status, expires_at, created_at`

func scanAcmeAuthz(sc rowScanner) (*AcmeAuthz, error) {
	var a AcmeAuthz
	var wildcard int
	var exp, created int64
	if err := sc.Scan(&a.Tenant, &a.Endpoint, &a.ID, &a.AccountID, &a.Identifier.Type, &a.Identifier.Value, &wildcard, &a.Status, &exp, &created); err != nil {
		return nil, err
	}
	a.Wildcard, a.Expires, a.CreatedAt = wildcard == 1, fromMicros(exp), fromMicros(created)
	return &a, nil
}

// NewOrderAuthz prepares a new authorization for an identifier; the acme
// domain package decides its challenges and lifetime.
type NewOrderAuthz func(id AcmeIdentifier, wildcard bool) *AcmeAuthz

// NewAcmeOrder creates an order. For each authorization identifier (the
// order's identifiers without wildcard labels, flagged in wildcards) it
// reuses one of the account's valid authorizations that lives at least
// until reuseUntil, or makes one with newAuthz. The order starts ready when
// every authorization is already valid.
func (s *Store) NewAcmeOrder(ctx context.Context, r *AcmeReq, o *AcmeOrder, authzIdents []AcmeIdentifier, wildcards []bool, newAuthz NewOrderAuthz, reuseUntil time.Time, ev *audit.Event) (*AcmeOrder, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.inTx(ctx, func(tx txn) error {
		if _, err := s.acmeAccount(ctx, tx, r); err != nil {
			return err
		}
		var eeStatus string
		err := tx.row(ctx, `SELECT status FROM end_entities WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, r.Tenant, r.Endpoint, r.AccountID).Scan(&eeStatus)
		if err == nil && eeStatus != string(EntityActive) {
			return acmeFault(fault.Unauthenticated, "unauthorized", "the account's end-entity is %s", eeStatus)
		}
		if err != nil && !isNoRows(err) {
			return err
		}
		if o.Replaces != "" {
			// A pending or ready order past its expiry is invalid
			// (orderState) even where no transaction recorded it.
			var taken string
			err := tx.row(ctx, `SELECT id FROM acme_orders WHERE tenant_id = ? AND endpoint_id = ? AND replaces = ? AND status <> ?
				AND (status NOT IN (?, ?) OR expires_at > ?)`,
				r.Tenant, r.Endpoint, o.Replaces, AcmeInvalid, AcmePending, AcmeReady, micros(now)).Scan(&taken)
			if err == nil {
				return acmeFault(fault.Conflict, "alreadyReplaced", "certificate %s is already replaced by order %s", o.Replaces, taken)
			}
			if !isNoRows(err) {
				return err
			}
		}
		o.AuthzIDs = nil
		allValid := true
		for i, id := range authzIdents {
			var reuse string
			err := tx.row(ctx, `SELECT id FROM acme_authzs WHERE tenant_id = ? AND endpoint_id = ? AND account_id = ? AND ident_type = ? AND ident_value = ?
				AND wildcard = ? AND status = ? AND expires_at > ? ORDER BY expires_at DESC LIMIT 1`,
				r.Tenant, r.Endpoint, r.AccountID, id.Type, id.Value, boolInt(wildcards[i]), AcmeValid, micros(reuseUntil)).Scan(&reuse)
			if err == nil {
				o.AuthzIDs = append(o.AuthzIDs, reuse)
				continue
			}
			if !isNoRows(err) {
				return err
			}
			a := newAuthz(id, wildcards[i])
			if err := s.insertAuthz(ctx, tx, a, now); err != nil {
				return err
			}
			o.AuthzIDs = append(o.AuthzIDs, a.ID)
			allValid = false
		}
		o.Status, o.CreatedAt = AcmePending, now
		if allValid {
			o.Status = AcmeReady
		}
		idents, _ := json.Marshal(o.Identifiers)
		authz, _ := json.Marshal(o.AuthzIDs)
		if _, err := tx.exec(ctx, `INSERT INTO acme_orders (`+acmeOrderColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			o.Tenant, o.Endpoint, o.ID, o.AccountID, o.Status, string(idents), string(authz), micros(o.NotBefore), micros(o.NotAfter), o.Profile,
			o.Replaces, micros(o.Expires), "", "", micros(now)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return o, err
}

func (s *Store) insertAuthz(ctx context.Context, tx txn, a *AcmeAuthz, now time.Time) error {
	a.CreatedAt = now
	if _, err := tx.exec(ctx, `INSERT INTO acme_authzs (`+acmeAuthzColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Tenant, a.Endpoint, a.ID, a.AccountID, a.Identifier.Type, a.Identifier.Value, boolInt(a.Wildcard), a.Status, micros(a.Expires), micros(now)); err != nil {
		return err
	}
	for _, c := range a.Challenges {
		if _, err := tx.exec(ctx, `INSERT INTO acme_challenges (tenant_id, endpoint_id, id, authz_id, type, token, status, validated_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '')`,
			a.Tenant, a.Endpoint, c.ID, a.ID, c.Type, c.Token, c.Status); err != nil {
			return err
		}
	}
	return nil
}

// authzState loads an authorization with its challenges, expiring it
// when its time has passed. Inside a transaction the expiry is recorded,
// unless a concurrent one changed the status meanwhile; a plain read only
// reports it.
func (s *Store) authzState(ctx context.Context, q querier, tenant, endpoint, id string, now time.Time) (*AcmeAuthz, error) {
	a, err := scanAcmeAuthz(q.row(ctx, `SELECT `+acmeAuthzColumns+` FROM acme_authzs WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, tenant, endpoint, id))
	if isNoRows(err) {
		return nil, acmeFault(fault.NotFound, "malformed", "authorization %q does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	if (a.Status == AcmePending || a.Status == AcmeValid) && !now.Before(a.Expires) {
		if tx, ok := q.(txn); ok {
			if _, err := tx.exec(ctx, `UPDATE acme_authzs SET status = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
				AcmeExpired, tenant, endpoint, id, a.Status); err != nil {
				return nil, err
			}
		}
		a.Status = AcmeExpired
	}
	rows, err := q.query(ctx, `SELECT id, authz_id, type, token, status, validated_at, error FROM acme_challenges WHERE tenant_id = ? AND endpoint_id = ? AND authz_id = ? ORDER BY type`,
		tenant, endpoint, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c AcmeChallenge
		var validated int64
		var errJSON string
		if err := rows.Scan(&c.ID, &c.AuthzID, &c.Type, &c.Token, &c.Status, &validated, &errJSON); err != nil {
			return nil, err
		}
		c.Validated = fromMicros(validated)
		if errJSON != "" {
			c.Error = []byte(errJSON)
		}
		a.Challenges = append(a.Challenges, c)
	}
	return a, rows.Err()
}

// orderState loads an order of the account and brings its status up to
// date with its authorizations and expiry (RFC 8555 §7.1.6); inside a
// transaction the new status is recorded, unless a concurrent one (a
// finalization) changed the status meanwhile.
func (s *Store) orderState(ctx context.Context, q querier, r *AcmeReq, id string, now time.Time) (*AcmeOrder, error) {
	o, err := scanAcmeOrder(q.row(ctx, `SELECT `+acmeOrderColumns+` FROM acme_orders WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, r.Tenant, r.Endpoint, id))
	if isNoRows(err) || (err == nil && o.AccountID != r.AccountID) {
		return nil, acmeFault(fault.NotFound, "malformed", "order %q does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	status := o.Status
	switch o.Status {
	case AcmePending, AcmeReady:
		if !now.Before(o.Expires) {
			status = AcmeInvalid
			break
		}
		allValid := true
		for _, aid := range o.AuthzIDs {
			a, err := s.authzState(ctx, q, r.Tenant, r.Endpoint, aid, now)
			if err != nil {
				return nil, err
			}
			switch a.Status {
			case AcmeValid:
			case AcmePending:
				allValid = false
			default:
				status, allValid = AcmeInvalid, false
			}
			if status == AcmeInvalid {
				break
			}
		}
		if status != AcmeInvalid && allValid {
			status = AcmeReady
		}
	}
	if status != o.Status {
		if tx, ok := q.(txn); ok {
			if _, err := tx.exec(ctx, `UPDATE acme_orders SET status = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
				status, r.Tenant, r.Endpoint, id, o.Status); err != nil {
				return nil, err
			}
		}
		o.Status = status
	}
	return o, nil
}

// GetAcmeOrder reads an order of the request's account.
func (s *Store) GetAcmeOrder(ctx context.Context, r *AcmeReq, id string) (*AcmeOrder, error) {
	var out *AcmeOrder
	err := s.acmeRead(func(q querier) error {
		if _, err := s.acmeAccount(ctx, q, r); err != nil {
			return err
		}
		o, err := s.orderState(ctx, q, r, id, s.now())
		out = o
		return err
	})
	return out, err
}

// GetAcmeAuthz reads an authorization of the request's account.
func (s *Store) GetAcmeAuthz(ctx context.Context, r *AcmeReq, id string, deactivate bool) (*AcmeAuthz, error) {
	var out *AcmeAuthz
	read := func(q querier) error {
		if _, err := s.acmeAccount(ctx, q, r); err != nil {
			return err
		}
		a, err := s.authzState(ctx, q, r.Tenant, r.Endpoint, id, s.now())
		if err != nil {
			return err
		}
		if a.AccountID != r.AccountID {
			return acmeFault(fault.NotFound, "malformed", "authorization %q does not exist", id)
		}
		out = a
		return nil
	}
	if !deactivate {
		return out, s.acmeRead(read)
	}
	err := s.inTx(ctx, func(tx txn) error {
		if err := read(tx); err != nil {
			return err
		}
		if out.Status != AcmePending && out.Status != AcmeValid {
			return acmeFault(fault.Conflict, "malformed", "authorization %q is %s; only pending or valid authorizations can be deactivated", id, out.Status)
		}
		res, err := tx.exec(ctx, `UPDATE acme_authzs SET status = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
			AcmeDeactivated, r.Tenant, r.Endpoint, id, out.Status)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return acmeFault(fault.Conflict, "malformed", "authorization %q changed while being deactivated; retry", id)
		}
		out.Status = AcmeDeactivated
		return nil
	})
	return out, err
}

// StartAcmeChallenge moves a pending challenge of a pending authorization
// to processing. It reports whether the caller must now validate it.
func (s *Store) StartAcmeChallenge(ctx context.Context, r *AcmeReq, challengeID string) (*AcmeAuthz, *AcmeChallenge, bool, error) {
	var authz *AcmeAuthz
	var ch *AcmeChallenge
	start := false
	err := s.inTx(ctx, func(tx txn) error {
		now := s.now()
		start = false
		if _, err := s.acmeAccount(ctx, tx, r); err != nil {
			return err
		}
		var authzID string
		err := tx.row(ctx, `SELECT authz_id FROM acme_challenges WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, r.Tenant, r.Endpoint, challengeID).Scan(&authzID)
		if isNoRows(err) {
			return acmeFault(fault.NotFound, "malformed", "challenge %q does not exist", challengeID)
		}
		if err != nil {
			return err
		}
		a, err := s.authzState(ctx, tx, r.Tenant, r.Endpoint, authzID, now)
		if err != nil {
			return err
		}
		if a.AccountID != r.AccountID {
			return acmeFault(fault.NotFound, "malformed", "challenge %q does not exist", challengeID)
		}
		for i := range a.Challenges {
			if a.Challenges[i].ID == challengeID {
				ch = &a.Challenges[i]
			}
		}
		authz = a
		if a.Status != AcmePending || ch.Status != AcmePending {
			return nil
		}
		res, err := tx.exec(ctx, `UPDATE acme_challenges SET status = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
			AcmeProcessing, r.Tenant, r.Endpoint, challengeID, AcmePending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ch.Status, start = AcmeProcessing, true
		}
		return nil
	})
	return authz, ch, start, err
}

// CompleteAcmeChallenge records a validation outcome on the challenge and
// its authorization. A valid authorization lives validFor from now, so that
// later orders can reuse it.
func (s *Store) CompleteAcmeChallenge(ctx context.Context, tenant, endpoint, challengeID string, valid bool, validFor time.Duration, problem []byte) (*AcmeAuthz, error) {
	var out *AcmeAuthz
	err := s.inTx(ctx, func(tx txn) error {
		now := s.now().UTC().Truncate(time.Microsecond)
		notProcessing := fault.Conflictf("acme.malformed", "challenge %q is not being validated", challengeID)
		var authzID string
		err := tx.row(ctx, `SELECT authz_id FROM acme_challenges WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
			tenant, endpoint, challengeID, AcmeProcessing).Scan(&authzID)
		if isNoRows(err) {
			return notProcessing
		}
		if err != nil {
			return err
		}
		chStatus, set, args := AcmeInvalid, `status = ?`, []any{AcmeInvalid}
		if valid {
			chStatus, set, args, problem = AcmeValid, `status = ?, expires_at = ?`, []any{AcmeValid, micros(now.Add(validFor))}, nil
		}
		res, err := tx.exec(ctx, `UPDATE acme_challenges SET status = ?, validated_at = ?, error = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
			chStatus, micros(now), string(problem), tenant, endpoint, challengeID, AcmeProcessing)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notProcessing // a concurrent completion came first
		}
		// An authorization whose time ran out during the validation stays
		// expired.
		args = append(args, tenant, endpoint, authzID, AcmePending, micros(now))
		if _, err := tx.exec(ctx, `UPDATE acme_authzs SET `+set+` WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ? AND expires_at > ?`, args...); err != nil {
			return err
		}
		a, err := s.authzState(ctx, tx, tenant, endpoint, authzID, now)
		out = a
		return err
	})
	return out, err
}

// BeginAcmeFinalize moves a ready order to processing (or takes over an
// order whose finalization began more than staleAfter ago and never ended)
// and returns it.
func (s *Store) BeginAcmeFinalize(ctx context.Context, r *AcmeReq, id string, staleAfter time.Duration) (*AcmeOrder, error) {
	var out *AcmeOrder
	err := s.inTx(ctx, func(tx txn) error {
		now := s.now().UTC().Truncate(time.Microsecond)
		if _, err := s.acmeAccount(ctx, tx, r); err != nil {
			return err
		}
		o, err := s.orderState(ctx, tx, r, id, now)
		if err != nil {
			return err
		}
		switch {
		case o.Status == AcmeReady:
		case o.Status == AcmeProcessing && now.Sub(o.processingSince) > staleAfter:
		default:
			return acmeFault(fault.Conflict, "orderNotReady", "order %q is %s, not ready", id, o.Status)
		}
		// The order read is unlocked: the move holds only if no concurrent
		// finalization moved it first, and then that one wins (RFC 8555
		// §7.4: the others find the order not ready).
		res, err := tx.exec(ctx, `UPDATE acme_orders SET status = ?, processing_since = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ? AND processing_since = ?`,
			AcmeProcessing, micros(now), r.Tenant, r.Endpoint, id, o.Status, micros(o.processingSince))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return acmeFault(fault.Conflict, "orderNotReady", "order %q is being finalized", id)
		}
		o.Status, o.processingSince = AcmeProcessing, now
		out = o
		return nil
	})
	return out, err
}

// EndAcmeFinalize records a finalization: valid with the certificate's
// serial, invalid with a problem, or back to ready (a transient failure
// the client may retry).
func (s *Store) EndAcmeFinalize(ctx context.Context, tenant, endpoint, id, status, serial string, problem []byte) error {
	_, err := s.exec(ctx, `UPDATE acme_orders SET status = ?, cert_serial = ?, error = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ? AND status = ?`,
		status, serial, string(problem), tenant, endpoint, id, AcmeProcessing)
	return err
}

// AcmeCertificateOrder checks that a certificate came from an order of the
// request's account.
func (s *Store) AcmeCertificateOrder(ctx context.Context, r *AcmeReq, serial string) error {
	return s.acmeRead(func(q querier) error {
		if _, err := s.acmeAccount(ctx, q, r); err != nil {
			return err
		}
		var id string
		err := q.row(ctx, `SELECT id FROM acme_orders WHERE tenant_id = ? AND endpoint_id = ? AND account_id = ? AND cert_serial = ?`,
			r.Tenant, r.Endpoint, r.AccountID, serial).Scan(&id)
		if isNoRows(err) {
			return acmeFault(fault.NotFound, "malformed", "certificate %q does not exist", serial)
		}
		return err
	})
}

// UseAcmeNonce spends a request's nonce, for good whatever becomes of the
// request (RFC 8555 §6.5): acme.Service calls it before anything else.
func (s *Store) UseAcmeNonce(ctx context.Context, tenant, endpoint, nonce string) error {
	return s.nonces.use(ctx, tenant, endpoint, nonce, s.now())
}

// CheckAcmeAccount checks the request's account, for calls whose change
// happens elsewhere (revocation).
func (s *Store) CheckAcmeAccount(ctx context.Context, r *AcmeReq) (*AcmeAccount, error) {
	var out *AcmeAccount
	err := s.acmeRead(func(q querier) error {
		a, err := s.acmeAccount(ctx, q, r)
		out = a
		return err
	})
	return out, err
}

// EABKey is an external account binding key.
type EABKey struct {
	Tenant, Endpoint, KID string
	HMACKey               []byte
	Label                 string
	CreatedAt             time.Time
	AccountID             string
}

// CreateEABKey stores a key and records ev.
func (s *Store) CreateEABKey(ctx context.Context, k *EABKey, ev *audit.Event) error {
	k.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, `INSERT INTO acme_eab_keys (tenant_id, endpoint_id, kid, hmac_key, label, created_at, account_id) VALUES (?, ?, ?, ?, ?, ?, '')`,
			k.Tenant, k.Endpoint, k.KID, k.HMACKey, k.Label, micros(k.CreatedAt)); err != nil {
			return asAlreadyExists(err, "EAB key", k.KID)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ListEABKeys lists an endpoint's keys (without the HMAC keys).
func (s *Store) ListEABKeys(ctx context.Context, tenant, endpoint string) ([]*EABKey, error) {
	rows, err := s.query(ctx, `SELECT kid, label, created_at, account_id FROM acme_eab_keys WHERE tenant_id = ? AND endpoint_id = ? ORDER BY created_at`, tenant, endpoint)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EABKey
	for rows.Next() {
		k := &EABKey{Tenant: tenant, Endpoint: endpoint}
		var created int64
		if err := rows.Scan(&k.KID, &k.Label, &created, &k.AccountID); err != nil {
			return nil, s.translate(err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, k)
	}
	return out, s.translate(rows.Err())
}

// DeleteEABKey removes an unused key and records ev.
func (s *Store) DeleteEABKey(ctx context.Context, tenant, endpoint, kid string, ev *audit.Event) error {
	return s.inTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, `DELETE FROM acme_eab_keys WHERE tenant_id = ? AND endpoint_id = ? AND kid = ? AND account_id = ''`, tenant, endpoint, kid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflictf("acme.eab_in_use", "EAB key %q does not exist or is bound to an account", kid)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
