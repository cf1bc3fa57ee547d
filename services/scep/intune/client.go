package intune

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is one Intune integration: an Entra app registered in the
// customer's tenant with the application permissions Microsoft Intune API
// scep_challenge_provider and Microsoft Graph Application.Read.All, both
// admin-consented.
type Config struct {
	// Tenant is the Entra tenant id or one of its domains
	// (contoso.onmicrosoft.com). Required.
	Tenant string
	// ClientID is the app's application (client) id. Required.
	ClientID string
	// ClientSecret is a client secret of the app. Required.
	ClientSecret string
	// Authority is the Entra login endpoint; the token endpoint is
	// {Authority}{Tenant}/oauth2/v2.0/token.
	// Default: https://login.microsoftonline.com/.
	Authority string
	// GraphURL is Microsoft Graph, for service discovery; the Graph scope
	// is GraphURL + ".default". Default: https://graph.microsoft.com/.
	GraphURL string
	// IntuneResource is the Intune resource; the Intune scope is
	// IntuneResource + "/.default", built as the libraries build it (hence
	// a double slash with the default). Default:
	// https://api.manage.microsoft.com/.
	IntuneResource string
	// ProviderNameAndVersion names this CA to Intune (the callerInfo field
	// and the "UserAgent" header). Default: certgate.
	ProviderNameAndVersion string
	// HTTPClient makes every call. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for token lifetimes. Default: time.Now.
	Now func() time.Time
}

const (
	defaultAuthority      = "https://login.microsoftonline.com/"
	defaultGraphURL       = "https://graph.microsoft.com/"
	defaultIntuneResource = "https://api.manage.microsoft.com/"

	// IntuneAppID is Intune's first-party application id, whose service
	// principal lists the Intune service endpoints.
	IntuneAppID = "0000000a-0000-0000-c000-000000000000"

	scepService    = "ScepRequestValidationFEService"
	scepAPIVersion = "2018-02-20"
	pkiService     = "PkiConnectorFEService"
	pkiAPIVersion  = "5019-05-05" // sic, in both libraries

	// tokenMargin is how long before its expiry a token is replaced, so
	// that a token is never sent just as it lapses.
	tokenMargin = 5 * time.Minute
	// maxBody bounds what is read of any answer; 500 revocation requests
	// are far below it.
	maxBody = 4 << 20
)

// Client calls Intune for one Config. It is safe for concurrent use.
type Client struct {
	cfg          Config
	tokenURL     string
	graphScope   string
	intuneScope  string
	discoveryURL string

	mu       sync.Mutex        // guards tokens and services
	tokens   map[string]token  // by scope
	services map[string]string // lower-cased provider name → URI; nil until discovered
}

type token struct {
	value     string
	refreshAt time.Time
}

// New checks cfg and fills its defaults. It makes no network call.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Tenant) == "" || strings.ContainsAny(cfg.Tenant, "/?# ") {
		return nil, fmt.Errorf("intune: config: Tenant %q must be a tenant id or domain", cfg.Tenant)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("intune: config: ClientID is required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("intune: config: ClientSecret is required")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.Authority, defaultAuthority)
	def(&cfg.GraphURL, defaultGraphURL)
	def(&cfg.IntuneResource, defaultIntuneResource)
	def(&cfg.ProviderNameAndVersion, "certgate")
	// Both are prefixes the libraries append to without a separator.
	cfg.Authority = withSlash(cfg.Authority)
	cfg.GraphURL = withSlash(cfg.GraphURL)
	for name, s := range map[string]string{"Authority": cfg.Authority, "GraphURL": cfg.GraphURL, "IntuneResource": cfg.IntuneResource} {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("intune: config: %s %q is not an http(s) URL", name, s)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{
		cfg:          cfg,
		tokenURL:     cfg.Authority + url.PathEscape(cfg.Tenant) + "/oauth2/v2.0/token",
		graphScope:   cfg.GraphURL + ".default",
		intuneScope:  cfg.IntuneResource + "/.default",
		discoveryURL: cfg.GraphURL + "v1.0/servicePrincipals/appId=" + IntuneAppID + "/endpoints",
		tokens:       map[string]token{},
	}, nil
}

func withSlash(s string) string {
	if !strings.HasSuffix(s, "/") {
		return s + "/"
	}
	return s
}

// call POSTs body as JSON to {service URI}/{path} and decodes the 200
// answer into out. It returns the call's activity id.
func (c *Client) call(ctx context.Context, service, path, apiVersion string, body, out any) (string, error) {
	base, err := c.endpoint(ctx, service)
	if err != nil {
		return "", err
	}
	tok, err := c.token(ctx, c.intuneScope)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("intune: %s: %w", path, err)
	}
	activity := newUUID()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+path, bytes.NewReader(payload))
	if err != nil {
		return activity, &UnavailableError{Op: path, ActivityID: activity, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client-request-id", activity)
	req.Header.Set("api-version", apiVersion)
	// The Java library names the caller in this non-standard header; we
	// also send the standard one.
	req.Header.Set("UserAgent", c.cfg.ProviderNameAndVersion)
	req.Header.Set("User-Agent", c.cfg.ProviderNameAndVersion)

	err = c.do(req, path, activity, out)
	var ue *UnavailableError
	if errors.As(err, &ue) && ctx.Err() == nil {
		// As the C# library does (Java only for unknown hosts): the
		// service may have moved, so discover again next time. Our own
		// deadline or cancellation says nothing about Intune.
		c.forgetServices()
		if ue.StatusCode == http.StatusUnauthorized {
			c.forgetToken(c.intuneScope)
		}
	}
	return activity, err
}

// do sends req and decodes a 2xx JSON answer into out; anything else is an
// *UnavailableError.
func (c *Client) do(req *http.Request, op, activity string, out any) error {
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return &UnavailableError{Op: op, ActivityID: activity, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &UnavailableError{Op: op, StatusCode: resp.StatusCode, ActivityID: activity, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &UnavailableError{Op: op, StatusCode: resp.StatusCode, ActivityID: activity, Detail: errorDetail(body)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &UnavailableError{Op: op, StatusCode: resp.StatusCode, ActivityID: activity,
			Err: fmt.Errorf("decoding the answer: %w", err)}
	}
	return nil
}

// token returns a cached token for scope or gets a new one. Concurrent
// callers with a stale token may each fetch one; the last stored wins,
// which is harmless and keeps the lock off the network.
func (c *Client) token(ctx context.Context, scope string) (string, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	t, ok := c.tokens[scope]
	c.mu.Unlock()
	if ok && now.Before(t.refreshAt) {
		return t.value, nil
	}

	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
		"scope":         {scope},
	}
	activity := newUUID()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &UnavailableError{Op: "token", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", activity)
	req.Header.Set("User-Agent", c.cfg.ProviderNameAndVersion)
	var answer struct {
		TokenType   string      `json:"token_type"`
		ExpiresIn   json.Number `json:"expires_in"` // a number, a string in v1 answers
		AccessToken string      `json:"access_token"`
	}
	if err := c.do(req, "token", activity, &answer); err != nil {
		return "", err
	}
	secs, err := strconv.ParseInt(answer.ExpiresIn.String(), 10, 64)
	if err != nil || secs <= 0 || answer.AccessToken == "" || !strings.EqualFold(answer.TokenType, "Bearer") {
		return "", &UnavailableError{Op: "token", ActivityID: activity,
			Err: fmt.Errorf("unexpected answer (token_type %q, expires_in %q)", answer.TokenType, answer.ExpiresIn)}
	}
	life := time.Duration(secs) * time.Second
	t = token{value: answer.AccessToken, refreshAt: now.Add(life - min(tokenMargin, life/2))}
	c.mu.Lock()
	c.tokens[scope] = t
	c.mu.Unlock()
	return t.value, nil
}

func (c *Client) forgetToken(scope string) {
	c.mu.Lock()
	delete(c.tokens, scope)
	c.mu.Unlock()
}

// endpoint returns the base URI of an Intune service, discovering the
// services through Graph when they are not cached.
func (c *Client) endpoint(ctx context.Context, service string) (string, error) {
	c.mu.Lock()
	services := c.services
	c.mu.Unlock()
	if services == nil {
		var err error
		if services, err = c.discover(ctx); err != nil {
			return "", err
		}
		c.mu.Lock()
		c.services = services
		c.mu.Unlock()
	}
	if uri := services[strings.ToLower(service)]; uri != "" {
		return uri, nil
	}
	// Forget the list, so that granting the permission takes effect
	// without a restart.
	c.forgetServices()
	return "", fmt.Errorf("%w: Graph does not list %s among Intune's endpoints for tenant %s: "+
		"the Entra app %s lacks the admin-consented application permission "+
		"Microsoft Intune API / scep_challenge_provider, or the tenant is not licensed for Intune",
		ErrServiceNotFound, service, c.cfg.Tenant, c.cfg.ClientID)
}

func (c *Client) forgetServices() {
	c.mu.Lock()
	c.services = nil
	c.mu.Unlock()
}

func (c *Client) discover(ctx context.Context) (map[string]string, error) {
	tok, err := c.token(ctx, c.graphScope)
	if err != nil {
		return nil, err
	}
	activity := newUUID()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.discoveryURL, nil)
	if err != nil {
		return nil, &UnavailableError{Op: "discovery", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("client-request-id", activity)
	req.Header.Set("User-Agent", c.cfg.ProviderNameAndVersion)
	var answer struct {
		Value *[]struct {
			ProviderName string `json:"providerName"`
			ServiceName  string `json:"serviceName"`
			URI          string `json:"uri"`
		} `json:"value"`
	}
	if err := c.do(req, "discovery", activity, &answer); err != nil {
		var ue *UnavailableError
		if errors.As(err, &ue) && ue.StatusCode == http.StatusForbidden {
			ue.Detail += " (the Entra app needs the admin-consented application permission Microsoft Graph / Application.Read.All)"
		}
		return nil, err
	}
	if answer.Value == nil {
		return nil, &UnavailableError{Op: "discovery", ActivityID: activity, Err: errors.New(`no "value" in the answer`)}
	}
	services := map[string]string{}
	for _, e := range *answer.Value {
		name := e.ProviderName
		if name == "" {
			name = e.ServiceName
		}
		services[strings.ToLower(name)] = e.URI
	}
	return services, nil
}

// newUUID is a random (version 4) UUID, RFC 9562 §5.4.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
