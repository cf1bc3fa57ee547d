// Package acme is ca-core's side of RFC 8555: it keeps ACME endpoints'
// state so that the ACME front-ends can be stateless. It decides what the
// protocol leaves to the server: which identifiers an order may name (DNS
// names and wildcards, RFC 8738 IP addresses), which challenges an
// authorization offers, how long authorizations and orders live and when
// valid authorizations are reused, whether a CSR asks for exactly its
// order's identifiers at finalization (RFC 8555 §7.4), how external account
// binding MACs are checked (§7.3.4), who may revoke a certificate (§7.6),
// and the renewal window of RFC 9773 (ARI).
//
// Parsing and verifying JWS, minting nonces for Replay-Nonce headers,
// validating challenges and speaking HTTP are the front-end's job
// (services/acme).
package acme
