package admincli

import (
	"context"
	"flag"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

func challengesNoun(c *cli) noun {
	return noun{name: "challenges", summary: "hand out one-time enrollment challenges", verbs: []verb{
		{name: "create", usage: "--endpoint E [--end-entity ID] [--ttl 1h] [--subject DN] [--san TYPE:VALUE]...", summary: "create a challenge and print its value, shown only this once", define: c.challengesCreate},
	}}
}

func (c *cli) challengesCreate(fs *flag.FlagSet) action {
	endpoint := fs.String("endpoint", "", "`endpoint` the challenge is for (required)")
	endEntity := fs.String("end-entity", "", "bind the challenge to this end-entity `ID`")
	ttl := fs.Duration("ttl", 0, "lifetime, at most 720h (default: ca-core's, 1h)")
	subject := fs.String("subject", "", "bind the challenge to this RFC 4514 subject `DN`")
	var sans stringList
	fs.Var(&sans, "san", "bind the challenge to this `TYPE:VALUE` subjectAltName (all of them, exactly); repeatable")
	return func(ctx context.Context, args []string) error {
		if err := required("endpoint", *endpoint); err != nil {
			return err
		}
		req := &pb.CreateChallengeRequest{Endpoint: *endpoint, EndEntity: *endEntity, Subject: *subject}
		for _, v := range sans {
			san, err := parseSAN(v)
			if err != nil {
				return err
			}
			req.SubjectAltNames = append(req.SubjectAltNames, san)
		}
		if visited(fs)["ttl"] {
			if *ttl <= 0 {
				return usageErrorf("--ttl must be positive")
			}
			req.Ttl = durationpb.New(*ttl)
		}
		s, err := c.session()
		if err != nil {
			return err
		}
		req.Tenant = s.tenant
		ch, err := s.challenges().CreateChallenge(ctx, req)
		if err != nil {
			return callError(err)
		}
		return c.emit(ch, func() error {
			c.note("challenge %s expires %s", ch.GetId(), ts(ch.GetExpiresAt()))
			return c.say("%s", ch.GetValue())
		})
	}
}
