package admincli

import (
	"context"
	"flag"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func endEntitiesNoun(c *cli) noun {
	return noun{name: "end-entities", summary: "manage the devices, accounts and hosts enrolling through an endpoint", verbs: []verb{
		{name: "create", usage: "--endpoint E ID [--expires TIME]", summary: "register an end-entity, active", nargs: 1, define: c.endEntitiesCreate},
		{name: "list", usage: "--endpoint E [--status S]", summary: "list an endpoint's end-entities", define: c.endEntitiesList},
		{name: "show", usage: "--endpoint E ID", summary: "show an end-entity", nargs: 1, define: c.endEntitiesShow},
		{name: "activate", usage: "--endpoint E ID", summary: "re-activate a deactivated end-entity", nargs: 1, define: c.endEntitiesChange("activate")},
		{name: "deactivate", usage: "--endpoint E ID", summary: "stop an end-entity from enrolling until activated", nargs: 1, define: c.endEntitiesChange("deactivate")},
		{name: "decommission", usage: "--endpoint E ID", summary: "stop an end-entity from enrolling for good", nargs: 1, define: c.endEntitiesChange("decommission")},
	}}
}

func endpointFlag(fs *flag.FlagSet) *string {
	return fs.String("endpoint", "", "the end-entity's `endpoint` (required)")
}

func (c *cli) endEntitiesCreate(fs *flag.FlagSet) action {
	endpoint := endpointFlag(fs)
	expires := fs.String("expires", "", "RFC 3339 `time` after which it may no longer enroll (default: never)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		req := &pb.CreateEndEntityRequest{Endpoint: *endpoint, Id: args[0]}
		if *expires != "" {
			t, err := parseTime("expires", *expires)
			if err != nil {
				return err
			}
			req.ExpiresAt = timestamppb.New(t)
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		ee, err := s.endEntities().CreateEndEntity(ctx, req)
		if err != nil {
			return callError(err)
		}
		return c.emit(ee, func() error { return c.showEndEntity(ee) })
	}
}

func (c *cli) endEntitiesList(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "`endpoint` whose end-entities to list (required)")
	status := fs.String("status", "", "only end-entities in this `status`: "+choiceNames(endEntityStatusChoices()))
	limit := fs.Int("limit", 100, "at most `N` rows, 0 for all")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		req := &pb.ListEndEntitiesRequest{Endpoint: *endpoint}
		if *status != "" {
			st, err := parseChoice("status", *status, endEntityStatusChoices())
			if err != nil {
				return err
			}
			req.Status = st
		}
		if *limit < 0 {
			return usageErrorf("--limit must not be negative")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		pg, err := collectPages(*limit, func(size int32, token string) ([]*pb.EndEntity, string, error) {
			req.PageSize, req.PageToken = size, token
			resp, err := s.endEntities().ListEndEntities(ctx, req)
			return resp.GetEndEntities(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return callError(err)
		}
		return c.emit(&pb.ListEndEntitiesResponse{EndEntities: pg.items, NextPageToken: pg.next}, func() error {
			rows := make([][]string, 0, len(pg.items))
			for _, ee := range pg.items {
				rows = append(rows, []string{ee.GetId(), nameOf(ee.GetStatus(), endEntityStatusChoices()),
					ts(ee.GetExpiresAt()), ts(ee.GetLastEnrolledAt()), ts(ee.GetCreatedAt())})
			}
			if err := c.table([]string{"ID", "STATUS", "EXPIRES", "LAST-ENROLLED", "CREATED"}, rows); err != nil {
				return err
			}
			c.moreNote(pg.more, *limit)
			return nil
		})
	}
}

func (c *cli) endEntitiesShow(fs *flag.FlagSet) action {
	endpoint := endpointFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ee, err := s.endEntities().GetEndEntity(ctx, &pb.GetEndEntityRequest{Tenant: s.tenant, Endpoint: *endpoint, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(ee, func() error { return c.showEndEntity(ee) })
	}
}

// endEntitiesChange defines activate, deactivate and decommission.
func (c *cli) endEntitiesChange(verb string) func(fs *flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		endpoint := endpointFlag(fs)
		return func(ctx context.Context, args []string) error {
			if err := required("endpoint", *endpoint); err != nil {
				return err
			}
			s, err := c.session()
			if err != nil {
				return err
			}
			cl := s.endEntities()
			var call func(context.Context, *pb.EndEntityRef, ...grpc.CallOption) (*pb.EndEntity, error)
			switch verb {
			case "activate":
				call = cl.ActivateEndEntity
			case "deactivate":
				call = cl.DeactivateEndEntity
			default:
				call = cl.DecommissionEndEntity
			}
			ee, err := call(ctx, &pb.EndEntityRef{Tenant: s.tenant, Endpoint: *endpoint, Id: args[0]})
			if err != nil {
				return callError(err)
			}
			return c.emit(ee, func() error { return c.showEndEntity(ee) })
		}
	}
}

func (c *cli) showEndEntity(ee *pb.EndEntity) error {
	return c.fields([]field{
		{"ID", ee.GetId()},
		{"Endpoint", ee.GetEndpoint()},
		{"Protocol", nameOf(ee.GetProtocol(), protocolChoices())},
		{"Status", nameOf(ee.GetStatus(), endEntityStatusChoices())},
		{"Expires", ts(ee.GetExpiresAt())},
		{"Last enrolled", ts(ee.GetLastEnrolledAt())},
		{"Created", ts(ee.GetCreatedAt())},
		{"Updated", ts(ee.GetUpdatedAt())},
	})
}
