package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/certgate/certgate/ca-core/keys"
)

// key is the crypto.Signer of one private key in the token.
type key struct {
	b   *Backend
	ref string
	id  []byte
	pub crypto.PublicKey

	// mu guards handle, handleGen and haveHandle: the private key's object
	// handle as found in module generation handleGen.
	mu         sync.Mutex
	handle     p11.ObjectHandle
	handleGen  uint64
	haveHandle bool
}

// Public returns the *rsa.PublicKey or *ecdsa.PublicKey read from the
// token's public key object.
func (k *key) Public() crypto.PublicKey { return k.pub }

// Sign signs digest, the opts.HashFunc() hash of the message, in the
// token. RSA keys use PKCS #1 v1.5, or PSS when opts is *rsa.PSSOptions;
// ECDSA signatures are returned ASN.1 DER encoded. rand is not used: the
// token has its own source.
func (k *key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, fmt.Errorf("pkcs11: sign with %s: no signer options", k.ref)
	}
	h := opts.HashFunc()
	hp, ok := hashParamsOf(h)
	if !ok {
		return nil, fmt.Errorf("pkcs11: sign with %s: unsupported hash %v (SHA-256, SHA-384 or SHA-512)", k.ref, h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("pkcs11: sign with %s: digest is %d bytes, %v needs %d", k.ref, len(digest), h, h.Size())
	}

	var (
		mech  []*p11.Mechanism
		input []byte
	)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			salt, err := pssSaltLength(pss, pub, h)
			if err != nil {
				return nil, fmt.Errorf("pkcs11: sign with %s: %w", k.ref, err)
			}
			params := p11.NewPSSParams(hp.mech, hp.mgf, uint(salt))
			mech = []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, params)}
			input = digest
		} else {
			di, err := asn1.Marshal(digestInfo{
				Algorithm: pkix.AlgorithmIdentifier{Algorithm: hp.oid, Parameters: asn1.NullRawValue},
				Digest:    digest,
			})
			if err != nil {
				return nil, fmt.Errorf("pkcs11: sign with %s: digest info: %w", k.ref, err)
			}
			mech = []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}
			input = di
		}
	case *ecdsa.PublicKey:
		mech = []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}
		input = digest
	default:
		return nil, fmt.Errorf("pkcs11: sign with %s: unsupported public key %T", k.ref, k.pub)
	}

	var sig []byte
	err := k.b.do(context.Background(), func(c *p11.Ctx, sh p11.SessionHandle, gen uint64) error {
		obj, err := k.objectHandle(c, sh, gen)
		if err != nil {
			return err
		}
		if err := c.SignInit(sh, mech, obj); err != nil {
			k.forgetHandle(gen)
			return fmt.Errorf("pkcs11: sign with %s: %w", k.ref, err)
		}
		sig, err = c.Sign(sh, input)
		if err != nil {
			return fmt.Errorf("pkcs11: sign with %s: %w", k.ref, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := k.pub.(*ecdsa.PublicKey); ok {
		return ecdsaDER(sig, k.ref)
	}
	return sig, nil
}

// Decrypt decrypts an RSA key-transport ciphertext in the token: PKCS #1
// v1.5 for nil or *rsa.PKCS1v15DecryptOptions, OAEP for *rsa.OAEPOptions.
// Only keys made with GenerateDecrypter may; the token refuses the others.
func (k *key) Decrypt(_ io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	if _, ok := k.pub.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("pkcs11: decrypt with %s: not an RSA key", k.ref)
	}
	mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}
	switch o := opts.(type) {
	//lint:ignore SA1019 most SCEP clients still send PKCS #1 v1.5 key transport to the RA
	case nil, *rsa.PKCS1v15DecryptOptions:
	case *rsa.OAEPOptions:
		hp, ok := oaepHashParams(o.Hash)
		if !ok || (o.MGFHash != 0 && o.MGFHash != o.Hash) {
			return nil, fmt.Errorf("pkcs11: decrypt with %s: unsupported OAEP hash %v/%v", k.ref, o.Hash, o.MGFHash)
		}
		params := p11.NewOAEPParams(hp.mech, hp.mgf, p11.CKZ_DATA_SPECIFIED, o.Label)
		mech = []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_OAEP, params)}
	default:
		return nil, fmt.Errorf("pkcs11: decrypt with %s: unsupported options %T", k.ref, opts)
	}
	var out []byte
	err := k.b.do(context.Background(), func(c *p11.Ctx, sh p11.SessionHandle, gen uint64) error {
		obj, err := k.objectHandle(c, sh, gen)
		if err != nil {
			return err
		}
		if err := c.DecryptInit(sh, mech, obj); err != nil {
			k.forgetHandle(gen)
			return fmt.Errorf("pkcs11: decrypt with %s: %w", k.ref, err)
		}
		if out, err = c.Decrypt(sh, ciphertext); err != nil {
			return fmt.Errorf("pkcs11: decrypt with %s: %w", k.ref, err)
		}
		return nil
	})
	return out, err
}

// oaepHashParams adds SHA-1, OAEP's default and what most SCEP clients
// send, to the signing hashes.
func oaepHashParams(h crypto.Hash) (hashParams, bool) {
	if h == crypto.SHA1 {
		return hashParams{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, p11.CKM_SHA_1, p11.CKG_MGF1_SHA1}, true
	}
	return hashParamsOf(h)
}

// objectHandle returns the private key's handle in module generation gen,
// finding it by CKA_ID if it is not known yet.
func (k *key) objectHandle(c *p11.Ctx, sh p11.SessionHandle, gen uint64) (p11.ObjectHandle, error) {
	k.mu.Lock()
	if k.haveHandle && k.handleGen == gen {
		h := k.handle
		k.mu.Unlock()
		return h, nil
	}
	k.mu.Unlock()
	h, err := k.b.findPrivate(c, sh, k.ref, k.id)
	if err != nil {
		return 0, err
	}
	k.mu.Lock()
	k.handle, k.handleGen, k.haveHandle = h, gen, true
	k.mu.Unlock()
	return h, nil
}

// forgetHandle drops the cached handle if it belongs to gen, so that the
// next use finds the key again.
func (k *key) forgetHandle(gen uint64) {
	k.mu.Lock()
	if k.handleGen == gen {
		k.haveHandle = false
	}
	k.mu.Unlock()
}

// load finds the key pair with CKA_ID id and reads its public key.
func (b *Backend) load(ctx context.Context, ref string, id []byte) (*key, error) {
	var k *key
	err := b.do(ctx, func(c *p11.Ctx, sh p11.SessionHandle, gen uint64) error {
		priv, err := b.findPrivate(c, sh, ref, id)
		if err != nil {
			return err
		}
		pub, err := readPublic(c, sh, priv, id)
		if err != nil {
			return fmt.Errorf("pkcs11: key %s in token %q: %w", ref, b.cfg.TokenLabel, err)
		}
		k = &key{b: b, ref: ref, id: id, pub: pub, handle: priv, handleGen: gen, haveHandle: true}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// findPrivate returns the handle of the one private key with CKA_ID id.
func (b *Backend) findPrivate(c *p11.Ctx, sh p11.SessionHandle, ref string, id []byte) (p11.ObjectHandle, error) {
	objs, err := findObjects(c, sh, p11.CKO_PRIVATE_KEY, id)
	if err != nil {
		return 0, fmt.Errorf("pkcs11: find key %s: %w", ref, err)
	}
	switch len(objs) {
	case 0:
		// Private objects are invisible to a session that lost its login;
		// say so, so that the caller logs in again and retries.
		if info, err := c.GetSessionInfo(sh); err == nil && !loggedIn(info.State) {
			return 0, fmt.Errorf("pkcs11: find key %s: %w", ref, p11.Error(p11.CKR_USER_NOT_LOGGED_IN))
		}
		return 0, fmt.Errorf("pkcs11: %s in token %q: %w", ref, b.cfg.TokenLabel, ErrKeyNotFound)
	case 1:
		return objs[0], nil
	}
	return 0, fmt.Errorf("pkcs11: %s: token %q has several private keys with this id", ref, b.cfg.TokenLabel)
}

// findObjects returns up to two objects of class class with CKA_ID id.
func findObjects(c *p11.Ctx, sh p11.SessionHandle, class uint, id []byte) ([]p11.ObjectHandle, error) {
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	if err := c.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	objs, _, err := c.FindObjects(sh, 2)
	if ferr := c.FindObjectsFinal(sh); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// readPublic reads the public key of the pair whose private key is priv:
// from the public key object with the same CKA_ID, or for RSA from the
// private key object if the public one is missing.
func readPublic(c *p11.Ctx, sh p11.SessionHandle, priv p11.ObjectHandle, id []byte) (crypto.PublicKey, error) {
	attrs, err := c.GetAttributeValue(sh, priv, []*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, nil)})
	if err != nil {
		return nil, fmt.Errorf("read key type: %w", err)
	}
	kt, err := ulong(attrs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("key type: %w", err)
	}
	pubs, err := findObjects(c, sh, p11.CKO_PUBLIC_KEY, id)
	if err != nil {
		return nil, fmt.Errorf("find public key: %w", err)
	}
	if len(pubs) > 1 {
		return nil, errors.New("several public keys have this id")
	}

	switch kt {
	case p11.CKK_RSA:
		obj := priv
		if len(pubs) == 1 {
			obj = pubs[0]
		}
		attrs, err := c.GetAttributeValue(sh, obj, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_MODULUS, nil),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil),
		})
		if err != nil {
			return nil, fmt.Errorf("read RSA public key: %w", err)
		}
		return rsaPublic(attrs[0].Value, attrs[1].Value)
	case p11.CKK_EC:
		if len(pubs) == 0 {
			return nil, errors.New("no EC public key object has this id")
		}
		attrs, err := c.GetAttributeValue(sh, pubs[0], []*p11.Attribute{
			p11.NewAttribute(p11.CKA_EC_PARAMS, nil),
			p11.NewAttribute(p11.CKA_EC_POINT, nil),
		})
		if err != nil {
			return nil, fmt.Errorf("read EC public key: %w", err)
		}
		return ecPublic(attrs[0].Value, attrs[1].Value)
	}
	return nil, fmt.Errorf("unsupported key type 0x%x (RSA or EC)", kt)
}

// ulong decodes a CK_ULONG attribute value, stored in host byte order.
func ulong(v []byte) (uint64, error) {
	switch len(v) {
	case 8:
		return binary.NativeEndian.Uint64(v), nil
	case 4:
		return uint64(binary.NativeEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("CK_ULONG value of %d bytes", len(v))
}

func rsaPublic(modulus, exponent []byte) (*rsa.PublicKey, error) {
	n := new(big.Int).SetBytes(modulus)
	e := new(big.Int).SetBytes(exponent)
	if n.Sign() <= 0 {
		return nil, errors.New("RSA public key has an empty modulus")
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("RSA public exponent %v is out of range", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// ecPublic parses CKA_EC_PARAMS (a named curve OID) and CKA_EC_POINT (a DER
// OCTET STRING holding the uncompressed point; some tokens omit the
// wrapping, which is accepted too).
func ecPublic(params, point []byte) (*ecdsa.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params, &oid)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("EC params are not a named curve OID (%x)", params)
	}
	curve := curveOf(oid)
	if curve == nil {
		return nil, fmt.Errorf("EC curve %v is not supported (P-256, P-384 or P-521)", oid)
	}
	want := 1 + 2*((curve.Params().BitSize+7)/8)
	var raw []byte
	if rest, err := asn1.Unmarshal(point, &raw); err == nil && len(rest) == 0 && len(raw) == want {
		point = raw
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("EC point: %w", err)
	}
	return pub, nil
}

// ecdsaDER turns the token's r||s into an ASN.1 ECDSA-Sig-Value.
func ecdsaDER(sig []byte, ref string) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, fmt.Errorf("pkcs11: sign with %s: token returned a %d-byte ECDSA signature", ref, len(sig))
	}
	half := len(sig) / 2
	der, err := asn1.Marshal(ecdsaSignature{
		R: new(big.Int).SetBytes(sig[:half]),
		S: new(big.Int).SetBytes(sig[half:]),
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with %s: encode ECDSA signature: %w", ref, err)
	}
	return der, nil
}

type ecdsaSignature struct {
	R, S *big.Int
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

// hashParams names a hash the way PKCS#1 DigestInfo and PKCS#11 PSS
// parameters need it.
type hashParams struct {
	oid  asn1.ObjectIdentifier
	mech uint // CKM_SHA*
	mgf  uint // CKG_MGF1_SHA*
}

func hashParamsOf(h crypto.Hash) (hashParams, bool) {
	switch h {
	case crypto.SHA256:
		return hashParams{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, p11.CKM_SHA256, p11.CKG_MGF1_SHA256}, true
	case crypto.SHA384:
		return hashParams{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, p11.CKM_SHA384, p11.CKG_MGF1_SHA384}, true
	case crypto.SHA512:
		return hashParams{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, p11.CKM_SHA512, p11.CKG_MGF1_SHA512}, true
	}
	return hashParams{}, false
}

// pssSaltLength resolves opts.SaltLength: the hash length for
// PSSSaltLengthEqualsHash and PSSSaltLengthAuto (tokens cannot pick the
// maximum for us, and the hash length is what X.509 profiles expect), an
// explicit length otherwise.
func pssSaltLength(opts *rsa.PSSOptions, pub *rsa.PublicKey, h crypto.Hash) (int, error) {
	salt := opts.SaltLength
	switch {
	case salt == rsa.PSSSaltLengthEqualsHash || salt == rsa.PSSSaltLengthAuto:
		salt = h.Size()
	case salt < 0:
		return 0, fmt.Errorf("invalid PSS salt length %d", salt)
	}
	// RFC 8017 9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((modBits-1)/8).
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	if limit := emLen - h.Size() - 2; salt > limit {
		return 0, fmt.Errorf("PSS salt length %d is more than the key allows (%d)", salt, limit)
	}
	return salt, nil
}

// curveOID returns the named curve OID of c.
func curveOID(c elliptic.Curve) (asn1.ObjectIdentifier, bool) {
	switch c {
	case elliptic.P256():
		return asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, true
	case elliptic.P384():
		return asn1.ObjectIdentifier{1, 3, 132, 0, 34}, true
	case elliptic.P521():
		return asn1.ObjectIdentifier{1, 3, 132, 0, 35}, true
	}
	return nil, false
}

func curveOf(oid asn1.ObjectIdentifier) elliptic.Curve {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		if o, _ := curveOID(c); o.Equal(oid) {
			return c
		}
	}
	return nil
}

// keyPairTemplates returns the mechanism and the public and private key
// templates that generate a key pair of type t.
func keyPairTemplates(t keys.Type, id []byte, label string, decrypt bool) ([]*p11.Mechanism, []*p11.Attribute, []*p11.Attribute, error) {
	pub := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
	priv := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
	if bits := t.RSABits(); bits > 0 {
		pub = append(pub,
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
			p11.NewAttribute(p11.CKA_MODULUS_BITS, bits),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{0x01, 0x00, 0x01}), // 65537
		)
		priv = append(priv, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA), p11.NewAttribute(p11.CKA_DECRYPT, decrypt))
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pub, priv, nil
	}
	oid, ok := curveOID(t.Curve())
	if !ok {
		return nil, nil, nil, fmt.Errorf("pkcs11: cannot generate unknown key type %q", t)
	}
	params, err := asn1.Marshal(oid)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pkcs11: encode curve of %s: %w", t, err)
	}
	pub = append(pub,
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
		p11.NewAttribute(p11.CKA_EC_PARAMS, params),
	)
	priv = append(priv, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC))
	return []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)}, pub, priv, nil
}
