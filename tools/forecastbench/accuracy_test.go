package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The backtest reports the seasonal and young histories apart from the mixed ones, every
// method at every horizon, and on the seasonal ones the forecast beats the straight line it would be
// without steps taken for waves and last year's path.
func TestBacktestFamilies(t *testing.T) {
	rows := backtest(8)
	byFamily := map[string]map[string]accuracyRow{}
	for _, r := range rows {
		if byFamily[r.Family] == nil {
			byFamily[r.Family] = map[string]accuracyRow{}
		}
		byFamily[r.Family][fmt.Sprintf("%s/%d", r.Method, r.HorizonDays)] = r
		require.Positive(t, r.Forecasts)
		require.GreaterOrEqual(t, r.WrongSide, 0.0)
		require.LessOrEqual(t, r.WrongSide, 1.0)
	}
	require.Len(t, byFamily, 3)
	require.Len(t, byFamily[mixed], 9)
	require.Len(t, byFamily[seasonal], 9)
	require.Len(t, byFamily[young], 9)
	ours, line := byFamily[seasonal]["ours (steps out, median L-day growth)/90"], byFamily[seasonal]["straight line through all history/90"]
	require.Positive(t, ours.Forecasts)
	require.Positive(t, line.Forecasts)
	require.Less(t, ours.MeanError, line.MeanError/2)
	require.Less(t, ours.WrongSide, line.WrongSide/2)

	// A young site's weeks with a step in them: the forecast beats the last 30 days' slope.
	for _, h := range horizons {
		ours, last30 := byFamily[young][fmt.Sprintf("ours (steps out, median L-day growth)/%d", h)], byFamily[young][fmt.Sprintf("slope of the last 30 days/%d", h)]
		require.Positive(t, ours.Forecasts, h)
		require.Less(t, ours.MeanError, last30.MeanError, h)
	}
}
