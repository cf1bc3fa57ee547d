// Package issuance is the one issuance pipeline every protocol ends in:
// resolve the endpoint, CA and profile; check the CSR's proof of
// possession; apply the profile (package policy); admit the request
// against rate windows, the tenant's active-certificate quota, the
// end-entity's state and the endpoint's one-time challenge; sign; store;
// audit. Admission reserves a serial and a quota unit in one short
// transaction; signing happens outside any transaction; a second
// transaction finalizes the certificate, or the reservation is released so
// that a refused or failed request leaves nothing behind.
//
// Requests carrying a request key are idempotent: a retry returns the
// certificate issued the first time without consuming quota again.
package issuance
