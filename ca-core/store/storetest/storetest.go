// Package storetest opens real stores for tests: a SQLite file in a temp
// directory and a fresh database on the local PostgreSQL server, so that
// every store test runs on both engines. PostgreSQL is found through
// CERTGATE_TEST_POSTGRES (a libpq URL of a role that may create
// databases), default postgres://postgres@127.0.0.1:5432/postgres. An
// unreachable server fails the test: suites are never skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"github.com/certgate/certgate/ca-core/store"
)

// Engines lists the engines every store test runs on.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// AdminDSN returns the PostgreSQL URL tests create databases through.
func AdminDSN() string {
	if v := os.Getenv("CERTGATE_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DSN returns a DSN for a new empty database of engine, removed when the
// test ends. Open it as many times as the test needs replicas.
func DSN(t testing.TB, engine store.Engine) string {
	t.Helper()
	switch engine {
	case store.SQLite:
		return filepath.Join(t.TempDir(), "ca-core.db")
	case store.Postgres:
		return NewPostgresDatabase(t)
	}
	t.Fatalf("storetest: unknown engine %q", engine)
	return ""
}

// Open returns a migrated store on a new database of engine.
func Open(t testing.TB, engine store.Engine, opts store.Options) *store.Store {
	t.Helper()
	return OpenDSN(t, engine, DSN(t, engine), opts)
}

// OpenDSN opens (and migrates) a store on dsn, closed when the test ends.
func OpenDSN(t testing.TB, engine store.Engine, dsn string, opts store.Options) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, engine, dsn, opts)
	if err != nil {
		t.Fatalf("storetest: opening %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewPostgresDatabase creates an empty database and returns its URL; the
// database is dropped when the test ends.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", AdminDSN())
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "certgate_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: creating PostgreSQL database at %s (set CERTGATE_TEST_POSTGRES): %v", AdminDSN(), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", AdminDSN())
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(AdminDSN())
	if err != nil {
		t.Fatalf("storetest: CERTGATE_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
