package release_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
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

// newTimeoutEnv is newEnv with the site's own keys (timeout, max_retries) and the settle
// grace at its default: the client's timeout.
func newTimeoutEnv(t *testing.T, site *emulator.Site, siteKeys, releaseTable string) *env {
	t.Helper()
	e := &env{srv: testkit.StartEmulator(t, site), logs: &bytes.Buffer{}, state: t.TempDir()}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	conf := e.srv.PluginConfig("production", fmt.Sprintf("%s\n  [inputs.qliksense_license.release]\n    state_dir = %q\n%s", siteKeys, e.state, releaseTable))
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	s, err := release.LoadSite(path, log)
	require.NoError(t, err)
	require.Equal(t, s.Client.Timeout(), s.Settings.SettleGrace, "the default settle grace")
	e.site = s
	r, err := release.NewRunner(s, log, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.Now = func() time.Time { return testkit.Now }
	e.runner, e.audit = r, s.Settings.AuditLog
	return e
}

// A DELETE times out (QRS is slow) and QRS carries it out shortly after: "still there"
// read right after the timeout proves nothing, although the grace measured from the
// request has passed — the grace runs from the answer. Recorded released, not failed.
func TestTimeoutThenLateEffectIsNotRecordedFailed(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 81, Users: 200, Now: testkit.Now})
	e := newTimeoutEnv(t, site, "  timeout = \"1s\"\n  max_retries = 0", withKeys("max_releases_per_run = 1"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	id := p.Releases()[0].Holder.ID
	e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: 1500 * time.Millisecond})
	e.srv.Faults.Inject(emulator.FaultSlow, http.MethodDelete, id, 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	var lines []string
	for _, l := range auditLines(t, e.audit) {
		if strings.Contains(l, id) {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "%+v\n%s", sum, e.logs)
	require.NotContains(t, lines[0], `"outcome":"failed"`, "QRS released it")
	require.Equal(t, 1, sum.Released+sum.Quarantined, "%+v", sum)
}

// The same for a move's POST and its DELETE: a step that times out and lands later is a
// move, not a move_failed, and the user is left with one analyzer allocation.
func TestTimedOutMoveStepsThatLandLaterAreMoves(t *testing.T) {
	for _, step := range []struct{ method, path string }{{http.MethodPost, "/analyzeraccesstype"}, {http.MethodDelete, "/professionalaccesstype/"}} {
		t.Run(step.method, func(t *testing.T) {
			spec := emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000, Users: 200, Apps: 60, AppObjects: 800, Now: testkit.Now}
			site := emulator.Generate(spec)
			e := newTimeoutEnv(t, site, "  timeout = \"1s\"\n  max_retries = 0",
				"\n    dry_run = false\n  [inputs.qliksense_license.rightsize]\n    move_to_analyzer = true\n    dry_run = false\n    max_moves_per_run = 1\n")
			h := candidates(t, e)[0]
			e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: 1500 * time.Millisecond})
			e.srv.Faults.Inject(emulator.FaultSlow, step.method, step.path, 1)
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, 1, sum.Moved, "%+v\n%s", sum, e.logs)
			require.Zero(t, sum.MoveFailed+sum.Unsettled)
			n := 0
			for _, a := range site.Allocations(emulator.KindAnalyzer) {
				if strings.EqualFold(a.UserRef, h.Allocation.User.ID) {
					n++
				}
			}
			require.Equal(t, 1, n, "one analyzer allocation")
		})
	}
}

// A stop while a DELETE is on the wire, QRS slow: the DELETE times out, the stopping run
// does not wait out the grace and leaves the intent open; a restart at once (systemctl
// restart) settles it in its recovery only once the grace has passed since the
// DELETE's answer — not since its intent, which was a timeout earlier — and records
// what QRS did: released.
func TestRestartAfterStopWaitsTheGraceFromTheAnswer(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 81, Users: 200, Now: testkit.Now})
	e := newTimeoutEnv(t, site, "  timeout = \"1s\"\n  max_retries = 0", withKeys("max_releases_per_run = 1"))
	e.runner.Now = time.Now // the intents' clock is the one recovery waits on
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	id := p.Releases()[0].Holder.ID
	e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: 1700 * time.Millisecond})
	e.srv.Faults.Inject(emulator.FaultSlow, http.MethodDelete, id, 1)
	stop := make(chan struct{})
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodDelete {
			close(stop)
		}
	})
	sum, err := e.runner.Once(t.Context(), stop)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Unsettled, "%+v\n%s", sum, e.logs)
	e.srv.Faults.OnArrive(nil)
	_, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	var lines []string
	for _, l := range auditLines(t, e.audit) {
		if strings.Contains(l, id) {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "%s", e.logs)
	require.NotContains(t, lines[0], `"outcome":"failed"`, "QRS released it")
}
