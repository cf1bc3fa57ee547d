// Package proto holds certgate's gRPC contract. The API lives in
// certgate/v1: .proto files and the Go generated from them by `make proto`.
// It is the only coupling between the front-end services and ca-core;
// changes are additive only.
package proto
