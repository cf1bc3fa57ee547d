// Package jws is the request-authentication layer of certgate's RFC 8555
// (ACME) server.
//
// It owns:
//
//   - RFC 8555 §6.2 request authentication: decoding the flattened JSON JWS
//     serialization (RFC 7515 §7.2.2) that is the only form ACME allows,
//     enforcing the protected-header rules (alg, nonce, url and exactly one of
//     jwk/kid; no unprotected header, no multiple signatures, no "b64":false,
//     no "crit", no detached payload), the algorithm allow-list (RS256, ES256,
//     ES384, ES512 and RFC 8037 EdDSA with Ed25519) and the account-key policy,
//     and verifying the signature with a given public key.
//   - RFC 8555 §6.3 POST-as-GET detection (an empty payload).
//   - RFC 8555 §6.4 comparison of the protected "url" with the URL the
//     request was received at.
//   - RFC 8555 §6.5 presence and encoding of the protected "nonce"
//     (presence and base64url form only).
//   - RFC 8555 §7.3.4 external account binding structure, plus a
//     constant-time HMAC check for whoever holds the MAC key.
//   - RFC 8555 §7.3.5 account key rollover: the inner JWS and its payload.
//   - RFC 7638 JWK thumbprints and RFC 8555 §8.1 key authorizations.
//
// It does not own nonce storage or replay tracking (the caller checks
// [Request.Nonce] against its nonce store), account storage (the caller maps
// [Request.KID] to an account and its key, and checks that a new key is not
// already in use), MAC-key storage for external account binding, or anything
// HTTP: reading bodies, Content-Type, status codes and problem documents all
// belong to the HTTP layer, which maps [*Error] values to
// "urn:ietf:params:acme:error:" problem types.
//
// The usual flow for an account-authenticated request is:
//
//	req, err := jws.Parse(body)          // structure only, no signature check
//	err = req.CheckURL(receivedURL)      // §6.4
//	// check req.Nonce against the nonce store (§6.5)
//	// look up the account by req.KID, or use req.JWK for newAccount
//	err = req.Verify(accountKey)         // §6.2 signature
package jws
