package release_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

// Started is called once every site has started, and never when a site cannot start: the
// Windows service reports RUNNING on it, so that a service whose sites cannot start ends
// STOPPED with its exit code without a RUNNING before it.
func TestSupervisorStartedOnlyOnceTheSitesStarted(t *testing.T) {
	srv := testkit.StartEmulator(t, smallSite())
	started := make(chan struct{}, 2)
	s := startSupervisorWith(t, srv, withKeys(`schedule = "@every 1h"`), func(sup *release.Supervisor) {
		sup.Started = func() { started <- struct{}{} }
	})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatalf("Started was not called; log:\n%s", s.logs.String())
	}
	s.stopAndWait(t)
	require.Empty(t, started, "Started is called once")

	// A site whose audit log cannot be opened (a folder): Serve fails, Started is not called,
	// and the site's source is closed.
	state := t.TempDir()
	auditDir := filepath.Join(state, "audit.jsonl")
	require.NoError(t, os.Mkdir(auditDir, 0o750))
	log := slog.New(slog.DiscardHandler)
	sites, err := release.LoadSites([]string{siteConfig(t, srv, state, withKeys("audit_log = '"+auditDir+"'"))}, log)
	require.NoError(t, err)
	src := &countedSource{Source: sites[0].Source}
	sites[0].Source = src
	called := false
	sup := &release.Supervisor{Log: log, Stdout: &bytes.Buffer{}, Started: func() { called = true }}
	require.ErrorContains(t, sup.Serve(t.Context(), sites), "opening the audit log")
	require.False(t, called, "Started called for sites that did not start")
	require.Equal(t, int32(1), src.closes.Load(), "the source of the site that could not start is closed")
}
