// Package wstep is certgate's Windows enrollment service: an MS-XCEP
// certificate enrollment policy server (CEP) at /wstep/{tenant}/{endpoint}/cep
// and an MS-WSTEP enrollment server (CES) at /wstep/{tenant}/{endpoint}/ces,
// so that Group Policy autoenrollment, certreq and the Certificates MMC get
// certificates from certgate as from ADCS.
//
// The policy lists the endpoint's templates (kept in ca-core, mapped to
// profiles); CES issues through ca-core. Requesters authenticate with
// Kerberos (SPNEGO, keytab for HTTP/<host>), a WS-Security UsernameToken
// checked by binding to the directory, or — for renewals — the signature
// of the certificate being renewed. The directory (package directory)
// supplies subjects, SANs, group memberships and the SID for strong
// certificate mapping. CMC responses are signed with the CA's registration
// authority, whose key stays in ca-core.
package wstep
