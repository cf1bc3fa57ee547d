package validate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"strings"
)

// acmeTLS1 is the ALPN protocol of tls-alpn-01 (RFC 8737 §6.2).
const acmeTLS1 = "acme-tls/1"

// oidACMEIdentifier is id-pe-acmeIdentifier (RFC 8737 §6.1).
func oidACMEIdentifier() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}
}

// oidSubjectAltName is id-ce-subjectAltName (RFC 5280 §4.2.1.6).
func oidSubjectAltName() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 5, 29, 17} }

// GeneralName tags (RFC 5280 §4.2.1.6).
const (
	tagDNSName   = 2
	tagIPAddress = 7
)

// validateTLSALPN01 performs RFC 8737 §3 (and RFC 8738 §6 for IP
// addresses): a handshake with {identifier}:{TLSALPNPort} offering only
// acme-tls/1 must negotiate it and present one self-signed certificate
// whose subjectAltName is exactly the identifier and whose critical
// acmeIdentifier extension holds SHA-256(key authorization). The
// certificate chain is not verified.
func (v *Validator) validateTLSALPN01(ctx context.Context, t target, keyAuthorization string) *Problem {
	conn, p := v.dialHost(ctx, t.host(), v.tlsALPNPort, nil)
	if p != nil {
		return p
	}
	remote := conn.RemoteAddr().String()
	tc := tls.Client(conn, &tls.Config{
		ServerName:         t.sni(),
		NextProtos:         []string{acmeTLS1},
		InsecureSkipVerify: true, // the self-signed certificate is checked below
		MinVersion:         tls.VersionTLS12,
	})
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		var op *net.OpError
		switch {
		case isNetFailure(ctx, err):
			return problem(ProblemConnection, err, "%s: %s during the TLS handshake", remote, describeNetErr(ctx, err))
		case errors.As(err, &op) && op.Op == "remote error" && strings.Contains(op.Err.Error(), "no application protocol"):
			return problem(ProblemUnauthorized, err, "%s refused the %s protocol (no_application_protocol alert): it is not answering tls-alpn-01 challenges", remote, acmeTLS1)
		}
		return problem(ProblemTLS, err, "%s: TLS handshake with SNI %q failed: %v", remote, t.sni(), err)
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != acmeTLS1 {
		got := "none"
		if st.NegotiatedProtocol != "" {
			got = quote(st.NegotiatedProtocol)
		}
		return problem(ProblemUnauthorized, nil, "%s did not negotiate the %s protocol (negotiated: %s): it is not answering tls-alpn-01 challenges", remote, acmeTLS1, got)
	}
	if n := len(st.PeerCertificates); n != 1 {
		return problem(ProblemIncorrectResponse, nil, "%s presented %d certificates; tls-alpn-01 wants exactly one", remote, n)
	}
	return checkALPNCertificate(st.PeerCertificates[0], t, keyAuthorization, remote)
}

// checkALPNCertificate checks the tls-alpn-01 certificate cert presented
// by remote for t.
func checkALPNCertificate(cert *x509.Certificate, t target, keyAuthorization, remote string) *Problem {
	var san, acme *pkixExtension
	for i := range cert.Extensions {
		e := &cert.Extensions[i]
		switch {
		case e.Id.Equal(oidSubjectAltName()):
			san = &pkixExtension{critical: e.Critical, value: e.Value}
		case e.Id.Equal(oidACMEIdentifier()):
			acme = &pkixExtension{critical: e.Critical, value: e.Value}
		}
	}

	want := "dNSName " + t.name
	if t.isIP() {
		want = "iPAddress " + t.ip.String()
	}
	if san == nil {
		return problem(ProblemIncorrectResponse, nil, "the certificate presented by %s has no subjectAltName; want exactly %s", remote, want)
	}
	names, err := parseGeneralNames(san.value)
	if err != nil {
		return problem(ProblemIncorrectResponse, err, "the certificate presented by %s has a malformed subjectAltName: %v", remote, err)
	}
	if len(names) != 1 || !names[0].is(t) {
		shown := make([]string, len(names))
		for i, n := range names {
			shown[i] = n.String()
		}
		return problem(ProblemIncorrectResponse, nil, "the certificate presented by %s has subjectAltName [%s]; want exactly %s", remote, strings.Join(shown, ", "), want)
	}

	if acme == nil {
		return problem(ProblemUnauthorized, nil, "the certificate presented by %s has no acmeIdentifier extension (%s)", remote, oidACMEIdentifier())
	}
	if !acme.critical {
		return problem(ProblemIncorrectResponse, nil, "the acmeIdentifier extension of the certificate presented by %s is not critical (RFC 8737 §3)", remote)
	}
	var digest []byte
	rest, err := asn1.Unmarshal(acme.value, &digest)
	if err != nil || len(rest) != 0 || len(digest) != sha256.Size {
		return problem(ProblemIncorrectResponse, err, "the acmeIdentifier extension of the certificate presented by %s is not an OCTET STRING of %d bytes", remote, sha256.Size)
	}
	sum := sha256.Sum256([]byte(keyAuthorization))
	if subtle.ConstantTimeCompare(digest, sum[:]) != 1 {
		return problem(ProblemIncorrectResponse, nil, "the acmeIdentifier extension of the certificate presented by %s does not match the key authorization: got %x, want %x", remote, digest, sum)
	}
	return nil
}

type pkixExtension struct {
	critical bool
	value    []byte
}

// generalName is one entry of a subjectAltName.
type generalName struct {
	tag   int
	value []byte
}

func (n generalName) is(t target) bool {
	if t.isIP() {
		return n.tag == tagIPAddress && bytes.Equal(n.value, t.ip.AsSlice())
	}
	return n.tag == tagDNSName && strings.EqualFold(string(n.value), t.name)
}

func (n generalName) String() string {
	switch n.tag {
	case tagDNSName:
		return "dNSName " + string(n.value)
	case tagIPAddress:
		if len(n.value) == net.IPv4len || len(n.value) == net.IPv6len {
			return "iPAddress " + net.IP(n.value).String()
		}
		return fmt.Sprintf("iPAddress %x", n.value)
	}
	kinds := []string{"otherName", "rfc822Name", "dNSName", "x400Address", "directoryName", "ediPartyName", "uniformResourceIdentifier", "iPAddress", "registeredID"}
	if n.tag >= 0 && n.tag < len(kinds) {
		return kinds[n.tag]
	}
	return fmt.Sprintf("[%d]", n.tag)
}

// parseGeneralNames parses a subjectAltName extension value, keeping every
// entry, whatever its type.
func parseGeneralNames(der []byte) ([]generalName, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("not a SEQUENCE")
	}
	var names []generalName
	for in := seq.Bytes; len(in) > 0; {
		var gn asn1.RawValue
		if in, err = asn1.Unmarshal(in, &gn); err != nil {
			return nil, err
		}
		if gn.Class != asn1.ClassContextSpecific {
			return nil, errors.New("a GeneralName is not context-specific")
		}
		names = append(names, generalName{tag: gn.Tag, value: gn.Bytes})
	}
	if len(names) == 0 {
		return nil, errors.New("empty")
	}
	return names, nil
}
