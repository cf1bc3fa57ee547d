package server

import (
	"context"
	"encoding/json"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/acme"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"
)

type acmeServer struct {
	*Server
	pb.UnimplementedAcmeServiceServer
}

// acmeReq checks the front-end may use the endpoint and converts the
// request identity.
func (s acmeServer) acmeReq(ctx context.Context, r *pb.AcmeRequest) (*store.AcmeReq, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	if r.GetNonce() == "" {
		return nil, &fault.Error{Reason: fault.BadRequest, Rule: "acme.badNonce", Detail: "the request has no nonce"}
	}
	return &store.AcmeReq{Tenant: r.GetTenant(), Endpoint: r.GetEndpoint(), Nonce: r.GetNonce(), AccountID: r.GetAccountId(), KeyThumbprint: r.GetKeyThumbprint()}, nil
}

func acmeAccountToPB(a *store.AcmeAccount) *pb.AcmeAccount {
	return &pb.AcmeAccount{Tenant: a.Tenant, Endpoint: a.Endpoint, Id: a.ID, Status: a.Status, Contact: a.Contact, Jwk: a.JWK,
		KeyThumbprint: a.KeyThumbprint, EabKid: a.EABKID, CreatedAt: ts(a.CreatedAt), TermsAgreed: a.TermsAgreed}
}

func problemToPB(b []byte) *pb.AcmeProblem {
	if len(b) == 0 {
		return nil
	}
	var p acme.Problem
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	return problemPB(&p)
}

func problemPB(p *acme.Problem) *pb.AcmeProblem {
	out := &pb.AcmeProblem{Type: p.Type, Detail: p.Detail}
	if p.Identifier != nil {
		out.Identifier = &pb.AcmeIdentifier{Type: p.Identifier.Type, Value: p.Identifier.Value}
	}
	for i := range p.Subproblems {
		out.Subproblems = append(out.Subproblems, problemPB(&p.Subproblems[i]))
	}
	return out
}

func problemFromPB(p *pb.AcmeProblem) *acme.Problem {
	if p == nil {
		return nil
	}
	out := &acme.Problem{Type: p.GetType(), Detail: p.GetDetail()}
	if id := p.GetIdentifier(); id != nil {
		out.Identifier = &acme.Identifier{Type: id.GetType(), Value: id.GetValue()}
	}
	for _, sp := range p.GetSubproblems() {
		out.Subproblems = append(out.Subproblems, *problemFromPB(sp))
	}
	return out
}

func identsToPB(in []store.AcmeIdentifier) []*pb.AcmeIdentifier {
	out := make([]*pb.AcmeIdentifier, len(in))
	for i, id := range in {
		out[i] = &pb.AcmeIdentifier{Type: id.Type, Value: id.Value}
	}
	return out
}

func orderToPB(o *store.AcmeOrder) *pb.AcmeOrder {
	return &pb.AcmeOrder{Id: o.ID, AccountId: o.AccountID, Status: o.Status, Expires: ts(o.Expires), Identifiers: identsToPB(o.Identifiers),
		NotBefore: ts(o.NotBefore), NotAfter: ts(o.NotAfter), AuthorizationIds: o.AuthzIDs, CertificateSerial: o.CertSerial,
		Error: problemToPB(o.Error), Profile: o.Profile, Replaces: o.Replaces}
}

func authzToPB(a *store.AcmeAuthz) *pb.AcmeAuthorization {
	out := &pb.AcmeAuthorization{Id: a.ID, AccountId: a.AccountID, Identifier: &pb.AcmeIdentifier{Type: a.Identifier.Type, Value: a.Identifier.Value},
		Status: a.Status, Expires: ts(a.Expires), Wildcard: a.Wildcard}
	for i := range a.Challenges {
		out.Challenges = append(out.Challenges, challengeToPB(&a.Challenges[i]))
	}
	return out
}

func challengeToPB(c *store.AcmeChallenge) *pb.AcmeChallenge {
	return &pb.AcmeChallenge{Id: c.ID, Type: c.Type, Status: c.Status, Token: c.Token, Validated: ts(c.Validated), Error: problemToPB(c.Error)}
}

func (s acmeServer) CreateNonces(ctx context.Context, r *pb.CreateNoncesRequest) (*pb.CreateNoncesResponse, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	n, err := s.d.ACME.Nonces(ctx, r.GetTenant(), r.GetEndpoint(), int(r.GetCount()))
	if err != nil {
		return nil, err
	}
	return &pb.CreateNoncesResponse{Nonces: n}, nil
}

func (s acmeServer) NewAccount(ctx context.Context, r *pb.NewAcmeAccountRequest) (*pb.AcmeAccountResponse, error) {
	req := r.GetRequest()
	if _, err := s.endpointFor(ctx, req.GetTenant(), req.GetEndpoint()); err != nil {
		return nil, err
	}
	nr := &acme.NewAccountRequest{Actor: callerOf(ctx).Actor(), Tenant: req.GetTenant(), Endpoint: req.GetEndpoint(), Nonce: req.GetNonce(),
		JWK: r.GetJwk(), Thumbprint: req.GetKeyThumbprint(), Contact: r.GetContact(), TermsAgreed: r.GetTermsAgreed(), OnlyReturnExisting: r.GetOnlyReturnExisting()}
	if e := r.GetEab(); e != nil {
		nr.EAB = &acme.EAB{KID: e.GetKid(), Alg: e.GetAlg(), SigningInput: e.GetSigningInput(), Signature: e.GetSignature()}
	}
	a, created, err := s.d.ACME.NewAccount(ctx, nr)
	if err != nil {
		return nil, err
	}
	return &pb.AcmeAccountResponse{Account: acmeAccountToPB(a), Created: created}, nil
}

func (s acmeServer) LookupAccount(ctx context.Context, r *pb.LookupAcmeAccountRequest) (*pb.AcmeAccount, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	a, err := s.d.ACME.Lookup(ctx, r.GetTenant(), r.GetEndpoint(), r.GetId(), r.GetKeyThumbprint())
	if err != nil {
		return nil, err
	}
	return acmeAccountToPB(a), nil
}

func (s acmeServer) UpdateAccount(ctx context.Context, r *pb.UpdateAcmeAccountRequest) (*pb.AcmeAccount, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	a, err := s.d.ACME.UpdateAccount(ctx, callerOf(ctx).Actor(), req, r.GetSetContact(), r.GetContact(), r.GetDeactivate())
	if err != nil {
		return nil, err
	}
	return acmeAccountToPB(a), nil
}

func (s acmeServer) ChangeAccountKey(ctx context.Context, r *pb.ChangeAcmeAccountKeyRequest) (*pb.AcmeAccount, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	a, err := s.d.ACME.ChangeKey(ctx, callerOf(ctx).Actor(), req, r.GetNewJwk(), r.GetNewKeyThumbprint())
	if err != nil {
		return nil, err
	}
	return acmeAccountToPB(a), nil
}

func (s acmeServer) ListAccountOrders(ctx context.Context, r *pb.AcmeAccountRequest) (*pb.ListAcmeOrdersResponse, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	ids, err := s.d.ACME.Orders(ctx, req)
	if err != nil {
		return nil, err
	}
	return &pb.ListAcmeOrdersResponse{OrderIds: ids}, nil
}

func (s acmeServer) NewOrder(ctx context.Context, r *pb.NewAcmeOrderRequest) (*pb.AcmeOrder, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	var ids []acme.Identifier
	for _, id := range r.GetIdentifiers() {
		ids = append(ids, acme.Identifier{Type: id.GetType(), Value: id.GetValue()})
	}
	o, err := s.d.ACME.NewOrder(ctx, &acme.NewOrderRequest{Actor: callerOf(ctx).Actor(), Req: req, Identifiers: ids,
		NotBefore: fromTS(r.GetNotBefore()), NotAfter: fromTS(r.GetNotAfter()), Profile: r.GetProfile(), Replaces: r.GetReplaces()})
	if err != nil {
		return nil, err
	}
	return orderToPB(o), nil
}

func (s acmeServer) GetOrder(ctx context.Context, r *pb.AcmeObjectRequest) (*pb.AcmeOrder, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	o, err := s.d.ACME.Order(ctx, req, r.GetId())
	if err != nil {
		return nil, err
	}
	return orderToPB(o), nil
}

func (s acmeServer) GetAuthorization(ctx context.Context, r *pb.AcmeObjectRequest) (*pb.AcmeAuthorization, error) {
	return s.authz(ctx, r, false)
}

func (s acmeServer) DeactivateAuthorization(ctx context.Context, r *pb.AcmeObjectRequest) (*pb.AcmeAuthorization, error) {
	return s.authz(ctx, r, true)
}

func (s acmeServer) authz(ctx context.Context, r *pb.AcmeObjectRequest, deactivate bool) (*pb.AcmeAuthorization, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	a, err := s.d.ACME.Authorization(ctx, req, r.GetId(), deactivate)
	if err != nil {
		return nil, err
	}
	return authzToPB(a), nil
}

func (s acmeServer) StartChallenge(ctx context.Context, r *pb.AcmeObjectRequest) (*pb.AcmeChallengeStart, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	a, c, start, err := s.d.ACME.StartChallenge(ctx, req, r.GetId())
	if err != nil {
		return nil, err
	}
	return &pb.AcmeChallengeStart{Authorization: authzToPB(a), Challenge: challengeToPB(c), Validate: start}, nil
}

func (s acmeServer) CompleteChallenge(ctx context.Context, r *pb.CompleteAcmeChallengeRequest) (*pb.AcmeAuthorization, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	a, err := s.d.ACME.CompleteChallenge(ctx, r.GetTenant(), r.GetEndpoint(), r.GetChallengeId(), r.GetValid(), problemFromPB(r.GetError()))
	if err != nil {
		return nil, err
	}
	return authzToPB(a), nil
}

func (s acmeServer) FinalizeOrder(ctx context.Context, r *pb.FinalizeAcmeOrderRequest) (*pb.AcmeOrder, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	o, err := s.d.ACME.Finalize(ctx, callerOf(ctx).Actor(), callerOf(ctx).Name, req, r.GetOrderId(), r.GetCsr())
	if err != nil {
		return nil, err
	}
	return orderToPB(o), nil
}

func (s acmeServer) GetOrderCertificate(ctx context.Context, r *pb.AcmeObjectRequest) (*pb.AcmeCertificate, error) {
	req, err := s.acmeReq(ctx, r.GetRequest())
	if err != nil {
		return nil, err
	}
	c, chain, err := s.d.ACME.OrderCertificate(ctx, req, r.GetId())
	if err != nil {
		return nil, err
	}
	return &pb.AcmeCertificate{Certificate: certToPB(c, s.d.Now()), Chain: chain}, nil
}

func (s acmeServer) RevokeCertificate(ctx context.Context, r *pb.RevokeAcmeCertificateRequest) (*pb.RevokeAcmeCertificateResponse, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	err := s.d.ACME.Revoke(ctx, &acme.RevokeRequest{Actor: callerOf(ctx).Actor(), Tenant: r.GetTenant(), Endpoint: r.GetEndpoint(), Nonce: r.GetNonce(),
		AccountID: r.GetAccountId(), Thumbprint: r.GetKeyThumbprint(), CertKeySPKI: r.GetCertificateKeySpki(), CertDER: r.GetCertificate(),
		Reason: reasonFromPB(r.GetReason())})
	return &pb.RevokeAcmeCertificateResponse{}, err
}

func (s acmeServer) RenewalInfo(ctx context.Context, r *pb.AcmeRenewalInfoRequest) (*pb.AcmeRenewalInfo, error) {
	if _, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint()); err != nil {
		return nil, err
	}
	w, err := s.d.ACME.RenewalInfo(ctx, r.GetTenant(), r.GetEndpoint(), r.GetCertificateId())
	if err != nil {
		return nil, err
	}
	return &pb.AcmeRenewalInfo{WindowStart: ts(w.Start), WindowEnd: ts(w.End)}, nil
}

func eabToPB(k *store.EABKey, withSecret bool) *pb.EabKey {
	out := &pb.EabKey{Tenant: k.Tenant, Endpoint: k.Endpoint, Kid: k.KID, Label: k.Label, CreatedAt: ts(k.CreatedAt), AccountId: k.AccountID}
	if withSecret {
		out.HmacKey = base64URL(k.HMACKey)
	}
	return out
}

func (s acmeServer) CreateEabKey(ctx context.Context, r *pb.CreateEabKeyRequest) (*pb.EabKey, error) {
	k, err := s.d.ACME.CreateEABKey(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetEndpoint(), r.GetLabel())
	if err != nil {
		return nil, err
	}
	return eabToPB(k, true), nil
}

func (s acmeServer) ListEabKeys(ctx context.Context, r *pb.ListEabKeysRequest) (*pb.ListEabKeysResponse, error) {
	keys, err := s.d.ACME.EABKeys(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	out := &pb.ListEabKeysResponse{}
	for _, k := range keys {
		out.Keys = append(out.Keys, eabToPB(k, false))
	}
	return out, nil
}

func (s acmeServer) DeleteEabKey(ctx context.Context, r *pb.DeleteEabKeyRequest) (*pb.DeleteEabKeyResponse, error) {
	return &pb.DeleteEabKeyResponse{}, s.d.ACME.DeleteEABKey(ctx, callerOf(ctx).Actor(), r.GetTenant(), r.GetEndpoint(), r.GetKid())
}
