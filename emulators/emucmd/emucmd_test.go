package emucmd

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	var out, errb bytes.Buffer
	c := New("x-emulator", "site", "1.2", &out, &errb)
	f := c.FaultFlags("limit faults to this method")
	code, done := c.Parse([]string{"-now", "2026-05-04T10:00:00Z", "-hosts", " a, ,b ", "-error-rate", "0.5", "-fault-method", "DELETE"})
	require.False(t, done)
	require.Zero(t, code)
	require.Equal(t, time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), c.Now())
	require.Equal(t, []string{"a", "b"}, c.Hosts())
	require.Equal(t, 0.5, *f.ErrorRate)
	require.Equal(t, "DELETE", *f.Method)

	c = New("x-emulator", "site", "1.2", &out, &errb)
	_, done = c.Parse(nil)
	require.False(t, done)
	require.True(t, c.Now().IsZero(), "no -now: the real clock")
	require.Nil(t, c.Hosts())

	code, done = New("x-emulator", "site", "1.2", &out, &errb).Parse([]string{"-version"})
	require.True(t, done)
	require.Zero(t, code)
	require.Equal(t, "x-emulator 1.2\n", out.String())

	code, done = New("x-emulator", "site", "1.2", &out, &errb).Parse([]string{"-now", "yesterday"})
	require.True(t, done)
	require.Equal(t, 2, code)
	require.Contains(t, errb.String(), `x-emulator: -now "yesterday": expected RFC 3339 such as 2026-05-04T10:00:00Z`)

	errb.Reset()
	code, done = New("x-emulator", "site", "1.2", &out, &errb).Parse([]string{"-h"})
	require.True(t, done)
	require.Zero(t, code)
	require.Contains(t, errb.String(), "the site's fixed clock")

	code, done = New("x-emulator", "site", "1.2", &out, &errb).Parse([]string{"-nope"})
	require.True(t, done)
	require.Equal(t, 2, code)
}

func TestServeStopsOnStopAndShutsDown(t *testing.T) {
	var out bytes.Buffer
	c := New("x-emulator", "site", "dev", &out, &out)
	stop := make(chan struct{})
	close(stop)
	var deadline bool
	code := c.Serve(stop, func(ctx context.Context) error {
		_, deadline = ctx.Deadline()
		return nil
	})
	require.Zero(t, code)
	require.True(t, deadline, "requests in flight get a bounded time")
	require.Equal(t, "x-emulator: stopping\n", out.String())
	require.Equal(t, 3, c.Failf(3, "bad %s", "thing"))
	require.Equal(t, "x-emulator: stopping\nx-emulator: bad thing\n", out.String())
}
