package qcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
)

// do sends a call with the retry rules: a read answered 429 waits out its Retry-After (up
// to Retries times; the last 429 is an APIError); an action answered 429 returns at once
// as a definitive APIError carrying the Retry-After (the rate limiter refused it unseen:
// not done; the caller decides whether and when to send it again, as its stop and
// deadline allow, never a wait here on a context a stop does not end); a 401 of an OAuth token renews the
// token once; a read is retried after a 5xx, a gateway error or a transport failure; an
// action never is (keys are the items it carried, for the AmbiguousError). Answers 2xx
// come back; every other answer is an error naming the call.
func (c *Client) do(ctx context.Context, k call, keys []Key) (*response, error) {
	throttled, failed, renewed := 0, 0, false
	for {
		r, err := c.send(ctx, k)
		var te *transportError
		switch {
		case err == nil:
		case errors.As(err, &te):
			if k.action {
				return nil, &AmbiguousError{Call: k.name, Keys: keys, Err: err}
			}
			if ctx.Err() != nil || failed >= c.cfg.Retries {
				return nil, fmt.Errorf("qcloud: %s: %w", k.name, err)
			}
			failed++
			if err := c.backoff(ctx, failed); err != nil {
				return nil, fmt.Errorf("qcloud: %s: %w", k.name, err)
			}
			continue
		default:
			return nil, fmt.Errorf("qcloud: %s: %w", k.name, err)
		}
		switch {
		case r.status >= 200 && r.status < 300:
			return r, nil
		case r.status == http.StatusTooManyRequests:
			c.throttle.Add(1)
			if k.action || throttled >= c.cfg.Retries {
				// the rate limiter refused the call before the service saw it: definitive,
				// for an action too (nothing was changed)
				e := apiError(k.name, r)
				e.RetryAfter = c.retryAfter(r.header.Get("Retry-After"))
				return nil, e
			}
			throttled++
			if err := ctxsleep.Sleep(ctx, c.retryAfter(r.header.Get("Retry-After"))); err != nil {
				return nil, fmt.Errorf("qcloud: %s: waiting out a 429: %w", k.name, err)
			}
			c.retried.Add(1)
			continue
		case r.status == http.StatusUnauthorized && c.auth.oauth() && !renewed:
			renewed = true
			c.auth.invalidate(r.token)
			c.retried.Add(1)
			continue
		case r.status >= 500 || r.status == http.StatusRequestTimeout:
			if k.action {
				return nil, &AmbiguousError{Call: k.name, Keys: keys, Status: r.status}
			}
			if failed >= c.cfg.Retries {
				return nil, apiError(k.name, r)
			}
			failed++
			if err := c.backoff(ctx, failed); err != nil {
				return nil, fmt.Errorf("qcloud: %s: %w", k.name, err)
			}
			continue
		default:
			return nil, apiError(k.name, r)
		}
	}
}

func (c *Client) backoff(ctx context.Context, attempt int) error {
	c.retried.Add(1)
	d := c.cfg.RetryWait << min(attempt-1, 6)
	return ctxsleep.Sleep(ctx, d)
}

// retryAfter reads a Retry-After (seconds or an HTTP date), capped at MaxRetryAfter;
// missing or unreadable: one second.
func (c *Client) retryAfter(v string) time.Duration {
	d := time.Second
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		// compared in seconds: a huge value would wrap around as a Duration
		if s >= int64(c.cfg.MaxRetryAfter/time.Second) {
			return c.cfg.MaxRetryAfter
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(time.Until(t), 0)
	}
	return min(d, c.cfg.MaxRetryAfter)
}
