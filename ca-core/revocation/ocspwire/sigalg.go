package ocspwire

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// sigAlg is one signature algorithm CreateResponse can sign with.
type sigAlg struct {
	alg  x509.SignatureAlgorithm
	hash crypto.Hash
	oid  string // signature OID; id-RSASSA-PSS for PSS
	rsa  bool   // RSA key (PKCS #1 v1.5 or PSS); ECDSA otherwise
	pss  bool
}

// signatureAlgorithmFor returns the algorithm alg, checking that pub is a
// key it can be used with.
func signatureAlgorithmFor(alg x509.SignatureAlgorithm, pub crypto.PublicKey) (sigAlg, error) {
	var sa sigAlg
	switch alg {
	case x509.SHA256WithRSA:
		sa = sigAlg{alg, crypto.SHA256, oidSHA256WithRSA, true, false}
	case x509.SHA384WithRSA:
		sa = sigAlg{alg, crypto.SHA384, oidSHA384WithRSA, true, false}
	case x509.SHA512WithRSA:
		sa = sigAlg{alg, crypto.SHA512, oidSHA512WithRSA, true, false}
	case x509.SHA256WithRSAPSS:
		sa = sigAlg{alg, crypto.SHA256, oidRSASSAPSS, true, true}
	case x509.SHA384WithRSAPSS:
		sa = sigAlg{alg, crypto.SHA384, oidRSASSAPSS, true, true}
	case x509.SHA512WithRSAPSS:
		sa = sigAlg{alg, crypto.SHA512, oidRSASSAPSS, true, true}
	case x509.ECDSAWithSHA256:
		sa = sigAlg{alg, crypto.SHA256, oidECDSAWithSHA256, false, false}
	case x509.ECDSAWithSHA384:
		sa = sigAlg{alg, crypto.SHA384, oidECDSAWithSHA384, false, false}
	case x509.ECDSAWithSHA512:
		sa = sigAlg{alg, crypto.SHA512, oidECDSAWithSHA512, false, false}
	default:
		return sigAlg{}, fmt.Errorf("ocspwire: unsupported signature algorithm %v", alg)
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		if sa.rsa {
			return sa, nil
		}
	case *ecdsa.PublicKey:
		if !sa.rsa {
			return sa, nil
		}
	}
	return sigAlg{}, fmt.Errorf("ocspwire: signature algorithm %v does not match a %T signer", alg, pub)
}

// addAlgorithmIdentifier appends the signatureAlgorithm of the
// BasicOCSPResponse, encoded as crypto/x509 and OpenSSL encode it in
// certificates.
func (sa sigAlg) addAlgorithmIdentifier(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, sa.oid)
		switch {
		case sa.pss:
			// RFC 4055 §3.1:
			//   RSASSA-PSS-params ::= SEQUENCE {
			//       hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
			//       maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
			//       saltLength         [2] INTEGER DEFAULT 20,
			//       trailerField       [3] INTEGER DEFAULT 1 }
			// with the hash, the MGF1 hash and a salt of the hash's
			// length; trailerField is the default and omitted.
			hashOID, _ := oidForHash(sa.hash)
			hashAlgID := func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					addOID(b, hashOID)
					b.AddASN1NULL()
				})
			}
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(tagExplicit0, hashAlgID)
				b.AddASN1(tagExplicit1, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidMGF1)
						hashAlgID(b)
					})
				})
				b.AddASN1(tagExplicit2, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(sa.hash.Size()))
				})
			})
		case sa.rsa:
			b.AddASN1NULL() // RFC 4055 §5: parameters MUST be NULL
		default:
			// RFC 5758 §3.2: parameters MUST be absent.
		}
	})
}

// sign signs tbs and verifies the result with pub.
func (sa sigAlg) sign(signer crypto.Signer, pub crypto.PublicKey, tbs []byte) ([]byte, error) {
	digest := hashSum(sa.hash, tbs)
	var opts crypto.SignerOpts = sa.hash
	pssOpts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: sa.hash}
	if sa.pss {
		opts = pssOpts
	}
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("ocspwire: signing the response: %w", err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if sa.pss {
			err = rsa.VerifyPSS(k, sa.hash, digest, sig, pssOpts)
		} else {
			err = rsa.VerifyPKCS1v15(k, sa.hash, digest, sig)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			err = errors.New("ECDSA verification failed")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ocspwire: the signer produced a signature that does not verify (%v): %w", sa.alg, err)
	}
	return sig, nil
}
