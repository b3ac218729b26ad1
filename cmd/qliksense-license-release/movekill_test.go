package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// moveSite is a site with right-sizing candidates and analyzer seats, and a config that
// moves up to three of them per run (settle grace 1s).
func moveSite(t *testing.T) (*emulator.Server, string, string) {
	t.Helper()
	site := emulator.Generate(emulator.SiteSpec{Seed: 91, Users: 200, Apps: 60, AppObjects: 800, AnalyzerTotal: 1000, Now: time.Now().UTC().Truncate(time.Second)})
	site.SetClock(time.Now)
	srv := testkit.StartEmulator(t, site)
	path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 1\n    settle_grace = \"1s\"")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("  [inputs.qliksense_license.rightsize]\n    move_to_analyzer = true\n    dry_run = false\n    max_moves_per_run = 3\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return srv, path, state
}

// auditOf reads the audit log: the outcomes by allocation id, in order, each "result
// run-it-began-in", and the summaries by run id.
func auditOf(t *testing.T, state string) (map[string][]string, map[string]int) {
	t.Helper()
	outcomes, runs := map[string][]string{}, map[string]int{}
	b, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
	if os.IsNotExist(err) {
		return outcomes, runs
	}
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Kind    string `json:"kind"`
			Outcome struct {
				AllocationID string `json:"allocation_id"`
				Result       string `json:"outcome"`
				RunID        string `json:"run_id"`
				Detail       string `json:"detail"`
			} `json:"outcome"`
			Run struct {
				RunID    string `json:"run_id"`
				Recovery bool   `json:"recovery"`
			} `json:"run"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		switch rec.Kind {
		case "outcome":
			// result and the run the move (or release) began in
			began := rec.Outcome.RunID
			if _, after, ok := strings.Cut(rec.Outcome.Detail, "(the move began in run "); ok {
				began, _, _ = strings.Cut(after, ")")
			}
			outcomes[rec.Outcome.AllocationID] = append(outcomes[rec.Outcome.AllocationID], rec.Outcome.Result+" "+began)
		case "run":
			runs[rec.Run.RunID]++
		}
	}
	return outcomes, runs
}

// checkMoves asserts what the emulator did against the audit log: each move recorded
// once (a moved professional allocation is gone or quarantined and its user holds
// analyzer access), one summary per run, and no analyzer access given that a recorded
// move did not keep.
func checkMoves(t *testing.T, srv *emulator.Server, state string, analyzersBefore map[string]bool) {
	t.Helper()
	outcomes, runs := auditOf(t, state)
	for id, n := range runs {
		require.Equal(t, 1, n, "one summary of run %s", id)
	}
	moved := 0
	for id, rs := range outcomes {
		seen := map[string]bool{} // moves, by the run each began in
		last := ""
		for _, r := range rs {
			result, began, _ := strings.Cut(r, " ")
			if !strings.HasPrefix(result, "move") {
				continue
			}
			require.False(t, seen[began], "%s: the move begun in run %s has two outcomes: %v", id, began, rs)
			seen[began], last = true, result
		}
		if last == "moved" {
			moved++
			a, still := srv.Site.Allocation(emulator.KindProfessional, id)
			require.True(t, !still || a.Quarantined, "%s recorded moved", id)
		}
	}
	require.Positive(t, moved, "moves were made")
	for _, a := range srv.Site.Allocations(emulator.KindAnalyzer) {
		if analyzersBefore[a.ID] {
			continue
		}
		// Given during the test: its user's professional allocation is released (gone or
		// quarantined) and the move recorded.
		for _, p := range srv.Site.Allocations(emulator.KindProfessional) {
			require.False(t, strings.EqualFold(p.UserRef, a.UserRef) && !p.Quarantined,
				"%s holds analyzer access given by the tool and a live professional allocation", a.UserRef)
		}
	}
}

// Kill the sidecar with SIGKILL at each step of a move (as its POST arrives, as the
// professional DELETE arrives, as the read-back after it arrives), restart: exactly one
// outcome per move, one summary per run, and no analyzer access left that a recorded
// move did not keep.
func TestMoveKilledAtEachStep(t *testing.T) {
	t.Parallel()
	for _, step := range []struct{ method, path string }{
		{"POST", "/analyzeraccesstype"}, {"DELETE", "/professionalaccesstype/"}, {"GET", "/professionalaccesstype/full"},
	} {
		t.Run(step.method, func(t *testing.T) {
			srv, path, state := moveSite(t)
			analyzers := map[string]bool{}
			for _, a := range srv.Site.Allocations(emulator.KindAnalyzer) {
				analyzers[a.ID] = true
			}
			cmd := exec.Command(os.Args[0], "once", "-config", path)
			cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
			var (
				once    sync.Once
				started sync.Mutex // held while the child starts: cmd.Process is set under it
			)
			deletes := 0
			srv.Faults.OnArrive(func(method, p string) {
				started.Lock()
				defer started.Unlock()
				if method == "DELETE" && strings.Contains(p, "/professionalaccesstype/") {
					deletes++
				}
				// The read-back after the second move's DELETE; the others at the second move.
				hit := method == step.method && strings.Contains(strings.ToLower(p), step.path) &&
					(step.method != "GET" && srv.Log.Arrived(step.method, step.path) >= 2 || step.method == "GET" && deletes >= 2)
				if hit {
					once.Do(func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
				}
			})
			var childOut strings.Builder
			cmd.Stdout, cmd.Stderr = &childOut, &childOut
			started.Lock()
			require.NoError(t, cmd.Start())
			started.Unlock()
			err := cmd.Wait()
			require.Error(t, err, "killed: %s", childOut.String())
			srv.Faults.OnArrive(nil)
			_, runs := auditOf(t, state)
			require.Empty(t, runs, "killed before the run's summary")
			for range 2 {
				out, errOut, code := runMain(t, "once", "-config", path)
				require.Equal(t, 0, code, out+errOut)
			}
			checkMoves(t, srv, state, analyzers)
			_, runs = auditOf(t, state)
			require.GreaterOrEqual(t, len(runs), 3, "the killed run's summary at recovery, then two runs")
		})
	}
}
