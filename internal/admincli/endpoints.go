package admincli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"strconv"

	"google.golang.org/protobuf/proto"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func endpointsNoun(c *cli) noun {
	return noun{name: "endpoints", summary: "manage enrollment endpoints", verbs: []verb{
		{name: "create", usage: "--id ID --protocol P --ca CA --profile DEFAULT [flags]", summary: "create an endpoint", define: c.endpointsCreate},
		{name: "list", usage: "[--protocol P]", summary: "list endpoints", define: c.endpointsList},
		{name: "show", usage: "ID", summary: "show an endpoint", nargs: 1, define: c.endpointsShow},
		{name: "update", usage: "ID [flags]", summary: "change the settings given as flags; the others keep their values", nargs: 1, define: c.endpointsUpdate},
		{name: "delete", usage: "ID", summary: "delete an endpoint; the certificates it issued stay", nargs: 1, define: c.endpointsDelete},
	}}
}

// endpointFlags are the mutable settings of an endpoint, shared by create
// and update.
type endpointFlags struct {
	fs          *flag.FlagSet
	ca          *string
	profile     *string
	allow       *string
	frontend    *string
	auth        *string
	username    *string
	secretFile  *string
	rate        *int64
	requireReg  *bool
	approval    *bool
	disabled    *bool
	description *string
	tos         *string
	website     *string
	webhookURL  *string
	nextCA      *string
	generate    *bool
	platform    *string
	defaultID   *string
}

func defineEndpointFlags(fs *flag.FlagSet) *endpointFlags {
	return &endpointFlags{
		fs:          fs,
		ca:          fs.String("ca", "", "issuing `CA` id"),
		profile:     fs.String("profile", "", "default `profile`, used when a request names none"),
		allow:       fs.String("allow", "", "comma-separated further `profiles` requests may name (\"\" for none)"),
		frontend:    fs.String("frontend", "", "`name` of the front-end service allowed to serve it (default: the protocol's name)"),
		auth:        fs.String("auth", "", "client authentication `method`: "+choiceNames(authChoices())),
		username:    fs.String("username", "", "`user` name for HTTP basic authentication"),
		secretFile:  fs.String("secret-file", "", "`file` holding the shared secret (trailing newline removed)"),
		rate:        fs.Int64("rate", 0, "issuance requests per 10-second window on this endpoint, 0 for the tenant's limit only"),
		requireReg:  fs.Bool("require-registered", false, "only end-entities registered beforehand may enroll (=false to undo)"),
		approval:    fs.Bool("require-approval", false, "every request waits for an administrator (certgate admin pending) (=false to undo)"),
		disabled:    fs.Bool("disabled", false, "refuse enrollment (=false to enable)"),
		description: fs.String("description", "", "free `text`"),
		tos:         fs.String("terms-of-service", "", "ACME: `URL` of the terms of service new accounts must agree to (\"\" for none)"),
		website:     fs.String("website", "", "ACME: `URL` shown in the directory's meta (\"\" for none)"),
		webhookURL:  fs.String("webhook-url", "", "SCEP, auth webhook: HTTPS `URL` that allows or denies each request"),
		nextCA:      fs.String("next-ca", "", "SCEP: issuing `CA` that will replace --ca, announced by GetNextCACert (\"\" for none)"),
		generate:    fs.Bool("generate-secret", false, "generate a random secret and print it, shown only this once (MDM credentials; rotates on update)"),
		platform:    fs.String("platform", "", "mdmws: the MDM `product`: jamf, workspace_one, ivanti, maas360 or other"),
		defaultID:   fs.String("default-digital-id", "", "mdmws: Digital ID `name` the NDES challenge page uses when the request names none"),
	}
}

// apply copies the flags set on the command line into ep and returns the
// secret to send ("" keeps the stored one).
func (f *endpointFlags) apply(ep *pb.Endpoint) (string, error) {
	set := visited(f.fs)
	if set["ca"] {
		ep.Ca = *f.ca
	}
	if set["profile"] {
		ep.DefaultProfile = *f.profile
	}
	if set["allow"] {
		ep.AllowedProfiles = splitList(*f.allow)
	}
	if set["frontend"] {
		ep.Frontend = *f.frontend
	}
	if set["auth"] || set["username"] {
		if ep.Auth == nil {
			ep.Auth = &pb.EndpointAuth{}
		}
	}
	if set["auth"] {
		m, err := parseChoice("auth", *f.auth, authChoices())
		if err != nil {
			return "", err
		}
		ep.Auth.Method = m
	}
	if set["username"] {
		ep.Auth.Username = *f.username
	}
	if set["rate"] {
		if *f.rate < 0 {
			return "", usageErrorf("--rate must not be negative")
		}
		ep.IssueRequestsPerWindow = *f.rate
	}
	if set["require-registered"] {
		ep.RequireRegisteredEndEntities = *f.requireReg
	}
	if set["require-approval"] {
		ep.RequireApproval = *f.approval
	}
	if set["disabled"] {
		ep.Disabled = *f.disabled
	}
	if set["description"] {
		ep.Description = *f.description
	}
	if set["terms-of-service"] || set["website"] {
		if ep.Protocol != pb.Protocol_PROTOCOL_ACME {
			return "", usageErrorf("--terms-of-service and --website apply to ACME endpoints only")
		}
		if ep.Acme == nil {
			ep.Acme = &pb.AcmeSettings{}
		}
		if set["terms-of-service"] {
			ep.Acme.TermsOfService = *f.tos
		}
		if set["website"] {
			ep.Acme.Website = *f.website
		}
	}
	if set["webhook-url"] || set["next-ca"] {
		if ep.Protocol != pb.Protocol_PROTOCOL_SCEP {
			return "", usageErrorf("--webhook-url and --next-ca apply to SCEP endpoints only")
		}
		if ep.Scep == nil {
			ep.Scep = &pb.ScepSettings{}
		}
		if set["webhook-url"] {
			ep.Scep.WebhookUrl = *f.webhookURL
		}
		if set["next-ca"] {
			ep.Scep.NextCa = *f.nextCA
		}
	}
	if set["platform"] || set["default-digital-id"] {
		if ep.Protocol != pb.Protocol_PROTOCOL_MDMWS {
			return "", usageErrorf("--platform and --default-digital-id apply to mdmws endpoints only")
		}
		if ep.Mdmws == nil {
			ep.Mdmws = &pb.MdmwsSettings{}
		}
		if set["platform"] {
			ep.Mdmws.Platform = *f.platform
		}
		if set["default-digital-id"] {
			ep.Mdmws.DefaultDigitalId = *f.defaultID
		}
	}
	if set["secret-file"] && *f.generate {
		return "", usageErrorf("give --secret-file or --generate-secret, not both")
	}
	if *f.generate {
		b := make([]byte, 18)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b), nil
	}
	if set["secret-file"] {
		return readSecret(*f.secretFile)
	}
	return "", nil
}

// emitEndpoint shows an endpoint and, once, a secret it generated.
func (c *cli) emitEndpoint(ep *pb.Endpoint, f *endpointFlags, secret string) error {
	if !*f.generate {
		return c.emit(ep, func() error { return c.showEndpoint(ep) })
	}
	if c.g.json {
		c.note("generated secret (shown only this once): %s", secret)
		return c.printJSON(ep)
	}
	if err := c.showEndpoint(ep); err != nil {
		return err
	}
	return c.fields([]field{{"Generated secret", secret + "  (shown only this once)"}})
}

func (c *cli) endpointsCreate(fs *flag.FlagSet) action {
	id := fs.String("id", "", "endpoint `ID`, [a-z0-9_-]{2,18}; appears in its URL (required)")
	protocol := fs.String("protocol", "", "`protocol`: "+choiceNames(protocolChoices())+" (required)")
	ef := defineEndpointFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := required("id", *id, "protocol", *protocol, "ca", *ef.ca, "profile", *ef.profile); err != nil {
			return err
		}
		p, err := parseChoice("protocol", *protocol, protocolChoices())
		if err != nil {
			return err
		}
		ep := &pb.Endpoint{Id: *id, Protocol: p}
		secret, err := ef.apply(ep)
		if err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ep.Tenant = s.tenant
		got, err := s.endpoints().CreateEndpoint(ctx, &pb.CreateEndpointRequest{Endpoint: ep, Secret: secret})
		if err != nil {
			return callError(err)
		}
		return c.emitEndpoint(got, ef, secret)
	}
}

func (c *cli) endpointsList(fs *flag.FlagSet) action {
	protocol := fs.String("protocol", "", "only endpoints of this `protocol`: "+choiceNames(protocolChoices()))
	return func(ctx context.Context, args []string) error {
		req := &pb.ListEndpointsRequest{}
		if *protocol != "" {
			p, err := parseChoice("protocol", *protocol, protocolChoices())
			if err != nil {
				return err
			}
			req.Protocol = p
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		resp, err := s.endpoints().ListEndpoints(ctx, req)
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetEndpoints()))
			for _, ep := range resp.GetEndpoints() {
				state := "enabled"
				if ep.GetDisabled() {
					state = "disabled"
				}
				rows = append(rows, []string{ep.GetId(), nameOf(ep.GetProtocol(), protocolChoices()), ep.GetCa(),
					ep.GetDefaultProfile(), nameOf(ep.GetAuth().GetMethod(), authChoices()), ep.GetFrontend(), state})
			}
			return c.table([]string{"ID", "PROTOCOL", "CA", "PROFILE", "AUTH", "FRONTEND", "STATE"}, rows)
		})
	}
}

func (c *cli) endpointsShow(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		ep, err := s.endpoints().GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(ep, func() error { return c.showEndpoint(ep) })
	}
}

func (c *cli) endpointsUpdate(fs *flag.FlagSet) action {
	ef := defineEndpointFlags(fs)
	protocol := fs.String("protocol", "", "`protocol`; cannot change, accepted only if it matches the endpoint's")
	return func(ctx context.Context, args []string) error {
		set := visited(fs)
		changes := 0
		for name := range set {
			if fs.Lookup(name) != nil && name != "protocol" && !isGlobalFlag(name) {
				changes++
			}
		}
		if changes == 0 {
			return usageErrorf("nothing to update: give at least one setting flag; see 'certgate admin endpoints update -h'")
		}
		var want pb.Protocol
		if set["protocol"] {
			p, err := parseChoice("protocol", *protocol, protocolChoices())
			if err != nil {
				return err
			}
			want = p
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		cur, err := s.endpoints().GetEndpoint(ctx, &pb.GetEndpointRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		if set["protocol"] && want != cur.GetProtocol() {
			return usageErrorf("an endpoint's protocol cannot change (%s is %s); create a new endpoint instead", args[0], nameOf(cur.GetProtocol(), protocolChoices()))
		}
		ep := proto.CloneOf(cur)
		ep.Tenant, ep.Id = s.tenant, args[0]
		secret, err := ef.apply(ep)
		if err != nil {
			return err
		}
		got, err := s.endpoints().UpdateEndpoint(ctx, &pb.UpdateEndpointRequest{Endpoint: ep, Secret: secret})
		if err != nil {
			return callError(err)
		}
		return c.emitEndpoint(got, ef, secret)
	}
}

// isGlobalFlag reports whether name is one of the global flags.
func isGlobalFlag(name string) bool {
	for _, g := range globalFlagNames() {
		if g == name {
			return true
		}
	}
	return false
}

func (c *cli) endpointsDelete(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.endpoints().DeleteEndpoint(ctx, &pb.DeleteEndpointRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error { return c.say("deleted endpoint %s", args[0]) })
	}
}

func (c *cli) showEndpoint(ep *pb.Endpoint) error {
	secret := "not set"
	if ep.GetAuth().GetSecretSet() {
		secret = "set"
	}
	fields := []field{
		{"ID", ep.GetId()},
		{"Tenant", ep.GetTenant()},
		{"Protocol", nameOf(ep.GetProtocol(), protocolChoices())},
		{"Description", ep.GetDescription()},
		{"CA", ep.GetCa()},
		{"Default profile", ep.GetDefaultProfile()},
		{"Allowed profiles", list(ep.GetAllowedProfiles())},
		{"Frontend", ep.GetFrontend()},
		{"Disabled", yesNo(ep.GetDisabled())},
		{"Auth", nameOf(ep.GetAuth().GetMethod(), authChoices())},
		{"Username", ep.GetAuth().GetUsername()},
		{"Secret", secret},
		{"Requests per 10s", rateString(ep.GetIssueRequestsPerWindow())},
		{"Require registered", yesNo(ep.GetRequireRegisteredEndEntities())},
		{"Require approval", yesNo(ep.GetRequireApproval())},
		{"Created", ts(ep.GetCreatedAt())},
	}
	if ep.GetProtocol() == pb.Protocol_PROTOCOL_ACME {
		fields = append(fields, field{"Terms of service", ep.GetAcme().GetTermsOfService()}, field{"Website", ep.GetAcme().GetWebsite()})
	}
	if ep.GetProtocol() == pb.Protocol_PROTOCOL_MDMWS {
		fields = append(fields, field{"Platform", ep.GetMdmws().GetPlatform()}, field{"Default Digital ID", ep.GetMdmws().GetDefaultDigitalId()})
	}
	if ep.GetProtocol() == pb.Protocol_PROTOCOL_SCEP {
		fields = append(fields, field{"Webhook URL", ep.GetScep().GetWebhookUrl()}, field{"Next CA", ep.GetScep().GetNextCa()})
	}
	return c.fields(fields)
}

func rateString(n int64) string {
	if n == 0 {
		return "tenant limit only"
	}
	return strconv.FormatInt(n, 10)
}
