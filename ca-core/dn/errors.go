package dn

import (
	"errors"
	"fmt"
)

// Limits on the names Parse accepts.
const (
	// MaxLen is the longest input, in bytes, Parse accepts. The RFC 4514
	// form Format writes for the parsed name must fit as well, so that
	// every accepted name can be parsed again from its formatted string.
	MaxLen = 4096
	// MaxRDNs is the largest number of RDNs Parse accepts.
	MaxRDNs = 64
)

// Sentinel errors returned by Parse.
var (
	// ErrEmpty reports an empty or all-space input. Whether an empty
	// subject is acceptable is the caller's decision.
	ErrEmpty = errors.New("dn: empty distinguished name")
	// ErrTooLong reports an input, or its formatted form, over MaxLen bytes.
	ErrTooLong = fmt.Errorf("dn: distinguished name longer than %d bytes", MaxLen)
	// ErrTooManyRDNs reports a name with more than MaxRDNs RDNs.
	ErrTooManyRDNs = fmt.Errorf("dn: more than %d RDNs", MaxRDNs)
)

// SyntaxError reports input that is not a well-formed RFC 4514 string.
type SyntaxError struct {
	Offset int    // byte offset in the input
	Msg    string // what is wrong there
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("dn: syntax error at offset %d: %s", e.Offset, e.Msg)
}

// UnknownAttributeError reports an attribute type name that is neither in
// the name table nor a dotted OID.
type UnknownAttributeError struct {
	Name string
}

func (e *UnknownAttributeError) Error() string {
	return fmt.Sprintf("dn: unknown attribute type %q", e.Name)
}

// ValueError reports an attribute value that is well formed but not
// acceptable for its attribute type: empty, too long, invalid UTF-8, or
// holding characters its ASN.1 string type cannot carry.
type ValueError struct {
	Attr   string // short name or dotted OID of the attribute type
	Offset int    // byte offset of the value in the input
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("dn: invalid %s value at offset %d: %s", e.Attr, e.Offset, e.Reason)
}
