package qcloud

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// 60 a minute: ten seconds' worth (10 requests) at once, then one a second; idle time
// refills the bucket up to ten.
func TestPacerStaysBelowTheRate(t *testing.T) {
	p := newPacer(60)
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	for range 10 {
		require.Zero(t, p.reserve(t0))
	}
	require.Equal(t, time.Second, p.reserve(t0))
	require.Equal(t, 2*time.Second, p.reserve(t0))
	require.Zero(t, p.reserve(t0.Add(3*time.Second)), "three seconds later: one token free again")
	require.Equal(t, time.Second, p.reserve(t0.Add(3*time.Second)))
	require.Zero(t, p.reserve(t0.Add(time.Hour)))
	require.InDelta(t, 9, p.tokens, 0.001, "refilled to the burst, not beyond")
	require.Zero(t, newPacer(0).interval, "no pacing")
	require.Equal(t, time.Minute/900, newPacer(DefaultReadsPerMinute).interval)
}

func TestRetryAfter(t *testing.T) {
	c := &Client{cfg: Config{MaxRetryAfter: time.Minute}}
	require.Equal(t, 7*time.Second, c.retryAfter("7"))
	require.Equal(t, time.Minute, c.retryAfter("3600"), "capped")
	require.Equal(t, time.Second, c.retryAfter(""), "missing: a second")
	require.Equal(t, time.Second, c.retryAfter("soon"))
	d := c.retryAfter(time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat))
	require.InDelta(t, 30, d.Seconds(), 1.5, "an HTTP date")
}
