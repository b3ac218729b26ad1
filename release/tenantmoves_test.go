package release_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
)

// A tenant has no right-sizing: a moves file left under its state name (a site of that
// name before it moved to Qlik Cloud, a move half done) is not settled against a QRS the
// tenant does not have — the run releases as planned, without a right-sizing error.
func TestTenantRunLeavesASitesMovesAlone(t *testing.T) {
	e := newTenantEnv(t, qcloudemu.KnownAnswer(knownNow), "dry_run = false", nil)
	moves := []byte(`{"records":{"a1":{"allocation_id":"a1","user_id":"u1","user":"CORP\\one","step":"analyzer_given","run_id":"r0","time":"2026-03-01T00:00:00Z"}}}`)
	require.NoError(t, os.WriteFile(e.site.Settings.MovesFile(), moves, 0o600))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.Equal(t, len(expectedReleases()), sum.Released)
}
