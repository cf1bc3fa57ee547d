package admincli

import (
	"context"
	"flag"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func eabNoun(c *cli) noun {
	return noun{name: "eab", summary: "manage ACME external account binding keys", verbs: []verb{
		{name: "create", usage: "--endpoint E [--label TEXT]", summary: "create a key and print its KID and HMAC key, shown only this once", define: c.eabCreate},
		{name: "list", usage: "--endpoint E", summary: "list an endpoint's keys and the accounts they bound", define: c.eabList},
		{name: "delete", usage: "--endpoint E KID", summary: "delete a key no account has used yet", nargs: 1, define: c.eabDelete},
	}}
}

func (c *cli) eabCreate(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "ACME `endpoint` the key binds accounts on (required)")
	label := fs.String("label", "", "free `text` saying whom the key is for")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		k, err := s.acme().CreateEabKey(ctx, &pb.CreateEabKeyRequest{Tenant: s.tenant, Endpoint: *endpoint, Label: *label})
		if err != nil {
			return callError(err)
		}
		return c.emit(k, func() error {
			return c.fields([]field{{"KID", k.GetKid()}, {"HMAC key", k.GetHmacKey()}})
		})
	}
}

func (c *cli) eabList(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "ACME `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.acme().ListEabKeys(ctx, &pb.ListEabKeysRequest{Tenant: s.tenant, Endpoint: *endpoint})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error {
			rows := make([][]string, 0, len(resp.GetKeys()))
			for _, k := range resp.GetKeys() {
				rows = append(rows, []string{k.GetKid(), k.GetLabel(), ts(k.GetCreatedAt()), k.GetAccountId()})
			}
			return c.table([]string{"KID", "LABEL", "CREATED", "ACCOUNT"}, rows)
		})
	}
}

func (c *cli) eabDelete(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "ACME `endpoint` (required)")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		resp, err := s.acme().DeleteEabKey(ctx, &pb.DeleteEabKeyRequest{Tenant: s.tenant, Endpoint: *endpoint, Kid: args[0]})
		if err != nil {
			return callError(err)
		}
		return c.emit(resp, func() error { return c.say("deleted EAB key %s", args[0]) })
	}
}
