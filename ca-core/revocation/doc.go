// Package revocation publishes certificate status: it revokes, holds and
// releases certificates (with their audit events and licences), generates
// each CA's full CRL (RFC 5280 §5: crlNumber, reason codes, invalidity
// dates; seven-day nextUpdate by default) on a schedule and shortly after
// every change, with exactly one replica generating a CA's CRL at a time
// (a lease in the store) and CRL numbers that never go backwards; keeps a
// delegated OCSP responder certificate per CA (id-kp-OCSPSigning,
// id-pkix-ocsp-nocheck, renewed at half its life); answers OCSP (RFC 6960
// POST, RFC 5019 GET, nonce echo, several certificates per request) with
// cached, pre-signed responses that every replica invalidates within a
// second of a status change; serves CRLs and CA certificates over HTTP; and
// runs bulk revocation jobs.
//
// The OCSP wire format lives in the subpackage ocspwire.
package revocation
