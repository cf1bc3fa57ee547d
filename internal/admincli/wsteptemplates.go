package admincli

import (
	"context"
	"flag"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func templatesNoun(c *cli) noun {
	return noun{name: "templates", summary: "manage the certificate templates a wstep endpoint's enrollment policy offers Windows", verbs: []verb{
		{name: "add", usage: "--endpoint E --name N [--profile P] [--oid OID] [--display-name TEXT] [--machine] [--autoenroll] [--subject-from-directory] [--group G]... [--renewal-period 1008h] [--supersedes T]...",
			summary: "add or replace a template", define: c.templatesAdd},
		{name: "list", usage: "--endpoint E", summary: "list the templates and the policy ID", define: c.templatesList},
		{name: "remove", usage: "--endpoint E NAME", summary: "stop offering a template", nargs: 1, define: c.templatesRemove},
	}}
}

// editPolicy reads a wstep endpoint, lets edit change its templates and
// writes it back.
func (c *cli) editPolicy(ctx context.Context, endpoint string, edit func(w *pb.WstepSettings) error) (*pb.Endpoint, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	cur, err := s.endpoints().GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: s.tenant, Id: endpoint})
	if err != nil {
		return nil, callError(err)
	}
	if cur.GetProtocol() != pb.Protocol_PROTOCOL_WSTEP {
		return nil, usageErrorf("endpoint %s is not a wstep endpoint", endpoint)
	}
	ep := proto.CloneOf(cur)
	if ep.Wstep == nil {
		ep.Wstep = &pb.WstepSettings{}
	}
	if err := edit(ep.Wstep); err != nil {
		return nil, err
	}
	got, err := s.endpoints().UpdateEndpoint(ctx, &pb.UpdateEndpointRequest{Endpoint: ep})
	if err != nil {
		return nil, callError(err)
	}
	return got, nil
}

func (c *cli) templatesAdd(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "wstep `endpoint` (required)")
	name := fs.String("name", "", "template `name` Windows requests, e.g. Machine (required)")
	profile := fs.String("profile", "", "certgate `profile` it issues with (default: the endpoint's)")
	oid := fs.String("oid", "", "template `OID` (default: derived from endpoint and name)")
	display := fs.String("display-name", "", "display `name` shown by Windows")
	machine := fs.Bool("machine", false, "a computer template (machine context)")
	auto := fs.Bool("autoenroll", false, "offer it for autoenrollment")
	fromDir := fs.Bool("subject-from-directory", false, "build subject and SANs from the directory instead of the request")
	renewal := fs.Duration("renewal-period", 0, "renew this long before expiry (default 6 weeks)")
	major := fs.Int("major-revision", 0, "template major revision (default 100); raise it to make clients re-enroll")
	var groups, supersedes stringList
	fs.Var(&groups, "group", "directory `group` (DN or name) whose members may enroll; repeatable; none = every authenticated requester")
	fs.Var(&supersedes, "supersedes", "`template` this one replaces; repeatable")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint, "name", *name); err != nil {
			return err
		}
		t := &pb.WstepTemplate{Name: *name, Oid: *oid, DisplayName: *display, Profile: *profile, Machine: *machine, Autoenroll: *auto,
			SubjectFromDirectory: *fromDir, EnrollGroups: groups, Supersedes: supersedes, MajorRevision: int32(*major)}
		if *renewal > 0 {
			t.RenewalPeriod = durationpb.New(*renewal)
		}
		got, err := c.editPolicy(ctx, *endpoint, func(w *pb.WstepSettings) error {
			w.Templates = slices.DeleteFunc(w.Templates, func(x *pb.WstepTemplate) bool { return x.GetName() == *name })
			w.Templates = append(w.Templates, t)
			return nil
		})
		if err != nil {
			return err
		}
		return c.emit(got.GetWstep(), func() error { return c.showTemplates(got.GetWstep()) })
	}
}

func (c *cli) showTemplates(w *pb.WstepSettings) error {
	c.note("policy %s (%s)", w.GetPolicyId(), w.GetPolicyFriendlyName())
	rows := make([][]string, 0, len(w.GetTemplates()))
	for _, t := range w.GetTemplates() {
		rows = append(rows, []string{t.GetName(), t.GetOid(), t.GetProfile(), yesNo(t.GetMachine()), yesNo(t.GetAutoenroll()),
			yesNo(t.GetSubjectFromDirectory()), strconv.Itoa(int(t.GetMajorRevision())), list(t.GetEnrollGroups())})
	}
	return c.table([]string{"NAME", "OID", "PROFILE", "MACHINE", "AUTOENROLL", "FROM DIRECTORY", "REVISION", "GROUPS"}, rows)
}

func (c *cli) templatesList(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "wstep `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ep, err := s.endpoints().GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: s.tenant, Id: *endpoint})
		if err != nil {
			return callError(err)
		}
		w := ep.GetWstep()
		if w == nil {
			w = &pb.WstepSettings{}
		}
		return c.emit(w, func() error { return c.showTemplates(w) })
	}
}

func (c *cli) templatesRemove(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "wstep `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		got, err := c.editPolicy(ctx, *endpoint, func(w *pb.WstepSettings) error {
			n := len(w.Templates)
			w.Templates = slices.DeleteFunc(w.Templates, func(x *pb.WstepTemplate) bool { return x.GetName() == args[0] })
			if len(w.Templates) == n {
				return usageErrorf("endpoint %s has no template %q", *endpoint, args[0])
			}
			return nil
		})
		if err != nil {
			return err
		}
		return c.emit(got.GetWstep(), func() error { return c.showTemplates(got.GetWstep()) })
	}
}
