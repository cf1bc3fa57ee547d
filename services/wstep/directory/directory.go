// Package directory answers who a Windows requester is: the attributes
// certificate templates build subjects from (UPN, mail, DNS host name),
// the SID written for strong certificate mapping, and the groups template
// permissions name. LDAP reads Active Directory (or any directory with
// its schema) over LDAPS or StartTLS only; Static serves a fixed list, for
// development and tests.
package directory

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
)

// Identity is a directory account.
type Identity struct {
	// Name is the account name (sAMAccountName, "HOST$" for computers).
	Name        string
	DN          string
	UPN         string
	Mail        string
	DNSHostName string
	// SID in S-1-... form.
	SID string
	// Groups are the DNs of the groups the account is a member of.
	Groups []string
	// Computer marks a machine account.
	Computer bool
}

// InGroup reports membership of group, named by DN or by its first RDN's
// value (e.g. "Domain Computers"), case-insensitively as AD compares.
func (id *Identity) InGroup(group string) bool {
	return slices.ContainsFunc(id.Groups, func(dn string) bool {
		if strings.EqualFold(dn, group) {
			return true
		}
		first, _, _ := strings.Cut(dn, ",")
		_, cn, ok := strings.Cut(first, "=")
		return ok && strings.EqualFold(cn, group)
	})
}

// Directory finds and authenticates accounts.
type Directory interface {
	// Authenticate checks a user name (UPN, account name or DN) and
	// password and returns the account.
	Authenticate(ctx context.Context, username, password string) (*Identity, error)
	// Lookup finds an account by a Kerberos principal (user@REALM,
	// HOST$@REALM, or host/name@REALM).
	Lookup(ctx context.Context, principal string) (*Identity, error)
}

// ErrInvalidCredentials is a wrong user name or password.
var ErrInvalidCredentials = errors.New("directory: invalid credentials")

// ErrNotFound is an account the directory does not have.
var ErrNotFound = errors.New("directory: no such account")

// StaticUser is one account of a Static directory.
type StaticUser struct {
	Identity `yaml:",inline"`
	Password string `yaml:"password"`
}

// Static is a fixed account list.
type Static struct {
	Users []StaticUser
}

// Authenticate implements Directory.
func (s *Static) Authenticate(_ context.Context, username, password string) (*Identity, error) {
	for _, u := range s.Users {
		if u.matches(username) {
			if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 || u.Password == "" {
				return nil, ErrInvalidCredentials
			}
			id := u.Identity
			return &id, nil
		}
	}
	return nil, ErrInvalidCredentials
}

// Lookup implements Directory.
func (s *Static) Lookup(_ context.Context, principal string) (*Identity, error) {
	name := accountOf(principal)
	for _, u := range s.Users {
		if u.matches(name) || u.matches(principal) {
			id := u.Identity
			return &id, nil
		}
	}
	return nil, ErrNotFound
}

func (u *StaticUser) matches(name string) bool {
	return name != "" && (strings.EqualFold(u.Name, name) || strings.EqualFold(u.UPN, name) || strings.EqualFold(u.DN, name))
}

// accountOf turns a Kerberos principal into an account name:
// user@REALM -> user, host/pc1.example.com@REALM -> PC1$.
func accountOf(principal string) string {
	name, _, _ := strings.Cut(principal, "@")
	if svc, host, ok := strings.Cut(name, "/"); ok && strings.EqualFold(svc, "host") {
		short, _, _ := strings.Cut(host, ".")
		return strings.ToUpper(short) + "$"
	}
	return name
}
