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

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
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

// A tenant's allocation id is the subject, which may hold an assignment of each type: the
// in-flight journal tells them apart by type and id. One subject's two intents, one
// recorded (its done note, then only in the audit log as a kill would leave it): the
// other stays open; the outcome of one never settles the other.
func TestJournalKeysByTypeAndID(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	o := func(typ string) audit.Outcome {
		return audit.Outcome{Time: now, Site: "s", RunID: "run-1", Type: qrs.AccessType(typ), AllocationID: `CORP\anna`}
	}
	for _, noted := range []bool{true, false} {
		t.Run(map[bool]string{true: "done noted", false: "only in the audit log"}[noted], func(t *testing.T) {
			dir := t.TempDir()
			audLog, inflight := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "inflight.jsonl")
			j, err := audit.NewTestJournal(audLog, inflight, "")
			require.NoError(t, err)
			require.NoError(t, j.Intent(o("professional")))
			require.NoError(t, j.Intent(o("analyzer")))
			out := o("professional")
			out.Result = audit.Released
			require.NoError(t, j.Outcome(out))
			require.NoError(t, j.Close())
			if !noted { // the kill came between the audit line and the done note
				b, err := os.ReadFile(inflight)
				require.NoError(t, err)
				lines := strings.SplitAfter(strings.TrimSpace(string(b)), "\n")
				require.Len(t, lines, 3)
				require.NoError(t, os.WriteFile(inflight, []byte(strings.Join(lines[:2], "")), 0o640))
			}
			j, err = audit.NewTestJournal(audLog, inflight, "")
			require.NoError(t, err)
			defer j.Close()
			u, err := j.Unfinished()
			require.NoError(t, err)
			require.Len(t, u.Pending, 1)
			require.Equal(t, qrs.AccessType("analyzer"), u.Pending[0].Type)
			require.Equal(t, []audit.Result{audit.Released}, u.Done)
		})
	}
}

// An in-flight file written before done notes carried the type: a done note without one
// settles the intents of its allocation id (QRS ids are unique across types).
func TestJournalReadsDoneNotesWithoutType(t *testing.T) {
	dir := t.TempDir()
	inflight := filepath.Join(dir, "inflight.jsonl")
	require.NoError(t, os.WriteFile(inflight, []byte(`{"intent":{"time":"2026-05-04T10:00:00Z","site":"s","run_id":"run-1","type":"professional","allocation_id":"a1"}}
{"intent":{"time":"2026-05-04T10:00:00Z","site":"s","run_id":"run-1","type":"professional","allocation_id":"a2"}}
{"done":"a1","result":"released","run_id":"run-1"}
`), 0o640))
	j, err := audit.NewTestJournal(filepath.Join(dir, "audit.jsonl"), inflight, "")
	require.NoError(t, err)
	defer j.Close()
	u, err := j.Unfinished()
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	require.Equal(t, "a2", u.Pending[0].AllocationID)
}

// Intents carry their source: after a repoint, the other source's intents are neither
// pending nor dropped (Foreign), through a run of the new source killed (not summarized:
// an earlier run's mark does not count for it) and one closed; pointed back, they are
// pending again, and one whose outcome reached the audit log before a kill (no done note)
// is recorded already, found in its own run's outcomes.
func TestJournalKeepsIntentsOfAnotherSource(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	o := func(run, id string) audit.Outcome {
		return audit.Outcome{Time: now, Site: "s", RunID: run, Type: qrs.Professional, AllocationID: id}
	}
	dir := t.TempDir()
	audLog, inflight := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "inflight.jsonl")
	j, err := audit.NewTestJournal(audLog, inflight, "")
	require.NoError(t, err)
	defer j.Close()
	j.SetSource("qrs:a:4242")
	require.NoError(t, j.Intent(o("run-a", "a1")))
	require.NoError(t, j.Intent(o("run-a", "a2")))
	out := o("run-a", "a2")
	out.Result = audit.Released
	require.NoError(t, j.Outcome(out))
	// Killed between the audit line of a2 and its done note.
	b, err := os.ReadFile(inflight)
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimSpace(string(b)), "\n")
	require.NoError(t, os.WriteFile(inflight, []byte(strings.Join(lines[:2], "")), 0o640))

	j.SetSource("tenant:b")
	u, err := j.Unfinished()
	require.NoError(t, err)
	require.Empty(t, u.Pending)
	require.Equal(t, map[string]int{"qrs:a:4242": 1}, u.Foreign, "a2 is recorded; a1 kept for A")

	require.NoError(t, j.Intent(o("run-b", "b1")))
	out = o("run-b", "b1")
	out.Result = audit.Released
	require.NoError(t, j.Outcome(out))
	require.NoError(t, j.Summary(audit.Summary{Site: "s", RunID: "run-b", Released: 1}))
	u, err = j.Unfinished()
	require.NoError(t, err)
	require.Empty(t, u.Pending)
	require.Empty(t, u.Done)
	require.Len(t, u.Foreign, 1)

	// A run of B killed after an intent: not summarized, though the file's mark is run-b's.
	require.NoError(t, j.Intent(o("run-b2", "b2")))
	u, err = j.Unfinished()
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	require.Equal(t, "b2", u.Pending[0].AllocationID)
	require.Equal(t, "run-b2", u.RunID)
	require.False(t, u.Summarized)
	out = o("run-b2", "b2")
	out.Result = audit.Failed
	require.NoError(t, j.Outcome(out))
	require.NoError(t, j.Summary(audit.Summary{Site: "s", RunID: "run-b2", Failed: 1}))
	b, err = os.ReadFile(inflight)
	require.NoError(t, err)
	require.Contains(t, string(b), `"source":"qrs:a:4242"`, "the rewrite keeps the intent's source")

	j.SetSource("qrs:a:4242")
	u, err = j.Unfinished()
	require.NoError(t, err)
	require.Empty(t, u.Foreign)
	require.Len(t, u.Pending, 1)
	require.Equal(t, "a1", u.Pending[0].AllocationID)
	require.Equal(t, "run-a", u.RunID, "what is left is run-a's")
	require.False(t, u.Summarized, "run-a was killed: not summarized, whatever run-b2's mark says")
}
