package cloudsource_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
)

// Parts re-checked one after the other share a read of the consumption no older than
// Options.Fresh (each read goes back a day for late events); the first re-check after the
// plan, and one after Fresh has passed, read again.
func TestRechecksShareAFreshConsumptionRead(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	srv, _, client := knownTenant(t, now)
	pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool),
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}, Analyzer: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	require.NoError(t, err)
	const fresh = 10 * time.Second
	src := cloudsource.New(client, cloudsource.Options{Timeout: time.Minute, Fresh: fresh})
	t.Cleanup(src.Close)
	consumption := func() int {
		n := 0
		for _, e := range srv.Log.Entries() {
			if strings.Contains(e.Path, "/licenses/consumption") {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	p, err := src.Plan(ctx, pol, "tenant", now, nil)
	require.NoError(t, err)
	items := p.Releases()
	require.GreaterOrEqual(t, len(items), 2)
	first, second := items[:1], items[1:2]

	base := consumption()
	_, err = src.Recheck(ctx, pol, "", first, now)
	require.NoError(t, err)
	require.Equal(t, base+1, consumption(), "the first re-check after the plan reads the consumption again")
	_, err = src.Recheck(ctx, pol, "", second, now.Add(fresh))
	require.NoError(t, err)
	require.Equal(t, base+1, consumption(), "a re-check within Fresh of the last one decides on its read")
	_, err = src.Recheck(ctx, pol, "", second, now.Add(fresh+time.Second))
	require.NoError(t, err)
	require.Equal(t, base+2, consumption(), "a read older than Fresh is made again")

	// A new plan (the next run) and its first re-check read again, whatever the clock.
	_, err = src.Plan(ctx, pol, "tenant", now.Add(fresh+time.Second), nil)
	require.NoError(t, err)
	base = consumption()
	_, err = src.Recheck(ctx, pol, "", first, now.Add(fresh+time.Second))
	require.NoError(t, err)
	require.Equal(t, base+1, consumption())

	// Without Fresh every re-check reads.
	plain := cloudsource.New(client, cloudsource.Options{Timeout: time.Minute})
	_, err = plain.Plan(ctx, pol, "tenant", now, nil)
	require.NoError(t, err)
	base = consumption()
	for range 2 {
		_, err = plain.Recheck(ctx, pol, "", first, now)
		require.NoError(t, err)
	}
	require.Equal(t, base+2, consumption())
}
