package server

import (
	"context"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/authz"
	"github.com/certgate/certgate/ca-core/ca"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/revocation"
	"github.com/certgate/certgate/ca-core/store"
)

type revoker struct {
	*Server
	pb.UnimplementedRevocationServiceServer
}

// certificateOf loads a certificate by any serial spelling; front-ends only
// reach certificates their endpoints issued.
func (s revoker) certificateOf(ctx context.Context, tenant, serial string) (string, error) {
	norm, err := ca.NormalizeSerial(serial)
	if err != nil {
		return "", err
	}
	if callerOf(ctx).Kind == authz.Frontend {
		c, err := s.d.Store.GetCertificate(ctx, tenant, norm)
		if err != nil {
			return "", err
		}
		if c.Endpoint == "" {
			return "", fault.NotFoundf("certificate %q does not exist", norm)
		}
		if _, err := s.endpointFor(ctx, tenant, c.Endpoint); err != nil {
			return "", fault.NotFoundf("certificate %q does not exist", norm)
		}
	}
	return norm, nil
}

func (s revoker) RevokeCertificate(ctx context.Context, r *pb.RevokeCertificateRequest) (*pb.Certificate, error) {
	serial, err := s.certificateOf(ctx, r.GetTenant(), r.GetSerial())
	if err != nil {
		return nil, err
	}
	c, err := s.d.Revocation.Revoke(ctx, callerOf(ctx).Actor(), r.GetTenant(), serial, reasonFromPB(r.GetReason()), fromTS(r.GetInvalidityDate()), r.GetPublish())
	if err != nil {
		return nil, err
	}
	return certToPB(c, s.d.Now()), nil
}

func (s revoker) HoldCertificate(ctx context.Context, r *pb.CertificateStatusRequest) (*pb.Certificate, error) {
	serial, err := ca.NormalizeSerial(r.GetSerial())
	if err != nil {
		return nil, err
	}
	c, err := s.d.Revocation.Hold(ctx, callerOf(ctx).Actor(), r.GetTenant(), serial, r.GetPublish())
	if err != nil {
		return nil, err
	}
	return certToPB(c, s.d.Now()), nil
}

func (s revoker) ReleaseCertificate(ctx context.Context, r *pb.CertificateStatusRequest) (*pb.Certificate, error) {
	serial, err := ca.NormalizeSerial(r.GetSerial())
	if err != nil {
		return nil, err
	}
	c, err := s.d.Revocation.Release(ctx, callerOf(ctx).Actor(), r.GetTenant(), serial, r.GetPublish())
	if err != nil {
		return nil, err
	}
	return certToPB(c, s.d.Now()), nil
}

func (s revoker) StartBulkRevocation(ctx context.Context, r *pb.StartBulkRevocationRequest) (*pb.BulkRevocation, error) {
	if _, err := s.d.Store.GetTenant(ctx, r.GetTenant()); err != nil {
		return nil, err
	}
	req := &revocation.BulkRequest{Actor: callerOf(ctx).Actor(), Tenant: r.GetTenant(), CSV: r.GetCsv(), SerialColumn: r.GetSerialColumn(),
		Reason: reasonFromPB(r.GetReason()), InvalidityDate: fromTS(r.GetInvalidityDate())}
	if sel := r.GetSelector(); sel != nil {
		req.Selector = &store.BulkSelector{CA: sel.GetCa(), Profile: sel.GetProfile(), Endpoint: sel.GetEndpoint(), EndEntity: sel.GetEndEntity(),
			IssuedAfter: fromTS(sel.GetIssuedAfter()), IssuedBefore: fromTS(sel.GetIssuedBefore())}
	}
	j, err := s.d.Revocation.StartBulk(ctx, req)
	if err != nil {
		return nil, err
	}
	return bulkToPB(j), nil
}

func (s revoker) GetBulkRevocation(ctx context.Context, r *pb.GetBulkRevocationRequest) (*pb.BulkRevocation, error) {
	j, err := s.d.Store.GetBulkJob(ctx, r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	return bulkToPB(j), nil
}

func (s revoker) ListBulkRevocationResults(ctx context.Context, r *pb.ListBulkRevocationResultsRequest) (*pb.ListBulkRevocationResultsResponse, error) {
	j, err := s.d.Store.GetBulkJob(ctx, r.GetTenant(), r.GetId())
	if err != nil {
		return nil, err
	}
	items, next, err := s.d.Store.ListBulkItems(ctx, j.ID, r.GetFailedOnly(), int(r.GetPageSize()), r.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &pb.ListBulkRevocationResultsResponse{NextPageToken: next}
	states := map[string]pb.BulkRevocationResult_State{store.ItemPending: pb.BulkRevocationResult_STATE_PENDING,
		store.ItemRevoked: pb.BulkRevocationResult_STATE_REVOKED, store.ItemFailed: pb.BulkRevocationResult_STATE_FAILED}
	for _, it := range items {
		res := &pb.BulkRevocationResult{Input: it.Serial, State: states[it.State], Detail: it.Detail}
		if it.Detail != "not a hex serial" {
			res.Serial = it.Serial
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func (s revoker) GetCRL(ctx context.Context, r *pb.GetCRLRequest) (*pb.CRLInfo, error) {
	caID := r.GetCa()
	if r.GetEndpoint() != "" || callerOf(ctx).Kind == authz.Frontend {
		e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
		if err != nil {
			return nil, err
		}
		caID = e.CA
	}
	c, err := s.d.Store.GetCRL(ctx, r.GetTenant(), caID)
	if err != nil {
		return nil, err
	}
	if len(c.DER) == 0 {
		return nil, fault.NotFoundf("CA %q has not published a CRL yet", caID)
	}
	return &pb.CRLInfo{Tenant: c.Tenant, Ca: c.CA, Number: c.Number, ThisUpdate: ts(c.ThisUpdate), NextUpdate: ts(c.NextUpdate),
		Entries: c.Entries, Der: c.DER, PendingChanges: !c.DirtySince.IsZero() || c.PublishRequested}, nil
}

func (s revoker) PublishCRL(ctx context.Context, r *pb.GetCRLRequest) (*pb.PublishCRLResponse, error) {
	return &pb.PublishCRLResponse{}, s.d.Revocation.RequestCRL(ctx, r.GetTenant(), r.GetCa())
}

func bulkToPB(j *store.BulkJob) *pb.BulkRevocation {
	st := pb.BulkRevocation_STATUS_RUNNING
	if j.Status == store.BulkDone {
		st = pb.BulkRevocation_STATUS_DONE
	}
	return &pb.BulkRevocation{Tenant: j.Tenant, Id: j.ID, Status: st, Total: j.Total, Done: j.Done, Failed: j.Failed,
		Reason: pb.RevocationReason(j.Reason + 1), RequestedBy: j.RequestedBy, CreatedAt: ts(j.CreatedAt), FinishedAt: ts(j.FinishedAt)}
}
