package cloudsource_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
)

// The known-answer user last used 30.1 days ago, with a window of 30 days read: the plan
// does not call it never used (its inactivity counts from the start of the read, a lower
// bound, and the detail says so), and a re-check says the same.
func TestPlanOfAUseOlderThanTheRead(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	_, _, client := knownTenant(t, now)
	pol, err := policy.CompileTenant(&policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	require.NoError(t, err)
	src := cloudsource.New(client, cloudsource.Options{Timeout: time.Minute})
	t.Cleanup(src.Close)
	p, err := src.Plan(context.Background(), pol, "tenant", now, nil)
	require.NoError(t, err)
	from := now.Add(-30 * 24 * time.Hour)
	found := false
	for _, it := range p.Items {
		if it.Holder.ID != `CORP\used-30.1` {
			continue
		}
		found = true
		require.Equal(t, policy.Release, it.Decision.Verdict)
		require.False(t, it.Decision.NeverUsed)
		require.Equal(t, 30*24*time.Hour, it.Decision.Inactivity)
		require.True(t, it.Holder.LastUsed.IsZero())
		require.Equal(t, from, it.Holder.NoUseSince.UTC())
		require.Contains(t, it.Decision.Detail, "no use in the consumption read since 2026-01-31")
		checked, err := src.Recheck(context.Background(), pol, "", []plan.Item{it}, now)
		require.NoError(t, err)
		require.False(t, checked[0].Skip)
		require.False(t, checked[0].Item.Decision.NeverUsed)
		require.Equal(t, from, checked[0].Item.Holder.NoUseSince.UTC())
	}
	require.True(t, found)
}
