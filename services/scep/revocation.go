package scep

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
	"github.com/certgate/certgate/services/scep/intune"
)

// startRevocationConnectors runs, for each Intune endpoint configured
// with a revocation interval, what Microsoft's certificate connector does
// for ADCS: download Intune's revocation requests, revoke, upload the
// results. The returned channel closes when all have stopped.
func (s *Server) startRevocationConnectors(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var running []chan struct{}
	for key, ic := range s.cfg.Intune {
		if ic.RevocationInterval <= 0 {
			continue
		}
		tenant, endpoint, _ := strings.Cut(key, "/")
		c := s.intune[key]
		stopped := make(chan struct{})
		running = append(running, stopped)
		go func() {
			defer close(stopped)
			tick := time.NewTicker(ic.RevocationInterval)
			defer tick.Stop()
			for {
				if err := s.syncRevocations(ctx, tenant, endpoint, c); err != nil && ctx.Err() == nil {
					s.log.Warn("scep: Intune revocation sync", "endpoint", key, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() {
		for _, r := range running {
			<-r
		}
		close(done)
	}()
	return done
}

// revokeForIntune revokes a certificate Intune asks about, if this
// endpoint issued it: Intune speaks for its own devices only.
func (s *Server) revokeForIntune(ctx context.Context, tenant, endpoint, serial string) error {
	c, err := s.certs.GetCertificate(ctx, &pb.GetCertificateRequest{Tenant: tenant, Serial: serial})
	if err != nil {
		return err
	}
	if c.GetEndpoint() != endpoint {
		return status.Errorf(codes.NotFound, "certificate %s was not issued through endpoint %s", serial, endpoint)
	}
	_, err = s.revoker.RevokeCertificate(ctx, &pb.RevokeCertificateRequest{Tenant: tenant, Serial: serial,
		Reason: pb.RevocationReason_REVOCATION_REASON_UNSPECIFIED})
	return err
}

// syncRevocations handles one batch of Intune's revocation requests.
// ca-core refuses serials the service's endpoints did not issue, which
// answers Intune "certificate not found".
func (s *Server) syncRevocations(ctx context.Context, tenant, endpoint string, c *intune.Client) error {
	reqs, err := c.DownloadRevocationRequests(ctx, 100, "")
	if err != nil || len(reqs) == 0 {
		return err
	}
	results := make([]intune.RevocationResult, 0, len(reqs))
	for _, rr := range reqs {
		res := intune.RevocationResult{RequestContext: rr.RequestContext, Succeeded: true, ErrorCode: intune.RevocationNone}
		err := s.revokeForIntune(ctx, tenant, endpoint, rr.SerialNumber)
		if err != nil {
			res.Succeeded, res.ErrorMessage = false, frontend.Describe(err)
			switch frontend.ReasonOf(err) {
			case pb.ErrorReason_ERROR_REASON_NOT_FOUND:
				res.ErrorCode = intune.RevocationCertificateNotFoundError
			case pb.ErrorReason_ERROR_REASON_CONFLICT:
				// Revoked already: what Intune wanted is true.
				res.Succeeded, res.ErrorCode, res.ErrorMessage = true, intune.RevocationNone, ""
			case pb.ErrorReason_ERROR_REASON_BAD_REQUEST:
				res.ErrorCode = intune.RevocationParameterDataInvalidError
			case pb.ErrorReason_ERROR_REASON_UNAVAILABLE, pb.ErrorReason_ERROR_REASON_RATE_LIMITED:
				res.ErrorCode = intune.RevocationServiceUnavailableException
			default:
				res.ErrorCode = intune.RevocationNonRetryableServiceException
			}
		}
		s.log.Info("scep: Intune revocation request", "tenant", tenant, "serial", rr.SerialNumber, "succeeded", res.Succeeded, "code", res.ErrorCode)
		results = append(results, res)
	}
	return c.UploadRevocationResults(ctx, results)
}
