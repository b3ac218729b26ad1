package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// child is the sidecar started as a child process of the test binary.
type child struct {
	cmd    *exec.Cmd
	stderr *testkit.SyncBuffer
	done   chan error
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{stderr: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.CommandContext(context.Background(), os.Args[0], args...)
	c.cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
	c.cmd.Stderr = c.stderr
	require.NoError(t, c.cmd.Start())
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	return c
}

func (c *child) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(sig))
}

// trySignal signals the child unless it has exited already.
func (c *child) trySignal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		require.ErrorIs(t, err, os.ErrProcessDone)
	}
}

// running reports whether the child has not exited yet.
func (c *child) running() bool {
	select {
	case err := <-c.done:
		c.done <- err // for wait
		return false
	default:
		return true
	}
}

// wait returns the exit status.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		t.Fatalf("the sidecar did not exit; log:\n%s", c.stderr.String())
	}
	return -1
}

func waitArrived(t *testing.T, srv *emulator.Server, method string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.Log.Arrived(method, "") < n {
		require.True(t, time.Now().Before(deadline), "%d %s requests did not arrive", n, method)
		time.Sleep(2 * time.Millisecond)
	}
}

// professionalIDs lists the site's professional allocations now.
func professionalIDs(srv *emulator.Server) map[string]bool {
	ids := map[string]bool{}
	for _, a := range srv.Site.Allocations(emulator.KindProfessional) {
		ids[a.ID] = true
	}
	return ids
}

type auditLine struct {
	Kind    string `json:"kind"`
	Outcome struct {
		RunID        string `json:"run_id"`
		AllocationID string `json:"allocation_id"`
		Result       string `json:"outcome"`
	} `json:"outcome"`
	Run struct {
		RunID       string `json:"run_id"`
		Released    int    `json:"released"`
		Quarantined int    `json:"quarantined"`
		Skipped     int    `json:"skipped"`
		Failed      int    `json:"failed"`
		Unsettled   int    `json:"unsettled"`
		Recovery    bool   `json:"recovery"`
	} `json:"run"`
}

// auditAgreesWithQRS checks the invariant the sidecar keeps across stops, kills and
// restarts, once its in-flight notes are settled: every allocation that QRS released or
// quarantined (of those present before) has exactly one released/quarantined outcome, no
// allocation still plainly there has one, no allocation has two outcomes in one run, and
// each run's summaries add up to its outcome lines. It returns the audit lines.
func auditAgreesWithQRS(t *testing.T, srv *emulator.Server, before map[string]bool, state string) []auditLine {
	t.Helper()
	inflight, err := os.ReadFile(filepath.Join(state, "production-inflight.jsonl"))
	require.NoError(t, err)
	require.Empty(t, string(inflight), "nothing left open")
	b, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
	require.NoError(t, err)
	var lines []auditLine
	taken := map[string]int{}      // allocation -> released/quarantined outcomes
	perRun := map[string]int{}     // run -> outcome lines
	summarized := map[string]int{} // run -> outcomes its summaries count
	seen := map[[2]string]bool{}   // (run, allocation)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec auditLine
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		lines = append(lines, rec)
		switch rec.Kind {
		case "outcome":
			o := rec.Outcome
			key := [2]string{o.RunID, o.AllocationID}
			require.False(t, seen[key], "allocation %s has two outcomes in run %s", o.AllocationID, o.RunID)
			seen[key] = true
			perRun[o.RunID]++
			if o.Result == "released" || o.Result == "quarantined" {
				taken[o.AllocationID]++
			}
		case "run":
			r := rec.Run
			summarized[r.RunID] += r.Released + r.Quarantined + r.Skipped + r.Failed
		}
	}
	require.Equal(t, perRun, summarized, "each run's summaries add up to its outcomes")
	for id := range before {
		a, present := srv.Site.Allocation(emulator.KindProfessional, id)
		if !present || a.Quarantined {
			require.Equal(t, 1, taken[id], "%s: QRS took it; the audit log says so exactly once", id)
		} else {
			require.Zero(t, taken[id], "%s is still there; the audit log may not say it was taken", id)
		}
	}
	return lines
}

// SIGTERM while a DELETE is on the wire (QRS carries it out, then answers 1.5 s later):
// the process finishes that DELETE, reads it back, records "released" (what QRS did),
// starts no other DELETE and exits 0.
func TestSIGTERMFinishesTheDeleteInFlight(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	before := professionalIDs(srv)
	path, state := writeSite(t, srv, "dry_run = false\n    run_at_start = true\n    schedule = \"@every 1h\"\n    max_releases_per_run = 5\n    settle_grace = \"1s\"")
	srv.Faults.Configure(emulator.FaultConfig{AnswerLatency: 1500 * time.Millisecond, Method: http.MethodDelete})
	c := startChild(t, "run", "-config", path)
	waitArrived(t, srv, http.MethodDelete, 1)
	c.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, c.wait(t), c.stderr.String())
	require.Equal(t, 1, srv.Log.Arrived(http.MethodDelete, ""), "no DELETE after the stop")

	lines := auditAgreesWithQRS(t, srv, before, state)
	var results []string
	for _, l := range lines {
		if l.Kind == "outcome" {
			results = append(results, l.Outcome.Result)
		}
	}
	require.Equal(t, []string{"released"}, results)
	require.Contains(t, c.stderr.String(), "stop requested: finishing the DELETEs in flight")
	require.Contains(t, c.stderr.String(), `interrupted=true`)
}

// Two SIGTERMs: the second ends the process at once, with the DELETE's answer still on
// the way. The next start settles it by reading it back: "released", as QRS did.
func TestSecondSignalExitsAtOnceAndTheNextStartSettles(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	before := professionalIDs(srv)
	path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 3\n    settle_grace = \"1s\"")
	srv.Faults.Configure(emulator.FaultConfig{AnswerLatency: 3 * time.Second, Method: http.MethodDelete})
	c := startChild(t, "once", "-config", path)
	waitArrived(t, srv, http.MethodDelete, 1)
	c.signal(t, syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.signal(t, syscall.SIGTERM)
	require.Equal(t, 1, c.wait(t), c.stderr.String())
	require.Less(t, time.Since(start), 2*time.Second, "exited before the DELETE's answer")
	require.Contains(t, c.stderr.String(), "second signal: exiting now")
	b, err := os.ReadFile(filepath.Join(state, "production-inflight.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(b), `"intent"`, "the cut DELETE's intent is open")

	srv.Faults.Clear()
	out, errOut, code := runMain(t, "once", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	recovered := false
	for _, l := range auditAgreesWithQRS(t, srv, before, state) {
		recovered = recovered || l.Run.Recovery
	}
	require.True(t, recovered, "the cut DELETE was settled by the next start")
	require.Contains(t, errOut, "settled the outcome of an earlier run's DELETE")
}

// SIGHUP during a run: the run finishes under the configuration it started with; the
// next run uses the new one.
func TestSIGHUPTakesEffectAtTheNextRun(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	path, state := writeSite(t, srv, "dry_run = false\n    run_at_start = true\n    schedule = \"@every 2s\"\n    max_releases_per_run = 3\n    settle_grace = \"1s\"")
	srv.Faults.Configure(emulator.FaultConfig{Latency: 400 * time.Millisecond, Method: http.MethodDelete})
	c := startChild(t, "run", "-config", path)
	waitArrived(t, srv, http.MethodDelete, 1)
	conf, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(conf), "dry_run = false", "dry_run = true", 1)), 0o600))
	c.signal(t, syscall.SIGHUP)
	waitFor(t, c.stderr, `msg="configuration reloaded" site=production`)
	waitFor(t, c.stderr, "dry_run_releases=3")
	c.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, c.wait(t), c.stderr.String())

	require.Equal(t, 3, srv.Log.Count(http.MethodDelete, ""), "the first run released under the old configuration")
	log := c.stderr.String()
	first := strings.Index(log, `msg="run finished"`)
	reloaded := strings.Index(log, `msg="configuration reloaded" site=production`)
	require.Less(t, first, reloaded, "the new configuration is taken after the run in progress")
	require.Contains(t, log[first:strings.Index(log[first:], "\n")+first], "released=3")
	b, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(b), `"kind":"reload","reload":{`)
	require.Contains(t, string(b), `"success":true`)
}

// Random interleavings of stops, second signals, kills and restarts of `once` and `run`
// with DELETEs in flight, under lost answers, resets, slow answers and failed read-backs:
// once the last start has settled everything, the audit log's outcomes equal what the
// emulator did, each once, and every run's summaries add up.
func TestLifecycleProperty(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			srv := startEmulator(t)
			before := professionalIDs(srv)
			path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 4\n    run_at_start = true\n    schedule = \"@every 1h\"\n    settle_grace = \"1s\"")
			var mu sync.Mutex
			hookRng := rand.New(rand.NewPCG(seed, 7))
			failReadBacks := 0.0
			srv.Faults.OnArrive(func(method, p string) {
				mu.Lock()
				defer mu.Unlock()
				if method == http.MethodDelete && hookRng.Float64() < failReadBacks {
					// The read-back of this allocation fails, retries included.
					srv.Faults.Inject(emulator.FaultServerError, http.MethodGet, p[strings.LastIndex(p, "/")+1:], 4)
				}
			})
			for round := range 6 {
				mu.Lock()
				failReadBacks = rng.Float64() * 0.5
				mu.Unlock()
				srv.Faults.Clear() // queued faults the last round did not reach end with it
				srv.Faults.Configure(emulator.FaultConfig{
					Seed: seed*100 + uint64(round), Method: http.MethodDelete,
					AnswerLatency:  time.Duration(rng.IntN(400)) * time.Millisecond,
					LoseAnswerRate: rng.Float64() * 0.4, // carried out, answer lost
					ResetRate:      rng.Float64() * 0.2, // not carried out
				})
				command := []string{"once", "run"}[rng.IntN(2)]
				c := startChild(t, command, "-config", path)
				action := rng.IntN(4)
				if action > 0 { // at the next DELETE, or once the child has ended without one
					next := srv.Log.Arrived(http.MethodDelete, "") + 1
					deadline := time.Now().Add(30 * time.Second)
					for srv.Log.Arrived(http.MethodDelete, "") < next && c.running() {
						require.True(t, time.Now().Before(deadline), "the sidecar neither deleted nor ended; log:\n%s", c.stderr.String())
						time.Sleep(2 * time.Millisecond)
					}
					time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
				}
				switch action {
				case 0:
					if command == "run" {
						waitFor(t, c.stderr, `msg="next run"`)
						c.trySignal(t, syscall.SIGTERM)
					}
				case 1:
					c.trySignal(t, syscall.SIGTERM)
				case 2:
					c.trySignal(t, syscall.SIGTERM)
					time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
					c.trySignal(t, syscall.SIGTERM)
				case 3:
					c.trySignal(t, syscall.SIGKILL)
				}
				code := c.wait(t)
				if action < 2 && command == "run" {
					require.Equal(t, 0, code, "a stopped service exits 0; log:\n%s", c.stderr.String())
				}
				t.Logf("round %d: %s, action %d, exit %d, DELETEs so far %d", round, command, action, code, srv.Log.Arrived(http.MethodDelete, ""))
			}
			mu.Lock()
			failReadBacks = 0
			mu.Unlock()
			srv.Faults.Clear()
			out, errOut, code := runMain(t, "once", "-config", path)
			require.Equal(t, 0, code, out+errOut)
			auditAgreesWithQRS(t, srv, before, state)
		})
	}
}

// SIGKILL while a batch's re-check is on the wire, before any of its DELETEs: nothing was
// sent, so nothing is recorded or left open for it, and the next start releases the batch.
func TestKillBetweenABatchRecheckAndItsDeletes(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	before := professionalIDs(srv)
	path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 5\n    settle_grace = \"1s\"")
	var proc atomic.Pointer[child]
	var lists atomic.Int32
	srv.Faults.OnArrive(func(method, p string) {
		// The plan reads the professional list first; the second read is the batch's
		// re-check: the process dies before it gets the answer.
		if method == http.MethodGet && strings.HasSuffix(p, "professionalaccesstype/full") && lists.Add(1) == 2 {
			c := proc.Load()
			for c == nil { // stored just after the start
				time.Sleep(time.Millisecond)
				c = proc.Load()
			}
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			for c.running() {
				time.Sleep(time.Millisecond)
			}
		}
	})
	c := startChild(t, "once", "-config", path)
	proc.Store(c)
	c.wait(t)
	require.Equal(t, 2, int(lists.Load()), "killed at the re-check")
	require.Zero(t, srv.Log.Arrived(http.MethodDelete, ""), "no DELETE was sent")
	inflight, err := os.ReadFile(filepath.Join(state, "production-inflight.jsonl"))
	if err == nil {
		require.NotContains(t, string(inflight), `"intent"`, "nothing open")
	}

	srv.Faults.OnArrive(nil)
	out, errOut, code := runMain(t, "once", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	require.Equal(t, 5, srv.Log.Count(http.MethodDelete, ""))
	auditAgreesWithQRS(t, srv, before, state)
}
