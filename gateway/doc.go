// Package gateway is certgate's front door for people and tools: the REST
// API (native and the Entrust CA-Gateway-compatible /cagw/v1), its OpenAPI
// description and the web console. It arrives with its own issues; until
// then this module only holds its place in the workspace.
package gateway
