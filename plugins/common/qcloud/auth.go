package qcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// authenticator gives the bearer token: the API key, or an OAuth access token from the
// client credentials grant, cached and renewed a minute (or a tenth of its life) before it
// expires, and renewed at once after a 401.
type authenticator struct {
	c                        *Client
	apiKey, clientID, secret string

	mu      sync.Mutex
	access  string
	expires time.Time
	renewAt time.Time
}

func (a *authenticator) oauth() bool { return a.apiKey == "" }

// invalidate drops the cached token after the tenant refused it, unless another request
// has renewed it meanwhile (a late 401 for an old token keeps the fresh one).
func (a *authenticator) invalidate(refused string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.access == refused {
		a.access = ""
	}
}

func (a *authenticator) token(ctx context.Context) (string, error) {
	if !a.oauth() {
		return a.apiKey, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
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
	rctx, cancel := context.WithTimeout(ctx, a.c.cfg.Timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			return "", 0, fmt.Errorf("qcloud: %s: %w", name, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", a.c.cfg.UserAgent)
		a.c.requests.Add(1)
		resp, err := a.c.http.Do(req)
		if err != nil {
			return "", 0, fmt.Errorf("qcloud: %s: %w", name, stripURL(err))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if err != nil {
			return "", 0, fmt.Errorf("qcloud: %s: reading the answer: %w", name, err)
		}
		r := &response{status: resp.StatusCode, header: resp.Header, body: b}
		if r.status == http.StatusTooManyRequests && attempt < a.c.cfg.Retries {
			a.c.throttle.Add(1)
			a.c.retried.Add(1)
			t := time.NewTimer(a.c.retryAfter(r.header.Get("Retry-After")))
			select {
			case <-rctx.Done():
				t.Stop()
				return "", 0, fmt.Errorf("qcloud: %s: %w", name, rctx.Err())
			case <-t.C:
			}
			continue
		}
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
