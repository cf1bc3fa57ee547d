package wstepmsg

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"github.com/certgate/certgate/services/cms"
	"math"
	"sort"
	"strconv"
)

// CMCStatus is an RFC 5272 §6.1.1 CMCStatus.
type CMCStatus int

// The statuses a CES reports (prefixed: [Pending] is the response).
const (
	// CMCSuccess: the certificate was issued.
	CMCSuccess CMCStatus = 0
	// CMCFailed: the request was denied.
	CMCFailed CMCStatus = 2
	// CMCPending: the request awaits a decision; poll with QueryTokenStatus.
	CMCPending CMCStatus = 3
)

func (s CMCStatus) String() string {
	switch s {
	case CMCSuccess:
		return "success"
	case CMCFailed:
		return "failed"
	case CMCPending:
		return "pending"
	}
	return "CMCStatus(" + strconv.Itoa(int(s)) + ")"
}

var (
	// id-cmc-statusInfo (RFC 5272 §6.1.1).
	oidCMCStatusInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 7, 1}
	// szOID_CMC_ADD_ATTRIBUTES.
	oidCMCAddAttributes = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 10, 1}
	// szOID_ISSUED_CERT_HASH: SHA-1 of the issued certificate, which
	// Windows matches against the certificate it installs.
	oidIssuedCertHash = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 17}
)

// cmcStatusInfo is RFC 5272 §6.1.1 CMCStatusInfo without otherInfo.
type cmcStatusInfo struct {
	Status       int
	BodyList     []int64
	StatusString string `asn1:"utf8,optional"`
}

// pkiResponse is RFC 5272 §3.2.2 PKIResponse; the other two sequences are
// always empty here.
type pkiResponse struct {
	Controls []taggedAttribute
	CMS      []asn1.RawValue
	Other    []asn1.RawValue
}

// CMCResponse builds the CMC Full PKI Response that accompanies an answer
// to a WSTEP request, laid out as ADCS does ([MS-WSTEP] §4.1.1.2): a
// PKIResponse whose controlSequence holds id-cmc-statusInfo (bodyPartID 1:
// status, bodyList = bodyPartIDs, statusString when not empty) and, for
// CMCSuccess with an issued certificate, szOID_CMC_ADD_ATTRIBUTES (bodyPartID
// 2) carrying szOID_ISSUED_CERT_HASH = SHA-1(issued) for the requests in
// bodyPartIDs. cmsSequence and otherMsgSequence are empty.
//
// The PKIResponse is the content (id-cct-PKIResponse) of a CMS SignedData
// (RFC 5652 §5, version 3) whose certificates are issued (when not nil),
// chain and signerCert (when not already there), signed with SHA-256 by
// signer, the key of signerCert, with exactly the signed attributes
// contentType and messageDigest. RSA keys sign PKCS#1 v1.5 and are named
// rsaEncryption, as ADCS does; ECDSA and Ed25519 keys are supported too.
//
// bodyPartIDs must not be empty: pass [Request.BodyPartID].
func CMCResponse(status CMCStatus, statusString string, bodyPartIDs []int, issued *x509.Certificate,
	chain []*x509.Certificate, signerCert *x509.Certificate, signer crypto.Signer) ([]byte, error) {
	switch status {
	case CMCSuccess, CMCFailed, CMCPending:
	default:
		return nil, fmt.Errorf("wstepmsg: unsupported CMC status %d", int(status))
	}
	if len(bodyPartIDs) == 0 {
		return nil, errors.New("wstepmsg: CMC response needs at least one bodyPartID")
	}
	ids := make([]int64, len(bodyPartIDs))
	for i, id := range bodyPartIDs {
		if id < 0 || int64(id) > math.MaxUint32 {
			return nil, fmt.Errorf("wstepmsg: bodyPartID %d is out of range", id)
		}
		ids[i] = int64(id)
	}
	if signerCert == nil || signer == nil {
		return nil, errors.New("wstepmsg: CMC response needs a signing certificate and key")
	}

	info, err := asn1.Marshal(cmcStatusInfo{Status: int(status), BodyList: ids, StatusString: statusString})
	if err != nil {
		return nil, fmt.Errorf("wstepmsg: encoding CMCStatusInfo: %w", err)
	}
	controls := []taggedAttribute{{BodyPartID: 1, AttrType: oidCMCStatusInfo, AttrValues: []asn1.RawValue{{FullBytes: info}}}}
	if status == CMCSuccess && issued != nil {
		sum := sha1.Sum(issued.Raw)
		hash, err := asn1.Marshal(sum[:])
		if err != nil {
			return nil, err
		}
		hashAttr, err := asn1.Marshal(attribute{Type: oidIssuedCertHash, Values: rawSet(hash)})
		if err != nil {
			return nil, err
		}
		// CMC_ADD_ATTRIBUTES_INFO: the attributes apply to the requests in
		// certReferences; dataReference 0 is the PKIData itself.
		add, err := asn1.Marshal(struct {
			DataReference  int64
			CertReferences []int64
			Attributes     asn1.RawValue
		}{0, ids, rawSet(hashAttr)})
		if err != nil {
			return nil, fmt.Errorf("wstepmsg: encoding CMC_ADD_ATTRIBUTES_INFO: %w", err)
		}
		controls = append(controls, taggedAttribute{BodyPartID: 2, AttrType: oidCMCAddAttributes, AttrValues: []asn1.RawValue{{FullBytes: add}}})
	}
	resp, err := asn1.Marshal(pkiResponse{Controls: controls, CMS: []asn1.RawValue{}, Other: []asn1.RawValue{}})
	if err != nil {
		return nil, fmt.Errorf("wstepmsg: encoding PKIResponse: %w", err)
	}

	var certs []*x509.Certificate
	if issued != nil {
		certs = append(certs, issued)
	}
	certs = append(certs, chain...)
	if !containsCert(certs, signerCert) {
		certs = append(certs, signerCert)
	}
	return signCMS(oidPKIResponse, resp, certs, signerCert, signer)
}

// signCMS wraps content in a ContentInfo/SignedData signed by one signer
// with SHA-256 over the signed attributes contentType and messageDigest.
func signCMS(contentType asn1.ObjectIdentifier, content []byte, certs []*x509.Certificate,
	signerCert *x509.Certificate, signer crypto.Signer) ([]byte, error) {
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signerCert.PublicKey) {
		return nil, errors.New("wstepmsg: signer key does not match the signing certificate")
	}
	var (
		sigAlg pkix.AlgorithmIdentifier
		hash   = crypto.SHA256
	)
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}
	case ed25519.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidEd25519}
		hash = 0
	default:
		return nil, fmt.Errorf("wstepmsg: unsupported signing key type %T", signer.Public())
	}

	digest := sha256.Sum256(content)
	ctAttr, err := marshalAttribute(oidAttrContentType, contentType)
	if err != nil {
		return nil, err
	}
	mdAttr, err := marshalAttribute(oidAttrMessageDigest, digest[:])
	if err != nil {
		return nil, err
	}
	// DER SET OF: elements in ascending order of their encodings.
	attrs := [][]byte{ctAttr, mdAttr}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	signedAttrs := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(attrs, nil)}
	toSign, err := asn1.Marshal(signedAttrs)
	if err != nil {
		return nil, err
	}
	msg := toSign
	if hash != 0 {
		h := hash.New()
		h.Write(toSign)
		msg = h.Sum(nil)
	}
	sig, err := signer.Sign(rand.Reader, msg, hash)
	if err != nil {
		return nil, fmt.Errorf("wstepmsg: signing CMC response: %w", err)
	}
	signedAttrs.Class, signedAttrs.Tag = asn1.ClassContextSpecific, 0 // [0] IMPLICIT

	sidDER, err := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: signerCert.RawIssuer}, Serial: signerCert.SerialNumber})
	if err != nil {
		return nil, err
	}
	si := signerInfo{
		Version:            1,
		SID:                asn1.RawValue{FullBytes: sidDER},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: oidSHA256},
		SignedAttrs:        signedAttrs,
		SignatureAlgorithm: sigAlg,
		Signature:          sig,
	}
	econtent, err := asn1.Marshal(content)
	if err != nil {
		return nil, err
	}
	var raw [][]byte
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	sd := signedData{
		Version:          3, // RFC 5652 §5.1: eContentType is not id-data
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256}},
		EncapContentInfo: encapsulatedContentInfo{
			EContentType: contentType,
			EContent:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: econtent},
		},
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bytes.Join(raw, nil)},
		SignerInfos:  []signerInfo{si},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("wstepmsg: encoding SignedData: %w", err)
	}
	return cms.ContentInfo(oidSignedData, sdDER)
}

// marshalAttribute encodes an Attribute with a single value.
func marshalAttribute(oid asn1.ObjectIdentifier, value any) ([]byte, error) {
	v, err := asn1.Marshal(value)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(attribute{Type: oid, Values: rawSet(v)})
}

// rawSet wraps DER elements in a SET.
func rawSet(elems ...[]byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(elems, nil)}
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}
