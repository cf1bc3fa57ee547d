// Package wstepmsg is the message layer of [MS-WSTEP] (WS-Trust X.509v3
// Token Enrollment Extensions), the protocol Windows and cepces use to ask a
// Certificate Enrollment Web Service (CES) for a certificate. It reads the
// client's SOAP 1.2 RequestSecurityToken, writes the three answers a CES
// gives (issued, pending, fault) plus the key-exchange answer, and builds
// the CMC Full PKI Response that Windows expects beside an issued
// certificate.
//
// What it owns:
//
//   - [ParseRequest]: the SOAP 1.2 envelope and WS-Addressing header
//     (a:Action RST/wstep or RST/KET, a:MessageID, a:To), the WS-Security
//     UsernameToken (PasswordText only), and the wst:RequestSecurityToken
//     body ([MS-WSTEP] §3.1.4.1.3.3): RequestType, BinarySecurityToken,
//     RequestID, RequestKET and auth:AdditionalContext.
//   - The BinarySecurityToken, decoded by its DER content and never by its
//     ValueType ([MS-WSTEP] §4.1.1.1 says #PKCS7 and carries a bare
//     PKCS#10; cepces says …enrollment#PKCS10): a PKCS#10 request
//     ([MS-WCCE] §2.2.2.6.1), a CMS SignedData wrapping a PKCS#10 (renewal
//     signed with the old certificate, §2.2.2.6.2), or a CMC Full PKI
//     Request (SignedData over id-cct-PKIData, §2.2.2.6.3 and RFC 5272 §3.2).
//     Every SignerInfo's signature is verified; see [Request.Signer].
//   - The Windows template hints in the request ([MS-WCCE] §2.2.2.7.7):
//     extensions 1.3.6.1.4.1.311.20.2 and 1.3.6.1.4.1.311.21.7, the
//     CertificateTemplate name-value pair, and the AdditionalContext item.
//   - [Issued], [Pending], [KeyExchange] and [Fault]: whole SOAP envelopes
//     shaped like [MS-WSTEP] §4.1.1.2 and the CertificateEnrollmentWSDetail
//     fault of §3.1.4.1.3.7.
//   - [CMCResponse]: RFC 5272 PKIResponse in a CMS SignedData, laid out as
//     ADCS does (statusInfo, and on success szOID_ISSUED_CERT_HASH).
//
// What it does not do: authenticate anyone (the UsernameToken is handed
// over unchecked), check that a renewal signer chains to a trusted CA or is
// still valid, decide policy, or speak HTTP. The inner PKCS#10's own
// signature is not checked here either: inside CMS and CMC, Windows may
// send the [MS-WCCE] §2.2.2.6.5 "null signature", and the request key's
// SignerInfo is then the proof of possession. The caller runs those checks
// and maps its decision to an HRESULT for [Fault].
//
// Deviations: tokens must be DER, as [MS-WCCE] §3.1.1.4.3.1.2 requires (no
// BER indefinite lengths); RSASSA-PSS SignerInfos are not supported; a CMC
// request must carry exactly one PKCS#10 TaggedRequest, as ADCS requires
// (CRMF is refused). XML directives (DOCTYPE) are refused outright.
package wstepmsg
