package qrs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Retries: a GET is retried on connection errors, 5xx and 429, with exponential backoff and
// full jitter, honouring Retry-After, within the retry budget and the context's deadline.
// A DELETE, a 4xx or a rejected certificate is never retried.

// do sends one call, retrying a GET on transport errors, 5xx and 429 within the retry
// budget and the context. It returns a 2xx response whose body the caller must drain.
func (c *Client) do(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	return c.doBody(ctx, method, path, q, nil)
}

// doBody is do with a JSON request body (a POST, never retried).
func (c *Client) doBody(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, error) {
	fullPath := c.base.Path + path
	attempts := 1
	if method == http.MethodGet {
		attempts += c.cfg.MaxRetries
	}
	var lastErr *Error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt)
			if lastErr.Status == http.StatusTooManyRequests || lastErr.Status == http.StatusServiceUnavailable {
				if ra, ok := lastErr.retryAfter(); ok {
					if ra > c.cfg.RetryMaxDelay {
						break
					}
					wait = ra
				}
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				break
			}
			if err := c.sleep(ctx, wait); err != nil {
				break
			}
			c.retries.Add(1)
		}
		resp, err := c.attempt(ctx, method, path, q, body)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if ctx.Err() != nil || !retryable(err) {
			break
		}
	}
	lastErr.Path = fullPath
	lastErr.Method = method
	return nil, c.fail(lastErr)
}

func retryable(e *Error) bool {
	if e.Status == 0 {
		// A certificate the other side rejects stays rejected: do not retry.
		var verr *tls.CertificateVerificationError
		var alert tls.AlertError
		var uerr x509.UnknownAuthorityError
		var herr x509.HostnameError
		if errors.As(e.Err, &verr) || errors.As(e.Err, &alert) || errors.As(e.Err, &uerr) || errors.As(e.Err, &herr) {
			return false
		}
		// A TLS alert from the server ("remote error: tls: unknown certificate authority").
		var op *net.OpError
		if errors.As(e.Err, &op) && op.Op == "remote error" {
			return false
		}
		return true
	}
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBaseDelay << (attempt - 1)
	if d <= 0 || d > c.cfg.RetryMaxDelay {
		d = c.cfg.RetryMaxDelay
	}
	return time.Duration(rand.Int64N(int64(d)) + 1) // full jitter
}

// retryAfterError keeps the Retry-After header of a failed attempt.
type retryAfterError struct{ header string }

func (r retryAfterError) Error() string { return "retry after " + r.header }

func (e *Error) retryAfter() (time.Duration, bool) {
	var ra retryAfterError
	if !errors.As(e.Err, &ra) {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(ra.header)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(ra.header); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// RetryBudget is how many times a failed request may be sent again (Config.MaxRetries):
// GETs by the client itself, a change by its caller once a read proved it not done.
func (c *Client) RetryBudget() int { return c.cfg.MaxRetries }

// Backoff is the wait before the attempt-th retry (1 for the first), with the client's
// exponential backoff and full jitter.
func (c *Client) Backoff(attempt int) time.Duration { return c.backoff(max(1, attempt)) }
