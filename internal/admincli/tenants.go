package admincli

import (
	"context"
	"flag"
	"fmt"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func tenantsNoun(c *cli) noun {
	return noun{name: "tenants", summary: "manage tenants and their quotas", verbs: []verb{
		{name: "create", usage: "ID [--name NAME] [--max-active N] [--rate N]", summary: "create a tenant", nargs: 1, define: c.tenantsCreate},
		{name: "list", usage: "", summary: "list tenants", define: c.tenantsList},
		{name: "show", usage: "ID", summary: "show a tenant", nargs: 1, define: c.tenantsShow},
		{name: "quota", usage: "ID [--max-active N] [--rate N]", summary: "replace a tenant's quota; an omitted flag keeps its current value", nargs: 1, define: c.tenantsQuota},
		{name: "usage", usage: "ID", summary: "show a tenant's quota consumption", nargs: 1, define: c.tenantsUsage},
	}}
}

// visited returns the names of the flags set on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func quotaFlags(fs *flag.FlagSet) (maxActive, rate *int64) {
	maxActive = fs.Int64("max-active", 0, "cap on active end-entity certificates, 0 for none")
	rate = fs.Int64("rate", 0, "issuance requests per 10-second window, 0 for unlimited")
	return maxActive, rate
}

func checkQuota(maxActive, rate int64) error {
	if maxActive < 0 || rate < 0 {
		return usageErrorf("--max-active and --rate must not be negative")
	}
	return nil
}

func (c *cli) tenantsCreate(fs *flag.FlagSet) action {
	name := fs.String("name", "", "display `name`")
	maxActive, rate := quotaFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := checkQuota(*maxActive, *rate); err != nil {
			return err
		}
		req := &pb.CreateTenantRequest{Id: args[0], DisplayName: *name}
		if set := visited(fs); set["max-active"] || set["rate"] {
			// Both fields travel together: an omitted one means 0 (no cap,
			// unlimited rate), not the server's default.
			req.Quota = &pb.Quota{MaxActiveCertificates: *maxActive, IssueRequestsPerWindow: *rate}
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		t, err := s.tenants().CreateTenant(ctx, req)
		if err != nil {
			return callError(err)
		}
		return c.emit(t, func() error { return c.showTenant(t) })
	}
}

func (c *cli) tenantsList(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.tenants().ListTenants(ctx, &pb.ListTenantsRequest{})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetTenants()))
			for _, t := range resp.GetTenants() {
				rows = append(rows, []string{t.GetId(), t.GetDisplayName(),
					limitString(t.GetQuota().GetMaxActiveCertificates()),
					limitString(t.GetQuota().GetIssueRequestsPerWindow()),
					ts(t.GetCreatedAt())})
			}
			return c.table([]string{"ID", "NAME", "MAX-ACTIVE", "RATE/10s", "CREATED"}, rows)
		})
	}
}

func (c *cli) tenantsShow(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		t, err := s.tenants().GetTenant(ctx, &pb.GetTenantRequest{Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(t, func() error { return c.showTenant(t) })
	}
}

func (c *cli) tenantsQuota(fs *flag.FlagSet) action {
	maxActive, rate := quotaFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := checkQuota(*maxActive, *rate); err != nil {
			return err
		}
		set := visited(fs)
		if !set["max-active"] && !set["rate"] {
			return usageErrorf("give --max-active, --rate or both")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		q := &pb.Quota{MaxActiveCertificates: *maxActive, IssueRequestsPerWindow: *rate}
		if !set["max-active"] || !set["rate"] {
			cur, err := s.tenants().GetTenant(ctx, &pb.GetTenantRequest{Id: args[0]})
			if err != nil {
				return callError(err)
			}
			if !set["max-active"] {
				q.MaxActiveCertificates = cur.GetQuota().GetMaxActiveCertificates()
			}
			if !set["rate"] {
				q.IssueRequestsPerWindow = cur.GetQuota().GetIssueRequestsPerWindow()
			}
		}
		t, err := s.tenants().UpdateQuota(ctx, &pb.UpdateQuotaRequest{Tenant: args[0], Quota: q})
		if err != nil {
			return callError(err)
		}
		return c.emit(t, func() error { return c.showTenant(t) })
	}
}

func (c *cli) tenantsUsage(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		u, err := s.tenants().GetQuotaUsage(ctx, &pb.GetQuotaUsageRequest{Tenant: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(u, func() error {
			return c.fields([]field{
				{"Tenant", u.GetTenant()},
				{"Active certificates", fmt.Sprintf("%d of %s", u.GetActiveCertificates(), limitString(u.GetQuota().GetMaxActiveCertificates()))},
				{"Requests this window", fmt.Sprintf("%d of %s", u.GetWindowRequests(), limitString(u.GetQuota().GetIssueRequestsPerWindow()))},
				{"Window start", ts(u.GetWindowStart())},
			})
		})
	}
}

func (c *cli) showTenant(t *pb.Tenant) error {
	return c.fields([]field{
		{"ID", t.GetId()},
		{"Name", t.GetDisplayName()},
		{"Max active certificates", limitString(t.GetQuota().GetMaxActiveCertificates())},
		{"Requests per 10s", limitString(t.GetQuota().GetIssueRequestsPerWindow())},
		{"Created", ts(t.GetCreatedAt())},
	})
}
