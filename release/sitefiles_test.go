package release_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

// Two sites may not share a file of the sidecar's: the lock (their runs would block each
// other), the audit log (it is also the output's spool: each would deliver the other's
// outcomes) or the state files (one's recovery would settle the other's open changes
// against the wrong source). Sites whose names differ only in what a file name cannot
// hold, or in case, share the state files of one state_dir.
func TestLoadSitesRefusesSharedFiles(t *testing.T) {
	srv := testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: 3, Users: 10, Now: testkit.Now}))
	state := t.TempDir()
	table := func(keys string) string {
		return fmt.Sprintf("  [inputs.qliksense_license.release]\n    state_dir = %q\n%s\n", state, keys) + testkit.PolicyTables
	}
	write := func(conf string) string {
		path := filepath.Join(t.TempDir(), "sites.conf")
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
		return path
	}
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	for name, tc := range map[string]struct {
		conf string
		want string
	}{
		"state files of one name": {srv.PluginConfig("prod eu", table("")) + srv.PluginConfig("prod_eu", table("")),
			`site "prod_eu" and site "prod eu"`},
		"state files differing in case": {srv.PluginConfig("Prod", table("")) + srv.PluginConfig("prod", table("")),
			"release.state_dir"},
		"one audit log": {srv.PluginConfig("a", table(fmt.Sprintf("    audit_log = %q", logPath))) +
			srv.PluginConfig("b", table(fmt.Sprintf("    audit_log = %q", logPath))), "release.audit_log"},
		"one lock file": {srv.PluginConfig("a", table(fmt.Sprintf("    lock_file = %q", filepath.Join(state, "x.lock")))) +
			srv.PluginConfig("b", table(fmt.Sprintf("    lock_file = %q", filepath.Join(state, "x.lock")))), "release.lock_file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := release.LoadSites([]string{write(tc.conf)}, slogDiscard())
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "give each site its own")
		})
	}
	// Across two files too.
	_, err := release.LoadSites([]string{write(srv.PluginConfig("x y", table(""))), write(srv.PluginConfig("x_y", table("")))}, slogDiscard())
	require.ErrorContains(t, err, "release.state_dir")

	// Distinct files: loaded.
	sites, err := release.LoadSites([]string{write(srv.PluginConfig("a", table("")) + srv.PluginConfig("b", table("")))}, slogDiscard())
	require.NoError(t, err)
	require.Len(t, sites, 2)
	for _, s := range sites {
		s.Source.Close()
	}
}

// A file the plugin gathers from may hold a table only gathered (no release table) beside
// one the sidecar releases: the sidecar takes the one with a release table and leaves the
// other alone; a file where no table has one is refused.
func TestLoadSitesLeavesGatherOnlyTables(t *testing.T) {
	srv := testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: 3, Users: 10, Now: testkit.Now}))
	table := fmt.Sprintf("  [inputs.qliksense_license.release]\n    state_dir = %q\n", t.TempDir()) + testkit.PolicyTables
	path := filepath.Join(t.TempDir(), "sites.conf")
	require.NoError(t, os.WriteFile(path, []byte(srv.PluginConfig("gathered", "")+srv.PluginConfig("released", table)), 0o600))
	sites, err := release.LoadSites([]string{path}, slogDiscard())
	require.NoError(t, err)
	require.Len(t, sites, 1)
	require.Equal(t, "released", sites[0].Name)
	sites[0].Source.Close()

	require.NoError(t, os.WriteFile(path, []byte(srv.PluginConfig("a", "")+srv.PluginConfig("b", "")), 0o600))
	_, err = release.LoadSites([]string{path}, slogDiscard())
	require.ErrorContains(t, err, "no [[inputs.qliksense_license]] table has a [inputs.qliksense_license.release] table: nothing to release")
}
