package store

import (
	"time"

	"github.com/certgate/certgate/ca-core/keys"
)

// Tenant is a tenant row.
type Tenant struct {
	ID          string
	DisplayName string
	// MaxActive caps active certificates; 0 = no cap.
	MaxActive int64
	// RatePerWindow caps issuance requests per RateWindow; 0 = no limit.
	RatePerWindow int64
	CreatedAt     time.Time
}

// CAStatus is a CA's lifecycle state.
type CAStatus string

const (
	CAActive             CAStatus = "active"
	CAPendingCertificate CAStatus = "pending_certificate"
)

// CA is a certificate authority row.
type CA struct {
	Tenant       string
	ID           string
	FriendlyName string
	// Type is a profile.CAType value.
	Type       string
	Status     CAStatus
	Parent     string
	KeyType    keys.Type
	RSAPSS     bool
	KeyBackend string
	// KeyRef locates the key in its backend; empty for external roots.
	KeyRef    string
	Subject   string
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	// Cert is DER; nil while pending.
	Cert []byte
	// CSR is DER, kept for CAs under an external root.
	CSR       []byte
	Profiles  []string
	PathLen   int
	CreatedAt time.Time
	// CRLEnabled and OCSPEnabled publish the CA's revocation status and
	// put CRL distribution point and AIA extensions in what it signs.
	CRLEnabled  bool
	OCSPEnabled bool
}

// Endpoint is an enrollment endpoint row.
type Endpoint struct {
	Tenant          string
	ID              string
	Protocol        string
	Description     string
	CA              string
	DefaultProfile  string
	AllowedProfiles []string
	Frontend        string
	Disabled        bool
	AuthMethod      string
	AuthUsername    string
	// SecretHash is a salted hash (see package secret); never the secret.
	SecretHash        string
	RatePerWindow     int64
	RequireRegistered bool
	CreatedAt         time.Time
	// Settings are protocol-specific options.
	Settings EndpointSettings
}

// EndpointSettings are an endpoint's protocol-specific options, stored as
// JSON so that protocols can add theirs without a migration each.
type EndpointSettings struct {
	ACME *ACMESettings `json:"acme,omitempty"`
	// RequireApproval sends every front-end request through a pending
	// request an administrator decides.
	RequireApproval bool           `json:"require_approval,omitempty"`
	SCEP            *SCEPSettings  `json:"scep,omitempty"`
	MDMWS           *MDMWSSettings `json:"mdmws,omitempty"`
	WSTEP           *WSTEPSettings `json:"wstep,omitempty"`
}

// WSTEPSettings are a wstep endpoint's enrollment policy.
type WSTEPSettings struct {
	PolicyID           string          `json:"policy_id"`
	PolicyFriendlyName string          `json:"policy_friendly_name,omitempty"`
	Templates          []WSTEPTemplate `json:"templates,omitempty"`
}

// WSTEPTemplate is a Windows certificate template mapped to a profile.
type WSTEPTemplate struct {
	Name                 string        `json:"name"`
	OID                  string        `json:"oid"`
	DisplayName          string        `json:"display_name,omitempty"`
	Profile              string        `json:"profile"`
	MajorRevision        int32         `json:"major_revision,omitempty"`
	MinorRevision        int32         `json:"minor_revision,omitempty"`
	SubjectFromDirectory bool          `json:"subject_from_directory,omitempty"`
	Machine              bool          `json:"machine,omitempty"`
	Autoenroll           bool          `json:"autoenroll,omitempty"`
	EnrollGroups         []string      `json:"enroll_groups,omitempty"`
	RenewalPeriod        time.Duration `json:"renewal_period,omitempty"`
	Supersedes           []string      `json:"supersedes,omitempty"`
}

// MDMWSSettings are the options of an MDM configuration.
type MDMWSSettings struct {
	Platform         string `json:"platform,omitempty"`
	DefaultDigitalID string `json:"default_digital_id,omitempty"`
	// SCEPFrontend enrolls the configuration's devices. Default: scep.
	SCEPFrontend string `json:"scep_frontend,omitempty"`
}

// ServedBy reports whether front-end name may use e: its own, and for an
// MDM configuration also the SCEP front-end its devices enroll through.
func (e *Endpoint) ServedBy(name string) bool {
	if e.Frontend == name {
		return true
	}
	if e.Protocol != "mdmws" {
		return false
	}
	scep := "scep"
	if m := e.Settings.MDMWS; m != nil && m.SCEPFrontend != "" {
		scep = m.SCEPFrontend
	}
	return name == scep
}

// DigitalID is an MDM configuration's subject and SAN template.
type DigitalID struct {
	Tenant     string
	Endpoint   string
	Name       string
	ParentDN   string
	RDNFormat  string
	SANFormats []string
	CA         string
	Profile    string
	// Mode is scep or pkcs12.
	Mode      string
	CreatedAt time.Time
}

// SCEPSettings are the options of a SCEP endpoint.
type SCEPSettings struct {
	// NextCA will replace the endpoint's CA; GetNextCACert announces it.
	NextCA string `json:"next_ca,omitempty"`
	// WebhookURL decides requests for auth method webhook.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// ACMESettings are the directory meta of an ACME endpoint.
type ACMESettings struct {
	TermsOfService string `json:"terms_of_service,omitempty"`
	Website        string `json:"website,omitempty"`
}

// CertStatus is an inventory state.
type CertStatus string

const (
	// CertReserved marks a serial and quota unit held while signing.
	CertReserved CertStatus = "reserved"
	CertIssued   CertStatus = "issued"
	CertOnHold   CertStatus = "on_hold"
	CertRevoked  CertStatus = "revoked"
	CertExpired  CertStatus = "expired"
)

// SAN is one subjectAltName entry.
type SAN struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Certificate is an inventory row.
type Certificate struct {
	Serial      string
	Tenant      string
	CA          string
	Profile     string
	Endpoint    string
	EndEntity   string
	Status      CertStatus
	Subject     string
	SANs        []SAN
	KeyType     keys.Type
	NotBefore   time.Time
	NotAfter    time.Time
	DER         []byte
	SHA256      string
	Requester   string
	IssuedAt    time.Time
	RequestKey  string
	RequestHash string
	// CountsQuota is false for CA and OCSP-responder certificates.
	CountsQuota bool
	// Revocation details: set while revoked or on hold.
	RevokedAt time.Time
	// RevocationReason is the RFC 5280 CRLReason code, -1 when none.
	RevocationReason int
	InvalidityDate   time.Time
}

// EffectiveStatus reports expired for issued or held certificates past
// notAfter, whether or not the expiry sweep has marked them yet.
func (c *Certificate) EffectiveStatus(now time.Time) CertStatus {
	if (c.Status == CertIssued || c.Status == CertOnHold) && !now.Before(c.NotAfter) {
		return CertExpired
	}
	return c.Status
}

// EndEntityStatus is an end-entity lifecycle state.
type EndEntityStatus string

const (
	EntityActive         EndEntityStatus = "active"
	EntityDeactivated    EndEntityStatus = "deactivated"
	EntityDecommissioned EndEntityStatus = "decommissioned"
)

// EndEntity is a subscriber of an endpoint.
type EndEntity struct {
	Tenant         string
	Endpoint       string
	ID             string
	Protocol       string
	Status         EndEntityStatus
	ExpiresAt      time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastEnrolledAt time.Time
}

// Challenge is a one-time challenge; only the value's hash is stored.
type Challenge struct {
	ID        string
	Tenant    string
	Endpoint  string
	ValueHash string
	EndEntity string
	// Binding, when set, is the canonical subject and SANs (see
	// issuance.BindingOf) the challenge alone may issue.
	Binding string
	// ApplyBinding makes the enrollment take Binding's subject and SANs
	// (and Profile) instead of the CSR's: a Digital ID challenge.
	ApplyBinding bool
	Profile      string
	DigitalID    string
	ExpiresAt    time.Time
	CreatedAt    time.Time
	UsedAt       time.Time
}

// PendingStatus is a pending request's state.
type PendingStatus string

const (
	PendingWaiting  PendingStatus = "pending"
	PendingIssued   PendingStatus = "issued"
	PendingRejected PendingStatus = "rejected"
)

// PendingRequest waits for an administrator.
type PendingRequest struct {
	ID            string
	Tenant        string
	Endpoint      string
	TransactionID string
	Status        PendingStatus
	CSR           []byte
	Profile       string
	EndEntity     string
	Subject       string
	SANs          []SAN
	Serial        string
	Reason        string
	Requester     string
	DecidedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// RateWindow is the length of a rate-limit window (the seeds' 10 seconds).
const RateWindow = 10 * time.Second
