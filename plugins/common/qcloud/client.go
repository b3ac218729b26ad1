// Package qcloud is the Qlik Cloud client of the license telemetry and the release: a
// tenant's license overview, status and auto-assign settings, its license assignments,
// the consumption events that tell when a user last used a seat, the users behind the
// assignments, and the assignment actions (delete, add, update) with their per-item
// results. Light on the tenant: every list is read at the largest page the API allows,
// users are read filtered by subject in batches, consumption from a watermark the caller
// keeps, and requests are paced below the tier's rate limit (429s honour Retry-After).
//
// Types follow Qlik's own client, @qlik/api (licenses.d.ts, users.d.ts). Secrets (the API
// key, the OAuth client secret, access tokens, the license key) never reach an error.
package qcloud

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Page sizes and batches: the largest the Qlik Cloud reference allows.
const (
	// PageLimit is the limit of every list read (assignments, consumption, users).
	PageLimit = 100
	// SubjectBatch is how many subjects one filtered users read names.
	SubjectBatch = 50
	// ActionBatch is how many assignments one actions call carries.
	ActionBatch = 100
	// maxFilterLen bounds the encoded length of one users filter, below common URL limits.
	maxFilterLen = 6000
)

// Default pacing, below the published tiers (Tier 1 ≈ 1 000 reads a minute, Tier 2 ≈ 100
// actions a minute).
const (
	DefaultReadsPerMinute   = 900
	DefaultActionsPerMinute = 90
)

// Config configures a Client. Exactly one of APIKey or OAuthClientID (with
// OAuthClientSecret) is required.
type Config struct {
	// Tenant is the tenant's URL, https://NAME.REGION.qlikcloud.com (a path is not allowed).
	Tenant string
	// APIKey is an API key (a bearer token acting as the user who made it).
	APIKey string
	// OAuthClientID and OAuthClientSecret are a machine-to-machine OAuth client: tokens
	// come from POST /oauth/token (client credentials), are cached and renewed before they
	// expire and once on a 401.
	OAuthClientID     string
	OAuthClientSecret string
	// TLS is the transport's TLS configuration (Telegraf's common/tls builds it); nil: the
	// system roots.
	TLS *tls.Config
	// Timeout bounds each request (default 60s).
	Timeout time.Duration
	// Retries is how many times a read is retried after a 5xx, a gateway error or a lost
	// connection, and how many 429s any call waits out (default 4; negative: none).
	Retries int
	// RetryWait is the wait before a read's first retry, doubled each time (default 1s).
	RetryWait time.Duration
	// MaxRetryAfter caps the wait a 429's Retry-After asks for (default 2 minutes).
	MaxRetryAfter time.Duration
	// ReadsPerMinute and ActionsPerMinute pace the reads (Tier 1) and the assignment
	// actions (Tier 2); 0: the defaults above; negative: no pacing.
	ReadsPerMinute   int
	ActionsPerMinute int
	// UserAgent is sent as User-Agent (default "qliksense-license").
	UserAgent string
	// Transport replaces the HTTP transport (tests); TLS is then ignored.
	Transport http.RoundTripper
	// Now is the clock OAuth tokens are renewed by (default time.Now).
	Now func() time.Time
}

// Client is a Qlik Cloud tenant client, safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	auth    *authenticator
	reads   *pacer
	actions *pacer

	requests atomic.Int64
	retried  atomic.Int64
	throttle atomic.Int64
}

// Stats counts the requests a client sent.
type Stats struct {
	Requests  int64 // every HTTP request sent, token requests included
	Retries   int64 // of which repeats after a 5xx, gateway error, lost connection or 401
	Throttled int64 // 429 answers received
}

// New checks cfg and returns a client. It sends nothing.
func New(cfg Config) (*Client, error) {
	base, err := ParseTenant(cfg.Tenant)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.APIKey != "" && (cfg.OAuthClientID != "" || cfg.OAuthClientSecret != ""):
		return nil, errors.New("qcloud: an API key and an OAuth client are both set: use one")
	case cfg.OAuthClientSecret != "" && cfg.OAuthClientID == "":
		return nil, errors.New("qcloud: an OAuth client secret without a client id")
	case cfg.APIKey == "" && cfg.OAuthClientID == "":
		return nil, errors.New("qcloud: no credentials: an API key or an OAuth client id and secret are required")
	case cfg.OAuthClientID != "" && cfg.OAuthClientSecret == "":
		return nil, errors.New("qcloud: the OAuth client has no secret")
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, 60*time.Second)
	if cfg.Retries == 0 {
		cfg.Retries = 4
	}
	cfg.Retries = max(cfg.Retries, 0)
	cfg.RetryWait = cmp.Or(cfg.RetryWait, time.Second)
	cfg.MaxRetryAfter = cmp.Or(cfg.MaxRetryAfter, 2*time.Minute)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, "qliksense-license")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS.Clone()
		}
		rt = tr
	}
	c := &Client{
		cfg:  cfg,
		base: base,
		// Redirects are not followed: a bearer token goes to the tenant only.
		http:    &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		reads:   newPacer(rate(cfg.ReadsPerMinute, DefaultReadsPerMinute)),
		actions: newPacer(rate(cfg.ActionsPerMinute, DefaultActionsPerMinute)),
	}
	c.auth = &authenticator{c: c, apiKey: cfg.APIKey, clientID: cfg.OAuthClientID, secret: cfg.OAuthClientSecret, lock: make(chan struct{}, 1)}
	return c, nil
}

func rate(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// ParseTenant checks a tenant URL: https (http only for 127.0.0.1/localhost), a host, no
// path beyond "/", no query, no user information.
func ParseTenant(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("qcloud: no tenant URL (expected https://NAME.REGION.qlikcloud.com)")
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("qcloud: tenant %q: expected https://NAME.REGION.qlikcloud.com", redactURL(s))
	}
	local := u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1"
	if u.Scheme != "https" && !(u.Scheme == "http" && local) {
		return nil, fmt.Errorf("qcloud: tenant %q: expected an https URL", redactURL(s))
	}
	u.Path = ""
	return u, nil
}

// redactURL keeps a URL printable without user information, query or fragment (where a
// key may have been pasted); an unreadable one is not printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "xxxxx", false
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = "xxxxx", ""
	}
	return u.String()
}

// Tenant is the tenant's base URL.
func (c *Client) Tenant() string { return c.base.String() }

// Stats returns the request counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retried.Load(), Throttled: c.throttle.Load()}
}

// Requests is the number of HTTP requests sent so far (token requests included).
func (c *Client) Requests() int64 { return c.requests.Load() }

// Close closes idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// call is one API request: its name for errors, method, path and query, JSON body.
type call struct {
	name   string // e.g. "reading license assignments"
	method string
	path   string
	query  url.Values
	body   any
	action bool // Tier 2 pacing; never retried after an ambiguous answer
}

// response is a received answer.
type response struct {
	status int
	header http.Header
	body   []byte
	token  string // the bearer token the request carried
}

// transportError is a request that got no usable answer (a timeout, a reset connection,
// a body cut short).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// send sends one request with the current credentials and reads its whole answer.
func (c *Client) send(ctx context.Context, k call) (*response, error) {
	p := c.reads
	if k.action {
		p = c.actions
	}
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	token, err := c.auth.token(ctx)
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path = k.path
	u.RawQuery = k.query.Encode()
	var body io.Reader
	if k.body != nil {
		b, err := json.Marshal(k.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, k.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &transportError{err: stripURL(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("reading the answer (%d): %w", resp.StatusCode, err)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b, token: token}, nil
}

// stripURL drops the request URL from a *url.Error (the path and query are named by the
// call; the operation stays).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
