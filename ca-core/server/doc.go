// Package server is ca-core's gRPC layer: thin handlers that check
// required fields, convert between the certgate.v1 messages and the domain
// packages, and call them. It decides nothing itself except who may call
// what: one interceptor identifies the caller from its mTLS certificate
// (package authz), checks the RPC against the access table (access.go),
// logs one record per call, counts it, and turns fault errors into gRPC
// statuses with google.rpc.ErrorInfo, RetryInfo and BadRequest details
// (errors.go), the only place that mapping happens.
package server
