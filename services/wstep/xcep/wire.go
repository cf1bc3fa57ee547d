package xcep

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Namespaces used on the wire ([MS-XCEP] §2.2.1, WS-Security 1.0).
const (
	nsSOAP12     = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsAddressing = "http://www.w3.org/2005/08/addressing"
	nsXCEP       = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
	nsWSSE       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	nsXS         = "http://www.w3.org/2001/XMLSchema"
)

// WS-Addressing actions of the GetPolicies operation ([MS-XCEP] §3.1.4.1).
const (
	ActionGetPolicies         = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies"
	ActionGetPoliciesResponse = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse"
)

const (
	// addressAnonymous is the only reply address we can honour: the reply
	// goes back on the HTTP response.
	addressAnonymous = "http://www.w3.org/2005/08/addressing/anonymous"
	// actionFault is the WS-Addressing default action for faults (WS-A Core
	// §3.3); actionSOAPFault is the one for faults that SOAP itself defines
	// (WS-A SOAP Binding §6).
	actionFault     = "http://www.w3.org/2005/08/addressing/fault"
	actionSOAPFault = "http://www.w3.org/2005/08/addressing/soap/fault"
)

// maxDepth bounds element nesting while parsing. A GetPolicies envelope is
// five levels deep; the rest is room for extension elements.
const maxDepth = 64

// errCharset is returned for any declared encoding other than UTF-8: SOAP 1.2
// over HTTP uses UTF-8 and we do not convert.
var errCharset = errors.New("xcep: only UTF-8 encoded messages are accepted")

// readDocument parses b strictly: no DTD, no entities beyond the five
// predefined ones, no processing instructions except the XML declaration,
// exactly one root element and no text outside it.
func readDocument(b []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader: func(string, io.Reader) (io.Reader, error) { return nil, errCharset },
		MaxDepth:      maxDepth,
	}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("xcep: malformed XML: %w", err)
	}
	if err := checkTokens(&doc.Element, true); err != nil {
		return nil, err
	}
	var roots int
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			roots++
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, errors.New("xcep: malformed XML: text outside the root element")
			}
		}
	}
	if roots != 1 {
		return nil, errors.New("xcep: malformed XML: want exactly one root element")
	}
	return doc, nil
}

// checkTokens rejects directives (DOCTYPE and friends) and processing
// instructions anywhere in the tree. encoding/xml does not expand entities
// declared in a DTD, but a DTD has no business in a SOAP message (SOAP 1.2
// Part 1 §5), so we refuse it outright.
func checkTokens(e *etree.Element, top bool) error {
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return errors.New("xcep: DOCTYPE and other XML directives are not allowed")
		case *etree.ProcInst:
			if !top || t.Target != "xml" {
				return errors.New("xcep: processing instructions are not allowed")
			}
		case *etree.Element:
			if err := checkTokens(t, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// is reports whether e is the element {ns}local.
func is(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

// attr returns the value of the attribute {ns}local and whether it exists.
// An empty ns matches only unqualified attributes.
func attr(e *etree.Element, ns, local string) (string, bool) {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key != local {
			continue
		}
		if ns == "" && a.Space == "" || ns != "" && a.Space != "" && a.NamespaceURI() == ns {
			return a.Value, true
		}
	}
	return "", false
}

// isNil reports whether e carries xsi:nil="true".
func isNil(e *etree.Element) bool {
	v, ok := attr(e, nsXSI, "nil")
	return ok && xsdBool(v)
}

// xsdBool reads an xs:boolean lexical value; anything else is false.
func xsdBool(v string) bool {
	v = strings.TrimSpace(v)
	return v == "true" || v == "1"
}

// children returns the child elements of e named {ns}local.
func children(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// child returns the single child {ns}local of e, nil if there is none, and
// an error if there are several: a repeated element in an xs:sequence that
// allows one is ambiguous, and we would rather refuse than guess.
func child(e *etree.Element, ns, local string) (*etree.Element, error) {
	cs := children(e, ns, local)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	default:
		return nil, fmt.Errorf("xcep: %s appears %d times in %s", local, len(cs), e.Tag)
	}
}

// text returns the character data of a simple-content element. Comments are
// skipped (the spec's own examples put them there); child elements are an
// error because a simple type has none.
func text(e *etree.Element) (string, error) {
	var b strings.Builder
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", fmt.Errorf("xcep: %s must hold text, not elements", e.Tag)
		}
	}
	return b.String(), nil
}

// writeSettings escapes \r in text and attribute values so that what we
// echo survives a round trip through an XML parser, which would otherwise
// normalize a raw carriage return away.
var writeSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// serialize writes doc with writeSettings. It writes to memory, so an error
// is not expected in practice.
func serialize(doc *etree.Document) ([]byte, error) {
	doc.WriteSettings = writeSettings
	return doc.WriteToBytes()
}
