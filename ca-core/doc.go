// Package cacore runs ca-core, the authority every certgate front-end calls:
// it loads the configuration, opens the store and the signer backends,
// wires the domain packages (ca, profile, policy, issuance, enrollment,
// authz, audit) behind the gRPC server (package server) with mutual TLS,
// serves Prometheus metrics and a health check, and runs the janitor that
// releases reservations left by a crashed replica and prunes expired rate
// windows and challenges. Run returns when its context ends, after every
// goroutine it started has stopped.
package cacore
