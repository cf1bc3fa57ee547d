// Package admincli is certgate's administrator command line: the code
// behind `certgate admin <noun> <verb> [flags] [args]`. It owns argument
// parsing, local validation of flag values, the connection settings
// (endpoints.json written by `certgate dev`, the CERTGATE_ENDPOINTS
// environment variable, or explicit --grpc/--ca-file/--cert/--key flags),
// and the text and JSON rendering of ca-core's answers.
//
// It does not own the API or its rules: every command is one or a few calls
// to ca-core's administrator gRPC services (proto/certgate/v1), made over
// the mutual-TLS connection of services/frontend, and every refusal is
// ca-core's, reported in certgate's error vocabulary (reason, rule, detail)
// as services/frontend decodes it. The package does not print errors or
// exit; Run returns them and cmd/certgate turns them into an exit status.
//
// Nouns: tenants, cas, profiles, endpoints, certs, end-entities,
// challenges, pending, audit. `certgate admin help` lists them with their
// verbs and the global flags.
package admincli
