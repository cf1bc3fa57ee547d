package audit

import (
	"errors"
	"testing"
	"time"
)

func chain(n int) []*Event {
	var out []*Event
	var seq int64
	var prev []byte
	for i := 0; i < n; i++ {
		e := &Event{Tenant: "t1", Time: time.Unix(1700000000, int64(i)), Actor: "admin:ops", Action: ActionCertIssue,
			Target: "0a", Result: Success}
		Link(e, seq, prev)
		seq, prev = e.Seq, e.Hash
		out = append(out, e)
	}
	return out
}

func verify(events []*Event, headSeq int64, headHash []byte) error {
	v := NewVerifier("t1")
	for _, e := range events {
		if err := v.Next(e); err != nil {
			return err
		}
	}
	return v.End(headSeq, headHash)
}

func TestChainVerification(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper  func([]*Event) []*Event
		wantSeq int64
	}{
		"ok/untouched":          {func(e []*Event) []*Event { return e }, 0},
		"fail/edited-detail":    {func(e []*Event) []*Event { e[2].Detail = "nothing to see"; return e }, 3},
		"fail/edited-actor":     {func(e []*Event) []*Event { e[0].Actor = "admin:mallory"; return e }, 1},
		"fail/deleted-middle":   {func(e []*Event) []*Event { return append(e[:1], e[2:]...) }, 2},
		"fail/swapped":          {func(e []*Event) []*Event { e[1], e[2] = e[2], e[1]; return e }, 2},
		"fail/truncated-at-end": {func(e []*Event) []*Event { return e[:3] }, 4},
		"fail/rehashed-without-relink": {func(e []*Event) []*Event {
			e[1].Result = Failure
			e[1].Hash = Hash(e[1])
			return e
		}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			events := chain(4)
			head := events[3]
			err := verify(tc.tamper(events), head.Seq, head.Hash)
			if tc.wantSeq == 0 {
				if err != nil {
					t.Fatalf("untouched chain failed: %v", err)
				}
				return
			}
			var b *Break
			if !errors.As(err, &b) {
				t.Fatalf("got %v, want a Break", err)
			}
			if b.Seq != tc.wantSeq {
				t.Errorf("break at %d (%s), want %d", b.Seq, b.Problem, tc.wantSeq)
			}
		})
	}
}

func TestHashSeparatesFields(t *testing.T) {
	a := &Event{Tenant: "t", Actor: "ab", Action: "c"}
	b := &Event{Tenant: "t", Actor: "a", Action: "bc"}
	if string(Hash(a)) == string(Hash(b)) {
		t.Fatal("moving bytes between fields kept the hash")
	}
}
