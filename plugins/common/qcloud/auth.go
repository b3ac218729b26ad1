package qcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
)

// authenticator gives the bearer token: the API key, or an OAuth access token from the
// client credentials grant, cached and renewed a minute (or a tenth of its life) before it
// expires, and renewed at once after a 401.
type authenticator struct {
	c                        *Client
	apiKey, clientID, secret string

	// lock (one slot) guards the fields and serializes fetches; a caller waiting for
	// another's fetch gives up when its context ends.
	lock    chan struct{}
	access  string
	expires time.Time
	renewAt time.Time
}

func (a *authenticator) oauth() bool { return a.apiKey == "" }

// invalidate drops the cached token after the tenant refused it, unless another request
// has renewed it meanwhile (a late 401 for an old token keeps the fresh one).
func (a *authenticator) invalidate(refused string) {
	a.lock <- struct{}{}
	defer func() { <-a.lock }()
	if a.access == refused {
		a.access = ""
	}
}

func (a *authenticator) token(ctx context.Context) (string, error) {
	if !a.oauth() {
		return a.apiKey, nil
	}
	select {
	case a.lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("qcloud: waiting for an OAuth token: %w", ctx.Err())
	}
	defer func() { <-a.lock }()
	if a.access != "" && a.c.cfg.Now().Before(a.renewAt) {
		return a.access, nil
	}
	tok, life, err := a.fetch(ctx)
	if err != nil {
		return "", err
	}
	now := a.c.cfg.Now()
	a.access, a.expires = tok, now.Add(life)
	a.renewAt = a.expires.Add(-min(time.Minute, life/10))
	return tok, nil
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetch asks POST /oauth/token for an access token (client credentials, scope
// user_default: the JSON body Qlik's own client sends). Neither the secret nor the
// answer's body ever reaches an error.
func (a *authenticator) fetch(ctx context.Context) (string, time.Duration, error) {
	const name = "getting an OAuth token (POST /oauth/token)"
	body, _ := json.Marshal(map[string]string{"client_id": a.clientID, "client_secret": a.secret, "grant_type": "client_credentials", "scope": "user_default"})
	u := *a.c.base
	u.Path = "/oauth/token"
	for attempt := 0; ; attempt++ {
		r, err := a.post(ctx, u.String(), body)
		if err != nil {
			return "", 0, fmt.Errorf("qcloud: %s: %w", name, err)
		}
		if r.status == http.StatusTooManyRequests && attempt < a.c.cfg.Retries {
			// the wait is bounded by ctx and the Retry-After cap, not by one request's timeout
			a.c.throttle.Add(1)
			a.c.retried.Add(1)
			if err := ctxsleep.Sleep(ctx, a.c.retryAfter(r.header.Get("Retry-After"))); err != nil {
				return "", 0, fmt.Errorf("qcloud: %s: waiting out a 429: %w", name, err)
			}
			continue
		}
		b := r.body
		if r.status != http.StatusOK {
			e := apiError(name, r)
			if r.status == http.StatusBadRequest || r.status == http.StatusUnauthorized {
				e.Title += " (check oauth_client_id and oauth_client_secret)"
			}
			return "", 0, e
		}
		var ta tokenAnswer
		if err := json.Unmarshal(b, &ta); err != nil || ta.AccessToken == "" {
			return "", 0, fmt.Errorf("qcloud: %s: the answer has no access_token", name)
		}
		life := time.Duration(ta.ExpiresIn) * time.Second
		if life <= 0 {
			life = 5 * time.Minute
		}
		return ta.AccessToken, life, nil
	}
}

// post sends one token request, bounded by the client's Timeout.
func (a *authenticator) post(ctx context.Context, u string, body []byte) (*response, error) {
	rctx, cancel := context.WithTimeout(ctx, a.c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", a.c.cfg.UserAgent)
	a.c.requests.Add(1)
	resp, err := a.c.http.Do(req)
	if err != nil {
		return nil, stripURL(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}
