// Package scep is certgate's SCEP front-end (RFC 8894), served at
// /scep/{tenant}/{endpoint} (also with the /pkiclient.exe suffix clients
// append) and at NDES's /certsrv/mscep/mscep.dll for one configured
// endpoint.
//
// The service holds no key. Requests are encrypted to the endpoint's
// registration authority (RA), whose key ca-core keeps: the service asks
// ca-core to decrypt each request's content-encryption key and to sign
// each CertRep (ScepService), and to issue (IssuanceService). Challenge
// passwords are checked as the endpoint says — a static secret, a
// one-time challenge from ca-core, an HTTPS webhook, or Microsoft Intune
// (package intune) — and a RenewalReq signed with a valid certificate of
// the endpoint's CA needs none. Endpoints that require approval answer
// PENDING, and the device's CertPoll collects the decision.
//
// Answers use the client's own algorithms: the CertRep is encrypted with
// the cipher the request used (never DES when the client sent anything
// better) and signed with the request's digest, so that the strict
// Windows client and twenty-year-old routers both read it.
package scep
