// Package acme is certgate's RFC 8555 ACME server, the `certgate acme`
// role. It serves /acme/{tenant}/{endpoint}/... for every ACME endpoint
// ca-core assigns to it: the directory, nonces, accounts (with external
// account binding and key rollover), orders with dns and ip (RFC 8738)
// identifiers and wildcards, authorizations, http-01 / dns-01 /
// tls-alpn-01 (RFC 8737) validation, finalization, certificate download,
// revocation, ACME Renewal Information (RFC 9773) and ACME profiles.
//
// It keeps no state of its own: accounts, orders, authorizations,
// challenges and nonces live in ca-core (AcmeService), so any number of
// replicas can serve one URL. It parses and verifies JWS requests
// (subpackage jws), validates challenges (subpackage validate), and turns
// every ca-core error into an RFC 7807 problem in one function
// (problems.go).
package acme
