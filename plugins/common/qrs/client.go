// Package qrs is a client for the Qlik Sense Repository Service (QRS) API, limited to what
// license telemetry and license release need: the server license, the access type overview,
// allocations, users and counts, and releasing an allocation.
//
// Every request carries a fresh xrfkey (query parameter and X-Qlik-Xrfkey header), a
// context, and one of three ways in: mutual TLS to the QRS port with the certificates the
// QMC exports, or a virtual proxy with header authentication or a JWT bearer token.
package qrs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/internal/redact"
)

// AuthMode says how the client proves who it is.
type AuthMode string

const (
	// AuthCertificate is mutual TLS straight to QRS (usually port 4242) with the exported
	// client certificate; the acting user is named by the X-Qlik-User header.
	AuthCertificate AuthMode = "certificate"
	// AuthHeader goes through a virtual proxy that trusts a header naming the user.
	AuthHeader AuthMode = "header"
	// AuthJWT goes through a virtual proxy that accepts a JWT bearer token.
	AuthJWT AuthMode = "jwt"
)

// DefaultUser is the X-Qlik-User used with certificates when none is configured: the
// repository service account, which has the rights license administration needs.
const DefaultUser = "UserDirectory=INTERNAL; UserId=sa_repository"

// Config describes one QRS endpoint and how to authenticate against it.
type Config struct {
	// Server is the scheme, host and port, e.g. https://qlik.example.com:4242 for
	// certificates or https://qlik.example.com for a virtual proxy.
	Server string
	// VirtualProxy is the virtual proxy prefix ("hdr", "jwt"); empty for none.
	VirtualProxy string
	Auth         AuthMode
	// User is the X-Qlik-User header value in certificate mode (DefaultUser when empty).
	User string
	// HeaderName and HeaderValue are the header-authentication header and the user it names.
	HeaderName  string
	HeaderValue string
	// Token returns the JWT for each request in JWT mode; it is called per request so a
	// rotated token file is picked up, and the token is never kept by the client.
	Token func() (string, error)
	// TLS is the TLS configuration: root CA and, in certificate mode, the client certificate.
	TLS *tls.Config
	// Timeout bounds each HTTP attempt, body included (default 60s).
	Timeout time.Duration
	// MaxRetries is how many times a failed GET is retried (default 3; negative for none).
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with full jitter
	// (defaults 250ms and 10s). A Retry-After longer than RetryMaxDelay ends the retries.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// Transport replaces the HTTP transport (tests); TLS is then ignored.
	Transport http.RoundTripper
}

// Stats are cumulative counters of a client; take differences for one gather or run.
type Stats struct {
	Requests  int64 // HTTP attempts, retries included
	Retries   int64
	Errors    int64 // calls that ended in an error
	BytesRead int64 // response body bytes read (after content decoding)
}

// Client talks to one QRS. It is safe for concurrent use.
type Client struct {
	base       *url.URL // scheme://host[:port][/prefix]/qrs
	cfg        Config
	http       *http.Client
	requests   atomic.Int64
	retries    atomic.Int64
	errors     atomic.Int64
	bytesRead  atomic.Int64
	serverCert atomic.Pointer[x509.Certificate] // the last certificate the server presented
	sleep      func(context.Context, time.Duration) error
}

// New validates cfg and returns a client.
func New(cfg Config) (*Client, error) {
	shown := redact.URL(cfg.Server) // the server URL as errors print it: never a secret
	if redact.HasCredentials(cfg.Server) {
		return nil, fmt.Errorf("server URL %q: QRS takes no user name or password in the URL (it would reach logs and errors and be sent as basic authentication)", shown)
	}
	u, err := url.Parse(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("parsing server URL: %w", redact.Error(err))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("server URL %q must start with https:// (or http:// for a virtual proxy served without TLS)", shown)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server URL %q has no host", shown)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("server URL %q must be scheme://host[:port] only; put a virtual proxy prefix in virtual_proxy", shown)
	}
	prefix := strings.Trim(cfg.VirtualProxy, "/")
	if strings.ContainsAny(prefix, "/?#% ") {
		return nil, fmt.Errorf("virtual proxy prefix %q must be a single path segment", cfg.VirtualProxy)
	}
	u.Path = "/qrs"
	if prefix != "" {
		u.Path = "/" + prefix + "/qrs"
	}
	switch cfg.Auth {
	case AuthCertificate, "":
		cfg.Auth = AuthCertificate
		if cfg.User == "" {
			cfg.User = DefaultUser
		}
	case AuthHeader:
		if cfg.HeaderName == "" || cfg.HeaderValue == "" {
			return nil, errors.New("header authentication needs a header name and a user")
		}
	case AuthJWT:
		if cfg.Token == nil {
			return nil, errors.New("JWT authentication needs a token")
		}
	default:
		return nil, fmt.Errorf("unknown authentication mode %q", cfg.Auth)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = 250 * time.Millisecond
	}
	if cfg.RetryMaxDelay <= 0 {
		cfg.RetryMaxDelay = 10 * time.Second
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.TLS
		// New connections resume the TLS session of earlier ones instead of a full
		// handshake: http.sys closes idle connections after two minutes, so a gather at a
		// usual interval opens new ones every time. The caller's config is not changed.
		if cfg.TLS != nil && cfg.TLS.ClientSessionCache == nil {
			t.TLSClientConfig = cfg.TLS.Clone()
			t.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		}
		t.MaxIdleConnsPerHost = 4
		t.ResponseHeaderTimeout = cfg.Timeout
		transport = t
	}
	return &Client{
		base:  u,
		cfg:   cfg,
		http:  &http.Client{Transport: transport, CheckRedirect: noRedirects},
		sleep: ctxsleep.Sleep,
	}, nil
}

// A redirect from QRS or a proxy means a login page, never data: stop and report it.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// BaseURL is the URL every QRS path is appended to, e.g. https://host:4242/qrs.
func (c *Client) BaseURL() string { return c.base.String() }

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:  c.requests.Load(),
		Retries:   c.retries.Load(),
		Errors:    c.errors.Load(),
		BytesRead: c.bytesRead.Load(),
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// ServerCertificate is the certificate the server presented on the last answered request
// (nil before one, or over plain HTTP).
func (c *Client) ServerCertificate() *x509.Certificate { return c.serverCert.Load() }

// ClientCertificate is the configured client certificate (nil without one).
func (c *Client) ClientCertificate() *x509.Certificate {
	if c.cfg.TLS == nil || len(c.cfg.TLS.Certificates) == 0 {
		return nil
	}
	pair := c.cfg.TLS.Certificates[0]
	if pair.Leaf != nil {
		return pair.Leaf
	}
	if len(pair.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

// Timeout is the bound of one HTTP attempt (Config.Timeout).
func (c *Client) Timeout() time.Duration { return c.cfg.Timeout }

// About reads GET /qrs/about.
func (c *Client) About(ctx context.Context) (*About, error) {
	var v About
	return &v, c.getJSON(ctx, "/about", nil, &v)
}

// License reads GET /qrs/license, the site's server license.
func (c *Client) License(ctx context.Context) (*License, error) {
	var v License
	return &v, c.getJSON(ctx, "/license", nil, &v)
}

// AccessTypeOverview reads GET /qrs/license/accesstypeoverview in one request.
func (c *Client) AccessTypeOverview(ctx context.Context) (*AccessTypeOverview, error) {
	var v AccessTypeOverview
	return &v, c.getJSON(ctx, "/license/accesstypeoverview", nil, &v)
}

// Allocations streams /qrs/license/<type>accesstype/full, optionally filtered, calling fn
// for each row as it is decoded. fn may keep the pointer. An error from fn stops the stream
// and is returned as it is.
func (c *Client) Allocations(ctx context.Context, t AccessType, filter string, fn func(*Allocation) error) error {
	path := t.Endpoint() + "/full"
	resp, err := c.do(ctx, http.MethodGet, path, filterQuery(filter))
	if err != nil {
		return err
	}
	defer c.drain(resp)
	fnErr, err := newAllocationReader(resp.Body, 64<<10).list(fn)
	if err != nil {
		return c.fail(&Error{Method: http.MethodGet, Path: c.base.Path + path, Err: err})
	}
	return fnErr
}

// Allocation reads one allocation by id; a 404 is reported by IsNotFound.
func (c *Client) Allocation(ctx context.Context, t AccessType, id string) (*Allocation, error) {
	var v Allocation
	return &v, c.getJSON(ctx, t.Endpoint()+"/"+url.PathEscape(id), nil, &v)
}

// DeleteAllocation releases an allocation: DELETE /qrs/license/<type>accesstype/{id},
// which QRS answers with 204. It is sent once and never retried: when the answer is lost
// (an Error with Status 0) the caller must read the allocation back to learn the outcome.
func (c *Client) DeleteAllocation(ctx context.Context, t AccessType, id string) error {
	path := t.Endpoint() + "/" + url.PathEscape(id)
	resp, err := c.do(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return err
	}
	c.drain(resp)
	return nil
}

// Users streams /qrs/user/full with an optional filter.
func (c *Client) Users(ctx context.Context, filter string, fn func(*User) error) error {
	return streamList(ctx, c, "/user/full", filterQuery(filter), fn)
}

// User reads one user by id; a 404 is reported by IsNotFound.
func (c *Client) User(ctx context.Context, id string) (*User, error) {
	var v User
	return &v, c.getJSON(ctx, "/user/"+url.PathEscape(id), nil, &v)
}

// Apps streams /qrs/app/full with an optional filter, e.g. one on modifiedDate.
func (c *Client) Apps(ctx context.Context, filter string, fn func(*App) error) error {
	return streamList(ctx, c, "/app/full", filterQuery(filter), fn)
}

// AppObjects streams /qrs/app/object/full with an optional filter, e.g.
// `objectType eq 'sheet' and modifiedDate ge '…'`.
func (c *Client) AppObjects(ctx context.Context, filter string, fn func(*AppObject) error) error {
	return streamList(ctx, c, "/app/object/full", filterQuery(filter), fn)
}

// AddAnalyzerAccess gives a user analyzer access: POST /qrs/license/analyzeraccesstype
// with the user, which QRS answers 201 with the new allocation. Like a DELETE it is sent
// once and never retried: when the answer is lost the caller reads back whether the user
// holds an analyzer allocation.
func (c *Client) AddAnalyzerAccess(ctx context.Context, userID string) (*Allocation, error) {
	body, err := json.Marshal(map[string]any{"user": map[string]string{"id": userID}})
	if err != nil {
		return nil, err
	}
	path := Analyzer.Endpoint()
	resp, err := c.doBody(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return nil, err
	}
	defer c.drain(resp)
	var a Allocation
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, c.fail(&Error{Method: http.MethodPost, Path: c.base.Path + path, Err: fmt.Errorf("decoding response: %w", err)})
	}
	return &a, nil
}

// Count reads GET /qrs/<entity>/count, e.g. Count(ctx, "/user", filter).
func (c *Client) Count(ctx context.Context, entity, filter string) (int64, error) {
	var v count
	if err := c.getJSON(ctx, entity+"/count", filterQuery(filter), &v); err != nil {
		return 0, err
	}
	return v.Value, nil
}

func filterQuery(filter string) url.Values {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	return q
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q)
	if err != nil {
		return err
	}
	defer c.drain(resp)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return c.fail(&Error{Method: http.MethodGet, Path: c.base.Path + path, Err: fmt.Errorf("decoding response: %w", err)})
	}
	return nil
}

// streamList decodes a JSON array element by element, so memory follows what fn keeps,
// not the size of the body.
func streamList[T any](ctx context.Context, c *Client, path string, q url.Values, fn func(*T) error) error {
	resp, err := c.do(ctx, http.MethodGet, path, q)
	if err != nil {
		return err
	}
	defer c.drain(resp)
	fail := func(what string, err error) error {
		return c.fail(&Error{Method: http.MethodGet, Path: c.base.Path + path, Err: fmt.Errorf("%s: %w", what, err)})
	}
	dec := json.NewDecoder(resp.Body)
	tok, err := dec.Token()
	if err != nil {
		return fail("decoding response", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fail("decoding response", fmt.Errorf("expected a JSON array, got %v", tok))
	}
	for i := 0; dec.More(); i++ {
		v := new(T)
		if err := dec.Decode(v); err != nil {
			return fail(fmt.Sprintf("decoding element %d", i), err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail("decoding end of array", err)
	}
	return nil
}

func (c *Client) fail(err *Error) error {
	c.errors.Add(1)
	return err
}

// drain reads what is left of a body (so the connection can be reused) and closes it.
func (c *Client) drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func (c *Client) attempt(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, *Error) {
	key := NewXrfkey()
	u := *c.base
	u.Path += path
	query := url.Values{}
	for k, v := range q {
		query[k] = v
	}
	query.Set("xrfkey", key)
	u.RawQuery = query.Encode()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u.String(), rd)
	if err != nil {
		cancel()
		return nil, &Error{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "qliksense-license")
	switch c.cfg.Auth {
	case AuthCertificate:
		req.Header.Set("X-Qlik-User", c.cfg.User)
	case AuthHeader:
		req.Header.Set(c.cfg.HeaderName, c.cfg.HeaderValue)
	case AuthJWT:
		tok, err := c.cfg.Token()
		if err != nil {
			cancel()
			return nil, &Error{Err: fmt.Errorf("reading JWT: %w", err)}
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	}
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, xrfkey included
		}
		// net/http sometimes prefixes a TLS alert with the name of its internal function.
		if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "readLoopPeekFailLocked: ") {
			err = inner
		}
		return nil, &Error{Err: err}
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		c.serverCert.Store(resp.TLS.PeerCertificates[0])
	}
	resp.Body = &countingBody{rc: resp.Body, n: &c.bytesRead, cancel: cancel}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	c.drain(resp)
	e := &Error{Status: resp.StatusCode, Body: cleanBody(head)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Body = "redirected to " + resp.Header.Get("Location") + " (a login page? check the virtual proxy and authentication)"
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		e.Err = retryAfterError{header: ra}
	}
	return nil, e
}

// countingBody counts body bytes and ends the attempt's context when closed.
type countingBody struct {
	rc     io.ReadCloser
	n      *atomic.Int64
	cancel context.CancelFunc
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
