package ctxsleep_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
)

func TestSleep(t *testing.T) {
	require.NoError(t, ctxsleep.Sleep(t.Context(), time.Millisecond))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, ctxsleep.Sleep(ctx, time.Hour), context.Canceled, "an ended context stops the wait")
}
