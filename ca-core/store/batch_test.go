package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommitIsolatesFailures runs many SQLite transactions at once, so
// that they share commits, and checks that each one's outcome is its own:
// the writes of one that fails (by returning an error or breaking a
// constraint) vanish, the others' stay.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "batch.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	const n = 200
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.inTx(ctx, func(tx txn) error {
				if _, err := tx.exec(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, fmt.Sprint(i), "first"); err != nil {
					return err
				}
				switch i % 10 {
				case 3: // a later error undoes the insert
					return errRefused
				case 7: // a constraint violation after a good write
					_, err := tx.exec(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, fmt.Sprint(i), "again")
					return err
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range results {
		var v string
		rowErr := s.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = ?`, fmt.Sprint(i)).Scan(&v)
		switch i % 10 {
		case 3:
			if !errors.Is(err, errRefused) || rowErr == nil {
				t.Errorf("tx %d: err %v, row left: %v", i, err, rowErr == nil)
			}
		case 7:
			if err == nil || rowErr == nil {
				t.Errorf("tx %d: err %v, row left: %v", i, err, rowErr == nil)
			}
		default:
			if err != nil || rowErr != nil || v != "first" {
				t.Errorf("tx %d: err %v, row %q (%v)", i, err, v, rowErr)
			}
		}
	}
}

func TestGroupCommitGivesUpWithItsContext(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "batch.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Hold the writer, so that the transaction can only queue.
	if err := s.lockWriter(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	ran := false
	go func() { done <- s.inTx(cctx, func(txn) error { ran = true; return nil }) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	s.unlockWriter()
	// The abandoned transaction left the queue: the next one commits alone.
	if err := s.inTx(ctx, func(txn) error { return nil }); err != nil || ran {
		t.Fatalf("next transaction: %v; abandoned one ran: %v", err, ran)
	}
}
