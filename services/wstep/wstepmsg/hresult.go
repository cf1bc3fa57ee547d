package wstepmsg

import "fmt"

// HRESULTs that ADCS puts in CertificateEnrollmentWSDetail ErrorCode, and
// that Windows turns into the message certreq and the enrollment wizard
// show. Each is the Windows value (winerror.h) as the signed 32-bit integer
// the fault carries.
const (
	// EFail (E_FAIL): an internal error with nothing more specific to say.
	EFail int32 = 0x80004005 - 1<<32
	// EAccessDenied (E_ACCESSDENIED): the caller is not allowed to enroll.
	EAccessDenied int32 = 0x80070005 - 1<<32
	// ErrorInvalidData (HRESULT_FROM_WIN32(ERROR_INVALID_DATA)): the request
	// is malformed ([MS-WCCE] §3.2.1.4.2.1.4.1.2).
	ErrorInvalidData int32 = 0x8007000D - 1<<32
	// NTEBadKey (NTE_BAD_KEY): the request's public key is unusable.
	NTEBadKey int32 = 0x80090003 - 1<<32
	// NTEBadSignature (NTE_BAD_SIGNATURE): a signature does not verify.
	NTEBadSignature int32 = 0x80090006 - 1<<32
	// NTEBadAlgID (NTE_BAD_ALGID): an algorithm is not supported.
	NTEBadAlgID int32 = 0x80090008 - 1<<32
	// CryptENoSigner (CRYPT_E_NO_SIGNER): a CMS or CMC request is unsigned
	// ([MS-WCCE] §3.2.1.4.2.1.4.1.2).
	CryptENoSigner int32 = 0x8009200E - 1<<32
	// CertsrvEBadRequestSubject (CERTSRV_E_BAD_REQUESTSUBJECT): the
	// requested subject is not allowed.
	CertsrvEBadRequestSubject int32 = 0x80094001 - 1<<32
	// CertsrvEBadRequestKeyArchival (CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL):
	// the request's key-archival data is unusable.
	CertsrvEBadRequestKeyArchival int32 = 0x8009400C - 1<<32
	// CertsrvEBadRenewalCertAttribute (CERTSRV_E_BAD_RENEWAL_CERT_ATTRIBUTE):
	// the certificate being renewed is missing or unusable.
	CertsrvEBadRenewalCertAttribute int32 = 0x8009400E - 1<<32
	// CertsrvEEnrollDenied (CERTSRV_E_ENROLL_DENIED): policy denied the
	// request.
	CertsrvEEnrollDenied int32 = 0x80094011 - 1<<32
	// CertsrvETemplateDenied (CERTSRV_E_TEMPLATE_DENIED): the template's
	// permissions do not let the caller enroll.
	CertsrvETemplateDenied int32 = 0x80094012 - 1<<32
	// CertsrvEUnsupportedCertType (CERTSRV_E_UNSUPPORTED_CERT_TYPE): the CA
	// does not offer the requested template.
	CertsrvEUnsupportedCertType int32 = 0x80094800 - 1<<32
	// CertsrvEBadRenewalSubject (CERTSRV_E_BAD_RENEWAL_SUBJECT): a renewal
	// asks for a different subject than the certificate it renews.
	CertsrvEBadRenewalSubject int32 = 0x80094806 - 1<<32
	// CertsrvEKeyLength (CERTSRV_E_KEY_LENGTH): the key is too short for
	// the template.
	CertsrvEKeyLength int32 = 0x80094811 - 1<<32
	// CertEExpired (CERT_E_EXPIRED): the renewal signer has expired.
	CertEExpired int32 = 0x800B0101 - 1<<32
	// CertEUntrustedRoot (CERT_E_UNTRUSTEDROOT): the renewal signer does
	// not chain to a trusted root.
	CertEUntrustedRoot int32 = 0x800B0109 - 1<<32
	// CertEChaining (CERT_E_CHAINING): the renewal signer's chain cannot be
	// built.
	CertEChaining int32 = 0x800B010A - 1<<32
	// CertERevoked (CERT_E_REVOKED): the renewal signer was revoked.
	CertERevoked int32 = 0x800B010C - 1<<32
)

// RequestError is why [ParseRequest] refused a message. Every refusal is
// the client's fault, so the caller answers with [Fault] and
// invalidRequest set:
//
//	var rerr *wstepmsg.RequestError
//	if errors.As(err, &rerr) {
//		body := wstepmsg.Fault(&wstepmsg.Request{MessageID: rerr.MessageID}, "",
//			rerr.HResult, rerr.Reason, true, nil)
//	}
type RequestError struct {
	// MessageID is the request's a:MessageID when the header was read
	// before the refusal, for a:RelatesTo; empty otherwise.
	MessageID string
	// HResult is what ADCS reports for the same defect.
	HResult int32
	// Reason says what is wrong in words safe to send to the client.
	Reason string
	// Err is the underlying parser error, if any. It may quote the input;
	// log it rather than send it.
	Err error
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("wstepmsg: %s: %v", e.Reason, e.Err)
	}
	return "wstepmsg: " + e.Reason
}

func (e *RequestError) Unwrap() error { return e.Err }

// invalid is a RequestError for malformed input (ERROR_INVALID_DATA).
func invalid(reason string, err error) *RequestError {
	return &RequestError{HResult: ErrorInvalidData, Reason: reason, Err: err}
}
