package admincli

import (
	"context"
	"flag"
	"strings"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func digitalIDsNoun(c *cli) noun {
	return noun{name: "digital-ids", summary: "manage the Digital IDs (subject templates) of MDM configurations", verbs: []verb{
		{name: "create", usage: "--endpoint E --name N --rdn-format FMT [--parent-dn DN] [--san TYPE:FMT]... [--profile P] [--mode scep|pkcs12]",
			summary: "add a Digital ID to an mdmws endpoint", define: c.digitalIDsCreate},
		{name: "list", usage: "--endpoint E", summary: "list an MDM configuration's Digital IDs", define: c.digitalIDsList},
		{name: "show", usage: "--endpoint E NAME", summary: "show one Digital ID and its variables", nargs: 1, define: c.digitalIDsShow},
		{name: "delete", usage: "--endpoint E NAME", summary: "delete a Digital ID (challenges made from it stay good)", nargs: 1, define: c.digitalIDsDelete},
	}}
}

func (s *session) digitalIDs() pb.DigitalIDServiceClient { return pb.NewDigitalIDServiceClient(s.conn) }

func (c *cli) digitalIDsCreate(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "mdmws `endpoint` (required)")
	name := fs.String("name", "", "Digital ID `name`, [a-z0-9_-]{2,18} (required)")
	rdn := fs.String("rdn-format", "", "leading RDNs with <variable> placeholders, e.g. \"CN=<igusername> <devicetype>\" (required)")
	parent := fs.String("parent-dn", "", "RFC 4514 `DN` appended after the RDN format, e.g. \"OU=Devices,O=Example\"")
	profile := fs.String("profile", "", "`profile` to issue with (default: the endpoint's default)")
	mode := fs.String("mode", "scep", "`mode`: scep (devices enroll with a bound challenge) or pkcs12 (certgate makes the key)")
	var sans stringList
	fs.Var(&sans, "san", "subjectAltName template `TYPE:FMT`, TYPE one of dns, email, uri, upn, ip, e.g. dns:<serial>.devices.example.com; repeatable")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint, "name", *name, "rdn-format", *rdn); err != nil {
			return err
		}
		m, ok := map[string]pb.DigitalIDMode{"scep": pb.DigitalIDMode_DIGITAL_ID_MODE_SCEP, "pkcs12": pb.DigitalIDMode_DIGITAL_ID_MODE_PKCS12}[*mode]
		if !ok {
			return usageErrorf("--mode is scep or pkcs12")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		d, err := s.digitalIDs().CreateDigitalID(ctx, &pb.CreateDigitalIDRequest{DigitalId: &pb.DigitalID{Tenant: s.tenant, Endpoint: *endpoint,
			Name: *name, RdnFormat: *rdn, ParentDn: *parent, SanFormats: sans, Profile: *profile, Mode: m}})
		if err != nil {
			return callError(err)
		}
		return c.emit(d, func() error { return c.showDigitalID(d) })
	}
}

func (c *cli) showDigitalID(d *pb.DigitalID) error {
	return c.fields([]field{{"Name", d.GetName()}, {"Endpoint", d.GetEndpoint()}, {"RDN format", d.GetRdnFormat()},
		{"Parent DN", d.GetParentDn()}, {"SAN formats", list(d.GetSanFormats())}, {"Variables", list(d.GetVariables())},
		{"CA", d.GetCa()}, {"Profile", d.GetProfile()}, {"Mode", modeName(d.GetMode())}, {"Created", ts(d.GetCreatedAt())}})
}

func modeName(m pb.DigitalIDMode) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "DIGITAL_ID_MODE_"))
}

func (c *cli) digitalIDsList(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "mdmws `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.digitalIDs().ListDigitalIDs(ctx, &pb.ListDigitalIDsRequest{Tenant: s.tenant, Endpoint: *endpoint})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetDigitalIds()))
			for _, d := range resp.GetDigitalIds() {
				rows = append(rows, []string{d.GetName(), modeName(d.GetMode()), d.GetProfile(), d.GetRdnFormat(), d.GetParentDn()})
			}
			return c.table([]string{"NAME", "MODE", "PROFILE", "RDN FORMAT", "PARENT DN"}, rows)
		})
	}
}

func (c *cli) digitalIDsShow(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "mdmws `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		d, err := s.digitalIDs().GetDigitalID(ctx, &pb.GetDigitalIDRequest{Tenant: s.tenant, Endpoint: *endpoint, Name: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(d, func() error { return c.showDigitalID(d) })
	}
}

func (c *cli) digitalIDsDelete(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "mdmws `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.digitalIDs().DeleteDigitalID(ctx, &pb.GetDigitalIDRequest{Tenant: s.tenant, Endpoint: *endpoint, Name: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error { return c.say("deleted Digital ID %s", args[0]) })
	}
}
