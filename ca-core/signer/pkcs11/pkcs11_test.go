package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer/pkcs11"
	"github.com/certgate/certgate/ca-core/signer/pkcs11/softhsmtest"
)

// open starts a backend on cfg and closes it when the test ends.
func open(t testing.TB, cfg pkcs11.Config) *pkcs11.Backend {
	t.Helper()
	b, err := pkcs11.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func generate(t testing.TB, b *pkcs11.Backend, kt keys.Type) (string, crypto.Signer) {
	t.Helper()
	ref, s, err := b.Generate(context.Background(), kt, "test/"+string(kt))
	if err != nil {
		t.Fatalf("Generate(%s): %v", kt, err)
	}
	return ref, s
}

func digest(h crypto.Hash, msg string) []byte {
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

// signVerify signs a digest of msg with s and checks the signature with
// Go's verifiers.
func signVerify(t testing.TB, s crypto.Signer, msg string, opts crypto.SignerOpts) {
	t.Helper()
	d := digest(opts.HashFunc(), msg)
	sig, err := s.Sign(rand.Reader, d, opts)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := verify(s.Public(), d, sig, opts); err != nil {
		t.Fatal(err)
	}
}

func verify(pub crypto.PublicKey, d, sig []byte, opts crypto.SignerOpts) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(pub, opts.HashFunc(), d, sig, pss)
		}
		return rsa.VerifyPKCS1v15(pub, opts.HashFunc(), d, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, d, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unexpected public key %T", pub)
}

// side opens a second PKCS#11 context on the backend's module, the way
// another part of the process would, to pull sessions, login or the module
// itself out from under the backend.
func side(t *testing.T, cfg pkcs11.Config) (*p11.Ctx, uint) {
	t.Helper()
	c := p11.New(cfg.Module)
	if c == nil {
		t.Fatalf("load %s", cfg.Module)
	}
	t.Cleanup(c.Destroy)
	if err := c.Initialize(); err != nil && !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatalf("Initialize: %v", err)
	}
	slots, err := c.GetSlotList(true)
	if err != nil {
		t.Fatalf("GetSlotList: %v", err)
	}
	for _, s := range slots {
		if info, err := c.GetTokenInfo(s); err == nil && info.Label == cfg.TokenLabel {
			return c, s
		}
	}
	t.Fatalf("no token %q", cfg.TokenLabel)
	return nil, 0
}

func TestConfigValidate(t *testing.T) {
	good := pkcs11.Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "ca", PIN: "1234"}
	tests := []struct {
		name string
		edit func(*pkcs11.Config)
		want string
	}{
		{"ok/defaults", func(*pkcs11.Config) {}, ""},
		{"ok/max-sessions", func(c *pkcs11.Config) { c.MaxSessions = 32 }, ""},
		{"ok/label-32-bytes", func(c *pkcs11.Config) { c.TokenLabel = strings.Repeat("x", 32) }, ""},
		{"fail/no-module", func(c *pkcs11.Config) { c.Module = "" }, "module path is required"},
		{"fail/no-label", func(c *pkcs11.Config) { c.TokenLabel = "" }, "token label is required"},
		{"fail/long-label", func(c *pkcs11.Config) { c.TokenLabel = strings.Repeat("x", 33) }, "longer than 32 bytes"},
		{"fail/no-pin", func(c *pkcs11.Config) { c.PIN = "" }, "PIN is required"},
		{"fail/negative-sessions", func(c *pkcs11.Config) { c.MaxSessions = -1 }, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "pkcs11: ") {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigStringHidesPIN(t *testing.T) {
	c := pkcs11.Config{Module: "m.so", TokenLabel: "ca", PIN: "s3cret-pin"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String()} {
		if strings.Contains(s, "s3cret-pin") {
			t.Errorf("%q shows the PIN", s)
		}
	}
}

func TestNew(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	tests := []struct {
		name string
		edit func(*pkcs11.Config)
		want string
	}{
		{"ok/default-sessions", func(c *pkcs11.Config) { c.MaxSessions = 0 }, ""},
		{"fail/wrong-pin", func(c *pkcs11.Config) { c.PIN = "wrong" }, "CKR_PIN_INCORRECT"},
		{"fail/unknown-token-label", func(c *pkcs11.Config) { c.TokenLabel = "no-such-token" }, `no token labelled "no-such-token"`},
		{"fail/missing-module", func(c *pkcs11.Config) { c.Module = "/nonexistent/libpkcs11.so" }, "cannot load module"},
		{"fail/invalid-config", func(c *pkcs11.Config) { c.PIN = "" }, "PIN is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.edit(&c)
			b, err := pkcs11.New(c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if b.Name() != "pkcs11" {
					t.Errorf("Name = %q", b.Name())
				}
				if err := b.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			if !strings.HasPrefix(err.Error(), "pkcs11: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// The failures above must not have left the module in a state that
	// stops a correct configuration.
	open(t, cfg)
}

// TestKeys generates every key type once (RSA-4096 is slow in SoftHSM) and
// runs the signing, X.509, load and concurrency checks on those keys.
func TestKeys(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	b := open(t, cfg)
	refs := map[keys.Type]string{}
	signers := map[keys.Type]crypto.Signer{}
	for _, kt := range keys.All {
		ref, s := generate(t, b, kt)
		if !strings.HasPrefix(ref, "pkcs11:id=") || len(ref) != len("pkcs11:id=")+32 {
			t.Errorf("%s: ref %q", kt, ref)
		}
		if got, err := keys.Of(s.Public()); err != nil || got != kt {
			t.Fatalf("%s: public key is %T (%v, %v)", kt, s.Public(), got, err)
		}
		refs[kt], signers[kt] = ref, s
	}

	t.Run("sign", func(t *testing.T) {
		type scheme struct {
			name string
			opts crypto.SignerOpts
		}
		rsaSchemes := []scheme{
			{"pkcs1v15-sha256", crypto.SHA256},
			{"pkcs1v15-sha384", crypto.SHA384},
			{"pkcs1v15-sha512", crypto.SHA512},
			{"pss-sha256-equals-hash", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}},
			{"pss-sha384-auto", &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthAuto}},
			{"pss-sha512-salt-20", &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 20}},
		}
		ecSchemes := []scheme{
			{"ecdsa-sha256", crypto.SHA256},
			{"ecdsa-sha384", crypto.SHA384},
			{"ecdsa-sha512", crypto.SHA512},
		}
		for _, kt := range keys.All {
			schemes := ecSchemes
			if kt.IsRSA() {
				schemes = rsaSchemes
			}
			for _, sc := range schemes {
				t.Run("ok/"+string(kt)+"/"+sc.name, func(t *testing.T) {
					signVerify(t, signers[kt], "message for "+sc.name, sc.opts)
				})
			}
		}
		t.Run("ok/pss-salt-length-is-hash-length", func(t *testing.T) {
			s := signers[keys.RSA2048]
			d := digest(crypto.SHA256, "salt")
			for _, sl := range []int{rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash} {
				sig, err := s.Sign(rand.Reader, d, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: sl})
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				want := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 32}
				if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, d, sig, want); err != nil {
					t.Fatalf("salt length %d: %v", sl, err)
				}
			}
		})
	})

	t.Run("x509", func(t *testing.T) {
		for _, kt := range keys.All {
			algs := []x509.SignatureAlgorithm{kt.SignatureAlgorithm(false)}
			if kt.IsRSA() {
				algs = append(algs, kt.SignatureAlgorithm(true))
			}
			for _, alg := range algs {
				t.Run("ok/"+string(kt)+"/"+alg.String(), func(t *testing.T) {
					selfSigned(t, signers[kt], alg)
				})
			}
		}
	})

	t.Run("load", func(t *testing.T) {
		for _, kt := range keys.All {
			t.Run("ok/"+string(kt), func(t *testing.T) {
				s, err := b.Load(context.Background(), refs[kt])
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(signers[kt].Public()) {
					t.Fatal("loaded public key differs from the generated one")
				}
				signVerify(t, s, "loaded", crypto.SHA256)
			})
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		const goroutines, rounds = 32, 8
		types := []keys.Type{keys.P256, keys.RSA2048, keys.P384}
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*rounds)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := signers[types[g%len(types)]]
				for r := range rounds {
					d := digest(crypto.SHA256, fmt.Sprintf("g%d r%d", g, r))
					sig, err := s.Sign(rand.Reader, d, crypto.SHA256)
					if err == nil {
						err = verify(s.Public(), d, sig, crypto.SHA256)
					}
					if err != nil {
						errs <- fmt.Errorf("goroutine %d round %d: %w", g, r, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := pkcs11.IdleSessions(b); n < 1 || n > cfg.MaxSessions {
			t.Errorf("pool holds %d sessions, want 1..%d", n, cfg.MaxSessions)
		}
	})

	t.Run("fail", func(t *testing.T) {
		ec, rs := signers[keys.P256], signers[keys.RSA2048]
		signTests := []struct {
			name   string
			s      crypto.Signer
			digest []byte
			opts   crypto.SignerOpts
			want   string
		}{
			{"fail/ecdsa-short-digest", ec, make([]byte, 31), crypto.SHA256, "digest is 31 bytes"},
			{"fail/rsa-long-digest", rs, make([]byte, 48), crypto.SHA256, "digest is 48 bytes"},
			{"fail/pss-digest-of-other-hash", rs, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA512}, "digest is 32 bytes"},
			{"fail/sha1", rs, make([]byte, 20), crypto.SHA1, "unsupported hash"},
			{"fail/no-hash", ec, make([]byte, 32), crypto.Hash(0), "unsupported hash"},
			{"fail/nil-opts", ec, make([]byte, 32), nil, "no signer options"},
			{"fail/pss-salt-too-long", rs, make([]byte, 64), &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 200}, "more than the key allows"},
		}
		for _, tt := range signTests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tt.s.Sign(rand.Reader, tt.digest, tt.opts)
				if err == nil || !strings.HasPrefix(err.Error(), "pkcs11: ") || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Sign = %v, want an error containing %q", err, tt.want)
				}
			})
		}

		loadTests := []struct {
			name string
			ref  string
			want string
		}{
			{"fail/unknown-ref", "pkcs11:id=00112233445566778899aabbccddeeff", "not in the token"},
			{"fail/other-backend-ref", "soft:abc", "does not start with"},
			{"fail/bad-hex", "pkcs11:id=xyz", "bad key id"},
			{"fail/empty-id", "pkcs11:id=", "empty key id"},
		}
		for _, tt := range loadTests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := b.Load(context.Background(), tt.ref)
				if err == nil || !strings.HasPrefix(err.Error(), "pkcs11: ") || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Load = %v, want an error containing %q", err, tt.want)
				}
			})
		}
		t.Run("fail/unknown-ref-is-ErrKeyNotFound", func(t *testing.T) {
			_, err := b.Load(context.Background(), "pkcs11:id=00")
			if !errors.Is(err, pkcs11.ErrKeyNotFound) {
				t.Fatalf("Load = %v, want ErrKeyNotFound", err)
			}
		})
		t.Run("fail/unknown-key-type", func(t *testing.T) {
			if _, _, err := b.Generate(context.Background(), keys.Type("ed25519"), "x"); err == nil {
				t.Fatal("Generate succeeded")
			}
		})
		t.Run("fail/canceled-context", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, _, err := b.Generate(ctx, keys.P256, "x"); !errors.Is(err, context.Canceled) {
				t.Fatalf("Generate = %v, want context.Canceled", err)
			}
			if _, err := b.Load(ctx, refs[keys.P256]); !errors.Is(err, context.Canceled) {
				t.Fatalf("Load = %v, want context.Canceled", err)
			}
		})
	})
}

// selfSigned issues a self-signed CA certificate with s and checks it.
func selfSigned(t *testing.T, s crypto.Signer, alg x509.SignatureAlgorithm) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "certgate pkcs11 test " + alg.String()},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if cert.SignatureAlgorithm != alg {
		t.Fatalf("certificate signed with %v, want %v", cert.SignatureAlgorithm, alg)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Fatalf("CheckSignatureFrom: %v", err)
	}
}

func TestRestart(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	b, err := pkcs11.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	types := []keys.Type{keys.P256, keys.RSA2048}
	refs := map[keys.Type]string{}
	pubs := map[keys.Type]crypto.PublicKey{}
	for _, kt := range types {
		ref, s := generate(t, b, kt)
		refs[kt], pubs[kt] = ref, s.Public()
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	b = open(t, cfg)
	for _, kt := range types {
		t.Run("ok/"+string(kt), func(t *testing.T) {
			s, err := b.Load(context.Background(), refs[kt])
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pubs[kt]) {
				t.Fatal("public key changed across restart")
			}
			signVerify(t, s, "after restart", crypto.SHA256)
		})
	}
}

func TestClosed(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	b, err := pkcs11.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ref, s := generate(t, b, keys.P256)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"fail/sign", func() error { _, err := s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256); return err }},
		{"fail/load", func() error { _, err := b.Load(context.Background(), ref); return err }},
		{"fail/generate", func() error { _, _, err := b.Generate(context.Background(), keys.P256, "x"); return err }},
		{"ok/close-again", func() error { return b.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if strings.HasPrefix(tt.name, "ok/") {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, pkcs11.ErrClosed) {
				t.Fatalf("got %v, want ErrClosed", err)
			}
		})
	}
}

// TestRecovery takes sessions, the login or the whole module away from a
// running backend through a second context on the same module, and checks
// that the backend logs in again and carries on.
func TestRecovery(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	b := open(t, cfg)
	_, ec := generate(t, b, keys.P256)
	ref, rs := generate(t, b, keys.RSA2048)

	tests := []struct {
		name     string
		sabotage func(t *testing.T)
	}{
		{"ok/close-all-sessions", func(t *testing.T) {
			c, slot := side(t, cfg)
			if err := c.CloseAllSessions(slot); err != nil {
				t.Fatalf("CloseAllSessions: %v", err)
			}
		}},
		{"ok/logout", func(t *testing.T) {
			c, slot := side(t, cfg)
			sh, err := c.OpenSession(slot, p11.CKF_SERIAL_SESSION)
			if err != nil {
				t.Fatalf("OpenSession: %v", err)
			}
			if err := c.Logout(sh); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			if err := c.CloseSession(sh); err != nil {
				t.Fatalf("CloseSession: %v", err)
			}
		}},
		{"ok/finalize", func(t *testing.T) {
			c, _ := side(t, cfg)
			if err := c.Finalize(); err != nil {
				t.Fatalf("Finalize: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Warm the pool and the key's cached handle first.
			signVerify(t, ec, "before", crypto.SHA256)
			signVerify(t, rs, "before", crypto.SHA256)
			before := pkcs11.Generation(b)
			tt.sabotage(t)

			signVerify(t, ec, "after", crypto.SHA256)
			if after := pkcs11.Generation(b); after != before+1 {
				t.Fatalf("generation %d -> %d, want one recovery", before, after)
			}
			signVerify(t, rs, "after", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash})
			s, err := b.Load(context.Background(), ref)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			signVerify(t, s, "loaded after", crypto.SHA384)
		})
	}

	t.Run("ok/concurrent-signers-after-close-all-sessions", func(t *testing.T) {
		signVerify(t, ec, "before", crypto.SHA256)
		c, slot := side(t, cfg)
		if err := c.CloseAllSessions(slot); err != nil {
			t.Fatalf("CloseAllSessions: %v", err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := digest(crypto.SHA256, "concurrent")
				sig, err := ec.Sign(rand.Reader, d, crypto.SHA256)
				if err == nil {
					err = verify(ec.Public(), d, sig, crypto.SHA256)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("ok/generate-after-logout", func(t *testing.T) {
		c, slot := side(t, cfg)
		sh, err := c.OpenSession(slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			t.Fatalf("OpenSession: %v", err)
		}
		if err := c.Logout(sh); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		_, s := generate(t, b, keys.P384)
		signVerify(t, s, "new key", crypto.SHA384)
	})
}

// The SCEP RA key decrypts in the token, for both key transports clients
// send; a CA key (made with Generate) may not decrypt at all.
func TestDecrypter(t *testing.T) {
	b := open(t, softhsmtest.NewToken(t))
	ctx := context.Background()
	ref, s, err := b.GenerateDecrypter(ctx, keys.RSA2048, "t/ca/scep-ra")
	if err != nil {
		t.Fatal(err)
	}
	// Load, as after a restart, must decrypt as well.
	loaded, err := b.Load(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*rsa.PublicKey)
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, k := range []crypto.Signer{s, loaded} {
		d, ok := k.(crypto.Decrypter)
		if !ok {
			t.Fatal("the key is no crypto.Decrypter")
		}
		//lint:ignore SA1019 the test covers what SCEP clients send
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := d.Decrypt(rand.Reader, ct, nil); err != nil || string(got) != string(secret) {
			t.Fatalf("PKCS #1 v1.5: %q, %v", got, err)
		}
		// SoftHSM2 does OAEP with SHA-1 only (CKR_ARGUMENTS_BAD for
		// others); SHA-1 is also what OAEP-sending SCEP clients use.
		for _, h := range []crypto.Hash{crypto.SHA1} {
			ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, pub, secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: h}); err != nil || string(got) != string(secret) {
				t.Fatalf("OAEP %v: %q, %v", h, got, err)
			}
		}
	}
	if _, _, err := b.GenerateDecrypter(ctx, keys.P256, "t/ca/ec"); err == nil {
		t.Fatal("an EC decryption key was made")
	}
	_, caKey, err := b.Generate(ctx, keys.RSA2048, "t/ca")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the test covers what SCEP clients send
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, caKey.Public().(*rsa.PublicKey), secret)
	if _, err := caKey.(crypto.Decrypter).Decrypt(rand.Reader, ct, nil); err == nil {
		t.Fatal("a CA key decrypted")
	}
}
