package dn_test

import (
	"bytes"
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/certgate/certgate/ca-core/dn"
)

// FuzzParse checks that Parse never panics and that every name it accepts
// survives Format: Parse(Format(seq)) marshals to the same DER, which is
// also what Parse of FormatDER of that DER gives.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases() {
		if len(tc.in) <= 512 {
			f.Add(tc.in)
		}
	}
	for _, s := range []string{
		`CN=James \"Jim\" Smith\, III,DC=example,DC=net`,
		`CN=Before\0dAfter,DC=example,DC=net`,
		"1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com",
		`CN=Lu\C4\8Di\C4\87`,
		`CN="quoted, value"+OU=x,O=#0c0141`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		seq, err := dn.Parse(in)
		if err != nil {
			if seq != nil {
				t.Fatalf("Parse(%q) returned a sequence with error %v", in, err)
			}
			if !strings.HasPrefix(err.Error(), "dn: ") {
				t.Fatalf("Parse(%q) error %q lacks the \"dn: \" prefix", in, err)
			}
			return
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatalf("asn1.Marshal(Parse(%q)): %v", in, err)
		}
		out := dn.Format(seq)
		back, err := dn.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", in, out, err)
		}
		der2, err := asn1.Marshal(back)
		if err != nil {
			t.Fatalf("asn1.Marshal(Parse(%q)): %v", out, err)
		}
		if !bytes.Equal(der, der2) {
			t.Fatalf("round trip of %q via %q changed the DER:\n%x\n%x", in, out, der, der2)
		}
		fromDER, err := dn.FormatDER(der)
		if err != nil {
			t.Fatalf("FormatDER(%x): %v", der, err)
		}
		fromSeq, err := dn.Parse(fromDER)
		if err != nil {
			t.Fatalf("Parse(FormatDER(%x)) = Parse(%q): %v", der, fromDER, err)
		}
		if der3, err := asn1.Marshal(fromSeq); err != nil || !bytes.Equal(der, der3) {
			t.Fatalf("Parse(FormatDER(%x)) = Parse(%q) marshals to %x (%v)", der, fromDER, der3, err)
		}
		_ = dn.FormatText(seq)
		n := 0
		for _, rdn := range seq {
			n += len(rdn)
		}
		if got := len(dn.Names(seq)); got != n {
			t.Fatalf("Names gave %d values, want %d", got, n)
		}
	})
}
