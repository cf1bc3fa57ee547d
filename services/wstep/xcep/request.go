package xcep

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Request is a parsed GetPolicies request.
type Request struct {
	// MessageID is a:MessageID, echoed as a:RelatesTo in the reply. Empty if
	// the client sent none.
	MessageID string
	// To is a:To if present. The caller may check it against its own URL.
	To string
	// LastUpdate is client/lastUpdate in UTC: when the client last fetched
	// this policy. It is zero when the element is absent or nil, and when
	// the client sends 0001-01-01T00:00:00, as Windows does on first fetch.
	LastUpdate time.Time
	// PreferredLanguage is client/preferredLanguage (an xs:language tag), or
	// empty.
	PreferredLanguage string
	// PolicyOIDs is requestFilter/policyOIDs/oid without duplicates: the
	// template OIDs the client asks for. Empty means no filter.
	PolicyOIDs []string
	// Username and Password come from the WS-Security UsernameToken in the
	// SOAP header, if there is one. Only clear-text passwords (PasswordText)
	// are accepted. Username is trimmed of surrounding white space; Password
	// is kept byte for byte.
	Username, Password string
}

// Errors that call for a specific SOAP 1.2 fault code (SOAP 1.2 Part 1
// §5.4.6). Any other ParseRequest error is the sender's fault (CodeSender).
var (
	// ErrVersionMismatch: the root element is not a SOAP 1.2 Envelope, for
	// example a SOAP 1.1 one. Answer with CodeVersionMismatch.
	ErrVersionMismatch = errors.New("xcep: not a SOAP 1.2 envelope")
	// ErrMustUnderstand: a header addressed to us carries
	// mustUnderstand="true" and is not one we process. Answer with
	// CodeMustUnderstand.
	ErrMustUnderstand = errors.New("xcep: mandatory SOAP header not understood")
)

// Password types of the WSS UsernameToken Profile 1.0 §3.1. An absent Type
// means PasswordText.
const (
	passwordText   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)

// SOAP 1.2 roles that mean "this node" for an endpoint (Part 1 §2.2).
const (
	roleNext             = "http://www.w3.org/2003/05/soap-envelope/role/next"
	roleUltimateReceiver = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
)

// ParseRequest parses a GetPolicies request envelope ([MS-XCEP]
// §3.1.4.1.1.1). It checks that the message is SOAP 1.2, that a:Action is
// ActionGetPolicies, and that every mandatory header is understood. Errors
// are plain errors for the caller to turn into a fault with BuildFault; see
// ErrVersionMismatch and ErrMustUnderstand for the two that need their own
// fault code. The caller bounds the size of body.
func ParseRequest(body []byte) (*Request, error) {
	doc, err := readDocument(body)
	if err != nil {
		return nil, err
	}
	env := doc.Root()
	if !is(env, nsSOAP12, "Envelope") {
		return nil, fmt.Errorf("%w: root element is {%s}%s", ErrVersionMismatch, env.NamespaceURI(), env.Tag)
	}
	header, soapBody, err := envelopeParts(env)
	if err != nil {
		return nil, err
	}

	req := &Request{}
	var action string
	if header != nil {
		if action, err = req.readHeader(header); err != nil {
			return nil, err
		}
	}
	switch {
	case action == "":
		return nil, errors.New("xcep: missing a:Action header")
	case action != ActionGetPolicies:
		return nil, fmt.Errorf("xcep: unsupported a:Action %q", action)
	}

	var gp *etree.Element
	for _, c := range soapBody.ChildElements() {
		if gp != nil {
			return nil, errors.New("xcep: s:Body must hold exactly one element")
		}
		gp = c
	}
	if gp == nil || !is(gp, nsXCEP, "GetPolicies") {
		return nil, errors.New("xcep: s:Body does not hold an xcep:GetPolicies element")
	}
	if err := req.readGetPolicies(gp); err != nil {
		return nil, err
	}
	return req, nil
}

// envelopeParts returns the optional Header and the Body of a SOAP 1.2
// envelope, which allows no other child elements and this order only
// (SOAP 1.2 Part 1 §5.1).
func envelopeParts(env *etree.Element) (header, body *etree.Element, err error) {
	for _, c := range env.ChildElements() {
		switch {
		case is(c, nsSOAP12, "Header") && header == nil && body == nil:
			header = c
		case is(c, nsSOAP12, "Body") && body == nil:
			body = c
		default:
			return nil, nil, fmt.Errorf("xcep: unexpected element %s in s:Envelope", c.FullTag())
		}
	}
	if body == nil {
		return nil, nil, errors.New("xcep: s:Envelope has no s:Body")
	}
	return header, body, nil
}

// readHeader reads the WS-Addressing and WS-Security headers and returns
// the a:Action.
func (r *Request) readHeader(header *etree.Element) (action string, err error) {
	seen := map[string]bool{}
	once := func(h *etree.Element) error {
		if seen[h.Tag] {
			return fmt.Errorf("xcep: header %s appears more than once", h.Tag)
		}
		seen[h.Tag] = true
		return nil
	}
	for _, h := range header.ChildElements() {
		if !addressedToUs(h) {
			continue
		}
		switch {
		case is(h, nsAddressing, "Action"):
			if err = once(h); err == nil {
				action, err = trimmedText(h)
			}
		case is(h, nsAddressing, "MessageID"):
			if err = once(h); err == nil {
				r.MessageID, err = trimmedText(h)
			}
		case is(h, nsAddressing, "To"):
			if err = once(h); err == nil {
				r.To, err = trimmedText(h)
			}
		case is(h, nsAddressing, "ReplyTo"):
			if err = once(h); err == nil {
				err = checkReplyTo(h)
			}
		case h.NamespaceURI() == nsAddressing:
			// Other WS-Addressing headers (From, FaultTo, RelatesTo) carry
			// nothing a synchronous request/reply needs.
		case is(h, nsWSSE, "Security"):
			if err = once(h); err == nil {
				err = r.readSecurity(h)
			}
		default:
			if v, ok := attr(h, nsSOAP12, "mustUnderstand"); ok && xsdBool(v) {
				err = fmt.Errorf("%w: {%s}%s", ErrMustUnderstand, h.NamespaceURI(), h.Tag)
			}
		}
		if err != nil {
			return "", err
		}
	}
	return action, nil
}

// addressedToUs reports whether a header block targets this node: no role,
// or one of the two roles an ultimate receiver plays.
func addressedToUs(h *etree.Element) bool {
	role, ok := attr(h, nsSOAP12, "role")
	role = strings.TrimSpace(role)
	return !ok || role == "" || role == roleNext || role == roleUltimateReceiver
}

// checkReplyTo accepts only the anonymous address: the reply travels back on
// the HTTP response, so any other address cannot be honoured.
func checkReplyTo(h *etree.Element) error {
	addr, err := child(h, nsAddressing, "Address")
	if err != nil || addr == nil {
		return errors.New("xcep: a:ReplyTo needs exactly one a:Address")
	}
	v, err := trimmedText(addr)
	if err != nil {
		return err
	}
	if v != addressAnonymous {
		return fmt.Errorf("xcep: a:ReplyTo %q is not supported; only the anonymous address is", v)
	}
	return nil
}

// readSecurity reads the UsernameToken of a wsse:Security header, if any.
// Timestamps and other tokens are left to the caller's transport checks.
func (r *Request) readSecurity(sec *etree.Element) error {
	tok, err := child(sec, nsWSSE, "UsernameToken")
	if err != nil || tok == nil {
		return err
	}
	user, err := child(tok, nsWSSE, "Username")
	if err != nil {
		return err
	}
	pass, err := child(tok, nsWSSE, "Password")
	if err != nil {
		return err
	}
	if user == nil || pass == nil {
		return errors.New("xcep: UsernameToken needs a Username and a Password")
	}
	switch typ, _ := attr(pass, "", "Type"); strings.TrimSpace(typ) {
	case "", passwordText:
	case passwordDigest:
		return errors.New("xcep: UsernameToken PasswordDigest is not supported; send PasswordText over TLS")
	default:
		return fmt.Errorf("xcep: unknown UsernameToken password type %q", typ)
	}
	if r.Username, err = trimmedText(user); err != nil {
		return err
	}
	if r.Username == "" {
		return errors.New("xcep: UsernameToken has an empty Username")
	}
	r.Password, err = text(pass)
	return err
}

// readGetPolicies reads the GetPolicies body ([MS-XCEP] §3.1.4.1.2.1).
// Unknown child elements are ignored: client and requestFilter are open to
// extension (xs:any).
func (r *Request) readGetPolicies(gp *etree.Element) error {
	client, err := child(gp, nsXCEP, "client")
	if err != nil {
		return err
	}
	// §3.1.4.1.2.1: an absent or nil client MUST be answered with a fault.
	if client == nil || isNil(client) {
		return errors.New("xcep: GetPolicies has no client element")
	}
	if lu, err := optionalText(client, "lastUpdate"); err != nil {
		return err
	} else if lu != "" {
		if r.LastUpdate, err = parseDateTime(lu); err != nil {
			return fmt.Errorf("xcep: client/lastUpdate: %w", err)
		}
	}
	if r.PreferredLanguage, err = optionalText(client, "preferredLanguage"); err != nil {
		return err
	}

	filter, err := child(gp, nsXCEP, "requestFilter")
	if err != nil || filter == nil || isNil(filter) {
		return err
	}
	oids, err := child(filter, nsXCEP, "policyOIDs")
	if err != nil || oids == nil || isNil(oids) {
		return err
	}
	seen := map[string]bool{}
	for _, o := range children(oids, nsXCEP, "oid") {
		v, err := trimmedText(o)
		if err != nil {
			return err
		}
		if _, err := parseOID(v); err != nil {
			return fmt.Errorf("xcep: requestFilter/policyOIDs: %w", err)
		}
		if !seen[v] {
			seen[v] = true
			r.PolicyOIDs = append(r.PolicyOIDs, v)
		}
	}
	return nil
}

// optionalText returns the trimmed text of the xcep child local of e, or ""
// when it is absent or nil.
func optionalText(e *etree.Element, local string) (string, error) {
	c, err := child(e, nsXCEP, local)
	if err != nil || c == nil || isNil(c) {
		return "", err
	}
	return trimmedText(c)
}

// trimmedText is text with the surrounding white space removed, as the
// xs:collapse facet of xs:anyURI, xs:dateTime and xs:language allows (and
// as the spec's pretty-printed examples need).
func trimmedText(e *etree.Element) (string, error) {
	s, err := text(e)
	return strings.TrimSpace(s), err
}

// parseDateTime reads an xs:dateTime. [MS-XCEP] §3.1.4.1.3.9 says lastUpdate
// is GMT, so a value without a time zone is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", s)
}
