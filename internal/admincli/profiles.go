package admincli

import (
	"context"
	"flag"
	"strconv"
	"strings"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func profilesNoun(c *cli) noun {
	return noun{name: "profiles", summary: "list certificate profiles and manage custom ones", verbs: []verb{
		{name: "list", usage: "[--group G]", summary: "list the profiles the tenant sees", define: c.profilesList},
		{name: "show", usage: "ID", summary: "show a profile's rules", nargs: 1, define: c.profilesShow},
		{name: "create", usage: "--file F", summary: "create a custom profile from a YAML or JSON document", define: c.profilesCreate},
		{name: "delete", usage: "ID", summary: "delete a custom profile no CA or endpoint uses", nargs: 1, define: c.profilesDelete},
	}}
}

func (c *cli) profilesList(fs *flag.FlagSet) action {
	group := fs.String("group", "", "only profiles of this `group`, e.g. privatessl")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.profiles().ListProfiles(ctx, &pb.ListProfilesRequest{Tenant: s.tenant, Group: *group})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetProfiles()))
			for _, p := range resp.GetProfiles() {
				rows = append(rows, []string{p.GetId(), p.GetGroup(), nameOf(p.GetKind(), profileKindNames()),
					profileOrigin(p), p.GetDefaultValidity(), p.GetMaxValidity(), p.GetDescription()})
			}
			return c.table([]string{"ID", "GROUP", "KIND", "ORIGIN", "DEFAULT", "MAX", "DESCRIPTION"}, rows)
		})
	}
}

// profileOrigin says where a profile comes from.
func profileOrigin(p *pb.Profile) string {
	switch {
	case p.GetBuiltIn():
		return "built-in"
	case p.GetTenant() != "":
		return "custom"
	}
	return "configured"
}

func (c *cli) profilesShow(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		p, err := s.profiles().GetProfile(ctx, &pb.GetProfileRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(p, func() error { return c.showProfile(p) })
	}
}

func (c *cli) profilesCreate(fs *flag.FlagSet) action {
	file := fs.String("file", "", "YAML or JSON profile `document` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("file", *file); err != nil {
			return err
		}
		doc, err := readFile("file", *file)
		if err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		p, err := s.profiles().CreateProfile(ctx, &pb.CreateProfileRequest{Tenant: s.tenant, Document: doc})
		if err != nil {
			return callError(err)
		}
		return c.emit(p, func() error { return c.showProfile(p) })
	}
}

func (c *cli) profilesDelete(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.profiles().DeleteProfile(ctx, &pb.DeleteProfileRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			return c.say("deleted profile %s", args[0])
		})
	}
}

func (c *cli) showProfile(p *pb.Profile) error {
	caTypes := make([]string, len(p.GetAllowedCaTypes()))
	for i, t := range p.GetAllowedCaTypes() {
		caTypes[i] = nameOf(t, caTypeNames())
	}
	keyTypes := make([]string, len(p.GetKeyTypes()))
	for i, k := range p.GetKeyTypes() {
		keyTypes[i] = nameOf(k, keyTypeChoices())
	}
	sanTypes := make([]string, len(p.GetSan().GetTypes()))
	for i, t := range p.GetSan().GetTypes() {
		sanTypes[i] = nameOf(t, sanTypeChoices())
	}
	pathLen := "none"
	if p.GetPathLen() >= 0 {
		pathLen = strconv.Itoa(int(p.GetPathLen()))
	}
	sanMax := int(p.GetSan().GetMax())
	if sanMax == 0 {
		sanMax = 100
	}
	origin := profileOrigin(p)
	if p.GetClonedFrom() != "" {
		origin += ", cloned from " + p.GetClonedFrom()
	}
	if p.GetTenant() != "" {
		origin += ", tenant " + p.GetTenant()
	}
	fs := []field{
		{"ID", p.GetId()},
		{"Group", p.GetGroup()},
		{"Description", p.GetDescription()},
		{"Kind", nameOf(p.GetKind(), profileKindNames())},
		{"Origin", origin},
		{"CA types", list(caTypes)},
		{"Default validity", p.GetDefaultValidity()},
		{"Max validity", p.GetMaxValidity()},
		{"Key types", list(keyTypes)},
		{"Key usages", list(p.GetKeyUsages())},
		{"Extended key usages", list(p.GetExtendedKeyUsages())},
	}
	if p.GetKind() == pb.Profile_KIND_AUTHORITY || p.GetCa() {
		fs = append(fs, field{"CA", yesNo(p.GetCa())}, field{"Path length", pathLen})
	}
	fs = append(fs,
		field{"Server-side key", yesNo(p.GetServerSideKeygen())},
		field{"Subject required", list(p.GetSubject().GetRequired())},
		field{"Subject allowed", orAll(p.GetSubject().GetAllowed())},
		field{"Subject override", yesNo(p.GetSubject().GetAllowOverride())},
		field{"SAN types", orNone(sanTypes)},
		field{"SAN required", yesNo(p.GetSan().GetRequired())},
		field{"SAN from CN", yesNo(p.GetSan().GetFromCn())},
		field{"SAN override", yesNo(p.GetSan().GetAllowOverride())},
		field{"SAN max", strconv.Itoa(sanMax)},
		field{"Extensions allowed", orNone(p.GetExtensions().GetAllowed())},
		field{"Reject unknown extensions", yesNo(p.GetExtensions().GetRejectUnknown())},
	)
	return c.fields(fs)
}

func orAll(s []string) string {
	if len(s) == 0 {
		return "any known attribute"
	}
	return strings.Join(s, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
