//go:build e2e

package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// The audit log rotated (logrotate's copytruncate) while InfluxDB is down, with outcomes
// not delivered yet; InfluxDB back: every audit record of both files reaches the real
// InfluxDB 1.8, once — the rotated file's tail first, then the new file.
func TestRotationWithInfluxDBDownThenUp(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	site := emulator.Generate(emulator.SiteSpec{Seed: 52, Users: 200, Now: now})
	site.SetClock(time.Now)
	srv := testkit.StartEmulator(t, site, func(o *emulator.Options) { o.CertDir = filepath.Join(dir, "certs") })
	port, rpc := freePort(t), freePort(t)
	ix := startInflux(t, filepath.Join(dir, "influxdb"), port, rpc)
	ix.exec(t, "CREATE DATABASE qliksense")
	state := filepath.Join(dir, "state")
	conf := filepath.Join(dir, "rotation.conf")
	require.NoError(t, os.WriteFile(conf, []byte(srv.PluginConfig("rotation", fmt.Sprintf(`  [inputs.qliksense_license.release]
    dry_run = false
    max_releases_per_run = 3
    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "qliksense/autogen"`, state, ix.url))), 0o600))
	audit := filepath.Join(state, "rotation-audit.jsonl")

	// One run delivered, then InfluxDB down: the next run's outcomes wait in the audit log.
	_, errOut, code := runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)
	ix.proc.stop(t)
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "outcomes wait in the spool")

	// copytruncate, as logrotate does it; then a run writes to the new file.
	b, err := os.ReadFile(audit)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(audit+".1", b, 0o640))
	require.NoError(t, os.Truncate(audit, 0))
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)

	// InfluxDB back: the next run delivers everything.
	ix = startInflux(t, ix.dir, port, rpc)
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)

	outcomes, runs := 0, 0
	for _, path := range []string{audit + ".1", audit} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec struct {
				Kind    string `json:"kind"`
				Outcome struct {
					AllocationID string `json:"allocation_id"`
				} `json:"outcome"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &rec))
			switch rec.Kind {
			case "outcome":
				outcomes++
				rows := ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_release WHERE allocation_id = '%s'`, rec.Outcome.AllocationID))
				require.Len(t, rows, 1, "the outcome of %s delivered once", rec.Outcome.AllocationID)
			case "run":
				runs++
			}
		}
	}
	require.Equal(t, 4*3, outcomes, "four runs of three releases")
	require.Len(t, ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_release_run`), runs, "every run point delivered")
}
