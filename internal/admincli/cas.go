package admincli

import (
	"context"
	"flag"
	"fmt"
	"math"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func casNoun(c *cli) noun {
	return noun{name: "cas", summary: "manage the tenant's CA hierarchy and its CRLs", verbs: append([]verb{
		{name: "create", usage: "--id ID --type root|intermediate|issuing --subject DN [--parent CA] [flags]", summary: "create a CA and its key", define: c.casCreate},
		{name: "import-root", usage: "--id ID --cert FILE [--name NAME]", summary: "register an external root whose key lives outside certgate", define: c.casImportRoot},
		{name: "csr", usage: "ID [--out FILE]", summary: "print the PEM request of a CA awaiting its certificate from an external root", nargs: 1, define: c.casCSR},
		{name: "import-cert", usage: "ID --cert FILE", summary: "complete a CA with the certificate its external root signed", nargs: 1, define: c.casImportCert},
		{name: "list", usage: "", summary: "list CAs", define: c.casList},
		{name: "show", usage: "ID", summary: "show a CA", nargs: 1, define: c.casShow},
		{name: "chain", usage: "ID", summary: "print the PEM chain, the CA first and the root last", nargs: 1, define: c.casChain},
		{name: "profiles", usage: "ID --set a,b", summary: "replace the profiles enabled on a CA", nargs: 1, define: c.casProfiles},
	}, caRevocationVerbs(c)...)}
}

func (c *cli) casCreate(fs *flag.FlagSet) action {
	id := fs.String("id", "", "CA `ID`, [a-z0-9_-]{2,18} (required)")
	typ := fs.String("type", "", "CA `type`: "+choiceNames(caTypeChoices())+" (required)")
	parent := fs.String("parent", "", "parent CA `ID` (required for intermediate and issuing)")
	key := fs.String("key", "p256", "key `type`: "+choiceNames(keyTypeChoices()))
	pss := fs.Bool("pss", false, "sign with RSASSA-PSS (RSA keys only)")
	subject := fs.String("subject", "", "RFC 4514 subject `DN` with a CN, e.g. \"CN=Example Issuing CA,O=Example\" (required)")
	notAfter := fs.String("not-after", "", "expiry, YYYY-MM-DD (midnight UTC) or RFC 3339 (default: 20 years for roots, 10 for others)")
	profiles := fs.String("profiles", "", "comma-separated `profiles` to enable (default: every built-in profile of the matching kind)")
	pathLen := fs.Int("path-len", 0, "basicConstraints pathLenConstraint `N` (default: none for roots and intermediates, 0 for issuing CAs)")
	backend := fs.String("backend", "", "signer backend `name` for the key, e.g. soft or pkcs11 (default: ca-core's)")
	name := fs.String("name", "", "friendly `name`")
	crl := fs.Bool("crl", true, "publish a CRL")
	ocsp := fs.Bool("ocsp", false, "answer OCSP (default: on for issuing CAs)")
	return func(ctx context.Context, args []string) error {
		if err := required("id", *id, "type", *typ, "subject", *subject); err != nil {
			return err
		}
		t, err := parseChoice("type", *typ, caTypeChoices())
		if err != nil {
			return err
		}
		switch {
		case t == pb.CAType_CA_TYPE_ROOT && *parent != "":
			return usageErrorf("--parent does not apply to a root CA")
		case t != pb.CAType_CA_TYPE_ROOT && *parent == "":
			return usageErrorf("--parent is required for an %s CA", *typ)
		}
		k, err := parseChoice("key", *key, keyTypeChoices())
		if err != nil {
			return err
		}
		if *pss && !isRSA(k) {
			return usageErrorf("--pss needs an RSA key (--key rsa2048, rsa3072 or rsa4096)")
		}
		req := &pb.CreateCARequest{
			Id: *id, FriendlyName: *name, Type: t, Parent: *parent, KeyType: k, RsaPss: *pss,
			Subject: *subject, Profiles: splitList(*profiles), KeyBackend: *backend,
		}
		if *notAfter != "" {
			na, err := parseDate("not-after", *notAfter)
			if err != nil {
				return err
			}
			req.NotAfter = timestamppb.New(na)
		}
		if visited(fs)["crl"] {
			req.CrlEnabled = crl
		}
		if visited(fs)["ocsp"] {
			req.OcspEnabled = ocsp
		}
		if visited(fs)["path-len"] {
			if *pathLen < 0 || *pathLen > math.MaxInt32 {
				return usageErrorf("--path-len must be between 0 and %d", math.MaxInt32)
			}
			n := int32(*pathLen)
			req.PathLen = &n
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		ca, err := s.cas().CreateCA(ctx, req)
		if err != nil {
			return callError(err)
		}
		if ca.GetStatus() == pb.CAStatus_CA_STATUS_PENDING_CERTIFICATE {
			c.note("CA %s awaits its certificate: fetch the request with 'certgate admin cas csr %s', have the external root sign it, then run 'certgate admin cas import-cert %s --cert FILE'", ca.GetId(), ca.GetId(), ca.GetId())
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func (c *cli) casImportRoot(fs *flag.FlagSet) action {
	id := fs.String("id", "", "CA `ID` (required)")
	cert := fs.String("cert", "", "PEM or DER certificate `file` of the external root (required)")
	name := fs.String("name", "", "friendly `name`")
	return func(ctx context.Context, args []string) error {
		if err := required("id", *id, "cert", *cert); err != nil {
			return err
		}
		der, err := readFile("cert", *cert)
		if err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ca, err := s.cas().ImportExternalRoot(ctx, &pb.ImportExternalRootRequest{Tenant: s.tenant, Id: *id, FriendlyName: *name, Certificate: der})
		if err != nil {
			return callError(err)
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func (c *cli) casCSR(fs *flag.FlagSet) action {
	out := fs.String("out", "", "write the PEM request to `file` instead of stdout")
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.cas().GetCACSR(ctx, &pb.GetCACSRRequest{Tenant: s.tenant, Ca: args[0]})
		if err != nil {
			return callError(err)
		}
		if c.g.json && *out == "" {
			return c.printJSON(resp)
		}
		return c.writePEM(*out, pemBlocks("CERTIFICATE REQUEST", resp.GetCsr()))
	}
}

func (c *cli) casImportCert(fs *flag.FlagSet) action {
	cert := fs.String("cert", "", "PEM or DER certificate `file` signed by the parent (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("cert", *cert); err != nil {
			return err
		}
		der, err := readFile("cert", *cert)
		if err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ca, err := s.cas().ImportCACertificate(ctx, &pb.ImportCACertificateRequest{Tenant: s.tenant, Ca: args[0], Certificate: der})
		if err != nil {
			return callError(err)
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func (c *cli) casList(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.cas().ListCAs(ctx, &pb.ListCAsRequest{Tenant: s.tenant})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetCas()))
			for _, ca := range resp.GetCas() {
				rows = append(rows, []string{ca.GetId(), nameOf(ca.GetType(), caTypeNames()),
					nameOf(ca.GetStatus(), caStatusNames()), ca.GetParent(),
					nameOf(ca.GetKeyType(), keyTypeChoices()), ts(ca.GetNotAfter()), ca.GetSubject()})
			}
			return c.table([]string{"ID", "TYPE", "STATUS", "PARENT", "KEY", "NOT-AFTER", "SUBJECT"}, rows)
		})
	}
}

func (c *cli) casShow(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		ca, err := s.cas().GetCA(ctx, &pb.GetCARequest{Tenant: s.tenant, Id: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func (c *cli) casChain(fs *flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		s, err := c.session()
		if err != nil {
			return err
		}
		chain, err := s.cas().GetCAChain(ctx, &pb.GetCAChainRequest{Tenant: s.tenant, Ca: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(chain, func() error {
			return c.writePEM("", pemBlocks("CERTIFICATE", chain.GetCertificates()...))
		})
	}
}

func (c *cli) casProfiles(fs *flag.FlagSet) action {
	set := fs.String("set", "", "comma-separated `profiles` that replace the enabled set; \"\" disables all (required)")
	return func(ctx context.Context, args []string) error {
		if !visited(fs)["set"] {
			return usageErrorf("--set is required")
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		ca, err := s.cas().SetCAProfiles(ctx, &pb.SetCAProfilesRequest{Tenant: s.tenant, Ca: args[0], Profiles: splitList(*set)})
		if err != nil {
			return callError(err)
		}
		return c.emit(ca, func() error { return c.showCA(ca) })
	}
}

func (c *cli) showCA(ca *pb.CA) error {
	sig := ca.GetSignatureAlgorithm()
	if ca.GetRsaPss() {
		sig += " (PSS)"
	}
	return c.fields([]field{
		{"ID", ca.GetId()},
		{"Tenant", ca.GetTenant()},
		{"Name", ca.GetFriendlyName()},
		{"Type", nameOf(ca.GetType(), caTypeNames())},
		{"Status", nameOf(ca.GetStatus(), caStatusNames())},
		{"Parent", ca.GetParent()},
		{"Subject", ca.GetSubject()},
		{"Serial", ca.GetSerial()},
		{"Not before", ts(ca.GetNotBefore())},
		{"Not after", ts(ca.GetNotAfter())},
		{"Key type", nameOf(ca.GetKeyType(), keyTypeChoices())},
		{"Key backend", ca.GetKeyBackend()},
		{"Signature", sig},
		{"Subject key ID", hexString(ca.GetSubjectKeyId())},
		{"Profiles", list(ca.GetProfiles())},
		{"CRL", onOff(ca.GetCrlEnabled(), ca.GetCrlUrl())},
		{"OCSP", onOff(ca.GetOcspEnabled(), ca.GetOcspUrl())},
		{"CA issuers URL", ca.GetCaIssuersUrl()},
		{"Certificate", certSize(ca.GetCertificate())},
		{"Created", ts(ca.GetCreatedAt())},
	})
}

func certSize(der []byte) string {
	if len(der) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d bytes DER (see 'cas chain')", len(der))
}

func onOff(on bool, url string) string {
	switch {
	case !on:
		return "off"
	case url == "":
		return "on"
	}
	return "on, " + url
}
