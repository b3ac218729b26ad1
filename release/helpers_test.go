package release_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

type env struct {
	srv    *emulator.Server
	site   *release.Site
	runner *release.Runner
	logs   *bytes.Buffer
	audit  string
	state  string
}

// siteConfig writes a site file for srv with the given release table body.
func siteConfig(t *testing.T, srv *emulator.Server, state, release string) string {
	t.Helper()
	conf := srv.PluginConfig("production", fmt.Sprintf("  [inputs.qliksense_license.release]\n    state_dir = %q\n%s", state, release))
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path
}

func newEnv(t *testing.T, site *emulator.Site, releaseTable string) *env {
	t.Helper()
	e := &env{srv: testkit.StartEmulator(t, site), logs: &bytes.Buffer{}, state: t.TempDir()}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	s, err := release.LoadSite(siteConfig(t, e.srv, e.state, releaseTable), log)
	require.NoError(t, err)
	// A short settle grace: a test of a late effect waits it out (audit.Settle).
	s.Settings.SettleGrace = testSettleGrace
	e.site = s
	r, err := release.NewRunner(s, log, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.Now = func() time.Time { return testkit.Now }
	e.runner = r
	e.audit = s.Settings.AuditLog
	return e
}

// testSettleGrace is the settle grace of the tests' sites.
const testSettleGrace = 300 * time.Millisecond

// basicPolicy releases for real under the shared test policy.
var basicPolicy = "\n    dry_run = false\n" + testkit.PolicyTables

// withKeys is basicPolicy with more keys of the release table itself.
func withKeys(keys ...string) string {
	return strings.Replace(basicPolicy, "dry_run = false\n", "dry_run = false\n    "+strings.Join(keys, "\n    ")+"\n", 1)
}

func auditLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
