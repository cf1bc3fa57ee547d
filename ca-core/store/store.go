package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/certgate/certgate/ca-core/fault"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Engine names a database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	engine Engine
	now    func() time.Time

	// writer is the SQLite writer lock (a channel, so that waiting can end
	// with the context). SQLite admits one writer at a time anyway;
	// queueing here instead of in SQLite's busy handler (which sleeps up
	// to 100 ms between retries) keeps tail latency low, and lets waiting
	// transactions share a commit (batch.go). Unused for PostgreSQL, whose
	// row locks serialise only what conflicts.
	writer chan struct{}
	batch  writeBatch

	// txSlots bounds concurrent PostgreSQL transactions below the pool size, so
	// that a transaction preparing a statement always finds a free connection.
	txSlots chan struct{}

	nonces nonceBook

	stmtMu sync.Mutex // guards stmts
	// stmts caches prepared statements by query text. Parsing SQL was a
	// sixth of SQLite's issuance cost; database/sql re-prepares a cached
	// statement on each pooled connection once.
	stmts map[string]*sql.Stmt
}

// Options tune Open.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxOpenConns bounds the connection pool; default 16 (PostgreSQL) or 8
	// (SQLite).
	MaxOpenConns int
}

// Open connects to engine at dsn (a file path for SQLite, a libpq URL or
// key=value string for PostgreSQL) and applies pending migrations.
func Open(ctx context.Context, engine Engine, dsn string, opts Options) (*Store, error) {
	var (
		db  *sql.DB
		err error
	)
	switch engine {
	case SQLite:
		// BEGIN IMMEDIATE makes writers queue on the busy timeout instead of
		// failing on lock upgrades; WAL lets readers run beside the writer;
		// synchronous=FULL makes every commit durable (an issued certificate
		// is never lost to a crash).
		q := url.Values{}
		q.Add("_txlock", "immediate")
		for _, p := range []string{"busy_timeout(15000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		db, err = sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if opts.MaxOpenConns == 0 {
			opts.MaxOpenConns = 8
		}
	case Postgres:
		db, err = sql.Open("pgx", dsn)
		if opts.MaxOpenConns == 0 {
			opts.MaxOpenConns = 16
		}
	default:
		return nil, fmt.Errorf("store: unknown engine %q (sqlite or postgres)", engine)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Two connections beyond the transactions: see txSlots.
	opts.MaxOpenConns = max(opts.MaxOpenConns, 3)
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxOpenConns)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{db: db, engine: engine, now: opts.Now, stmts: map[string]*sql.Stmt{},
		txSlots: make(chan struct{}, max(1, opts.MaxOpenConns-2)), writer: make(chan struct{}, 1)}
	s.nonces = rowNonces{s}
	if engine == SQLite {
		s.nonces = &memNonces{entries: map[string]memNonce{}}
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", engine, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.stmtMu.Unlock()
	return s.db.Close()
}

// prepared returns the cached prepared statement for q (with ? placeholders),
// preparing it on first use. Preparing takes a pooled connection; the lock
// is not held meanwhile, and txSlots keeps one connection free for it.
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[q]
	s.stmtMu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.rebind(q))
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	prev, ok := s.stmts[q]
	if !ok {
		s.stmts[q] = st
	}
	s.stmtMu.Unlock()
	if ok {
		// Another caller prepared it first. Closing waits for the
		// connections the statement was prepared on, which transactions
		// may hold while they wait for stmtMu: never under the lock, and
		// not on this caller's path.
		go st.Close()
		return prev, nil
	}
	return st, nil
}

// Engine reports the database engine.
func (s *Store) Engine() Engine { return s.engine }

// migrate applies every embedded migration newer than the recorded version,
// each in its own transaction. PostgreSQL replicas starting together
// serialise on an advisory lock.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	sort.Strings(names)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer conn.Close()
	if s.engine == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7420931)"); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7420931)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var current int64
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: reading schema version: %w", err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.ParseInt(strings.SplitN(base, "_", 2)[0], 10, 64)
		if err != nil {
			return fmt.Errorf("store: migration %s has no version number", base)
		}
		if v <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := s.applyMigration(ctx, conn, v, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, version int64, body string) error {
	bytesType := "BLOB"
	if s.engine == Postgres {
		bytesType = "BYTEA"
	}
	body = strings.ReplaceAll(body, "BYTES", bytesType)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range splitStatements(body) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w in %q", err, firstLine(stmt))
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, micros(s.now())); err != nil {
		return err
	}
	return tx.Commit()
}

// splitStatements splits a migration on semicolons ending a line; comments
// are dropped. Migrations must not put semicolons inside literals.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// rebind turns ? placeholders into PostgreSQL's $n. Queries in this package
// never contain a literal question mark.
func (s *Store) rebind(q string) string {
	if s.engine != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// forUpdate is the row-lock suffix for SELECTs in a write transaction.
// SQLite has none: BEGIN IMMEDIATE already holds the database write lock.
func (s *Store) forUpdate() string {
	if s.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// txn is a transaction with the store's dialect helpers.
type txn struct {
	*sql.Tx
	s *Store
	// ctx, when set, replaces the callers' contexts (a batched
	// transaction: see batch.go).
	ctx context.Context
}

func (t txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.ctx != nil {
		ctx = t.ctx
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (t txn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if t.ctx != nil {
		ctx = t.ctx
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// row runs a single-row query; errors surface from Scan.
func (t txn) row(ctx context.Context, q string, args ...any) rowScanner {
	if t.ctx != nil {
		ctx = t.ctx
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return t.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// inTx runs fn in a transaction, retrying a few times when the engine
// reports a transient conflict (SQLite busy, PostgreSQL deadlock or
// serialization failure). fn must be safe to re-run.
func (s *Store) inTx(ctx context.Context, fn func(t txn) error) error {
	return s.retryTx(ctx, true, fn)
}

// inVolatileTx is inTx for transactions whose writes may be lost to a
// power failure without harm — consuming an ACME nonce — so their commit
// does not wait for the disk (PostgreSQL's synchronous_commit). Everything else (issued
// certificates, revocations, audit) goes through inTx.
func (s *Store) inVolatileTx(ctx context.Context, fn func(t txn) error) error {
	return s.retryTx(ctx, false, fn)
}

func (s *Store) retryTx(ctx context.Context, durable bool, fn func(t txn) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, durable, fn)
		if err == nil || !isTransient(err) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return s.translate(err)
}

func (s *Store) tryTx(ctx context.Context, durable bool, fn func(t txn) error) error {
	if s.engine == SQLite {
		return s.batchTx(ctx, fn)
	}
	select {
	case s.txSlots <- struct{}{}:
		defer func() { <-s.txSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if !durable {
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(txn{Tx: tx, s: s}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.engine == SQLite {
		if err := s.lockWriter(ctx); err != nil {
			return nil, err
		}
		defer s.unlockWriter()
	}
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, s.translate(err)
	}
	r, err := st.ExecContext(ctx, args...)
	return r, s.translate(err)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, s.translate(err)
	}
	r, err := st.QueryContext(ctx, args...)
	return r, s.translate(err)
}

func (s *Store) row(ctx context.Context, q string, args ...any) rowScanner {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// querier runs reads, on the pool (*Store) or inside a transaction (txn).
type querier interface {
	row(ctx context.Context, q string, args ...any) rowScanner
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// rowScanner is a *sql.Row or the error that kept a query from running.
type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// translate turns driver errors into fault values; fault errors and
// context errors pass through.
func (s *Store) translate(err error) error {
	switch {
	case err == nil:
		return nil
	case fault.As(err) != nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return fault.New(fault.NotFound, "not found")
	case isUnique(err):
		return &fault.Error{Reason: fault.AlreadyExists, Detail: "already exists"}
	case isTransient(err):
		return &fault.Error{Reason: fault.Unavailable, Detail: "the store is busy; retry", RetryAfter: time.Second}
	}
	return fmt.Errorf("store: %w", err)
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isTransient(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// micros converts a time to the schema's unix microseconds; the zero time
// is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var conflictf = fault.Conflictf

// containsJSONString reports whether a stored JSON string array holds s.
func containsJSONString(array, s string) bool {
	var list []string
	if json.Unmarshal([]byte(array), &list) != nil {
		return false
	}
	return slices.Contains(list, s)
}

// Ping checks the database connection.
func (s *Store) Ping(ctx context.Context) error { return s.translate(s.db.PingContext(ctx)) }
