// Package est is certgate's RFC 7030 Enrollment over Secure Transport
// server, the `certgate est` role. It serves /.well-known/est/{label}/...
// where the label names an EST endpoint of ca-core ("endpoint", or
// "tenant.endpoint"), and the unlabelled path for a configured default
// endpoint: cacerts, csrattrs (derived from the endpoint's profile),
// simpleenroll, simplereenroll and serverkeygen (the key pair is made in
// ca-core, returned as PKCS#8 or, when the CSR asks for it, encrypted to
// the client's certificate). fullcmc is not offered (501).
//
// The HTTP and wire layer is github.com/globalsign/est's router; this
// package is its backing CA. Clients authenticate as their endpoint says:
// HTTP Basic with the endpoint's credentials (checked by ca-core), a
// one-time challenge (as the Basic password or the CSR's challengePassword,
// consumed by ca-core on issuance), or a TLS client certificate the
// endpoint's CA issued (checked against ca-core's inventory). Endpoints
// that require approval answer 202 with Retry-After until an administrator
// decides. The service keeps no state.
package est
