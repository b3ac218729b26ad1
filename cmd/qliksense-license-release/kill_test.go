package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// Kill the sidecar with SIGKILL in the middle of a run: after a restart, the audit log
// (which is also what is delivered to InfluxDB) agrees with what the emulator did —
// every release recorded exactly once, nothing missing — and what reached InfluxDB too.
func TestSIGKILLMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	writes := &testkit.InfluxWrites{}
	influx := httptest.NewServer(writes)
	defer influx.Close()
	path, state := writeSite(t, srv, fmt.Sprintf(`dry_run = false
    max_releases_per_run = 12
    pacing = "150ms"
    settle_grace = "1s"
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "q/autogen"`, influx.URL))
	before := map[string]bool{}
	for _, a := range srv.Site.Allocations(emulator.KindProfessional) {
		before[a.ID] = true
	}

	// Reads by id and DELETEs take 300ms: the kill lands while the 4th release waits for
	// its read-back, after the DELETE and before its outcome is written.
	srv.Faults.Configure(emulator.FaultConfig{Latency: 300 * time.Millisecond, PathContains: "professionalaccesstype/"})
	cmd := exec.Command(os.Args[0], "once", "-config", path)
	cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for srv.Log.Count("DELETE", "") < 4 {
		require.True(t, time.Now().Before(deadline), "the run did not start deleting")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killedAfter := srv.Log.Count("DELETE", "")
	t.Logf("killed after %d DELETEs", killedAfter)

	srv.Faults.Clear()
	// The next run recovers the interrupted one first, then runs as usual.
	out, errOut, code := runMain(t, "once", "-config", path)
	require.Equal(t, 0, code, out+errOut)

	// What the emulator did.
	gone := map[string]bool{}
	for id := range before {
		a, ok := srv.Site.Allocation(emulator.KindProfessional, id)
		if !ok || a.Quarantined {
			gone[id] = true
		}
	}
	// What the audit log says.
	audit, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
	require.NoError(t, err)
	recorded := map[string]int{}
	var outcomes, runs int
	for _, l := range strings.Split(strings.TrimSpace(string(audit)), "\n") {
		var rec struct {
			Kind    string `json:"kind"`
			Outcome struct {
				AllocationID string `json:"allocation_id"`
				Result       string `json:"outcome"`
			} `json:"outcome"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		if rec.Kind == "run" {
			runs++
			continue
		}
		outcomes++
		if rec.Outcome.Result == "released" || rec.Outcome.Result == "quarantined" {
			recorded[rec.Outcome.AllocationID]++
		}
		// A "failed … interrupted" outcome is the truth at recovery time: the DELETE in
		// flight when the process died did not take effect; a later run may release it.
	}
	require.Len(t, recorded, len(gone), "every release recorded, none invented")
	for id := range gone {
		require.Equal(t, 1, recorded[id], "%s recorded exactly once", id)
	}
	require.Equal(t, 2, runs, "the interrupted run gets its summary at recovery, then the new run's")
	require.Contains(t, string(audit), "recovered after an interrupted run")
	inflight, err := os.ReadFile(filepath.Join(state, "production-inflight.jsonl"))
	require.NoError(t, err)
	require.Empty(t, inflight)

	// What reached InfluxDB: every audited record, once (same series and time replace).
	unique := map[string]bool{}
	for _, l := range writes.Lines() {
		unique[l] = true
	}
	require.Len(t, unique, outcomes+runs)
}

func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errOut.String(), 0
}
