// Package xcep implements the message layer of the X.509 Certificate
// Enrollment Policy Protocol ([MS-XCEP]): it parses GetPolicies requests and
// builds GetPoliciesResponse and SOAP fault envelopes. Messages use SOAP 1.2
// and WS-Addressing 1.0 (2005/08), as in the [MS-XCEP] §4.1 examples.
//
// What it owns:
//   - ParseRequest reads a GetPolicies envelope (§3.1.4.1.2.1): the
//     WS-Addressing headers, an optional WS-Security UsernameToken (clear-text
//     password only), client/lastUpdate, client/preferredLanguage and
//     requestFilter/policyOIDs.
//   - BuildResponse turns a Policy into a GetPoliciesResponse
//     (§3.1.4.1.2.2). Every element of each xs:sequence is written in schema
//     order; absent nillable values are written as xsi:nil="true". It assigns
//     the oIDReferenceID and cAReferenceID integers that tie policies, CAs and
//     OIDs together, applies the request's policyOIDs filter, and answers
//     policiesNotChanged when the client is up to date (§3.1.4.1.3.9).
//   - BuildFault writes a SOAP 1.2 fault envelope.
//   - The flag constants of §3.1.4.1.3.1 and helpers for the extensions that
//     Windows templates usually carry (key usage, EKU, application policies,
//     certificate template information).
//
// What it does not own: HTTP, request size limits, authentication (the
// caller checks the UsernameToken or the transport identity), deciding which
// templates a requester may see, and mapping domain errors to fault text.
// ParseRequest rejects DTDs and entity references, and caps the element depth
// at 64, but it reads whatever bytes it is given, so the caller bounds them.
//
// We deviate from the spec in small ways, each noted where it happens: the
// response is in one language only (preferredLanguage is returned to the
// caller but not used), requestFilter/clientVersion and serverVersion are
// ignored, and mustUnderstand headers are checked only for the SOAP roles
// "next" and "ultimateReceiver".
package xcep
