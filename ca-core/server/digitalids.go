package server

import (
	"context"

	"github.com/certgate/certgate/ca-core/enrollment"
	"github.com/certgate/certgate/ca-core/fault"
	"github.com/certgate/certgate/ca-core/store"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

type digitalIDs struct {
	*Server
	pb.UnimplementedDigitalIDServiceServer
}

var digitalIDModes = map[string]pb.DigitalIDMode{enrollment.ModeSCEP: pb.DigitalIDMode_DIGITAL_ID_MODE_SCEP,
	enrollment.ModePKCS12: pb.DigitalIDMode_DIGITAL_ID_MODE_PKCS12}

func digitalIDModeName(m pb.DigitalIDMode) string {
	for n, v := range digitalIDModes {
		if v == m {
			return n
		}
	}
	return ""
}

func digitalIDToPB(d *store.DigitalID) *pb.DigitalID {
	return &pb.DigitalID{Tenant: d.Tenant, Endpoint: d.Endpoint, Name: d.Name, ParentDn: d.ParentDN, RdnFormat: d.RDNFormat,
		SanFormats: d.SANFormats, Ca: d.CA, Profile: d.Profile, Mode: digitalIDModes[d.Mode], Variables: enrollment.Variables(d),
		CreatedAt: ts(d.CreatedAt)}
}

func (s digitalIDs) CreateDigitalID(ctx context.Context, r *pb.CreateDigitalIDRequest) (*pb.DigitalID, error) {
	in := r.GetDigitalId()
	e, err := s.endpointFor(ctx, in.GetTenant(), in.GetEndpoint())
	if err != nil {
		return nil, err
	}
	d := &store.DigitalID{Name: in.GetName(), ParentDN: in.GetParentDn(), RDNFormat: in.GetRdnFormat(), SANFormats: in.GetSanFormats(),
		CA: in.GetCa(), Profile: in.GetProfile(), Mode: digitalIDModeName(in.GetMode())}
	if err := s.d.Enrollment.CreateDigitalID(ctx, callerOf(ctx).Actor(), e, d); err != nil {
		return nil, err
	}
	return digitalIDToPB(d), nil
}

func (s digitalIDs) GetDigitalID(ctx context.Context, r *pb.GetDigitalIDRequest) (*pb.DigitalID, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	d, err := s.d.Store.GetDigitalID(ctx, e.Tenant, e.ID, r.GetName())
	if err != nil {
		return nil, err
	}
	return digitalIDToPB(d), nil
}

func (s digitalIDs) ListDigitalIDs(ctx context.Context, r *pb.ListDigitalIDsRequest) (*pb.ListDigitalIDsResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	all, err := s.d.Store.ListDigitalIDs(ctx, e.Tenant, e.ID)
	if err != nil {
		return nil, err
	}
	out := &pb.ListDigitalIDsResponse{}
	for _, d := range all {
		out.DigitalIds = append(out.DigitalIds, digitalIDToPB(d))
	}
	return out, nil
}

func (s digitalIDs) DeleteDigitalID(ctx context.Context, r *pb.GetDigitalIDRequest) (*pb.DeleteDigitalIDResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	return &pb.DeleteDigitalIDResponse{}, s.d.Enrollment.DeleteDigitalID(ctx, callerOf(ctx).Actor(), e, r.GetName())
}

func (s digitalIDs) RenderDigitalID(ctx context.Context, r *pb.RenderDigitalIDRequest) (*pb.RenderedDigitalID, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	out, err := s.d.Enrollment.RenderDigitalID(ctx, e, r.GetName(), r.GetVariables())
	if err != nil {
		return nil, err
	}
	if out.Deferred != nil {
		return nil, fault.Policy("digital_id.deferred", "Digital ID %q takes values from the device's CSR; use it through a SCEP challenge", r.GetName())
	}
	return &pb.RenderedDigitalID{Subject: out.Subject, SubjectAltNames: sansToPB(storeSANs(out.SANs)), Profile: out.Profile,
		Mode: digitalIDModes[out.Mode]}, nil
}
