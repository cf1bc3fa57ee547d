// Package dn parses and formats X.509 subject and issuer Distinguished
// Names for ca-core.
//
// It owns the conversion between the RFC 4514 string form of a name
// ("CN=Example,O=Acme,C=US") and Go's pkix.RDNSequence, the table of
// attribute names certgate understands, and the choice of ASN.1 string type
// for every attribute value it encodes. It does not decide whether a subject
// is acceptable for a profile (required attributes, allowed values, empty
// subjects): callers do that with the sequence Parse returns. It holds no
// state; every function is safe for concurrent use.
//
// Implemented specifications:
//
//   - RFC 4514 §2 (converting a name to a string, including §2.4 escaping
//     and the "#" hex form for dotted-decimal attribute types), §3 (parsing
//     the string form) and the §4 examples. Quoted values from RFC 2253 and
//     unescaped spaces around "," "+" and "=" are accepted as a legacy
//     tolerance; ";" is not a separator.
//   - RFC 5280 §4.1.2.4 and Appendix A: Name, RDNSequence and
//     AttributeTypeAndValue structure, the DirectoryString choice, the
//     upper bounds (ub-*) on attribute values, PrintableString for
//     countryName, serialNumber and dnQualifier, IA5String for emailAddress
//     and domainComponent (RFC 4519), and UTF8String for every other
//     DirectoryString attribute.
//   - RFC 2985 (PKCS #9) for emailAddress, unstructuredName and
//     unstructuredAddress, and the CA/Browser Forum EV Guidelines for the
//     jurisdictionOfIncorporation attributes.
//
// Order: the string form is written most specific first ("CN=x,O=y") while
// a pkix.RDNSequence is in ASN.1 order, least specific first. Parse reverses
// the string and Format reverses the sequence, so that asn1.Marshal of a
// parsed name matches what OpenSSL builds for "-subj /O=y/CN=x".
//
// Parse stores every value as an asn1.RawValue carrying the ASN.1 tag that
// asn1.Marshal must write. Format is reversible: for any name Parse
// accepts, Parse(Format(seq)) marshals to the same DER. When the plain text
// of a value would re-parse to a different encoding (for example a
// commonName held as PrintableString, as crypto/x509 writes it), Format
// writes the "#" hex form that RFC 4514 §2.4 permits when a reversible
// string is wanted. FormatText and Names give the plain text of such values
// for display.
package dn
