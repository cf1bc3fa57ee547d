package server

import (
	"context"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

type scepServer struct {
	*Server
	pb.UnimplementedScepServiceServer
}

func (s scepServer) GetRegistrationAuthority(ctx context.Context, r *pb.GetRegistrationAuthorityRequest) (*pb.RegistrationAuthority, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	ra, err := s.d.SCEP.Get(ctx, e)
	if err != nil {
		return nil, err
	}
	return &pb.RegistrationAuthority{Certificates: ra.Certificates, CaChain: ra.Chain, NextCaChain: ra.Next}, nil
}

func (s scepServer) DecryptWithRA(ctx context.Context, r *pb.DecryptWithRARequest) (*pb.DecryptWithRAResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	if err := require("ra_serial", r.GetRaSerial()); err != nil {
		return nil, err
	}
	out, err := s.d.SCEP.Decrypt(ctx, e, r.GetRaSerial(), r.GetCiphertext(), r.GetOaepHash())
	if err != nil {
		return nil, err
	}
	return &pb.DecryptWithRAResponse{Plaintext: out}, nil
}

func (s scepServer) SignWithRA(ctx context.Context, r *pb.SignWithRARequest) (*pb.SignWithRAResponse, error) {
	e, err := s.endpointFor(ctx, r.GetTenant(), r.GetEndpoint())
	if err != nil {
		return nil, err
	}
	if err := require("ra_serial", r.GetRaSerial()); err != nil {
		return nil, err
	}
	sig, err := s.d.SCEP.Sign(ctx, e, r.GetRaSerial(), r.GetDigest(), r.GetHash())
	if err != nil {
		return nil, err
	}
	return &pb.SignWithRAResponse{Signature: sig}, nil
}
