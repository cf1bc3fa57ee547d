package intune

import (
	"context"
	"errors"

	"google.golang.org/grpc/status"

	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/services/frontend"
)

// HRESULTs for SendFailureNotification ([MS-ERREF] §2.1), as the signed
// 32-bit numbers Intune expects. Intune shows the code to the
// administrator beside the description.
const (
	HResultFail              int32 = -2147467259 // 0x80004005 E_FAIL
	HResultInvalidArg        int32 = -2147024809 // 0x80070057 E_INVALIDARG
	HResultUnexpected        int32 = -2147418113 // 0x8000FFFF E_UNEXPECTED
	HResultAccessDenied      int32 = -2147024891 // 0x80070005 E_ACCESSDENIED
	HResultNotFound          int32 = -2147023728 // 0x80070490 HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
	HResultAlreadyExists     int32 = -2147024713 // 0x800700B7 HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)
	HResultTimeout           int32 = -2147023436 // 0x800705B4 HRESULT_FROM_WIN32(ERROR_TIMEOUT)
	HResultServerUnavailable int32 = -2147023174 // 0x800706BA RPC_S_SERVER_UNAVAILABLE, as NDES reports an unreachable CA
	HResultServerTooBusy     int32 = -2147023173 // 0x800706BB RPC_S_SERVER_TOO_BUSY
	HResultTemplateDenied    int32 = -2146877422 // 0x80094012 CERTSRV_E_TEMPLATE_DENIED
)

// hresultOf is the HRESULT of each certgate error reason. A profile plays
// the part of an ADCS template, so a policy refusal is "template denied".
var hresultOf = map[pb.ErrorReason]int32{
	pb.ErrorReason_ERROR_REASON_UNSPECIFIED:       HResultFail,
	pb.ErrorReason_ERROR_REASON_BAD_REQUEST:       HResultInvalidArg,
	pb.ErrorReason_ERROR_REASON_BAD_CSR:           HResultInvalidArg,
	pb.ErrorReason_ERROR_REASON_POLICY_REJECTED:   HResultTemplateDenied,
	pb.ErrorReason_ERROR_REASON_NOT_FOUND:         HResultNotFound,
	pb.ErrorReason_ERROR_REASON_ALREADY_EXISTS:    HResultAlreadyExists,
	pb.ErrorReason_ERROR_REASON_CONFLICT:          HResultAlreadyExists,
	pb.ErrorReason_ERROR_REASON_UNAUTHENTICATED:   HResultAccessDenied,
	pb.ErrorReason_ERROR_REASON_PERMISSION_DENIED: HResultAccessDenied,
	pb.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED:    HResultServerTooBusy,
	pb.ErrorReason_ERROR_REASON_RATE_LIMITED:      HResultServerTooBusy,
	pb.ErrorReason_ERROR_REASON_UNAVAILABLE:       HResultServerUnavailable,
	pb.ErrorReason_ERROR_REASON_INTERNAL:          HResultFail,
}

// HResult is the HRESULT to report for an issuance failure: by reason for
// a ca-core error (a gRPC status or a *frontend.Error), HResultTimeout for
// a deadline, HResultFail for anything else. A nil error is 0 (S_OK).
func HResult(err error) int32 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.DeadlineExceeded):
		return HResultTimeout
	}
	var fe *frontend.Error
	if _, isRPC := status.FromError(err); !isRPC && !errors.As(err, &fe) {
		return HResultFail
	}
	if hr, ok := hresultOf[frontend.ReasonOf(err)]; ok {
		return hr
	}
	return HResultFail
}
