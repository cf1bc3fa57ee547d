// Package ca manages a tenant's CA hierarchy: self-signed roots,
// intermediates and issuing CAs signed by them, and issuing or
// intermediate CAs under an external root (the key is generated here, the
// CSR is exported, the signed certificate imported). Keys are generated and
// used through a signer.Backend; CA certificates follow the built-in
// authority profiles (basic-ca-root, basic-ca-intermediate,
// basic-ca-subord) and RFC 5280 §4.2.1.9 path-length rules, and no CA
// certificate outlives its parent.
//
// Issuer hands the issuance pipeline a ready-to-sign CA: its record read
// fresh from the store (so that another replica's changes are seen at
// once), its parsed certificate and chain, and its signer, the last three
// cached by CA serial.
package ca
