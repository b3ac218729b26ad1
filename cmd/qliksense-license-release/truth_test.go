package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// The audit log never lies, over random sequences of what a QRS behind a proxy answers —
// DELETEs carried out and then answered 502 or 504 or their connection reset, DELETEs
// answered 504 at once and carried out later, DELETEs failed with QRS's own 500 or
// refused with its 403, DELETEs refused with a 503 or reset before their effect, 500s on
// the reads — with the sidecar
// killed (SIGKILL) at random points and restarted. Once the runs settle: each
// allocation's last outcome is what the emulator did, no allocation is recorded released
// twice, no run records an allocation twice, and no intent stays open.
func TestAuditLogTruthUnderGatewayFaultsAndKills(t *testing.T) {
	t.Parallel()
	seeds := []int{0, 1, 2}
	if testing.Short() {
		seeds = seeds[1:2]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 22))
			site := emulator.Generate(emulator.SiteSpec{Seed: 70 + uint64(seed), Users: 120, Now: testkit.Now})
			site.SetClock(time.Now)
			srv := testkit.StartEmulator(t, site)
			path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 5\n    pacing = \"30ms\"\n    settle_grace = \"1s\"")
			before := map[string]emulator.Allocation{}
			for _, a := range site.Allocations(emulator.KindProfessional) {
				before[a.ID] = a
			}

			for round := range 4 {
				rate := func() float64 { return []float64{0, 0.15, 0.3}[rng.IntN(3)] }
				srv.Faults.Clear()
				srv.Faults.Configure(emulator.FaultConfig{
					Seed: rng.Uint64(), Method: "DELETE", AnswerLatency: 40 * time.Millisecond,
					BadGatewayAfterRate: 0.1 + rate(), GatewayTimeoutAfterRate: rate(), LoseAnswerRate: rate(), ResetRate: rate() / 2,
					GatewayTimeoutLateRate: rate(), LateEffect: time.Duration(rng.IntN(800)) * time.Millisecond, ErrorRate: rate() / 2,
					ForbiddenRate: rate() / 3,
				})
				if rng.IntN(3) == 0 { // a burst of 503s on the reads (retried, or the run says why)
					srv.Faults.Inject(emulator.FaultUnavailable, "GET", "professionalaccesstype/full", 1+rng.IntN(4))
				}
				cmd := exec.Command(os.Args[0], "once", "-config", path)
				cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
				require.NoError(t, cmd.Start())
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				killAt := -1
				if rng.IntN(2) == 0 {
					killAt = srv.Log.Arrived("DELETE", "") + 1 + rng.IntN(4)
				}
				waitOrKill(t, srv, done, cmd, killAt)
				t.Logf("round %d: kill at DELETE %d; %d DELETEs so far", round, killAt, srv.Log.Arrived("DELETE", ""))
			}
			// QRS well again: the next runs settle everything left open.
			srv.Faults.Clear()
			for range 2 {
				out, errOut, code := runMain(t, "once", "-config", path)
				require.Equal(t, 0, code, out+errOut)
			}

			last, released, perRun := map[string]string{}, map[string]int{}, map[string]bool{}
			audit, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
			require.NoError(t, err)
			for _, l := range strings.Split(strings.TrimSpace(string(audit)), "\n") {
				var rec struct {
					Kind    string `json:"kind"`
					Outcome struct {
						RunID        string `json:"run_id"`
						AllocationID string `json:"allocation_id"`
						Result       string `json:"outcome"`
					} `json:"outcome"`
				}
				require.NoError(t, json.Unmarshal([]byte(l), &rec))
				if rec.Kind != "outcome" {
					continue
				}
				o := rec.Outcome
				key := o.RunID + " " + o.AllocationID
				require.False(t, perRun[key], "%s recorded twice in run %s", o.AllocationID, o.RunID)
				perRun[key] = true
				last[o.AllocationID] = o.Result
				if o.Result == "released" || o.Result == "quarantined" {
					released[o.AllocationID]++
				}
			}
			changed := 0
			for id, a := range before {
				now, present := site.Allocation(emulator.KindProfessional, id)
				switch {
				case !present:
					changed++
					require.Equal(t, "released", last[id], "%s is gone", id)
					require.Equal(t, 1, released[id], "%s recorded released once", id)
				case now.Quarantined && !a.Quarantined:
					changed++
					require.Equal(t, "quarantined", last[id], "%s was quarantined", id)
					require.Equal(t, 1, released[id], "%s recorded once", id)
				default:
					require.Zero(t, released[id], "%s is still there, yet recorded %s", id, last[id])
				}
			}
			require.Positive(t, changed, "the runs released something")
			inflight, err := os.ReadFile(filepath.Join(state, "production-inflight.jsonl"))
			require.NoError(t, err)
			require.Empty(t, strings.TrimSpace(string(inflight)), "no intent left open")
		})
	}
}

// waitOrKill waits for the run to end, or kills it with SIGKILL once killAt DELETEs have
// arrived at the emulator (never when killAt < 0).
func waitOrKill(t *testing.T, srv *emulator.Server, done <-chan error, cmd *exec.Cmd, killAt int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-done:
			return
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("the run did not end")
		case <-time.After(5 * time.Millisecond):
			if killAt >= 0 && srv.Log.Arrived("DELETE", "") >= killAt {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return
			}
		}
	}
}

// The same for moves: random sequences of late effects (504 at once, carried out later),
// QRS's own 500s, resets and 403 refusals of the professional DELETE, with kills and
// restarts. Once the runs settle: one outcome per move, one summary per run, every move
// recorded moved released its professional allocation, and no user holds analyzer access
// the tool gave beside a live professional allocation.
func TestMoveTruthUnderFaultsAndKills(t *testing.T) {
	t.Parallel()
	seeds := []int{0, 1}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 28))
			srv, path, state := moveSite(t)
			analyzers := map[string]bool{}
			for _, a := range srv.Site.Allocations(emulator.KindAnalyzer) {
				analyzers[a.ID] = true
			}
			for round := range 4 {
				rate := func() float64 { return []float64{0, 0.2, 0.4}[rng.IntN(3)] }
				srv.Faults.Clear()
				srv.Faults.Configure(emulator.FaultConfig{
					Seed: rng.Uint64(), PathContains: "accesstype", AnswerLatency: 20 * time.Millisecond,
					GatewayTimeoutLateRate: rate(), LateEffect: time.Duration(rng.IntN(800)) * time.Millisecond,
					GatewayTimeoutAfterRate: rate() / 2, ErrorRate: rate() / 2, ResetRate: rate() / 2,
				})
				if rng.IntN(3) == 0 { // the account lacks the right to release professional access
					srv.Faults.Inject(emulator.FaultForbidden, "DELETE", "/professionalaccesstype/", 1+rng.IntN(3))
				}
				cmd := exec.Command(os.Args[0], "once", "-config", path)
				cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
				require.NoError(t, cmd.Start())
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				killAt := -1
				if rng.IntN(2) == 0 {
					killAt = srv.Log.Arrived("", "accesstype/") + 2 + rng.IntN(10)
				}
				waitOrKillAt(t, srv, done, cmd, func() bool { return killAt >= 0 && srv.Log.Arrived("", "accesstype/") >= killAt })
				t.Logf("round %d: kill at request %d", round, killAt)
			}
			srv.Faults.Clear()
			time.Sleep(time.Second) // the late effects land
			for range 2 {
				out, errOut, code := runMain(t, "once", "-config", path)
				require.Equal(t, 0, code, out+errOut)
			}
			checkMoves(t, srv, state, analyzers)
		})
	}
}

// waitOrKillAt waits for the run to end, or kills it with SIGKILL once kill says so.
func waitOrKillAt(t *testing.T, srv *emulator.Server, done <-chan error, cmd *exec.Cmd, kill func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-done:
			return
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("the run did not end")
		case <-time.After(5 * time.Millisecond):
			if kill() {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return
			}
		}
	}
}
