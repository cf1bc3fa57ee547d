package xcep

// Values of the uint32 flag fields of Template, as [MS-XCEP] §3.1.4.1.3.1
// lists them. The fields carry the template's msPKI-* attributes of
// [MS-CRTD] §2.26-2.28, which define more bits; of those we name only the
// two enrollment flags a policy server needs (EnrollmentPendAllRequests and
// EnrollmentAutoEnrollment). Callers can pass any other bit as a number.

// privateKeyFlags.
const (
	// PrivateKeyArchive asks the client to archive the private key with
	// the CA.
	PrivateKeyArchive uint32 = 0x00000001
	// PrivateKeyExportable lets the client mark the private key exportable.
	PrivateKeyExportable uint32 = 0x00000010
	// PrivateKeyStrongProtection asks the client to protect the private
	// key (for example, prompt the user whenever it is used).
	PrivateKeyStrongProtection uint32 = 0x00000020

	// The client and server versions a policy needs are coded in
	// privateKeyFlags; requestFilter/clientVersion and serverVersion compare
	// against these nibbles (§3.1.4.1.3.22).
	PrivateKeyClientVersionMask uint32 = 0x0F000000
	PrivateKeyServerVersionMask uint32 = 0x000F0000
)

// subjectNameFlags.
const (
	// SubjectNameEnrolleeSupplies: the client supplies the subject.
	SubjectNameEnrolleeSupplies uint32 = 0x00000001
	// SubjectNameOldCertSuppliesOnRenewal: on renewal, the client reuses
	// the subject and subject alternative name of the existing
	// certificate. Only valid with SubjectNameEnrolleeSupplies or
	// SubjectAltNameEnrolleeSupplies.
	SubjectNameOldCertSuppliesOnRenewal uint32 = 0x00000008
	// SubjectAltNameEnrolleeSupplies: the client supplies the subject
	// alternative name.
	SubjectAltNameEnrolleeSupplies uint32 = 0x00010000
	// SubjectAltNameRequireDomainDNS: the CA adds the DNS name of the root
	// domain of the requester's directory object to the SAN.
	SubjectAltNameRequireDomainDNS uint32 = 0x00400000
	// SubjectAltNameRequireSPN: the CA adds the requester's
	// userPrincipalName to the SAN, in the words of both specs; [MS-CRTD]
	// §2.28 names the bit CT_FLAG_SUBJECT_ALT_REQUIRE_SPN.
	SubjectAltNameRequireSPN uint32 = 0x00800000
	// SubjectAltNameRequireDirectoryGUID: the CA adds the requester's
	// objectGUID to the SAN.
	SubjectAltNameRequireDirectoryGUID uint32 = 0x01000000
	// SubjectAltNameRequireUPN: the CA adds the requester's
	// userPrincipalName to the SAN.
	SubjectAltNameRequireUPN uint32 = 0x02000000
	// SubjectAltNameRequireEmail: the CA adds the requester's mail
	// attribute to the SAN.
	SubjectAltNameRequireEmail uint32 = 0x04000000
	// SubjectAltNameRequireDNS: the CA adds the requester's dNSHostName to
	// the SAN.
	SubjectAltNameRequireDNS uint32 = 0x08000000
	// SubjectNameRequireDNSAsCN: the CA uses the requester's dNSHostName as
	// the subject CN.
	SubjectNameRequireDNSAsCN uint32 = 0x10000000
	// SubjectNameRequireEmail: the CA puts the requester's mail attribute
	// in the subject.
	SubjectNameRequireEmail uint32 = 0x20000000
	// SubjectNameRequireCommonName: the CA sets the subject to the
	// requester's cn attribute.
	SubjectNameRequireCommonName uint32 = 0x40000000
	// SubjectNameRequireDirectoryPath: the CA sets the subject to the
	// requester's distinguishedName.
	SubjectNameRequireDirectoryPath uint32 = 0x80000000
)

// enrollmentFlags.
const (
	// EnrollmentIncludeSymmetricAlgorithms: client and CA include the
	// S/MIME capabilities extension (RFC 4262).
	EnrollmentIncludeSymmetricAlgorithms uint32 = 0x00000001
	// EnrollmentPendAllRequests: the CA puts every request in the pending
	// state. [MS-CRTD] §2.26 (CT_FLAG_PEND_ALL_REQUESTS); not in the
	// [MS-XCEP] table.
	EnrollmentPendAllRequests uint32 = 0x00000002
	// EnrollmentPublishToDS: the CA appends the certificate to the
	// requester's userCertificate attribute.
	EnrollmentPublishToDS uint32 = 0x00000008
	// EnrollmentAutoEnrollmentCheckUserDSCertificate: the CA checks the
	// requester's userCertificate attribute for a valid certificate of
	// this template.
	EnrollmentAutoEnrollmentCheckUserDSCertificate uint32 = 0x00000010
	// EnrollmentAutoEnrollment: clients autoenroll for this template; set
	// it together with Template.AutoEnroll, the requester's permission.
	// [MS-CRTD] §2.26 (CT_FLAG_AUTO_ENROLLMENT); not in the [MS-XCEP]
	// table.
	EnrollmentAutoEnrollment uint32 = 0x00000020
	// EnrollmentPreviousApprovalValidateReenrollment: the client signs a
	// renewal request with the existing certificate's key, and the CA
	// treats it as a renewal ([MS-WCCE] §3.2.2.6.2.1.4.5.6).
	EnrollmentPreviousApprovalValidateReenrollment uint32 = 0x00000040
	// EnrollmentUserInteractionRequired: the client asks the user for
	// consent before enrolling.
	EnrollmentUserInteractionRequired uint32 = 0x00000100
	// EnrollmentRemoveInvalidCertificateFromPersonalStore: the client
	// deletes expired, revoked and renewed certificates from its stores.
	EnrollmentRemoveInvalidCertificateFromPersonalStore uint32 = 0x00000400
	// EnrollmentReuseKeyOnFullSmartCard: on smart-card renewal, the client
	// may reuse the key if it cannot create a new one on the card.
	EnrollmentReuseKeyOnFullSmartCard uint32 = 0x00002000
)

// generalFlags. The other bits §3.1.4.1.3.1 lists are reserved.
const (
	// GeneralMachineType: the template is for a machine.
	GeneralMachineType uint32 = 0x00000040
	// GeneralCA: the template is for a CA certificate.
	GeneralCA uint32 = 0x00000080
	// GeneralCrossCA: the template is for a cross-certificate.
	GeneralCrossCA uint32 = 0x00000800
)

// Values of CAURI.ClientAuthentication (§3.1.4.1.3.5): how a client
// authenticates to the enrollment (MS-WSTEP) endpoint.
const (
	AuthAnonymous        = 1
	AuthKerberos         = 2 // transport: HTTP Negotiate
	AuthUsernamePassword = 4 // message: WS-Security UsernameToken
	AuthCertificate      = 8 // TLS client certificate in practice
)

// Values of Template.KeySpec ([MS-WCCE] §3.1.2.4.2.2.1.5, pKIDefaultKeySpec).
const (
	KeySpecExchange  = 1 // AT_KEYEXCHANGE: encryption and signing
	KeySpecSignature = 2 // AT_SIGNATURE: signing only
)
