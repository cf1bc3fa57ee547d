// Package audit defines certgate's audit events and their hash chain. Each
// tenant has one append-only chain (the empty tenant id is the system
// chain): event n stores the hash of event n-1 and its own hash over that
// link and its fields, so editing, deleting or reordering a stored event
// breaks the chain at that point. The store appends events inside the same
// transaction as the change they record; this package computes and checks
// hashes and owns no storage.
//
// A chain proves integrity against edits of individual rows. Whoever can
// rewrite the whole table and its head can forge a consistent chain;
// exporting heads elsewhere (a log shipper, a witness) is the defence.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// Result is the outcome of an audited action.
type Result string

const (
	Success Result = "success"
	Failure Result = "failure"
)

// Event is one audited action.
type Event struct {
	Tenant    string
	Seq       int64
	Time      time.Time
	Actor     string
	Action    string
	Endpoint  string
	EndEntity string
	Target    string
	Result    Result
	Detail    string
	PrevHash  []byte
	Hash      []byte
}

// Actions recorded by ca-core.
const (
	ActionTenantCreate       = "tenant.create"
	ActionTenantQuota        = "tenant.quota.update"
	ActionCACreate           = "ca.create"
	ActionCAImportRoot       = "ca.import_external_root"
	ActionCAImportCert       = "ca.import_certificate"
	ActionCAProfiles         = "ca.profiles.update"
	ActionProfileCreate      = "profile.create"
	ActionProfileDelete      = "profile.delete"
	ActionEndpointCreate     = "endpoint.create"
	ActionEndpointUpdate     = "endpoint.update"
	ActionEndpointDelete     = "endpoint.delete"
	ActionCredentialVerify   = "endpoint.credential.verify"
	ActionCertIssue          = "certificate.issue"
	ActionEndEntityCreate    = "end_entity.create"
	ActionEndEntityActivate  = "end_entity.activate"
	ActionEndEntityDeact     = "end_entity.deactivate"
	ActionEndEntityDecom     = "end_entity.decommission"
	ActionChallengeCreate    = "challenge.create"
	ActionChallengeConsume   = "challenge.consume"
	ActionPendingCreate      = "pending.create"
	ActionPendingApprove     = "pending.approve"
	ActionPendingReject      = "pending.reject"
	ActionReservationExpired = "certificate.reservation_released"
	ActionRequestRefuse      = "request.refuse"
)

// Hash returns the chain hash of e: SHA-256 over a version tag, the
// previous hash and every field of e except Hash, each length-prefixed so
// that no two different events encode alike. Time is hashed in UTC
// nanoseconds, so a store must keep nanosecond precision.
func Hash(e *Event) []byte {
	h := sha256.New()
	var buf bytes.Buffer
	buf.WriteString("certgate-audit-v1")
	field := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		buf.Write(n[:])
		buf.Write(b)
	}
	num := func(v int64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(v))
		buf.Write(n[:])
	}
	field(e.PrevHash)
	field([]byte(e.Tenant))
	num(e.Seq)
	num(e.Time.UTC().UnixNano())
	for _, s := range []string{e.Actor, e.Action, e.Endpoint, e.EndEntity, e.Target, string(e.Result), e.Detail} {
		field([]byte(s))
	}
	h.Write(buf.Bytes())
	return h.Sum(nil)
}

// Link fills in e's sequence number, previous hash and hash as the
// successor of the chain head (prevSeq, prevHash); prevSeq 0 starts a chain.
func Link(e *Event, prevSeq int64, prevHash []byte) {
	e.Seq = prevSeq + 1
	e.PrevHash = append([]byte{}, prevHash...)
	e.Hash = Hash(e)
}

// Break describes where a chain stops verifying.
type Break struct {
	Tenant  string
	Seq     int64
	Problem string
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit: chain of tenant %q breaks at event %d: %s", b.Tenant, b.Seq, b.Problem)
}

// Verifier checks one tenant's events fed to it in sequence order.
type Verifier struct {
	tenant   string
	prevSeq  int64
	prevHash []byte
	checked  int64
}

// NewVerifier starts checking the chain of tenant.
func NewVerifier(tenant string) *Verifier { return &Verifier{tenant: tenant} }

// Next checks the next event of the chain.
func (v *Verifier) Next(e *Event) error {
	switch {
	case e.Tenant != v.tenant:
		return &Break{v.tenant, e.Seq, fmt.Sprintf("event belongs to tenant %q", e.Tenant)}
	case e.Seq != v.prevSeq+1:
		return &Break{v.tenant, v.prevSeq + 1, fmt.Sprintf("event %d is missing (next stored event is %d)", v.prevSeq+1, e.Seq)}
	case !bytes.Equal(e.PrevHash, v.prevHash):
		return &Break{v.tenant, e.Seq, "previous-hash link does not match the preceding event"}
	case !bytes.Equal(Hash(e), e.Hash):
		return &Break{v.tenant, e.Seq, "stored hash does not match the event's contents"}
	}
	v.prevSeq, v.prevHash = e.Seq, e.Hash
	v.checked++
	return nil
}

// End checks that the chain ends at the recorded head.
func (v *Verifier) End(headSeq int64, headHash []byte) error {
	if headSeq != v.prevSeq {
		return &Break{v.tenant, v.prevSeq + 1, fmt.Sprintf("chain head says %d events, found %d", headSeq, v.prevSeq)}
	}
	if !bytes.Equal(headHash, v.prevHash) {
		return &Break{v.tenant, headSeq, "chain head hash does not match the last event"}
	}
	return nil
}

// Checked returns how many events verified.
func (v *Verifier) Checked() int64 { return v.checked }
