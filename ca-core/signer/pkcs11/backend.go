package pkcs11

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/certgate/certgate/ca-core/keys"
	"github.com/certgate/certgate/ca-core/signer"
)

// Name is the backend name recorded with every CA whose key is in a token.
const Name = "pkcs11"

// refPrefix starts every ref; the rest is the hex CKA_ID.
const refPrefix = "pkcs11:id="

// idLen is the size of the random CKA_ID given to each key pair.
const idLen = 16

// ErrKeyNotFound is wrapped by Load and Sign when the token has no private
// key with the ref's CKA_ID.
var ErrKeyNotFound = errors.New("key is not in the token")

// ErrClosed is returned by every operation after Close.
var ErrClosed = errors.New("pkcs11: backend is closed")

var _ signer.Backend = (*Backend)(nil)

// Backend generates and uses keys in one PKCS#11 token. It is safe for
// concurrent use; signing runs on up to Config.MaxSessions sessions at once.
type Backend struct {
	cfg Config

	// mu guards the module state below. Operations hold it shared for all
	// their PKCS#11 calls, so they run in parallel; recovery and Close hold
	// it exclusively, so that no call is in flight while sessions are
	// dropped or the module is finalized.
	mu sync.RWMutex
	// ctx is the loaded module; nil after Close.
	ctx *p11.Ctx
	// slot holds the token labelled cfg.TokenLabel.
	slot uint
	// gen counts recoveries. Key object handles are cached per gen, since
	// a token may hand out new handles after a re-login or re-initialize.
	gen uint64
	// ownInit records that this Backend's C_Initialize succeeded (rather
	// than finding the module already initialized), so Close finalizes it.
	ownInit bool
	closed  bool

	// sem holds one element per session checked out of the pool; its
	// capacity is the pool size.
	sem chan struct{}

	// poolMu guards idle. Sessions are taken and returned under mu held
	// shared; under mu held exclusively, no session is checked out, so
	// idle holds every open session.
	poolMu sync.Mutex
	idle   []p11.SessionHandle
}

// New loads cfg.Module, initializes it, finds the token labelled
// cfg.TokenLabel and logs in as the user.
func New(cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, err := loadModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, ctx: ctx, sem: make(chan struct{}, cfg.maxSessions())}
	own, err := initialize(ctx)
	if err != nil {
		ctx.Destroy()
		return nil, err
	}
	b.ownInit = own
	sh, err := b.openOnToken()
	if err != nil {
		if own {
			_ = ctx.Finalize()
		}
		ctx.Destroy()
		return nil, err
	}
	b.idle = append(b.idle, sh)
	return b, nil
}

// Name returns "pkcs11".
func (b *Backend) Name() string { return Name }

// Generate creates a key pair of type t in the token, with a fresh random
// CKA_ID and CKA_LABEL label. The private key is a sensitive,
// non-extractable token object that can only sign.
func (b *Backend) Generate(ctx context.Context, t keys.Type, label string) (string, crypto.Signer, error) {
	return b.generate(ctx, t, label, false)
}

// GenerateDecrypter is Generate for an RSA key that may also decrypt
// (CKA_DECRYPT); see signer.DecryptingBackend.
func (b *Backend) GenerateDecrypter(ctx context.Context, t keys.Type, label string) (string, crypto.Signer, error) {
	if t.RSABits() == 0 {
		return "", nil, fmt.Errorf("pkcs11: only RSA keys decrypt, not %s", t)
	}
	return b.generate(ctx, t, label, true)
}

func (b *Backend) generate(ctx context.Context, t keys.Type, label string, decrypt bool) (string, crypto.Signer, error) {
	if !t.Valid() {
		return "", nil, fmt.Errorf("pkcs11: cannot generate unknown key type %q", t)
	}
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("pkcs11: generate %s key: %w", t, err)
	}
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return "", nil, fmt.Errorf("pkcs11: key id: %w", err)
	}
	mech, pub, priv, err := keyPairTemplates(t, id, label, decrypt)
	if err != nil {
		return "", nil, err
	}
	err = b.do(ctx, func(c *p11.Ctx, sh p11.SessionHandle, _ uint64) error {
		if _, _, err := c.GenerateKeyPair(sh, mech, pub, priv); err != nil {
			return fmt.Errorf("pkcs11: generate %s key pair in token %q: %w", t, b.cfg.TokenLabel, err)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	ref := makeRef(id)
	k, err := b.load(ctx, ref, id)
	if err != nil {
		return "", nil, err
	}
	if got, err := keys.Of(k.pub); err != nil || got != t {
		return "", nil, fmt.Errorf("pkcs11: token %q generated a %T key for type %s", b.cfg.TokenLabel, k.pub, t)
	}
	return ref, k, nil
}

// Load returns the signer for a ref returned by Generate. It wraps
// ErrKeyNotFound when the token has no such key.
func (b *Backend) Load(ctx context.Context, ref string) (crypto.Signer, error) {
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pkcs11: load %s: %w", ref, err)
	}
	return b.load(ctx, ref, id)
}

// Close logs out, closes the pool's sessions, finalizes the module (if this
// Backend initialized it) and unloads it. Later calls return nil.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	sh, haveSession := b.popIdle()
	if !haveSession {
		var err error
		sh, err = b.ctx.OpenSession(b.slot, p11.CKF_SERIAL_SESSION)
		haveSession = err == nil
	}
	if haveSession {
		if err := b.ctx.Logout(sh); err != nil && !isCode(err, p11.CKR_USER_NOT_LOGGED_IN) && !needsRecovery(err) {
			errs = append(errs, fmt.Errorf("log out: %w", err))
		}
		b.idle = append(b.idle, sh)
	}
	b.dropIdle()
	if b.ownInit {
		if err := b.ctx.Finalize(); err != nil && !isCode(err, p11.CKR_CRYPTOKI_NOT_INITIALIZED) {
			errs = append(errs, fmt.Errorf("finalize: %w", err))
		}
	}
	b.ctx.Destroy()
	b.ctx = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pkcs11: close token %q: %w", b.cfg.TokenLabel, err)
	}
	return nil
}

// op is one unit of work on a checked-out session. gen identifies the
// module state the session belongs to. An op may be run twice.
type op func(c *p11.Ctx, sh p11.SessionHandle, gen uint64) error

// do runs f on a pooled session. If f (or opening its session) fails in a
// way that a fresh login or module initialization can cure, do recovers
// and runs f once more.
func (b *Backend) do(ctx context.Context, f op) error {
	gen, err := b.try(ctx, f)
	if err == nil || !needsRecovery(err) {
		return err
	}
	if rerr := b.recoverFrom(gen); rerr != nil {
		return fmt.Errorf("%w (and recovering failed: %w)", err, rerr)
	}
	_, err = b.try(ctx, f)
	return err
}

// try runs f once on a pooled session, returning the gen it ran in.
func (b *Backend) try(ctx context.Context, f op) (uint64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	sh, err := b.acquire(ctx)
	if err != nil {
		return b.gen, err
	}
	err = f(b.ctx, sh, b.gen)
	// A session whose operation failed in the token may be left in an odd
	// state; replace it rather than reuse it.
	var perr p11.Error
	b.release(sh, !errors.As(err, &perr))
	return b.gen, err
}

// acquire takes an idle session or opens one, waiting while MaxSessions are
// checked out. b.mu must be held.
func (b *Backend) acquire(ctx context.Context) (p11.SessionHandle, error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("pkcs11: waiting for a session: %w", ctx.Err())
	}
	b.poolMu.Lock()
	sh, ok := b.popIdle()
	b.poolMu.Unlock()
	if ok {
		return sh, nil
	}
	sh, err := b.openSession()
	if err != nil {
		<-b.sem
		return 0, err
	}
	return sh, nil
}

// release returns sh to the pool, or closes it when keep is false. b.mu
// must be held.
func (b *Backend) release(sh p11.SessionHandle, keep bool) {
	if keep {
		b.poolMu.Lock()
		b.idle = append(b.idle, sh)
		b.poolMu.Unlock()
	} else {
		_ = b.ctx.CloseSession(sh)
	}
	<-b.sem
}

// popIdle removes the most recently used idle session. b.poolMu, or b.mu
// exclusively, must be held.
func (b *Backend) popIdle() (p11.SessionHandle, bool) {
	n := len(b.idle)
	if n == 0 {
		return 0, false
	}
	sh := b.idle[n-1]
	b.idle = b.idle[:n-1]
	return sh, true
}

// dropIdle closes every pooled session, ignoring errors: they may already
// be gone. b.mu must be held exclusively.
func (b *Backend) dropIdle() {
	for _, sh := range b.idle {
		_ = b.ctx.CloseSession(sh)
	}
	b.idle = nil
}

// recoverFrom replaces the sessions of generation gen: it drops them, finds the
// token again (re-initializing the module if that fails) and
// logs in again. It does nothing if another goroutine already recovered
// from gen.
func (b *Backend) recoverFrom(gen uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.gen != gen {
		return nil
	}
	b.gen++
	b.dropIdle()

	// The module and login may be fine and only our sessions gone.
	sh, err := b.openOnToken()
	if err != nil && !isCode(err, p11.CKR_PIN_INCORRECT) && !isCode(err, p11.CKR_PIN_LOCKED) {
		// Start over with the module. If C_Initialize fails too, the
		// next failing operation comes back here and tries again.
		_ = b.ctx.Finalize()
		own, ierr := initialize(b.ctx)
		if ierr != nil {
			return ierr
		}
		b.ownInit = b.ownInit || own
		sh, err = b.openOnToken()
	}
	if err != nil {
		return err
	}
	b.idle = append(b.idle, sh)
	return nil
}

// openOnToken finds the slot holding the token and opens a logged-in
// session on it. b.mu must be held exclusively (or not yet shared).
func (b *Backend) openOnToken() (p11.SessionHandle, error) {
	slot, err := findSlot(b.ctx, b.cfg.TokenLabel)
	if err != nil {
		return 0, err
	}
	b.slot = slot
	return b.openSession()
}

// openSession opens a read/write session on b.slot and makes sure the user
// is logged in: the login belongs to the application, not the session, and
// is lost when its last session closes. b.mu must be held.
func (b *Backend) openSession() (p11.SessionHandle, error) {
	sh, err := b.ctx.OpenSession(b.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("pkcs11: open session on token %q: %w", b.cfg.TokenLabel, err)
	}
	if err := b.login(sh); err != nil {
		_ = b.ctx.CloseSession(sh)
		return 0, err
	}
	return sh, nil
}

func (b *Backend) login(sh p11.SessionHandle) error {
	info, err := b.ctx.GetSessionInfo(sh)
	if err != nil {
		return fmt.Errorf("pkcs11: session info on token %q: %w", b.cfg.TokenLabel, err)
	}
	if loggedIn(info.State) {
		return nil
	}
	err = b.ctx.Login(sh, p11.CKU_USER, b.cfg.PIN)
	if err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		return fmt.Errorf("pkcs11: log in to token %q: %w", b.cfg.TokenLabel, err)
	}
	return nil
}

func loggedIn(state uint) bool {
	return state == p11.CKS_RO_USER_FUNCTIONS || state == p11.CKS_RW_USER_FUNCTIONS
}

// loadModule dlopens the PKCS#11 library.
func loadModule(path string) (*p11.Ctx, error) {
	ctx := p11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: cannot load module %q (missing, or not a PKCS#11 library)", path)
	}
	return ctx, nil
}

// initialize calls C_Initialize with OS locking. It reports whether this
// call initialized the module; an already initialized module is not an
// error.
func initialize(ctx *p11.Ctx) (bool, error) {
	err := ctx.Initialize()
	switch {
	case err == nil:
		return true, nil
	case isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED):
		return false, nil
	}
	return false, fmt.Errorf("pkcs11: initialize module: %w", err)
}

// findSlot returns the slot of the one present token labelled label.
func findSlot(ctx *p11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("pkcs11: list slots: %w", err)
	}
	var found []uint
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			// A token may go away between the two calls; skip it.
			continue
		}
		if strings.TrimRight(info.Label, " \x00") == label {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("pkcs11: no token labelled %q in %d slot(s) with a token: %w", label, len(slots), p11.Error(p11.CKR_TOKEN_NOT_PRESENT))
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("pkcs11: %d tokens are labelled %q (slots %v)", len(found), label, found)
}

// needsRecovery reports whether err means sessions, login or the module
// itself are gone, so that re-opening, re-login and retrying may help.
// Invalid object handles are included: some tokens (SoftHSM) invalidate
// private object handles on logout.
func needsRecovery(err error) bool {
	var e p11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e {
	case p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_SESSION_HANDLE_INVALID,
		p11.CKR_SESSION_CLOSED,
		p11.CKR_DEVICE_REMOVED,
		p11.CKR_TOKEN_NOT_PRESENT,
		p11.CKR_CRYPTOKI_NOT_INITIALIZED,
		p11.CKR_DEVICE_ERROR,
		p11.CKR_KEY_HANDLE_INVALID,
		p11.CKR_OBJECT_HANDLE_INVALID:
		return true
	}
	return false
}

func isCode(err error, code uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == code
}

func makeRef(id []byte) string { return refPrefix + hex.EncodeToString(id) }

func parseRef(ref string) ([]byte, error) {
	h, ok := strings.CutPrefix(ref, refPrefix)
	if !ok {
		return nil, fmt.Errorf("pkcs11: ref %q does not start with %q", ref, refPrefix)
	}
	id, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: ref %q: bad key id: %w", ref, err)
	}
	if len(id) == 0 {
		return nil, fmt.Errorf("pkcs11: ref %q has an empty key id", ref)
	}
	return id, nil
}
