package store

import (
	"context"
	"sync"
)

// SQLite has one writer, and each commit waits for the disk (synchronous
// = FULL): that wait, not the SQL, bounded how many transactions per second
// the store could take. Transactions that queue while one commits are
// therefore run together under one commit — group commit — each in its own
// savepoint, so that one failing leaves the others' writes alone.

// maxBatch bounds the transactions one commit carries.
const maxBatch = 64

// writeBatch is the queue of transactions waiting for the writer.
type writeBatch struct {
	mu    sync.Mutex // guards queue
	queue []*queuedTx
}

type queuedTx struct {
	fn   func(txn) error
	done chan error // buffered: the leader never blocks on delivery
}

// lockWriter takes the SQLite writer lock, or gives up with ctx.
func (s *Store) lockWriter(ctx context.Context) error {
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWriter() { <-s.writer }

// batchTx runs fn in the next SQLite commit. The caller that gets the
// writer lock becomes the leader and commits everything queued so far;
// the others wait for their result.
func (s *Store) batchTx(ctx context.Context, fn func(txn) error) error {
	q := &queuedTx{fn: fn, done: make(chan error, 1)}
	s.batch.mu.Lock()
	s.batch.queue = append(s.batch.queue, q)
	s.batch.mu.Unlock()
	for {
		select {
		case err := <-q.done:
			return err
		case s.writer <- struct{}{}:
		case <-ctx.Done():
			if s.batch.remove(q) {
				return ctx.Err()
			}
			// A leader took it already; its outcome is coming.
			return <-q.done
		}
		s.batch.mu.Lock()
		n := min(len(s.batch.queue), maxBatch)
		batch := s.batch.queue[:n:n]
		s.batch.queue = s.batch.queue[n:]
		s.batch.mu.Unlock()
		// The statements run on a context no single caller can cancel: an
		// interrupted statement would roll back everyone's transaction.
		s.commitBatch(context.WithoutCancel(ctx), batch)
		s.unlockWriter()
	}
}

func (b *writeBatch) remove(q *queuedTx) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.queue {
		if x == q {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return true
		}
	}
	return false
}

func (s *Store) commitBatch(ctx context.Context, batch []*queuedTx) {
	if len(batch) == 0 {
		return
	}
	fail := func(err error) {
		for _, q := range batch {
			q.done <- err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	t := txn{Tx: tx, s: s, ctx: ctx}
	results := make([]error, len(batch))
	if len(batch) == 1 {
		results[0] = batch[0].fn(t)
	} else {
		for i, q := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT batched"); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
			if results[i] = q.fn(t); results[i] != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO batched"); err != nil {
					tx.Rollback()
					fail(err)
					return
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE batched"); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
	}
	if len(batch) == 1 && results[0] != nil {
		tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, q := range batch {
		q.done <- results[i]
	}
}
