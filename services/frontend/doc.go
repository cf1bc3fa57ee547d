// Package frontend is the kit certgate's protocol front-ends (and the
// admin CLI) share to reach ca-core: a mutual-TLS gRPC connection whose
// client certificate carries the caller's identity, and Decode, which turns
// a failed call back into certgate's error vocabulary (reason, rule,
// detail, retry delay, request id) so that each front-end maps it to its
// protocol's error in one place.
package frontend
