package release

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The pacer gives each caller the next slot at least `every` after the previous one,
// whatever the concurrency; a caller coming after its slot has passed does not wait.
func TestPacerSlots(t *testing.T) {
	clock := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	p := &pacer{every: 40 * time.Millisecond, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}
	p.wait = func(d time.Duration) error { mu.Lock(); waits = append(waits, d); mu.Unlock(); return nil }

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { require.NoError(t, p.next()) })
	}
	wg.Wait()
	require.ElementsMatch(t, []time.Duration{40 * time.Millisecond, 80 * time.Millisecond}, waits, "three callers at once: now, +40ms, +80ms")

	mu.Lock()
	clock = clock.Add(time.Second)
	mu.Unlock()
	require.NoError(t, p.next())
	require.Len(t, waits, 2, "a caller after its slot does not wait")

	mu.Lock()
	clock = clock.Add(10 * time.Millisecond)
	mu.Unlock()
	require.NoError(t, p.next())
	require.Equal(t, 30*time.Millisecond, waits[2])

	none := &pacer{wait: func(time.Duration) error { t.Fatal("no pacing, no wait"); return nil }}
	require.NoError(t, none.next())
}
