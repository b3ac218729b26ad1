package audit_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/release/audit"
)

// journalChild runs a run's journal in a child process: three intents, two outcomes, the
// summary (the third intent left open), killed at the step named.
func journalChild(spec string) int {
	dir, step, _ := strings.Cut(spec, "|")
	j, err := audit.NewTestJournal(filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "inflight.jsonl"), step)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	o := func(i int) audit.Outcome {
		return audit.Outcome{Time: now, Site: "s", RunID: "run-1", Type: "professional", AllocationID: fmt.Sprintf("alloc-%d", i)}
	}
	for i := range 3 {
		if err := j.Intent(o(i)); err != nil {
			return 1
		}
	}
	for i := range 2 {
		out := o(i)
		out.Result = audit.Released
		if err := j.Outcome(out); err != nil {
			return 1
		}
	}
	if err := j.Summary(audit.Summary{Site: "s", RunID: "run-1", Start: now, Time: now, Released: 2, Unsettled: 1}); err != nil {
		return 1
	}
	return 0
}

// A kill at each step of a run's close: what the next start finds open is exactly what
// no summary counted yet — never a second summary of what one already counted.
func TestJournalKilledAtEachStepOfTheClose(t *testing.T) {
	for _, c := range []struct {
		step       string
		pending    int
		done       int
		summarized bool
	}{
		{"", 1, 0, true},                // no kill: the open intent stays, summarized
		{"summary-written", 1, 0, true}, // the summary is in the log: nothing to count again
		{"outcome-written", 3, 0, false},
	} {
		t.Run(c.step, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "AUDIT_TEST_JOURNAL_CHILD="+dir+"|"+c.step)
			err := cmd.Run()
			if c.step != "" {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, audit.CrashExit, ee.ExitCode())
			} else {
				require.NoError(t, err)
			}
			j, err := audit.NewTestJournal(filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "inflight.jsonl"), "")
			require.NoError(t, err)
			defer j.Close()
			u, err := j.Unfinished()
			require.NoError(t, err)
			pending := len(u.Pending)
			if c.step == "outcome-written" {
				// Killed after the first outcome was written, before its note: it is
				// recorded (Done), the two others pending.
				require.Equal(t, []audit.Result{audit.Released}, u.Done)
				pending++
			} else {
				require.Len(t, u.Done, c.done)
			}
			require.Equal(t, c.pending, pending)
			require.Equal(t, c.summarized, u.Summarized)
		})
	}
}
