package qrs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Retry-After is honoured exactly, and one longer than RetryMaxDelay ends the retries.
func TestRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	retryAfter := "3"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{"buildVersion":"1"}`)
	}))
	defer ts.Close()
	c, err := New(Config{Server: ts.URL, RetryMaxDelay: 5 * time.Second})
	require.NoError(t, err)
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}
	_, err = c.About(t.Context())
	require.NoError(t, err)
	require.Equal(t, []time.Duration{3 * time.Second}, waits)

	calls.Store(0)
	waits = nil
	retryAfter = "60"
	_, err = c.About(t.Context())
	require.EqualError(t, err, "GET /qrs/about: 429 Too Many Requests: retry after 60")
	require.Empty(t, waits)
}

func TestBackoffIsBoundedWithJitter(t *testing.T) {
	c, err := New(Config{Server: "https://x", RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second})
	require.NoError(t, err)
	for attempt := 1; attempt < 10; attempt++ {
		limit := min(100*time.Millisecond<<(attempt-1), time.Second)
		for range 50 {
			d := c.backoff(attempt)
			require.Positive(t, d)
			require.LessOrEqual(t, d, limit)
		}
	}
}

func TestXrfkeyAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := NewXrfkey()
		require.Regexp(t, `^[0-9A-Za-z]{16}$`, k)
		require.False(t, seen[k])
		seen[k] = true
	}
}
