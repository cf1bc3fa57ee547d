package admincli

import (
	"context"
	"flag"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func auditNoun(c *cli) noun {
	return noun{name: "audit", summary: "read and verify the audit trail", verbs: []verb{
		{name: "list", usage: "[flags]", summary: "list audit events, newest first", define: c.auditList},
		{name: "verify", usage: "[--all]", summary: "recompute the tenant's hash chain (or every chain) and fail if it is broken", define: c.auditVerify},
	}}
}

func (c *cli) auditList(fs *flag.FlagSet) action {
	actionName := fs.String("action", "", "only events of this `action`, e.g. certificate.issue")
	endpoint := fs.String("endpoint", "", "only events of this `endpoint`")
	endEntity := fs.String("end-entity", "", "only events of this end-entity `ID`")
	result := fs.String("result", "", "only events with this `result`: "+choiceNames(auditResultChoices()))
	since := fs.String("since", "", "only events after this RFC 3339 `time`, or within this duration back from now (24h, P7D)")
	limit := fs.Int("limit", 100, "at most `N` rows, 0 for all")
	return func(ctx context.Context, args []string) error {
		req := &pb.ListAuditEventsRequest{Action: *actionName, Endpoint: *endpoint, EndEntity: *endEntity}
		if *result != "" {
			r, err := parseChoice("result", *result, auditResultChoices())
			if err != nil {
				return err
			}
			req.Result = r
		}
		if *since != "" {
			t, err := parseWhen("since", *since, c.now(), -1)
			if err != nil {
				return err
			}
			req.Since = timestamppb.New(t)
		}
		if *limit < 0 {
			return usageErrorf("--limit must not be negative")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		pg, err := collectPages(*limit, func(size int32, token string) ([]*pb.AuditEvent, string, error) {
			req.PageSize, req.PageToken = size, token
			resp, err := s.audit().ListAuditEvents(ctx, req)
			return resp.GetEvents(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return callError(err)
		}
		return c.emit(&pb.ListAuditEventsResponse{Events: pg.items, NextPageToken: pg.next}, func() error {
			rows := make([][]string, 0, len(pg.items))
			for _, e := range pg.items {
				rows = append(rows, []string{fmt.Sprint(e.GetSeq()), ts(e.GetTime()), e.GetActor(), e.GetAction(),
					nameOf(e.GetResult(), auditResultChoices()), e.GetTarget(), e.GetEndpoint(), e.GetEndEntity(), e.GetDetail()})
			}
			if err := c.table([]string{"SEQ", "TIME", "ACTOR", "ACTION", "RESULT", "TARGET", "ENDPOINT", "END-ENTITY", "DETAIL"}, rows); err != nil {
				return err
			}
			c.moreNote(pg.more, *limit)
			return nil
		})
	}
}

// AuditChainError is returned by `audit verify` when ca-core finds a
// broken chain.
type AuditChainError struct {
	Tenant  string
	Seq     int64
	Problem string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("audit chain broken in tenant %q at event %d: %s", e.Tenant, e.Seq, e.Problem)
}

func (c *cli) auditVerify(fs *flag.FlagSet) action {
	all := fs.Bool("all", false, "verify every tenant's chain and the system chain")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		req := &pb.VerifyAuditChainRequest{Tenant: s.tenant}
		if *all {
			req.Tenant = ""
		}
		resp, err := s.audit().VerifyAuditChain(ctx, req)
		if err != nil {
			return callError(err)
		}
		if err := c.emit(resp, func() error {
			if resp.GetOk() {
				return c.say("audit chain OK: %d events verified", resp.GetEventsChecked())
			}
			return c.say("audit chain BROKEN: tenant %s, event %d: %s (%d events checked)",
				resp.GetTenant(), resp.GetSeq(), resp.GetProblem(), resp.GetEventsChecked())
		}); err != nil {
			return err
		}
		if !resp.GetOk() {
			return &AuditChainError{Tenant: resp.GetTenant(), Seq: resp.GetSeq(), Problem: resp.GetProblem()}
		}
		return nil
	}
}
