package intune

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Codes Intune answers ScepActions calls with (the libraries' enum
// IntuneScepServiceException.ErrorCode). Anything but CodeSuccess means the
// SCEP server must not issue.
const (
	CodeUnknown                                = "Unknown"
	CodeSuccess                                = "Success"
	CodeCertificateRequestDecodingFailed       = "CertificateRequestDecodingFailed"
	CodeChallengePasswordMissing               = "ChallengePasswordMissing"
	CodeChallengeDeserializationError          = "ChallengeDeserializationError"
	CodeChallengeDecryptionError               = "ChallengeDecryptionError"
	CodeChallengeDecodingError                 = "ChallengeDecodingError"
	CodeChallengeInvalidTimestamp              = "ChallengeInvalidTimestamp"
	CodeChallengeExpired                       = "ChallengeExpired"
	CodeSubjectNameMissing                     = "SubjectNameMissing"
	CodeSubjectNameMismatch                    = "SubjectNameMismatch"
	CodeSubjectAltNameMissing                  = "SubjectAltNameMissing"
	CodeSubjectAltNameMismatch                 = "SubjectAltNameMismatch"
	CodeKeyUsageMismatch                       = "KeyUsageMismatch"
	CodeKeyLengthMismatch                      = "KeyLengthMismatch"
	CodeEnhancedKeyUsageMissing                = "EnhancedKeyUsageMissing"
	CodeEnhancedKeyUsageMismatch               = "EnhancedKeyUsageMismatch"
	CodeAadKeyIdentifierListMissing            = "AadKeyIdentifierListMissing"
	CodeRegisteredKeyMismatch                  = "RegisteredKeyMismatch"
	CodeSigningCertThumbprintMismatch          = "SigningCertThumbprintMismatch"
	CodeScepProfileNoLongerTargetedToTheClient = "ScepProfileNoLongerTargetedToTheClient"
	CodeSignatureValidationFailed              = "SignatureValidationFailed"
	CodeBadCertificateRequestIDInChallenge     = "BadCertificateRequestIdInChallenge"
	CodeBadDeviceIDInChallenge                 = "BadDeviceIdInChallenge"
	CodeBadUserIDInChallenge                   = "BadUserIdInChallenge"
)

// knownCodes holds every Code constant.
var knownCodes = map[string]bool{
	CodeUnknown:                                true,
	CodeSuccess:                                true,
	CodeCertificateRequestDecodingFailed:       true,
	CodeChallengePasswordMissing:               true,
	CodeChallengeDeserializationError:          true,
	CodeChallengeDecryptionError:               true,
	CodeChallengeDecodingError:                 true,
	CodeChallengeInvalidTimestamp:              true,
	CodeChallengeExpired:                       true,
	CodeSubjectNameMissing:                     true,
	CodeSubjectNameMismatch:                    true,
	CodeSubjectAltNameMissing:                  true,
	CodeSubjectAltNameMismatch:                 true,
	CodeKeyUsageMismatch:                       true,
	CodeKeyLengthMismatch:                      true,
	CodeEnhancedKeyUsageMissing:                true,
	CodeEnhancedKeyUsageMismatch:               true,
	CodeAadKeyIdentifierListMissing:            true,
	CodeRegisteredKeyMismatch:                  true,
	CodeSigningCertThumbprintMismatch:          true,
	CodeScepProfileNoLongerTargetedToTheClient: true,
	CodeSignatureValidationFailed:              true,
	CodeBadCertificateRequestIDInChallenge:     true,
	CodeBadDeviceIDInChallenge:                 true,
	CodeBadUserIDInChallenge:                   true,
}

// ServiceError is Intune's refusal: a ScepActions call answered HTTP 200
// with a code other than Success.
type ServiceError struct {
	// Code is one of the Code constants; a code this package does not know
	// is CodeUnknown (as in the libraries), with the original in RawCode.
	Code    string
	RawCode string
	// Description is Intune's errorDescription.
	Description string
	// ActivityID is the client-request-id of the call.
	ActivityID    string
	TransactionID string
}

func (e *ServiceError) Error() string {
	s := "intune: " + e.Code
	if e.RawCode != e.Code {
		s += " (" + e.RawCode + ")"
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s + " (transaction " + e.TransactionID + ", activity " + e.ActivityID + ")"
}

func newServiceError(code, description, transactionID, activityID string) *ServiceError {
	e := &ServiceError{Code: code, RawCode: code, Description: description,
		TransactionID: transactionID, ActivityID: activityID}
	if !knownCodes[code] {
		e.Code = CodeUnknown
	}
	return e
}

// ErrUnavailable matches every *UnavailableError: Intune gave no answer.
var ErrUnavailable = errors.New("intune: unavailable")

// ErrServiceNotFound is returned when discovery does not list the Intune
// service a call needs.
var ErrServiceNotFound = errors.New("intune: service not found")

// UnavailableError is a call that got no usable answer: a network error, a
// timeout, an HTTP status other than 2xx, or a body that is not the
// expected JSON. It matches ErrUnavailable and unwraps to the cause.
type UnavailableError struct {
	// Op is "token", "discovery" or the Intune path ("ScepActions/validateRequest").
	Op string
	// StatusCode is the HTTP status, 0 if there was no HTTP answer.
	StatusCode int
	// Detail is the server's error text, if it sent one.
	Detail string
	// ActivityID is the client-request-id of the call.
	ActivityID string
	Err        error
}

func (e *UnavailableError) Error() string {
	s := "intune: " + e.Op
	if e.StatusCode != 0 {
		s += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.ActivityID != "" {
		s += " (activity " + e.ActivityID + ")"
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// errorDetail extracts the message of an error body: OAuth
// ({"error":"…","error_description":"…"}), OData/Graph
// ({"error":{"code":"…","message":"…"}}) or Intune ({"Message":"…"}),
// else the start of the body.
func errorDetail(body []byte) string {
	var v struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Message          string          `json:"Message"`
	}
	if json.Unmarshal(body, &v) == nil {
		var oauth string
		var odata struct{ Code, Message string }
		switch {
		case json.Unmarshal(v.Error, &oauth) == nil && oauth != "":
			return firstLine(oauth + ": " + v.ErrorDescription)
		case json.Unmarshal(v.Error, &odata) == nil && odata.Code+odata.Message != "":
			return firstLine(odata.Code + ": " + odata.Message)
		case v.Message != "":
			return firstLine(v.Message)
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return firstLine(s)
}

// firstLine keeps Entra's one-line summary and drops its trace and
// correlation lines.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}
