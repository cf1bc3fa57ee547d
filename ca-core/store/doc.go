// Package store is ca-core's persistence: tenants, CAs, custom profiles,
// endpoints, the certificate inventory, end-entities, challenges, pending
// requests, rate windows and the audit chain, in SQLite (pure Go, the
// embedded default, one ca-core process) or PostgreSQL (any number of
// ca-core replicas).
//
// Both engines run the same numbered migrations (migrations/*.sql, embedded
// and applied at open; never edited once released) and the same queries.
// Correctness under concurrency rests on row locks taken in short
// transactions: the tenant row serialises quota accounting, the audit head
// serialises a tenant's chain, and rate windows are counted with atomic
// upserts. Signing never happens inside a transaction: issuance reserves a
// serial and a quota unit, signs, then finalises or releases the
// reservation (see Reserve, Finalize and Release).
//
// Only this package knows SQL and driver errors: it returns plain records
// and fault errors (NotFound, AlreadyExists, Conflict, QuotaExceeded,
// RateLimited, Unavailable).
package store
