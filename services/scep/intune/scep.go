package intune

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ValidateRequest asks Intune whether the PKCS#10 request csrDER, with its
// Intune challenge password, may be issued. transactionID is the SCEP
// transactionID; it correlates this call with the notification that must
// follow. A nil error means Success. A *ServiceError is Intune's refusal
// and any other error means Intune could not be asked; in both cases the
// SCEP server must not issue.
func (c *Client) ValidateRequest(ctx context.Context, transactionID string, csrDER []byte) error {
	if err := required("transactionID", transactionID, "CSR", string(csrDER)); err != nil {
		return err
	}
	return c.scepAction(ctx, "ScepActions/validateRequest", transactionID, map[string]any{
		"request": validateRequest{
			TransactionID:      transactionID,
			CertificateRequest: base64.StdEncoding.EncodeToString(csrDER),
			CallerInfo:         c.cfg.ProviderNameAndVersion,
		},
	})
}

// Success describes a certificate issued for a validated request.
type Success struct {
	TransactionID string
	// CSR is the PKCS#10 request (DER) that was validated.
	CSR         []byte
	Certificate *x509.Certificate
	// IssuingCA is the issuer's distinguished name. Default:
	// Certificate.Issuer.String().
	IssuingCA string
	// CAConfiguration and CertificateAuthority are optional free text
	// (ADCS calls them "server\CA name" and the CA's name); empty sends null.
	CAConfiguration      string
	CertificateAuthority string
}

// SendSuccessNotification tells Intune a certificate was issued. Intune
// shows it in its certificate reports and revokes it by serial number. If
// it fails, the SCEP server must not hand the certificate to the device
// (Microsoft's libraries say so).
//
// The libraries leave the formats to the caller. We send what .NET's
// X509Certificate2.Thumbprint and .SerialNumber and DateTime's "o" format
// give, as a Windows-based connector would: the upper-case hex SHA-1 of
// the certificate, the upper-case hex of the serial's DER INTEGER content
// (a leading 00 kept), and NotAfter in UTC with seven fractional digits
// (Microsoft's example is "2018-06-11T16:11:20.0904778Z"). Revocation
// requests later quote the serial as sent here.
func (c *Client) SendSuccessNotification(ctx context.Context, n Success) error {
	if n.Certificate == nil {
		return errors.New("intune: successNotification: Certificate is required")
	}
	if err := required("TransactionID", n.TransactionID, "CSR", string(n.CSR)); err != nil {
		return err
	}
	serial, err := SerialHex(n.Certificate)
	if err != nil {
		return err
	}
	issuer := n.IssuingCA
	if issuer == "" {
		issuer = n.Certificate.Issuer.String()
	}
	return c.scepAction(ctx, "ScepActions/successNotification", n.TransactionID, map[string]any{
		"notification": successNotification{
			TransactionID:                n.TransactionID,
			CertificateRequest:           base64.StdEncoding.EncodeToString(n.CSR),
			CertificateThumbprint:        Thumbprint(n.Certificate),
			CertificateSerialNumber:      serial,
			CertificateExpirationDateUTC: n.Certificate.NotAfter.UTC().Format(dotNetRoundTrip),
			IssuingCertificateAuthority:  issuer,
			CallerInfo:                   c.cfg.ProviderNameAndVersion,
			CAConfiguration:              nullable(n.CAConfiguration),
			CertificateAuthority:         nullable(n.CertificateAuthority),
		},
	})
}

// dotNetRoundTrip is .NET's "o" format of a UTC DateTime, the form in
// Microsoft's example ("2018-06-11T16:11:20.0904778Z").
const dotNetRoundTrip = "2006-01-02T15:04:05.0000000Z"

// MaxDescription is the longest errorDescription Intune takes, in UTF-16
// code units (a .NET string's Length).
const MaxDescription = 255

// SendFailureNotification tells Intune that a validated request will not
// be issued. hResult is a Windows HRESULT (see HResult) and is shown to the
// Intune administrator with description, which is cut to MaxDescription
// and must not be empty.
func (c *Client) SendFailureNotification(ctx context.Context, transactionID string, csrDER []byte, hResult int32, description string) error {
	if err := required("transactionID", transactionID, "CSR", string(csrDER), "description", strings.TrimSpace(description)); err != nil {
		return err
	}
	return c.scepAction(ctx, "ScepActions/failureNotification", transactionID, map[string]any{
		"notification": failureNotification{
			TransactionID:      transactionID,
			CertificateRequest: base64.StdEncoding.EncodeToString(csrDER),
			HResult:            hResult,
			ErrorDescription:   truncateUTF16(description, MaxDescription),
			CallerInfo:         c.cfg.ProviderNameAndVersion,
		},
	})
}

// Wire shapes, fields in the libraries' order.
type validateRequest struct {
	TransactionID      string `json:"transactionId"`
	CertificateRequest string `json:"certificateRequest"`
	CallerInfo         string `json:"callerInfo"`
}

type successNotification struct {
	TransactionID                string  `json:"transactionId"`
	CertificateRequest           string  `json:"certificateRequest"`
	CertificateThumbprint        string  `json:"certificateThumbprint"`
	CertificateSerialNumber      string  `json:"certificateSerialNumber"`
	CertificateExpirationDateUTC string  `json:"certificateExpirationDateUtc"`
	IssuingCertificateAuthority  string  `json:"issuingCertificateAuthority"`
	CallerInfo                   string  `json:"callerInfo"`
	CAConfiguration              *string `json:"caConfiguration"`
	CertificateAuthority         *string `json:"certificateAuthority"`
}

type failureNotification struct {
	TransactionID      string `json:"transactionId"`
	CertificateRequest string `json:"certificateRequest"`
	HResult            int32  `json:"hResult"`
	ErrorDescription   string `json:"errorDescription"`
	CallerInfo         string `json:"callerInfo"`
}

// scepAction makes a ScepActions call and turns its code into an error.
func (c *Client) scepAction(ctx context.Context, path, transactionID string, body any) error {
	var answer struct {
		Code             *string `json:"code"`
		ErrorDescription string  `json:"errorDescription"`
	}
	activity, err := c.call(ctx, scepService, path, scepAPIVersion, body, &answer)
	if err != nil {
		return err
	}
	if answer.Code == nil {
		return &UnavailableError{Op: path, StatusCode: 200, ActivityID: activity, Err: errors.New(`no "code" in the answer`)}
	}
	if *answer.Code != CodeSuccess {
		return newServiceError(*answer.Code, answer.ErrorDescription, transactionID, activity)
	}
	return nil
}

// Thumbprint is the certificate's SHA-1 thumbprint as Windows shows it:
// 40 upper-case hex digits.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// SerialHex is the certificate's serial number as Windows shows it: the
// upper-case hex of the DER INTEGER's content, so a serial whose top bit
// is set keeps its leading 00.
func SerialHex(cert *x509.Certificate) (string, error) {
	n := cert.SerialNumber
	if n == nil || n.Sign() < 0 {
		return "", fmt.Errorf("intune: serial number %v is not a positive integer", n)
	}
	b := n.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// required checks name/value pairs for empty values, as the libraries do
// before any call.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("intune: %s is required", pairs[i])
		}
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// truncateUTF16 cuts s to at most n UTF-16 code units without splitting a
// character.
func truncateUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2 // a surrogate pair
		}
		if units+w > n {
			return s[:i]
		}
		units += w
	}
	return s
}
