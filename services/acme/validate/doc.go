// Package validate performs the ACME challenge validations of certgate's
// ACME service: it proves, on behalf of an ACME client, that the client
// controls an identifier.
//
// It owns the network side of the three challenge types:
//
//   - http-01 (RFC 8555 §8.3): GET
//     http://{identifier}/.well-known/acme-challenge/{token} and compare the
//     body with the key authorization;
//   - dns-01 (RFC 8555 §8.4): look up the TXT records at
//     _acme-challenge.{name} and look for base64url(SHA-256(key
//     authorization));
//   - tls-alpn-01 (RFC 8737): a TLS handshake offering the "acme-tls/1"
//     protocol, then check the self-signed certificate's subjectAltName and
//     its critical acmeIdentifier extension;
//
// for "dns" identifiers and for "ip" identifiers (RFC 8738: http-01 and
// tls-alpn-01 only; tls-alpn-01 sends the reverse-mapping name as SNI).
// Names are resolved through a configurable DNS server (miekg/dns), never
// implicitly through the process's resolver, so that what the validator
// sees is what the operator configured; only "localhost" and its
// subdomains are loopback without a query (RFC 6761 §6.3).
//
// It does not own ACME state (accounts, orders, authorizations, challenge
// status, retries) nor JWS: the caller computes the key authorization
// (token + "." + base64url(JWK thumbprint)) and records the outcome.
// Identifier policy (which names and addresses a tenant may be issued) is
// not decided here either; private and loopback addresses are validated
// like any other, as a private PKI needs.
//
// Every failure is a *Problem whose Type is the RFC 8555 §6.7 error type
// (without the "urn:ietf:params:acme:error:" prefix) and whose Detail says
// precisely what was tried and what went wrong. The types are used as
// follows:
//
//   - malformed: the identifier, token or key authorization passed in is
//     not acceptable (a wildcard, a non-canonical IP address, dns-01 for an
//     IP address, …);
//   - dns: a lookup failed (NXDOMAIN, no records, SERVFAIL, timeout);
//   - connection: the target could not be reached or did not answer in
//     time, or sent the validator somewhere it will not go (a redirect to a
//     forbidden scheme or port, a redirect loop, too many redirects);
//   - tls: the TLS handshake failed;
//   - unauthorized: the target answered but did not take up the challenge
//     (HTTP status other than 200, no acme-tls/1, a certificate without
//     the acmeIdentifier extension);
//   - incorrectResponse: the target took up the challenge but its response
//     is wrong (another key authorization or digest, a body too long, a
//     certificate with other names, a non-critical extension, …).
//
// A Validator holds no mutable state and is safe for concurrent use.
package validate
