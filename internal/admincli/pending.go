package admincli

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func pendingNoun(c *cli) noun {
	return noun{name: "pending", summary: "decide enrollment requests waiting for an administrator", verbs: []verb{
		{name: "list", usage: "[--endpoint E] [--status S]", summary: "list requests, newest first", define: c.pendingList},
		{name: "show", usage: "ID", summary: "show a request", nargs: 1, define: c.pendingShow},
		{name: "approve", usage: "ID [--out FILE]", summary: "issue the certificate and print the PEM chain, leaf first", nargs: 1, define: c.pendingApprove},
		{name: "reject", usage: "ID --reason R", summary: "refuse a request for good", nargs: 1, define: c.pendingReject},
	}}
}

func (c *cli) pendingList(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "only requests of this `endpoint`")
	status := fs.String("status", "", "only requests in this `status`: "+choiceNames(pendingStatusChoices()))
	limit := fs.Int("limit", 100, "at most `N` rows, 0 for all")
	return func(ctx context.Context, args []string) error {
		req := &pb.ListPendingRequestsRequest{Endpoint: *endpoint}
		if *status != "" {
			st, err := parseChoice("status", *status, pendingStatusChoices())
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
		pg, err := collectPages(*limit, func(size int32, token string) ([]*pb.PendingRequest, string, error) {
			req.PageSize, req.PageToken = size, token
			resp, err := s.pending().ListPendingRequests(ctx, req)
			return resp.GetRequests(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return callError(err)
		}
		return c.emit(&pb.ListPendingRequestsResponse{Requests: pg.items, NextPageToken: pg.next}, func() error {
			rows := make([][]string, 0, len(pg.items))
			for _, p := range pg.items {
				rows = append(rows, []string{p.GetId(), nameOf(p.GetStatus(), pendingStatusChoices()), p.GetEndpoint(),
					p.GetProfile(), p.GetEndEntity(), csrSubject(p.GetCsr()), ts(p.GetCreatedAt())})
			}
			if err := c.table([]string{"ID", "STATUS", "ENDPOINT", "PROFILE", "END-ENTITY", "CSR-SUBJECT", "CREATED"}, rows); err != nil {
				return err
			}
			c.moreNote(pg.more, *limit)
			return nil
		})
	}
}

// csrSubject is the subject of a DER request, for display only.
func csrSubject(der []byte) string {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return "(unparsable)"
	}
	return csr.Subject.String()
}

func (c *cli) pendingShow(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		p, err := s.pending().GetPendingRequest(ctx, &pb.GetPendingRequestRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(p, func() error { return c.showPending(p) })
	}
}

func (c *cli) pendingApprove(fs *flag.FlagSet) action {
	out := fs.String("out", "", "write the PEM chain to `file` instead of stdout")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		p, err := s.pending().ApprovePendingRequest(ctx, &pb.ApprovePendingRequestRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		cert := p.GetCertificate()
		if len(cert.GetDer()) == 0 {
			return errors.New("ca-core approved the request but returned no certificate; see 'certgate admin pending show " + args[0] + "'")
		}
		pemChain := pemBlocks("CERTIFICATE", append([][]byte{cert.GetDer()}, p.GetChain()...)...)
		return c.deliver(p, *out, pemChain, cert.GetSerial())
	}
}

func (c *cli) pendingReject(fs *flag.FlagSet) action {
	reason := fs.String("reason", "", "why, recorded with the request (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("reason", *reason); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		p, err := s.pending().RejectPendingRequest(ctx, &pb.RejectPendingRequestRequest{Tenant: s.tenant, Id: args[0], Reason: *reason})
		if err != nil {
			return callError(err)
		}
		return c.emit(p, func() error { return c.showPending(p) })
	}
}

func (c *cli) showPending(p *pb.PendingRequest) error {
	fs := []field{
		{"ID", p.GetId()},
		{"Status", nameOf(p.GetStatus(), pendingStatusChoices())},
		{"Endpoint", p.GetEndpoint()},
		{"Transaction", p.GetTransactionId()},
		{"Profile", p.GetProfile()},
		{"End-entity", p.GetEndEntity()},
		{"CSR subject", csrSubject(p.GetCsr())},
	}
	if csr, err := x509.ParseCertificateRequest(p.GetCsr()); err == nil {
		fs = append(fs, field{"CSR SANs", csrSANs(csr)})
	}
	fs = append(fs,
		field{"Subject override", p.GetSubject()},
		field{"SAN override", sanList(p.GetSubjectAltNames())},
		field{"Requester", p.GetRequester()},
		field{"Created", ts(p.GetCreatedAt())},
		field{"Updated", ts(p.GetUpdatedAt())},
		field{"Decided by", p.GetDecidedBy()},
		field{"Reason", p.GetReason()},
		field{"Certificate", p.GetCertificate().GetSerial()},
	)
	return c.fields(fs)
}

// csrSANs lists the names a request asks for, in the CLI's TYPE:VALUE form.
func csrSANs(csr *x509.CertificateRequest) string {
	var out []string
	for _, d := range csr.DNSNames {
		out = append(out, "dns:"+d)
	}
	for _, ip := range csr.IPAddresses {
		out = append(out, "ip:"+ip.String())
	}
	for _, e := range csr.EmailAddresses {
		out = append(out, "email:"+e)
	}
	for _, u := range csr.URIs {
		out = append(out, "uri:"+u.String())
	}
	return list(out)
}
