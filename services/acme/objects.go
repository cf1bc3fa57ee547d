package acme

import (
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// JSON objects of RFC 8555 §7.1.

type identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type account struct {
	Status      string   `json:"status"`
	Contact     []string `json:"contact,omitempty"`
	TermsAgreed bool     `json:"termsOfServiceAgreed,omitempty"`
	Orders      string   `json:"orders"`
}

type order struct {
	Status         string       `json:"status"`
	Expires        string       `json:"expires,omitempty"`
	Identifiers    []identifier `json:"identifiers"`
	NotBefore      string       `json:"notBefore,omitempty"`
	NotAfter       string       `json:"notAfter,omitempty"`
	Error          *problem     `json:"error,omitempty"`
	Authorizations []string     `json:"authorizations"`
	Finalize       string       `json:"finalize"`
	Certificate    string       `json:"certificate,omitempty"`
	Profile        string       `json:"profile,omitempty"`
	Replaces       string       `json:"replaces,omitempty"`
}

type authorization struct {
	Identifier identifier  `json:"identifier"`
	Status     string      `json:"status"`
	Expires    string      `json:"expires,omitempty"`
	Challenges []challenge `json:"challenges"`
	Wildcard   bool        `json:"wildcard,omitempty"`
}

type challenge struct {
	Type      string   `json:"type"`
	URL       string   `json:"url"`
	Status    string   `json:"status"`
	Token     string   `json:"token"`
	Validated string   `json:"validated,omitempty"`
	Error     *problem `json:"error,omitempty"`
}

type directory struct {
	NewNonce    string         `json:"newNonce"`
	NewAccount  string         `json:"newAccount"`
	NewOrder    string         `json:"newOrder"`
	RevokeCert  string         `json:"revokeCert"`
	KeyChange   string         `json:"keyChange"`
	RenewalInfo string         `json:"renewalInfo"`
	Meta        *directoryMeta `json:"meta,omitempty"`
}

type directoryMeta struct {
	TermsOfService          string            `json:"termsOfService,omitempty"`
	Website                 string            `json:"website,omitempty"`
	ExternalAccountRequired bool              `json:"externalAccountRequired,omitempty"`
	Profiles                map[string]string `json:"profiles,omitempty"`
}

func rfc3339(t interface{ AsTime() time.Time }) string {
	if t == nil {
		return ""
	}
	tt := t.AsTime()
	if tt.IsZero() || tt.Unix() == 0 {
		return ""
	}
	return tt.UTC().Format(time.RFC3339)
}

func problemFromPB(p *pb.AcmeProblem) *problem {
	if p == nil {
		return nil
	}
	out := &problem{Type: p.GetType(), Detail: p.GetDetail()}
	if id := p.GetIdentifier(); id != nil {
		out.Identifier = &identifier{id.GetType(), id.GetValue()}
	}
	for _, sp := range p.GetSubproblems() {
		s := subproblem{Type: sp.GetType(), Detail: sp.GetDetail()}
		if id := sp.GetIdentifier(); id != nil {
			s.Identifier = &identifier{id.GetType(), id.GetValue()}
		}
		out.Subproblems = append(out.Subproblems, s)
	}
	return out
}

func identifiersFromPB(in []*pb.AcmeIdentifier) []identifier {
	out := make([]identifier, len(in))
	for i, id := range in {
		out[i] = identifier{id.GetType(), id.GetValue()}
	}
	return out
}
