package revocation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

// Limits of a bulk job's input.
const (
	MaxBulkSerials = 1_000_000
	MaxBulkCSV     = 64 << 20
	bulkBatch      = 200
)

// BulkRequest starts a job from a CSV document or a selector.
type BulkRequest struct {
	Actor          string
	Tenant         string
	CSV            []byte
	SerialColumn   string
	Selector       *store.BulkSelector
	Reason         int
	InvalidityDate time.Time
}

// StartBulk validates the input, stores the job and returns it; the
// maintainer loop of some replica revokes its items.
func (s *Service) StartBulk(ctx context.Context, r *BulkRequest) (*store.BulkJob, error) {
	if !ValidRevocationReason(r.Reason) {
		return nil, fault.Field("reason", "%s is not a revocation reason", ReasonName(r.Reason))
	}
	var items []store.BulkItem
	var source string
	switch {
	case len(r.CSV) > 0 && r.Selector != nil:
		return nil, fault.Field("selector", "give a CSV or a selector, not both")
	case len(r.CSV) > 0:
		serials, err := ParseSerialCSV(r.CSV, r.SerialColumn)
		if err != nil {
			return nil, err
		}
		for i, raw := range serials {
			it := store.BulkItem{Seq: int64(i + 1), State: store.ItemPending}
			if norm, err := ca.NormalizeSerial(raw); err == nil {
				it.Serial = norm
			} else {
				it.Serial, it.State, it.Detail = truncate(raw, 64), store.ItemFailed, "not a hex serial"
			}
			items = append(items, it)
		}
		source = "csv column " + orDefault(r.SerialColumn, "1")
	case r.Selector != nil:
		serials, err := s.d.Store.SelectSerials(ctx, r.Tenant, *r.Selector)
		if err != nil {
			return nil, err
		}
		if len(serials) > MaxBulkSerials {
			return nil, fault.Policy("bulk.size", "the selector matches %d certificates, more than %d", len(serials), MaxBulkSerials)
		}
		for i, serial := range serials {
			items = append(items, store.BulkItem{Seq: int64(i + 1), Serial: serial, State: store.ItemPending})
		}
		source = describeSelector(r.Selector)
	default:
		return nil, fault.Field("csv", "give a CSV of serials or a selector")
	}
	if len(items) == 0 {
		return nil, fault.Policy("bulk.empty", "nothing to revoke: %s matches no issued or held certificate", source)
	}
	var id [8]byte
	rand.Read(id[:])
	j := &store.BulkJob{ID: hex.EncodeToString(id[:]), Tenant: r.Tenant, Reason: r.Reason, InvalidityDate: r.InvalidityDate.UTC().Truncate(time.Microsecond),
		Source: source, RequestedBy: r.Actor}
	ev := &audit.Event{Tenant: r.Tenant, Actor: r.Actor, Action: "bulk_revocation.start", Target: j.ID,
		Detail: fmt.Sprintf("%s items=%d reason=%s", source, len(items), ReasonName(r.Reason))}
	if err := s.d.Store.CreateBulkJob(ctx, j, items, ev); err != nil {
		return nil, err
	}
	return j, nil
}

// ParseSerialCSV extracts the serial column of a CSV document. column is a
// header name (case-insensitive; the first row is then a header) or a
// 1-based number (a first row whose cell is not a serial is taken for a
// header and skipped); empty means column 1.
func ParseSerialCSV(doc []byte, column string) ([]string, error) {
	if len(doc) > MaxBulkCSV {
		return nil, fault.Field("csv", "the CSV is larger than %d MiB", MaxBulkCSV>>20)
	}
	r := csv.NewReader(bytes.NewReader(doc))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	idx, byName := 0, false
	if column != "" {
		if n, err := strconv.Atoi(column); err == nil {
			if n < 1 {
				return nil, fault.Field("serial_column", "column numbers start at 1")
			}
			idx = n - 1
		} else {
			byName = true
		}
	}
	var out []string
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fault.Field("csv", "line %d: %v", line, err)
		}
		if line == 1 && byName {
			idx = -1
			for i, h := range rec {
				if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), column) {
					idx = i
				}
			}
			if idx < 0 {
				return nil, fault.Field("serial_column", "the CSV header has no column %q", column)
			}
			continue
		}
		if idx >= len(rec) {
			return nil, fault.Field("csv", "line %d has no column %d", line, idx+1)
		}
		cell := strings.TrimSpace(strings.TrimPrefix(rec[idx], "\ufeff"))
		if line == 1 && !byName {
			if _, err := ca.NormalizeSerial(cell); err != nil {
				continue
			}
		}
		if cell == "" {
			continue
		}
		out = append(out, cell)
		if len(out) > MaxBulkSerials {
			return nil, fault.Policy("bulk.size", "more than %d serials", MaxBulkSerials)
		}
	}
	if len(out) == 0 {
		return nil, fault.Field("csv", "the CSV holds no serials")
	}
	return out, nil
}

// runBulk advances every running job whose lease this replica wins.
func (s *Service) runBulk(ctx context.Context) {
	jobs, err := s.d.Store.RunningBulkJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.d.Logger.Warn("revocation: listing bulk jobs", "err", err)
		}
		return
	}
	for _, j := range jobs {
		if err := s.runJob(ctx, j); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("revocation: bulk job", "job", j.ID, "err", err)
		}
	}
}

func (s *Service) runJob(ctx context.Context, j *store.BulkJob) error {
	lease := "bulk:" + j.ID
	ok, err := s.d.Store.AcquireLease(ctx, lease, s.d.Holder, leaseTTL)
	if err != nil || !ok {
		return err
	}
	defer s.d.Store.ReleaseLease(context.WithoutCancel(ctx), lease, s.d.Holder)
	for ctx.Err() == nil {
		items, err := s.d.Store.PendingBulkItems(ctx, j.ID, bulkBatch)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			break
		}
		if _, err := s.d.Store.RevokeBatch(ctx, j, items); err != nil {
			return err
		}
		// Keep the lease while the job runs.
		if ok, err := s.d.Store.AcquireLease(ctx, lease, s.d.Holder, leaseTTL); err != nil || !ok {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	ev := &audit.Event{Tenant: j.Tenant, Actor: j.RequestedBy, Action: "bulk_revocation.finish", Target: j.ID, Detail: j.Source}
	if err := s.d.Store.FinishBulkJob(ctx, j, ev); err != nil {
		return err
	}
	s.d.Logger.Info("bulk revocation finished", "tenant", j.Tenant, "job", j.ID)
	return nil
}

func describeSelector(sel *store.BulkSelector) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("ca", sel.CA)
	add("profile", sel.Profile)
	add("endpoint", sel.Endpoint)
	add("end_entity", sel.EndEntity)
	if !sel.IssuedAfter.IsZero() {
		add("issued_after", sel.IssuedAfter.Format(time.RFC3339))
	}
	if !sel.IssuedBefore.IsZero() {
		add("issued_before", sel.IssuedBefore.Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "selector (all issued certificates)"
	}
	return "selector " + strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
