package jws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// checkJSONObject reports whether data is exactly one JSON object (surrounding
// whitespace allowed), valid UTF-8, in which no object at any depth has two
// members with the same name. encoding/json silently keeps the last duplicate
// and replaces invalid UTF-8, either of which would let two parsers disagree
// about what was signed.
func checkJSONObject(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	type frame struct {
		object  bool
		wantKey bool
		seen    map[string]struct{}
	}
	var stack []*frame
	// valueDone records that a complete value was read inside the innermost
	// container, so an enclosing object expects a member name next.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if first || len(stack) != 0 {
				return errors.New("unexpected end of JSON input")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("not a JSON object")
			}
			first = false
		} else if len(stack) == 0 {
			return errors.New("trailing data after JSON object")
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			name, ok := tok.(string)
			if !ok {
				return errors.New("invalid object member name")
			}
			if _, dup := top.seen[name]; dup {
				return fmt.Errorf("duplicate member %q", name)
			}
			top.seen[name] = struct{}{}
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, seen: map[string]struct{}{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'), json.Delim('}'):
			if len(stack) == 0 {
				return errors.New("unbalanced JSON")
			}
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// decodeObject decodes a strictly checked JSON object into its members, keyed
// by their exact (case-sensitive) names.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if err := checkJSONObject(data); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// stringMember returns the string member name of obj. present is false when
// the member is absent; a present member that is not a JSON string (including
// null) is an error.
func stringMember(obj map[string]json.RawMessage, name string) (value string, present bool, err error) {
	raw, ok := obj[name]
	if !ok {
		return "", false, nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", true, malformed("%q must be a JSON string", name)
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, malformed("%q: %v", name, err)
	}
	return value, true, nil
}

// isBase64URL reports whether s uses only the base64url alphabet (RFC 4648
// §5), without padding or whitespace.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// decodeBase64URL decodes unpadded base64url (RFC 7515 §2) strictly: no
// padding, no whitespace or line breaks (which encoding/base64 would
// otherwise skip), and no non-zero trailing bits.
func decodeBase64URL(s string) ([]byte, error) {
	if !isBase64URL(s) {
		return nil, errors.New("invalid base64url character")
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// flattened is a decoded flattened JSON JWS (RFC 7515 §7.2.2) that passed the
// structural rules shared by outer requests, external account bindings and
// key-change inner objects.
type flattened struct {
	protectedB64 string
	payloadB64   string
	header       map[string]json.RawMessage
	payload      []byte
	signature    []byte
}

// signingInput is the JWS Signing Input (RFC 7515 §5.1 step 8) exactly as
// received.
func (f *flattened) signingInput() []byte {
	b := make([]byte, 0, len(f.protectedB64)+1+len(f.payloadB64))
	b = append(b, f.protectedB64...)
	b = append(b, '.')
	return append(b, f.payloadB64...)
}

// parseFlattened decodes body as a flattened JSON JWS with exactly the members
// "protected", "payload" and "signature", and a protected header that is a
// strict JSON object without "b64" (RFC 7797) or "crit". what names the object
// in error details.
func parseFlattened(body []byte, what string) (*flattened, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, malformed("%s is empty", what)
	}
	if trimmed[0] != '{' {
		if bytes.Count(trimmed, []byte{'.'}) == 2 {
			return nil, malformed("%s uses the JWS compact serialization; only the flattened JSON serialization is allowed", what)
		}
		return nil, malformed("%s is not a JSON object", what)
	}
	outer, err := decodeObject(body)
	if err != nil {
		return nil, malformed("%s is not valid JSON: %v", what, err)
	}
	if _, ok := outer["signatures"]; ok {
		return nil, malformed("%s uses the general JSON serialization (\"signatures\"); only the flattened serialization with one signature is allowed", what)
	}
	if _, ok := outer["header"]; ok {
		return nil, malformed("%s has an unprotected \"header\"; all header parameters must be protected", what)
	}
	for name := range outer {
		switch name {
		case "protected", "payload", "signature":
		default:
			return nil, malformed("%s has unexpected member %q", what, name)
		}
	}
	f := &flattened{}
	var present bool
	if f.protectedB64, present, err = stringMember(outer, "protected"); err != nil {
		return nil, err
	} else if !present || f.protectedB64 == "" {
		return nil, malformed("%s has no protected header", what)
	}
	if f.payloadB64, present, err = stringMember(outer, "payload"); err != nil {
		return nil, err
	} else if !present {
		return nil, malformed("%s has no payload; detached payloads are not allowed", what)
	}
	sigB64, present, err := stringMember(outer, "signature")
	if err != nil {
		return nil, err
	} else if !present || sigB64 == "" {
		return nil, malformed("%s has no signature", what)
	}

	protected, err := decodeBase64URL(f.protectedB64)
	if err != nil {
		return nil, malformed("%s protected header is not base64url: %v", what, err)
	}
	if f.header, err = decodeObject(protected); err != nil {
		return nil, malformed("%s protected header is not a valid JSON object: %v", what, err)
	}
	if f.payload, err = decodeBase64URL(f.payloadB64); err != nil {
		return nil, malformed("%s payload is not base64url: %v", what, err)
	}
	if f.signature, err = decodeBase64URL(sigB64); err != nil {
		return nil, malformed("%s signature is not base64url: %v", what, err)
	}
	if _, ok := f.header["b64"]; ok {
		return nil, malformed("%s uses the \"b64\" header parameter; the unencoded payload option (RFC 7797) is not allowed", what)
	}
	if _, ok := f.header["crit"]; ok {
		return nil, malformed("%s has a \"crit\" header parameter; no JWS extensions are supported", what)
	}
	return f, nil
}
