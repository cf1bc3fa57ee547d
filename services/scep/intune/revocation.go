package intune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxRevocationRequests is the most revocation requests one download may
// ask for.
const MaxRevocationRequests = 500

// RevocationRequest is Intune asking the CA to revoke a certificate it was
// told about in a success notification.
type RevocationRequest struct {
	// RequestContext identifies the request; the result must carry it back.
	RequestContext string `json:"requestContext"`
	// SerialNumber is the serial as sent in the success notification.
	SerialNumber    string `json:"serialNumber"`
	IssuerName      string `json:"issuerName"`
	CAConfiguration string `json:"caConfiguration"`
}

// RevocationErrorCode says why a revocation failed (the libraries'
// CARequestErrorCode, sent by name as the C# library does).
type RevocationErrorCode string

// Revocation error codes.
const (
	RevocationNone                         RevocationErrorCode = "None"
	RevocationNonRetryableServiceException RevocationErrorCode = "NonRetryableServiceException"
	RevocationDataSerializationError       RevocationErrorCode = "DataSerializationError"
	RevocationParameterDataInvalidError    RevocationErrorCode = "ParameterDataInvalidError"
	RevocationCryptographyError            RevocationErrorCode = "CryptographyError"
	RevocationCertificateNotFoundError     RevocationErrorCode = "CertificateNotFoundError"
	RevocationConflictError                RevocationErrorCode = "ConflictError"
	RevocationNotSupportedError            RevocationErrorCode = "NotSupportedError"
	RevocationPayloadTooLargeError         RevocationErrorCode = "PayloadTooLargeError"
	RevocationRetryableServiceException    RevocationErrorCode = "RetryableServiceException"
	RevocationServiceUnavailableException  RevocationErrorCode = "ServiceUnavailableException"
	RevocationServiceTooBusyException      RevocationErrorCode = "ServiceTooBusyException"
	RevocationAuthenticationException      RevocationErrorCode = "AuthenticationException"
)

// RevocationResult is the CA's answer to one RevocationRequest.
type RevocationResult struct {
	RequestContext string
	Succeeded      bool
	// ErrorCode is RevocationNone (or empty) exactly when Succeeded.
	ErrorCode RevocationErrorCode
	// ErrorMessage is empty when Succeeded.
	ErrorMessage string
}

// DownloadRevocationRequests fetches up to maxRequests (1..MaxRevocationRequests)
// pending revocation requests, only those for issuerName unless it is
// empty.
func (c *Client) DownloadRevocationRequests(ctx context.Context, maxRequests int, issuerName string) ([]RevocationRequest, error) {
	if maxRequests < 1 || maxRequests > MaxRevocationRequests {
		return nil, fmt.Errorf("intune: downloadRevocationRequests: max %d is not within 1..%d", maxRequests, MaxRevocationRequests)
	}
	const path = "CertificateAuthorityRequests/downloadRevocationRequests"
	body := map[string]any{"downloadParameters": struct {
		MaxRequests int     `json:"maxRequests"`
		IssuerName  *string `json:"issuerName"`
	}{maxRequests, nullable(issuerName)}}
	var answer struct {
		Value *[]RevocationRequest `json:"value"`
	}
	activity, err := c.call(ctx, pkiService, path, pkiAPIVersion, body, &answer)
	if err != nil {
		return nil, err
	}
	if answer.Value == nil {
		return nil, &UnavailableError{Op: path, StatusCode: 200, ActivityID: activity, Err: errors.New(`no "value" in the answer`)}
	}
	for _, r := range *answer.Value {
		if r.RequestContext == "" || r.SerialNumber == "" {
			return nil, &UnavailableError{Op: path, StatusCode: 200, ActivityID: activity,
				Err: errors.New("a revocation request lacks requestContext or serialNumber")}
		}
	}
	return *answer.Value, nil
}

// UploadRevocationResults reports what became of downloaded revocation
// requests. It fails unless Intune answers that it recorded them.
func (c *Client) UploadRevocationResults(ctx context.Context, results []RevocationResult) error {
	const path = "CertificateAuthorityRequests/uploadRevocationResults"
	if len(results) == 0 {
		return fmt.Errorf("intune: %s: no results", path)
	}
	type wire struct {
		RequestContext string              `json:"requestContext"`
		Succeeded      bool                `json:"succeeded"`
		ErrorCode      RevocationErrorCode `json:"errorCode"`
		ErrorMessage   *string             `json:"errorMessage"`
	}
	out := make([]wire, len(results))
	for i, r := range results {
		if r.ErrorCode == "" {
			r.ErrorCode = RevocationNone
		}
		// The libraries' CARevocationResult constructors refuse these.
		switch {
		case r.RequestContext == "":
			return fmt.Errorf("intune: %s: result %d has no RequestContext", path, i)
		case r.Succeeded && (r.ErrorCode != RevocationNone || r.ErrorMessage != ""):
			return fmt.Errorf("intune: %s: result %d succeeded but has an error", path, i)
		case !r.Succeeded && r.ErrorCode == RevocationNone:
			return fmt.Errorf("intune: %s: result %d failed without an ErrorCode", path, i)
		}
		out[i] = wire{r.RequestContext, r.Succeeded, r.ErrorCode, nullable(r.ErrorMessage)}
	}
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	activity, err := c.call(ctx, pkiService, path, pkiAPIVersion, map[string]any{"results": out}, &answer)
	if err != nil {
		return err
	}
	// The C# library reads value as a string and bool.TryParses it, so
	// both true and "true" (any case) are accepted.
	var b bool
	var s string
	if json.Unmarshal(answer.Value, &b) == nil && b ||
		json.Unmarshal(answer.Value, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "true") {
		return nil
	}
	return fmt.Errorf("intune: %s: Intune did not record the results (value %s, activity %s)", path, answer.Value, activity)
}
