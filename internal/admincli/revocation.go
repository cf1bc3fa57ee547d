package admincli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// revocationReasonChoices are the RFC 5280 names of the contract's reasons.
func revocationReasonChoices() []choice[pb.RevocationReason] {
	return []choice[pb.RevocationReason]{
		{"unspecified", pb.RevocationReason_REVOCATION_REASON_UNSPECIFIED},
		{"keyCompromise", pb.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE},
		{"cACompromise", pb.RevocationReason_REVOCATION_REASON_CA_COMPROMISE},
		{"affiliationChanged", pb.RevocationReason_REVOCATION_REASON_AFFILIATION_CHANGED},
		{"superseded", pb.RevocationReason_REVOCATION_REASON_SUPERSEDED},
		{"cessationOfOperation", pb.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION},
		{"certificateHold", pb.RevocationReason_REVOCATION_REASON_CERTIFICATE_HOLD},
		{"privilegeWithdrawn", pb.RevocationReason_REVOCATION_REASON_PRIVILEGE_WITHDRAWN},
		{"aACompromise", pb.RevocationReason_REVOCATION_REASON_AA_COMPROMISE},
	}
}

// certStatusVerbs are the certs verbs that change status.
func certStatusVerbs(c *cli) []verb {
	return []verb{
		{name: "revoke", usage: "--serial HEX [--reason NAME] [--invalidity-date T] [--publish]", summary: "revoke a certificate for good", define: c.certsRevoke},
		{name: "hold", usage: "--serial HEX [--publish]", summary: "suspend a certificate (certificateHold)", define: c.certsHold(true)},
		{name: "release", usage: "--serial HEX [--publish]", summary: "end a hold", define: c.certsHold(false)},
	}
}

func (c *cli) certsRevoke(fs *flag.FlagSet) action {
	serial := fs.String("serial", "", "hex `serial`, any case, leading zeros and colons optional (required)")
	reason := fs.String("reason", "unspecified", "RFC 5280 `reason`: "+choiceNames(revocationReasonChoices()))
	invalidity := fs.String("invalidity-date", "", "when the key was compromised or the certificate became invalid (`RFC3339` or YYYY-MM-DD)")
	publish := fs.Bool("publish", false, "publish a new CRL at once instead of after ca-core's delay")
	return func(ctx context.Context, _ []string) error {
		if *serial == "" {
			return usageErrorf("--serial is required")
		}
		r, err := parseChoice("reason", *reason, revocationReasonChoices())
		if err != nil {
			return err
		}
		req := &pb.RevokeCertificateRequest{Serial: *serial, Reason: r, Publish: *publish}
		if *invalidity != "" {
			t, err := parseWhen("invalidity-date", *invalidity, c.now(), -1)
			if err != nil {
				return err
			}
			req.InvalidityDate = timestamppb.New(t)
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		ct, err := s.revocation().RevokeCertificate(ctx, req)
		if err != nil {
			return callError(err)
		}
		return c.emit(ct, func() error { return c.showCert(ct) })
	}
}

func (c *cli) certsHold(hold bool) func(fs *flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		serial := fs.String("serial", "", "hex `serial` (required)")
		publish := fs.Bool("publish", false, "publish a new CRL at once instead of after ca-core's delay")
		return func(ctx context.Context, _ []string) error {
			if *serial == "" {
				return usageErrorf("--serial is required")
			}
			s, err := c.session()
			if err != nil {
				return err
			}
			req := &pb.CertificateStatusRequest{Tenant: s.tenant, Serial: *serial, Publish: *publish}
			call := s.revocation().ReleaseCertificate
			if hold {
				call = s.revocation().HoldCertificate
			}
			ct, err := call(ctx, req)
			if err != nil {
				return callError(err)
			}
			return c.emit(ct, func() error { return c.showCert(ct) })
		}
	}
}

func revokeNoun(c *cli) noun {
	return noun{name: "revoke", summary: "revoke many certificates at once (certgate admin revoke --bulk ...)", verbs: []verb{
		{name: "bulk", usage: "--csv FILE [--column C] | [--ca ID] [--profile P] [--endpoint E] [--end-entity X] [--issued-after T] [--issued-before T]; --reason NAME [--wait]",
			summary: "start a bulk revocation job", define: c.revokeBulk},
		{name: "status", usage: "JOB [--results] [--failed]", summary: "show a job's progress and per-serial results", nargs: 1, define: c.revokeStatus},
	}}
}

func (c *cli) revokeBulk(fs *flag.FlagSet) action {
	csvFile := fs.String("csv", "", "CSV `file` of serials (hex, any case, leading zeros optional)")
	column := fs.String("column", "", "serial column: header `name` or 1-based number (default 1)")
	ca := fs.String("ca", "", "select certificates of this `CA`")
	profile := fs.String("profile", "", "select certificates of this `profile`")
	endpoint := fs.String("endpoint", "", "select certificates of this `endpoint`")
	endEntity := fs.String("end-entity", "", "select certificates of this `end-entity`")
	after := fs.String("issued-after", "", "select certificates issued at or after `T` (RFC3339, date or duration ago)")
	before := fs.String("issued-before", "", "select certificates issued before `T`")
	reason := fs.String("reason", "unspecified", "RFC 5280 `reason`: "+choiceNames(revocationReasonChoices()))
	wait := fs.Bool("wait", false, "wait for the job to finish and print its summary")
	return func(ctx context.Context, _ []string) error {
		r, err := parseChoice("reason", *reason, revocationReasonChoices())
		if err != nil {
			return err
		}
		req := &pb.StartBulkRevocationRequest{Reason: r, SerialColumn: *column}
		sel := &pb.BulkSelector{Ca: *ca, Profile: *profile, Endpoint: *endpoint, EndEntity: *endEntity}
		for _, w := range []struct {
			name, val string
			dst       **timestamppb.Timestamp
		}{{"issued-after", *after, &sel.IssuedAfter}, {"issued-before", *before, &sel.IssuedBefore}} {
			if w.val != "" {
				t, err := parseWhen(w.name, w.val, c.now(), -1)
				if err != nil {
					return err
				}
				*w.dst = timestamppb.New(t)
			}
		}
		selecting := *ca != "" || *profile != "" || *endpoint != "" || *endEntity != "" || *after != "" || *before != ""
		switch {
		case *csvFile != "" && selecting:
			return usageErrorf("give --csv or selector flags, not both")
		case *csvFile != "":
			if req.Csv, err = os.ReadFile(*csvFile); err != nil {
				return err
			}
		case selecting:
			req.Selector = sel
		default:
			return usageErrorf("give --csv FILE or at least one selector flag")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		j, err := s.revocation().StartBulkRevocation(ctx, req)
		if err != nil {
			return callError(err)
		}
		for *wait && j.GetStatus() == pb.BulkRevocation_STATUS_RUNNING {
			select {
			case <-ctx.Done():
				return fmt.Errorf("job %s still running: %w", j.GetId(), ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
			if j, err = s.revocation().GetBulkRevocation(ctx, &pb.GetBulkRevocationRequest{Tenant: s.tenant, Id: j.GetId()}); err != nil {
				return callError(err)
			}
		}
		return c.emit(j, func() error { return c.showBulk(j) })
	}
}

func (c *cli) revokeStatus(fs *flag.FlagSet) action {
	results := fs.Bool("results", false, "list per-serial results")
	failed := fs.Bool("failed", false, "with --results: only failures")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		j, err := s.revocation().GetBulkRevocation(ctx, &pb.GetBulkRevocationRequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		if !*results {
			return c.emit(j, func() error { return c.showBulk(j) })
		}
		pg, err := collectPages(0, func(size int32, token string) ([]*pb.BulkRevocationResult, string, error) {
			resp, err := s.revocation().ListBulkRevocationResults(ctx, &pb.ListBulkRevocationResultsRequest{Tenant: s.tenant, Id: args[0],
				FailedOnly: *failed, PageSize: size, PageToken: token})
			return resp.GetResults(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return callError(err)
		}
		return c.emit(&pb.ListBulkRevocationResultsResponse{Results: pg.items}, func() error {
			rows := make([][]string, 0, len(pg.items))
			for _, r := range pg.items {
				rows = append(rows, []string{r.GetInput(), r.GetState().String()[len("STATE_"):], r.GetDetail()})
			}
			return c.table([]string{"SERIAL", "STATE", "DETAIL"}, rows)
		})
	}
}

func (c *cli) showBulk(j *pb.BulkRevocation) error {
	return c.fields([]field{
		{"Job", j.GetId()},
		{"Status", j.GetStatus().String()[len("STATUS_"):]},
		{"Progress", fmt.Sprintf("%d of %d handled, %d failed", j.GetDone(), j.GetTotal(), j.GetFailed())},
		{"Reason", nameOf(j.GetReason(), revocationReasonChoices())},
		{"Requested by", j.GetRequestedBy()},
		{"Created", ts(j.GetCreatedAt())},
		{"Finished", ts(j.GetFinishedAt())},
	})
}

// caRevocationVerbs are the cas verbs about CRLs and OCSP.
func caRevocationVerbs(c *cli) []verb {
	return []verb{
		{name: "crl", usage: "ID [--out FILE] [--der]", summary: "print a CA's current CRL (PEM, or DER with --der)", nargs: 1, define: c.casCRL},
		{name: "publish-crl", usage: "ID", summary: "publish a new CRL of a CA at once", nargs: 1, define: c.casPublishCRL},
		{name: "revocation", usage: "ID --crl=true|false --ocsp=true|false", summary: "turn a CA's CRL and OCSP publication on or off", nargs: 1, define: c.casRevocation},
	}
}

func (c *cli) casCRL(fs *flag.FlagSet) action {
	out := fs.String("out", "", "write to `file` instead of stdout")
	der := fs.Bool("der", false, "write DER instead of PEM")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		crl, err := s.revocation().GetCRL(ctx, &pb.GetCRLRequest{Tenant: s.tenant, Ca: args[0]})
		if err != nil {
			return callError(err)
		}
		if c.g.json {
			return c.emit(crl, nil)
		}
		data := pemBlocks("X509 CRL", crl.GetDer())
		if *der {
			data = crl.GetDer()
		}
		fmt.Fprintf(c.stderr, "CRL %d of %s: %d entries, next update %s\n", crl.GetNumber(), args[0], crl.GetEntries(), ts(crl.GetNextUpdate()))
		return c.writePEM(*out, data)
	}
}

func (c *cli) casPublishCRL(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		if _, err := s.revocation().PublishCRL(ctx, &pb.GetCRLRequest{Tenant: s.tenant, Ca: args[0]}); err != nil {
			return callError(err)
		}
		fmt.Fprintf(c.stderr, "a new CRL of %s will be published within seconds\n", args[0])
		return nil
	}
}

func (c *cli) casRevocation(fs *flag.FlagSet) action {
	crl := fs.Bool("crl", true, "publish a CRL")
	ocsp := fs.Bool("ocsp", true, "answer OCSP")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		ca, err := s.cas().SetCARevocation(ctx, &pb.SetCARevocationRequest{Tenant: s.tenant, Ca: args[0], CrlEnabled: *crl, OcspEnabled: *ocsp})
		if err != nil {
			return callError(err)
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func revocationReasonText(r pb.RevocationReason) string {
	if r == pb.RevocationReason_REVOCATION_REASON_NONE {
		return ""
	}
	return nameOf(r, revocationReasonChoices())
}
