// Package e2e tests the artifact certgate ships: it builds cmd/certgate
// once, runs `certgate dev` in a temporary data directory, reads
// endpoints.json and drives the suite with real clients — the certgate
// admin CLI, openssl and the protocol clients of each front-end.
package e2e
