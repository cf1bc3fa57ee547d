package wstep

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/jcmturner/goidentity/v6"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/certgate/certgate/services/wstep/directory"
)

// withKerberos authenticates requests that carry "Authorization:
// Negotiate" with the service's keytab (SPNEGO, RFC 4559); the others
// pass on to message-level authentication.
func (s *Server) withKerberos(next http.Handler) http.Handler {
	if s.keytab == nil {
		return next
	}
	// The directory, not the ticket's PAC, says who the requester is;
	// MIT KDCs issue PACs without the logon info gokrb5 insists on.
	opts := []func(*service.Settings){service.DecodePAC(false)}
	if p := s.cfg.Kerberos.ServicePrincipal; p != "" {
		opts = append(opts, service.KeytabPrincipal(p))
	}
	negotiate := spnego.SPNEGOKRB5Authenticate(next, s.keytab, opts...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "negotiate ") {
			negotiate.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errUnauthenticated asks the client to authenticate.
var errUnauthenticated = errors.New("authentication required: Kerberos (Negotiate) or a WS-Security UsernameToken")

// requester returns who sent r: the Kerberos principal SPNEGO verified,
// or the UsernameToken's user after a directory bind. nil with no error
// means nobody authenticated, which only renewals may do.
func (s *Server) requester(ctx context.Context, r *http.Request, username, password string) (*directory.Identity, error) {
	if id := goidentity.FromHTTPRequestContext(r); id != nil && id.Authenticated() {
		principal := id.UserName() + "@" + id.Domain()
		who, err := s.dir.Lookup(ctx, principal)
		if errors.Is(err, directory.ErrNotFound) {
			return nil, errors.Join(directory.ErrInvalidCredentials, errors.New("the Kerberos principal "+principal+" is not in the directory"))
		}
		return who, err
	}
	if username == "" {
		return nil, nil
	}
	if !*s.cfg.UsernamePassword {
		return nil, errors.New("this server does not accept user names and passwords; use Kerberos")
	}
	who, err := s.dir.Authenticate(ctx, username, password)
	if err != nil {
		if errors.Is(err, directory.ErrInvalidCredentials) {
			return nil, directory.ErrInvalidCredentials
		}
		return nil, err
	}
	return who, nil
}

// challenge adds what a 401 needs to offer Kerberos.
func (s *Server) challenge(w http.ResponseWriter) {
	if s.keytab != nil {
		w.Header().Set("WWW-Authenticate", "Negotiate")
	}
}
