package pkcs11

import (
	"fmt"
	"strings"
)

// DefaultMaxSessions is the session pool size when Config.MaxSessions is 0.
const DefaultMaxSessions = 8

// maxLabelLen is the size of CK_TOKEN_INFO.label.
const maxLabelLen = 32

// Config says which token holds the keys and how to reach it.
type Config struct {
	// Module is the path of the PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token (CKA_LABEL of CK_TOKEN_INFO, at most 32
	// bytes). Exactly one present token must carry it.
	TokenLabel string
	// PIN is the user PIN itself; the command reads it from a file or the
	// environment.
	PIN string
	// MaxSessions bounds the sessions opened for key generation, lookups
	// and signing, shared by all keys. 0 means DefaultMaxSessions.
	MaxSessions int
}

// Validate reports every problem with c in one error.
func (c Config) Validate() error {
	var problems []string
	if c.Module == "" {
		problems = append(problems, "module path is required")
	}
	switch {
	case c.TokenLabel == "":
		problems = append(problems, "token label is required")
	case len(c.TokenLabel) > maxLabelLen:
		problems = append(problems, fmt.Sprintf("token label %q is longer than %d bytes", c.TokenLabel, maxLabelLen))
	}
	if c.PIN == "" {
		problems = append(problems, "PIN is required")
	}
	if c.MaxSessions < 0 {
		problems = append(problems, fmt.Sprintf("max sessions must not be negative (got %d)", c.MaxSessions))
	}
	if len(problems) > 0 {
		return fmt.Errorf("pkcs11: invalid config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// String describes c without its PIN, so that logging a Config is safe.
func (c Config) String() string {
	pin := ""
	if c.PIN != "" {
		pin = "<redacted>"
	}
	return fmt.Sprintf("pkcs11.Config{Module:%q TokenLabel:%q PIN:%s MaxSessions:%d}", c.Module, c.TokenLabel, pin, c.MaxSessions)
}

// GoString is String, so that %#v does not print the PIN either.
func (c Config) GoString() string { return c.String() }

func (c Config) maxSessions() int {
	if c.MaxSessions == 0 {
		return DefaultMaxSessions
	}
	return c.MaxSessions
}
