package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/release/audit"
)

// spoolChild is a test process that delivers a spool, for the tests that kill a delivery
// or run two at once. spec: "<spool>|<shared 0/1>|<out>|<batch>|<crash step or empty>".
func spoolChild(spec string) int {
	f := strings.Split(spec, "|")
	batch, _ := strconv.Atoi(f[3])
	d := audit.NewTestDeliverer(f[0], f[1] == "1", f[2], batch, f[4], slogDiscard())
	if _, err := d.Flush(contextBackground()); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
		return 1
	}
	return 0
}

// spoolLine is one outcome record of the audit log's shape, numbered.
func spoolLine(n int) string {
	b, _ := json.Marshal(map[string]any{"kind": "outcome", "outcome": map[string]any{
		"time": time.Date(2026, 5, 4, 10, 0, n, 0, time.UTC), "site": "production", "run_id": "r1", "type": "professional",
		"allocation_id": fmt.Sprintf("alloc-%03d", n), "user": "CORP\\u", "outcome": "released", "reason": "inactive",
	}})
	return string(b) + "\n"
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	require.NoError(t, err)
	for n := from; n < to; n++ {
		_, err := f.WriteString(spoolLine(n))
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
}

// deliveredCounts reads the delivered line protocol: how often each allocation arrived.
func deliveredCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(out)
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	require.NoError(t, err)
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		i := strings.Index(l, `allocation_id="`)
		require.GreaterOrEqual(t, i, 0, l)
		id := l[i+len(`allocation_id="`):]
		counts[id[:strings.IndexByte(id, '"')]]++
	}
	return counts
}

func runSpoolChild(t *testing.T, spool string, shared bool, out string, batch int, crashAt string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	sh := "0"
	if shared {
		sh = "1"
	}
	cmd.Env = append(os.Environ(), fmt.Sprintf("AUDIT_TEST_SPOOL_CHILD=%s|%s|%s|%d|%s", spool, sh, out, batch, crashAt))
	return cmd
}

// A delivery killed between any two of its steps — after a batch is written and before the
// offset moves, after the offset went to 0 and before the truncation, after the truncation
// — leaves a spool the next delivery reads: every record reaches the output, and a record
// arrives twice only when the kill came after its write and before its offset (a repeat
// InfluxDB overwrites: same series, same time).
func TestSpoolDeliveryKilledAtEachStep(t *testing.T) {
	for _, c := range []struct {
		step   string
		shared bool
	}{{"written", false}, {"offset-zeroed", false}, {"truncated", false}, {"written", true}} {
		t.Run(fmt.Sprintf("%s shared=%t", c.step, c.shared), func(t *testing.T) {
			dir := t.TempDir()
			spool, out := filepath.Join(dir, "spool.jsonl"), filepath.Join(dir, "delivered.lp")
			appendLines(t, spool, 0, 10)
			batch := 4
			if c.step != "written" {
				batch = 100 // one batch: delivered to the end, so the spool is emptied
			}
			err := runSpoolChild(t, spool, c.shared, out, batch, c.step).Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, audit.CrashExit, ee.ExitCode(), "killed at %s", c.step)

			appendLines(t, spool, 10, 13) // the journal goes on writing meanwhile
			d := audit.NewTestDeliverer(spool, c.shared, out, batch, "", slogDiscard())
			_, err = d.Flush(t.Context())
			require.NoError(t, err)
			counts := deliveredCounts(t, out)
			require.Len(t, counts, 13, "every record delivered, none lost")
			for id, n := range counts {
				require.LessOrEqual(t, n, 2, id)
				if n == 2 {
					require.Less(t, id, fmt.Sprintf("alloc-%03d", batch), "only the batch written before the kill repeats")
				}
			}
			left, err := d.Len()
			require.NoError(t, err)
			require.Zero(t, left)
		})
	}
}

// An offset beyond the end (the file was replaced), a rotated audit log (copytruncate:
// the new file grew past the old offset), an unreadable offset file and the offset of an
// older version: delivery resumes where it truthfully can, never jams and never skips.
func TestSpoolOffsetThatNoLongerFits(t *testing.T) {
	setup := func(t *testing.T) (spool, out string, d *audit.TestDelivery) {
		dir := t.TempDir()
		spool, out = filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "delivered.lp")
		appendLines(t, spool, 0, 5)
		d = audit.NewTestDeliverer(spool, true, out, 100, "", slogDiscard())
		_, err := d.Flush(t.Context())
		require.NoError(t, err)
		require.Len(t, deliveredCounts(t, out), 5)
		return spool, out, d
	}
	t.Run("rotated by copytruncate", func(t *testing.T) {
		spool, out, d := setup(t)
		require.NoError(t, os.Truncate(spool, 0))
		appendLines(t, spool, 100, 108) // longer than what was delivered before
		_, err := d.Flush(t.Context())
		require.NoError(t, err)
		counts := deliveredCounts(t, out)
		require.Len(t, counts, 13, "all of the new file delivered")
	})
	// InfluxDB down, the audit log rotated (copied and truncated, or moved) with records
	// not delivered yet, InfluxDB up: the rotated file's tail is delivered first, then the
	// new file — every record once.
	for _, how := range []string{"copytruncate", "move"} {
		t.Run("rotated by "+how+" with an undelivered tail", func(t *testing.T) {
			spool, out, d := setup(t)
			appendLines(t, spool, 5, 9) // written while InfluxDB is down
			rotate(t, spool, how)
			appendLines(t, spool, 100, 103)
			left, err := d.Len()
			require.NoError(t, err)
			require.Equal(t, 4+3, left, "the backlog counts the rotated tail")
			_, err = d.Flush(t.Context())
			require.NoError(t, err)
			counts := deliveredCounts(t, out)
			require.Len(t, counts, 5+4+3, "every record delivered")
			for id, n := range counts {
				require.Equal(t, 1, n, "%s delivered once", id)
			}
			appendLines(t, spool, 103, 104)
			_, err = d.Flush(t.Context())
			require.NoError(t, err)
			require.Len(t, deliveredCounts(t, out), 5+4+4)
			left, err = d.Len()
			require.NoError(t, err)
			require.Zero(t, left)
		})
	}
	// InfluxDB down from the start (no record ever delivered, so no offset with a
	// fingerprint before it), then the audit log rotated, then InfluxDB up: the rotated
	// file is recognised by its first bytes and delivered first — nothing lost.
	for _, how := range []string{"copytruncate", "move"} {
		t.Run("rotated by "+how+" before any delivery", func(t *testing.T) {
			dir := t.TempDir()
			spool, out := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "delivered.lp")
			appendLines(t, spool, 0, 5)
			down := audit.NewTestDeliverer(spool, true, filepath.Join(dir, "missing", "delivered.lp"), 100, "", slogDiscard())
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := down.Flush(ctx)
			require.Error(t, err, "InfluxDB down")
			rotate(t, spool, how)
			appendLines(t, spool, 100, 103)
			d := audit.NewTestDeliverer(spool, true, out, 100, "", slogDiscard())
			left, err := d.Len()
			require.NoError(t, err)
			require.Equal(t, 5+3, left, "the backlog counts the rotated file")
			_, err = d.Flush(t.Context())
			require.NoError(t, err)
			counts := deliveredCounts(t, out)
			require.Len(t, counts, 5+3, "every record delivered")
			for id, n := range counts {
				require.Equal(t, 1, n, "%s delivered once", id)
			}
			appendLines(t, spool, 103, 104)
			_, err = d.Flush(t.Context())
			require.NoError(t, err)
			require.Len(t, deliveredCounts(t, out), 5+4)
		})
	}
	t.Run("offset beyond the end", func(t *testing.T) {
		spool, out, d := setup(t)
		require.NoError(t, os.WriteFile(spool+".offset", []byte(`{"offset":99999}`+"\n"), 0o640))
		appendLines(t, spool, 5, 6)
		_, err := d.Flush(t.Context())
		require.NoError(t, err)
		counts := deliveredCounts(t, out)
		require.Len(t, counts, 6)
		require.Equal(t, 1, counts["alloc-005"])
	})
	t.Run("empty offset file", func(t *testing.T) {
		spool, out, d := setup(t)
		require.NoError(t, os.WriteFile(spool+".offset", nil, 0o640))
		appendLines(t, spool, 5, 6)
		_, err := d.Flush(t.Context())
		require.NoError(t, err, "an unreadable offset never jams delivery")
		require.Len(t, deliveredCounts(t, out), 6)
	})
	t.Run("offset of an older version", func(t *testing.T) {
		spool, out, d := setup(t)
		b, err := os.ReadFile(spool)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(spool+".offset", []byte(strconv.Itoa(len(b))+"\n"), 0o640))
		appendLines(t, spool, 5, 6)
		_, err = d.Flush(t.Context())
		require.NoError(t, err)
		counts := deliveredCounts(t, out)
		require.Len(t, counts, 6)
		for id, n := range counts {
			require.Equal(t, 1, n, "%s: the plain offset is still honoured", id)
		}
	})
}

// A corrupt line is skipped, logged and counted; the records around it are delivered, a
// record written after a line torn by a crash is still found, and the backlog is counted
// without decoding.
func TestSpoolSkipsCorruptLines(t *testing.T) {
	dir := t.TempDir()
	spool, out := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "delivered.lp")
	appendLines(t, spool, 0, 2)
	f, err := os.OpenFile(spool, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString("this is not JSON\n" + `{"kind":"outcome","outcome":{"allocation_` + spoolLine(2)) // torn, then a whole record
	require.NoError(t, err)
	require.NoError(t, f.Close())
	appendLines(t, spool, 3, 5)

	var logs strings.Builder
	d := audit.NewTestDeliverer(spool, true, out, 2, "", slogTo(&logs))
	n, err := d.Len()
	require.NoError(t, err)
	require.Equal(t, 6, n, "lines waiting, corrupt ones included")
	_, err = d.Flush(t.Context())
	require.NoError(t, err)
	counts := deliveredCounts(t, out)
	require.Len(t, counts, 5, "alloc-000 … alloc-004, the torn line's record too")
	require.Equal(t, 1, d.TakeSkipped())
	require.Zero(t, d.TakeSkipped(), "taken once")
	require.Contains(t, logs.String(), "skipping a corrupt line of the spool")
	n, err = d.Len()
	require.NoError(t, err)
	require.Zero(t, n)
}

// Two processes deliver the same spool at once (a `once` beside the `run` service): one
// delivers, the other leaves it to that one; every record arrives exactly once.
func TestSpoolOneDeliveryAtATimeAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	spool, out := filepath.Join(dir, "spool.jsonl"), filepath.Join(dir, "delivered.lp")
	appendLines(t, spool, 0, 400)
	a := runSpoolChild(t, spool, false, out, 1, "")
	b := runSpoolChild(t, spool, false, out, 1, "")
	require.NoError(t, a.Start())
	require.NoError(t, b.Start())
	require.NoError(t, a.Wait())
	require.NoError(t, b.Wait())
	counts := deliveredCounts(t, out)
	require.Len(t, counts, 400)
	for id, n := range counts {
		require.Equal(t, 1, n, "%s delivered twice", id)
	}
}

// rotate rotates the audit log spool to spool.1 as logrotate does, how: "move" (renamed)
// or "copytruncate" (copied, then emptied).
func rotate(t *testing.T, spool, how string) {
	t.Helper()
	rotated := spool + ".1"
	if how == "move" {
		require.NoError(t, os.Rename(spool, rotated))
		return
	}
	b, err := os.ReadFile(spool)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rotated, b, 0o640))
	require.NoError(t, os.Truncate(spool, 0))
}
