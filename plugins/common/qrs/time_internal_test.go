package qrs

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fast path reads exactly what time.Parse reads, and refuses what it refuses.
func TestParseWireMatchesTimeParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		v := time.Unix(rng.Int64N(5e9), rng.Int64N(1e9)).UTC().Truncate(time.Millisecond)
		s := v.Format(WireLayout)
		got, ok := parseWire([]byte(s))
		require.True(t, ok, s)
		require.Equal(t, v, got, s)
	}
	for _, s := range []string{"2024-02-30T00:00:00.000Z", "2024-13-01T00:00:00.000Z", "2024-01-01T24:00:00.000Z", "2024-01-01 00:00:00.000Z", "2024-01-01T00:00:00.000+", "20x4-01-01T00:00:00.000Z"} {
		_, ok := parseWire([]byte(s))
		require.False(t, ok, s)
	}
	got, ok := parseWire([]byte(NoDate))
	require.True(t, ok)
	require.True(t, got.IsZero(), "the 1753 sentinel is no date")
}
