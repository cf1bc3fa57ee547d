package admincli

import (
	"context"
	"flag"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func certsNoun(c *cli) noun {
	return noun{name: "certs", summary: "issue, revoke, hold and release certificates; read the inventory", verbs: append([]verb{
		{name: "issue", usage: "--profile NAME --csr FILE [flags]", summary: "issue a certificate from a PKCS#10 request and print the PEM chain, leaf first", define: c.certsIssue},
		{name: "list", usage: "[flags]", summary: "list certificates, newest first", define: c.certsList},
		{name: "show", usage: "SERIAL [--pem]", summary: "show a certificate", nargs: 1, define: c.certsShow},
	}, certStatusVerbs(c)...)}
}

func (c *cli) certsIssue(fs *flag.FlagSet) action {
	profile := fs.String("profile", "", "profile `name` (required unless --endpoint gives a default)")
	csrFile := fs.String("csr", "", "PKCS#10 request `file`, PEM or DER (required)")
	ca := fs.String("ca", "", "issuing `CA` (default: the tenant's only active issuing CA); not with --endpoint")
	endpoint := fs.String("endpoint", "", "issue through this `endpoint`, with its profiles and rules")
	subject := fs.String("subject", "", "RFC 4514 subject `DN` replacing the CSR's, if the profile allows")
	var sans stringList
	fs.Var(&sans, "san", "`TYPE:VALUE` SAN replacing the CSR's, if the profile allows; TYPE is "+choiceNames(sanTypeChoices())+"; repeatable")
	validity := fs.String("validity", "", "requested `lifetime`: Go duration (720h) or ISO 8601 (P30D, P1Y) (default: the profile's)")
	notBefore := fs.String("not-before", "", "requested notBefore, RFC 3339 `time` (default: now)")
	requestKey := fs.String("request-key", "", "idempotency `key`: repeating it returns the first certificate")
	endEntity := fs.String("end-entity", "", "end-entity `ID` the certificate is for")
	challenge := fs.String("challenge", "", "one-time `challenge` of the endpoint")
	out := fs.String("out", "", "write the PEM chain to `file` instead of stdout")
	return func(ctx context.Context, args []string) error {
		if err := required("csr", *csrFile); err != nil {
			return err
		}
		if *profile == "" && *endpoint == "" {
			return usageErrorf("--profile is required (or --endpoint, to use its default profile)")
		}
		if *ca != "" && *endpoint != "" {
			return usageErrorf("--ca and --endpoint exclude each other: an endpoint has its CA")
		}
		req := &pb.IssueRequest{
			Endpoint: *endpoint, Ca: *ca, Profile: *profile, Subject: *subject,
			RequestKey: *requestKey, EndEntity: *endEntity, Challenge: *challenge,
		}
		for _, s := range sans {
			san, err := parseSAN(s)
			if err != nil {
				return err
			}
			req.SubjectAltNames = append(req.SubjectAltNames, san)
		}
		ref := c.now()
		if *notBefore != "" {
			nb, err := parseTime("not-before", *notBefore)
			if err != nil {
				return err
			}
			req.NotBefore = timestamppb.New(nb)
			ref = nb
		}
		if *validity != "" {
			d, err := parseSpan("validity", *validity, ref)
			if err != nil {
				return err
			}
			req.Validity = durationpb.New(d)
		}
		csr, err := readCSR(*csrFile)
		if err != nil {
			return err
		}
		req.Csr = csr
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		resp, err := s.issuance().Issue(ctx, req)
		if err != nil {
			return callError(err)
		}
		cert := resp.GetCertificate()
		if resp.GetReplayed() {
			c.note("request key %q was used before: this is the certificate issued then", *requestKey)
		}
		chain := pemBlocks("CERTIFICATE", append([][]byte{cert.GetDer()}, resp.GetChain()...)...)
		return c.deliver(resp, *out, chain, cert.GetSerial())
	}
}

// deliver prints an issued chain: to the file out (noting it on stderr),
// else as JSON under --json, else as PEM on stdout.
func (c *cli) deliver(resp proto.Message, out string, chain []byte, serial string) error {
	if out != "" {
		if err := c.writePEM(out, chain); err != nil {
			return err
		}
		if c.g.json {
			return c.printJSON(resp)
		}
		c.note("certificate %s written to %s", serial, out)
		return nil
	}
	if c.g.json {
		return c.printJSON(resp)
	}
	return c.writePEM("", chain)
}

func (c *cli) certsList(fs *flag.FlagSet) action {
	ca := fs.String("ca", "", "only certificates of this `CA`")
	profile := fs.String("profile", "", "only certificates of this `profile`")
	endpoint := fs.String("endpoint", "", "only certificates issued through this `endpoint`")
	endEntity := fs.String("end-entity", "", "only certificates of this end-entity `ID`")
	status := fs.String("status", "", "only certificates in this `status`: "+choiceNames(certStatusChoices()))
	expiresBefore := fs.String("expires-before", "", "only certificates expiring before this RFC 3339 `time`, or within this duration (720h, P30D)")
	limit := fs.Int("limit", 100, "at most `N` rows, 0 for all")
	return func(ctx context.Context, args []string) error {
		req := &pb.ListCertificatesRequest{Ca: *ca, Profile: *profile, Endpoint: *endpoint, EndEntity: *endEntity}
		if *status != "" {
			st, err := parseChoice("status", *status, certStatusChoices())
			if err != nil {
				return err
			}
			req.Status = st
		}
		if *expiresBefore != "" {
			t, err := parseWhen("expires-before", *expiresBefore, c.now(), 1)
			if err != nil {
				return err
			}
			req.ExpiresBefore = timestamppb.New(t)
		}
		if *limit < 0 {
			return usageErrorf("--limit must not be negative")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		pg, err := collectPages(*limit, func(size int32, token string) ([]*pb.Certificate, string, error) {
			req.PageSize, req.PageToken = size, token
			resp, err := s.certs().ListCertificates(ctx, req)
			return resp.GetCertificates(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return callError(err)
		}
		return c.emit(&pb.ListCertificatesResponse{Certificates: pg.items, NextPageToken: pg.next}, func() error {
			rows := make([][]string, 0, len(pg.items))
			for _, ct := range pg.items {
				rows = append(rows, []string{ct.GetSerial(), nameOf(ct.GetStatus(), certStatusChoices()), ts(ct.GetNotAfter()),
					ct.GetCa(), ct.GetProfile(), ct.GetEndpoint(), ct.GetEndEntity(), ct.GetSubject()})
			}
			if err := c.table([]string{"SERIAL", "STATUS", "NOT-AFTER", "CA", "PROFILE", "ENDPOINT", "END-ENTITY", "SUBJECT"}, rows); err != nil {
				return err
			}
			c.moreNote(pg.more, *limit)
			return nil
		})
	}
}

func (c *cli) certsShow(fs *flag.FlagSet) action {
	asPEM := fs.Bool("pem", false, "print only the PEM certificate")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		ct, err := s.certs().GetCertificate(ctx, &pb.GetCertificateRequest{Tenant: s.tenant, Serial: args[0]})
		if err != nil {
			return callError(err)
		}
		if *asPEM {
			return c.writePEM("", pemBlocks("CERTIFICATE", ct.GetDer()))
		}
		return c.emit(ct, func() error { return c.showCert(ct) })
	}
}

func (c *cli) showCert(ct *pb.Certificate) error {
	return c.fields([]field{
		{"Serial", ct.GetSerial()},
		{"Status", nameOf(ct.GetStatus(), certStatusChoices())},
		{"Subject", ct.GetSubject()},
		{"SANs", sanList(ct.GetSubjectAltNames())},
		{"CA", ct.GetCa()},
		{"Profile", ct.GetProfile()},
		{"Endpoint", ct.GetEndpoint()},
		{"End-entity", ct.GetEndEntity()},
		{"Not before", ts(ct.GetNotBefore())},
		{"Not after", ts(ct.GetNotAfter())},
		{"Key type", nameOf(ct.GetKeyType(), keyTypeChoices())},
		{"SHA-256", ct.GetSha256()},
		{"Requester", ct.GetRequester()},
		{"Issued", ts(ct.GetIssuedAt())},
		{"Revoked", ts(ct.GetRevokedAt())},
		{"Revocation reason", revocationReasonText(ct.GetRevocationReason())},
		{"Invalidity date", ts(ct.GetInvalidityDate())},
	})
}

// maxPageSize is the largest page the list RPCs serve.
const maxPageSize = 1000

// page is the result of following page tokens.
type page[T any] struct {
	items []T
	// next is the server's token for the page after the last one fetched,
	// empty at the end.
	next string
	// more says rows were left out because of the limit.
	more bool
}

// collectPages follows page tokens until limit items (0: all) or the last
// page.
func collectPages[T any](limit int, fetch func(size int32, token string) ([]T, string, error)) (page[T], error) {
	var p page[T]
	token := ""
	for {
		size := maxPageSize
		if limit > 0 {
			size = min(limit-len(p.items), maxPageSize)
		}
		items, next, err := fetch(int32(size), token)
		if err != nil {
			return page[T]{}, err
		}
		p.items, p.next = append(p.items, items...), next
		if limit > 0 && len(p.items) >= limit {
			p.more = len(p.items) > limit || next != ""
			p.items = p.items[:limit]
			return p, nil
		}
		if next == "" {
			return p, nil
		}
		if next == token {
			return page[T]{}, fmt.Errorf("ca-core returned page token %q twice; stopping", next)
		}
		token = next
	}
}

// moreNote tells the human the list was cut at --limit.
func (c *cli) moreNote(more bool, limit int) {
	if more {
		c.note("(more than %d rows; raise --limit, or use --limit 0 for all)", limit)
	}
}
