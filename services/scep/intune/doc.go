// Package intune is a client for Microsoft Intune's third-party-CA SCEP
// API: the calls a SCEP server makes so that devices managed by Intune can
// enroll with a challenge password Intune generated.
//
// It behaves as Microsoft's published libraries do
// (github.com/microsoft/Intune-Resource-Access, src/CsrValidation, Java
// and C#, MIT, at eae184e):
//
//   - OAuth 2.0 client credentials against Entra ID
//     ({Authority}{Tenant}/oauth2/v2.0/token, client secret only), with
//     one cached token per scope: Microsoft Graph ({GraphURL}.default) and
//     Intune ({IntuneResource}/.default, which with the default resource
//     is literally "https://api.manage.microsoft.com//.default");
//   - service discovery through Microsoft Graph
//     (GET {GraphURL}v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints),
//     cached, and forgotten whenever an Intune call fails in transport, so
//     that a moved service is found again;
//   - ScepRequestValidationFEService (api-version 2018-02-20):
//     ScepActions/validateRequest, successNotification and
//     failureNotification;
//   - PkiConnectorFEService (api-version 5019-05-05):
//     CertificateAuthorityRequests/downloadRevocationRequests and
//     uploadRevocationResults.
//
// Every call carries a new client-request-id (the libraries' "activity
// id"), reported in errors so that Microsoft support can find the call.
//
// Errors say who decided. A *ServiceError is Intune's answer: it looked at
// the request and refused it (validateRequest answering ChallengeExpired,
// for example); the SCEP server must not issue. An error matching
// ErrUnavailable (a *UnavailableError) means no answer was had: Entra ID,
// Graph or Intune could not be reached, answered with an HTTP error, or
// sent something unreadable. ErrServiceNotFound means discovery worked but
// the tenant does not offer the service to this app. Arguments the
// libraries would refuse are refused here before any network traffic.
//
// Deviations from the libraries, each on purpose: the legacy Azure AD
// Graph discovery fallback (retired by Microsoft) is not implemented;
// certificate credentials (client_assertion) are not supported; a missing
// service also forgets the discovery cache, so that granting the
// permission takes effect without a restart; an HTTP 401 from Intune also
// forgets the Intune token.
//
// The package does not decide when to call Intune (that is the SCEP
// service's configuration: a dedicated endpoint whose validator is
// Intune), nor store the integration's secrets.
//
// Package intunetest is a fake of Entra ID, Graph and Intune for tests.
package intune
