package policy

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/certgate/certgate/ca-core/profile"
)

// The extension has the shape Windows writes: SEQUENCE { [0] { OID
// 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING "S-1-..." } } }.
func TestSIDExtensionEncoding(t *testing.T) {
	sid := "S-1-5-21-3623811015-3361044348-30300820-1013"
	ext, err := SIDExtension(sid)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("303ea03c060a2b060104018237190201a02e042c")
	if !bytes.HasPrefix(ext.Value, want) || !bytes.HasSuffix(ext.Value, []byte(sid)) || len(ext.Value) != len(want)+len(sid) || ext.Critical {
		t.Fatalf("got %x", ext.Value)
	}
	for _, bad := range []string{"", "S-1", "1-5-21", "S-1-5-21-x"} {
		if _, err := SIDExtension(bad); err == nil {
			t.Errorf("%q accepted as a SID", bad)
		}
	}
}

// Intune profiles keep the SID URI SAN and add the extension from it;
// requests without one get none, and a malformed one is refused.
func TestSIDFromIntuneSAN(t *testing.T) {
	p := prof(t, "intune-digital-signature")
	if !p.SIDExtension {
		t.Fatal("the intune profiles do not ask for the SID extension")
	}
	withURI := func(uri string) *Request {
		u, _ := url.Parse(uri)
		return &Request{CSR: csr(t, rsaKey, func(r *x509.CertificateRequest) { r.URIs = append(r.URIs, u) })}
	}
	d, err := Apply(p, withURI(SIDURIPrefix+"S-1-5-21-1-2-3-1001"), issuer, now)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range d.Template.ExtraExtensions {
		if e.Id.Equal(OIDSIDExtension) {
			found = bytes.HasSuffix(e.Value, []byte("S-1-5-21-1-2-3-1001"))
		}
	}
	if !found {
		t.Fatal("no SID extension")
	}
	var kept bool
	for _, s := range d.SANs {
		kept = kept || (s.Type == profile.SANURI && s.Value == SIDURIPrefix+"S-1-5-21-1-2-3-1001")
	}
	if !kept {
		t.Fatalf("SID URI SAN dropped: %v", d.SANs)
	}
	d, err = Apply(p, &Request{CSR: csr(t, rsaKey, nil)}, issuer, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Template.ExtraExtensions {
		if e.Id.Equal(OIDSIDExtension) {
			t.Fatal("SID extension without a SID")
		}
	}
	if _, err := Apply(p, withURI(SIDURIPrefix+"not-a-sid"), issuer, now); err == nil {
		t.Fatal("malformed SID accepted")
	}
}

// A front-end's SID (WSTEP, from the directory) is written by profiles
// that allow the extension, and not by others.
func TestSIDFromFrontend(t *testing.T) {
	req := func() *Request { return &Request{CSR: csr(t, rsaKey, nil), SID: "S-1-5-21-9-8-7-500"} }
	d, err := Apply(prof(t, "wstep-digital-signature"), req(), issuer, now)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range d.Template.ExtraExtensions {
		found = found || (e.Id.Equal(OIDSIDExtension) && bytes.HasSuffix(e.Value, []byte("S-1-5-21-9-8-7-500")))
	}
	if !found {
		t.Fatal("wstep profile did not write the SID")
	}
	d, err = Apply(prof(t, "privatessl-tls-server"), req(), issuer, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Template.ExtraExtensions {
		if e.Id.Equal(OIDSIDExtension) {
			t.Fatal("a TLS profile wrote a SID extension")
		}
	}
}
