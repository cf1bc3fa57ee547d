// Package policy decides what goes into an end-entity certificate. Given a
// profile, a PKCS#10 request whose signature has been checked (proof of
// possession), the overrides a caller supplied outside the CSR and the
// issuer's lifetime, Apply returns a certificate template or a fault naming
// the exact rule that refused the request ("profile.san.types",
// "profile.key_type", ...).
//
// It implements the seeds' issuance rules (spec/seed-002-part1.md §6, §7.8)
// on top of RFC 5280: subject attributes (§4.1.2.6), subjectAltName
// (§4.2.1.6, with the Microsoft UPN otherName), key usage and extended key
// usage (§4.2.1.3, §4.2.1.12), basic constraints (§4.2.1.9), validity
// clamped to the profile and the issuer (§4.1.2.5), and request extensions
// filtered by the profile. It does not sign, store, count quota or choose
// serials; package issuance does.
package policy
