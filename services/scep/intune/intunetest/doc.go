// Package intunetest is a fake of the Microsoft services package intune
// talks to, in one httptest TLS server: the Entra ID token endpoint
// (client credentials), Microsoft Graph's service-principal endpoints list,
// and Intune's ScepRequestValidationFEService and PkiConnectorFEService.
//
// It is as strict as the real services are known to be and stricter where
// that catches client mistakes: tokens are bound to the scope they were
// issued for and expire, every Intune call must carry the exact
// api-version, a JSON Content-Type and a UUID client-request-id, and
// bodies with unknown or missing fields are refused with HTTP 400. Every
// request is recorded for assertions.
//
// Real Intune challenges are encrypted, signed blobs; this fake issues its
// own (NewChallenge: an HMAC-signed subject, DNS names and expiry) and
// validateRequest checks a CSR's challengePassword against them, answering
// the Intune code a real mismatch would get. Outcomes can also be scripted
// per transaction id (Script), and success notifications made to fail
// (FailSuccessNotifications).
package intunetest
