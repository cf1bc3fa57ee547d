package dn

import (
	"encoding/asn1"
	"strings"
)

// stringKind is the ASN.1 string type Parse writes for an attribute's text
// value, and with it the set of encodings the attribute's syntax allows.
type stringKind uint8

const (
	// kindDirectory is a DirectoryString (RFC 5280 Appendix A), written as
	// UTF8String.
	kindDirectory stringKind = iota
	// kindPKCS9 is a PKCS9String (RFC 2985): IA5String or DirectoryString,
	// written as UTF8String.
	kindPKCS9
	// kindPrintable is a PrintableString.
	kindPrintable
	// kindIA5 is an IA5String.
	kindIA5
)

// attrType describes one attribute type of the name table.
type attrType struct {
	names   []string // aliases; names[0] is the short name Format writes
	oid     asn1.ObjectIdentifier
	kind    stringKind
	maxLen  int  // upper bound in characters; 0 when none is defined
	country bool // exactly two letters A-Z (ISO 3166-1 alpha-2)
}

// attrTypes is the read-only table of attribute types known by name.
var attrTypes = [...]attrType{
	{names: []string{"CN", "CommonName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 3}, maxLen: 64},
	{names: []string{"SN", "SurName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 4}, maxLen: 32768},
	{names: []string{"SERIALNUMBER", "DeviceSerialNumber"}, oid: asn1.ObjectIdentifier{2, 5, 4, 5}, kind: kindPrintable, maxLen: 64},
	{names: []string{"C", "Country"}, oid: asn1.ObjectIdentifier{2, 5, 4, 6}, kind: kindPrintable, maxLen: 2, country: true},
	{names: []string{"L", "Locality"}, oid: asn1.ObjectIdentifier{2, 5, 4, 7}, maxLen: 128},
	{names: []string{"ST", "S", "State"}, oid: asn1.ObjectIdentifier{2, 5, 4, 8}, maxLen: 128},
	{names: []string{"STREET", "StreetAddress"}, oid: asn1.ObjectIdentifier{2, 5, 4, 9}, maxLen: 128},
	{names: []string{"O", "Org", "Organization"}, oid: asn1.ObjectIdentifier{2, 5, 4, 10}, maxLen: 64},
	{names: []string{"OU", "OrganizationalUnit", "OrganizationUnit", "OrgUnit"}, oid: asn1.ObjectIdentifier{2, 5, 4, 11}, maxLen: 64},
	{names: []string{"T", "Title"}, oid: asn1.ObjectIdentifier{2, 5, 4, 12}, maxLen: 64},
	{names: []string{"BUSINESSCATEGORY"}, oid: asn1.ObjectIdentifier{2, 5, 4, 15}, maxLen: 128},
	{names: []string{"POSTALCODE"}, oid: asn1.ObjectIdentifier{2, 5, 4, 17}, maxLen: 40},
	{names: []string{"dnQualifier"}, oid: asn1.ObjectIdentifier{2, 5, 4, 46}, kind: kindPrintable},
	{names: []string{"givenName", "G", "GN"}, oid: asn1.ObjectIdentifier{2, 5, 4, 42}, maxLen: 32768},
	{names: []string{"I", "Initials"}, oid: asn1.ObjectIdentifier{2, 5, 4, 43}, maxLen: 32768},
	{names: []string{"ORGANIZATIONIDENTIFIER"}, oid: asn1.ObjectIdentifier{2, 5, 4, 97}},
	{names: []string{"UID"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}},
	{names: []string{"DC", "DomainComponent"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, kind: kindIA5},
	{names: []string{"E", "Email", "emailAddress"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, kind: kindIA5, maxLen: 255},
	{names: []string{"unstructuredName"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}, kind: kindPKCS9, maxLen: 255},
	{names: []string{"unstructuredAddress"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 8}, kind: kindPKCS9, maxLen: 255},
	{names: []string{"JurisdictionOfIncorporationLocalityName", "jurisdictionL"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}, maxLen: 128},
	{names: []string{"JurisdictionOfIncorporationStateOrProvinceName", "jurisdictionST"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}, maxLen: 128},
	{names: []string{"JurisdictionOfIncorporationCountryName", "jurisdictionC"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}, kind: kindPrintable, maxLen: 2, country: true},
	{names: []string{"TrademarkOfficeName"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 2}},
	{names: []string{"TrademarkCountryOrRegionName"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 3}},
	{names: []string{"TrademarkRegistration"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 4}},
	{names: []string{"LegalEntityIdentifier"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 5}},
	{names: []string{"WordMark"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 6}},
	{names: []string{"MarkType"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 1, 13}},
	{names: []string{"StatuteCountryName"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 3, 2}},
	{names: []string{"StatuteStateOrProvinceName"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 3, 3}},
	{names: []string{"StatuteLocalityName"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 3, 4}},
	{names: []string{"StatuteCitation"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 3, 5}},
	{names: []string{"StatuteURL"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 53087, 3, 6}},
}

// attrByName maps each lower-cased alias to its table entry; read-only.
var attrByName = func() map[string]*attrType {
	m := make(map[string]*attrType)
	for i := range attrTypes {
		for _, n := range attrTypes[i].names {
			m[strings.ToLower(n)] = &attrTypes[i]
		}
	}
	return m
}()

// attrByOID maps each dotted OID to its table entry; read-only.
var attrByOID = func() map[string]*attrType {
	m := make(map[string]*attrType, len(attrTypes))
	for i := range attrTypes {
		m[attrTypes[i].oid.String()] = &attrTypes[i]
	}
	return m
}()

// findOID returns the table entry for oid, or nil.
func findOID(oid asn1.ObjectIdentifier) *attrType {
	return attrByOID[oid.String()]
}

// Lookup returns the OID of a registered attribute name, matched without
// regard to case ("cn", "CommonName", "emailaddress"). It does not accept
// dotted OIDs; Parse does. The returned slice is the caller's to keep.
func Lookup(name string) (asn1.ObjectIdentifier, bool) {
	a, ok := attrByName[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return cloneOID(a.oid), true
}

// ShortName returns the short name Format writes for oid ("CN" for
// 2.5.4.3), or the dotted OID when the type is not in the table.
func ShortName(oid asn1.ObjectIdentifier) string {
	if a := findOID(oid); a != nil {
		return a.names[0]
	}
	return oid.String()
}

func cloneOID(oid asn1.ObjectIdentifier) asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier(nil), oid...)
}
