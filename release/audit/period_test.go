package audit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/release/audit"
)

// A period of the audit log: outcomes by result, what was reclaimed by reason, the
// failures and the runs' errors; records outside the period, recoveries and a torn last
// line are not counted.
func TestReadPeriod(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	lines := []string{
		`{"kind":"outcome","outcome":{"time":"2026-02-27T03:00:00Z","outcome":"released","reason":"inactive"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-02T03:00:00Z","outcome":"released","reason":"inactive"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-02T03:00:01Z","outcome":"quarantined","reason":"user_inactive"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-02T03:00:02Z","outcome":"failed","type":"professional","user":"LAB\\ann","allocation_id":"a1","detail":"DELETE answered 500"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-02T03:00:03Z","outcome":"noticed","reason":"inactive"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-09T03:00:03Z","outcome":"moved","reason":"analyzer_candidate"}}`,
		`{"kind":"run","run":{"time":"2026-03-02T03:01:00Z","errors":["reading analyzer allocations: 503"]}}`,
		`{"kind":"run","run":{"time":"2026-03-09T03:01:00Z","errors":["reading analyzer allocations: 503"]}}`,
		`{"kind":"run","run":{"time":"2026-03-09T04:00:00Z","recovery":true}}`,
		`{"kind":"reload","reload":{"time":"2026-03-09T05:00:00Z","success":true}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-31T03:00:00Z","outcome":"released","reason":"inactive"}}`,
		`{"kind":"outcome","outcome":{"time":"2026-03-10T03:00`,
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	p, err := audit.ReadPeriod(path, from, to)
	require.NoError(t, err)
	require.Equal(t, 2, p.Reclaimed())
	require.Equal(t, map[string]int{"inactive": 1, "user_inactive": 1}, p.Reasons)
	require.Equal(t, 1, p.Results[audit.Noticed])
	require.Equal(t, 1, p.Results[audit.Moved])
	require.Len(t, p.Failures, 1)
	require.Equal(t, "a1", p.Failures[0].AllocationID)
	require.Equal(t, 2, p.Runs)
	require.Equal(t, time.Date(2026, 3, 9, 3, 1, 0, 0, time.UTC), p.LastRun)
	require.Equal(t, []audit.CountedError{{Error: "reading analyzer allocations: 503", Runs: 2}}, p.Errors)
	require.Equal(t, time.Date(2026, 2, 27, 3, 0, 0, 0, time.UTC), p.First, "the log covers the whole period")

	p, err = audit.ReadPeriod(filepath.Join(t.TempDir(), "none.jsonl"), from, to)
	require.NoError(t, err)
	require.Zero(t, p.Runs)
	require.True(t, p.First.IsZero())
	_, err = audit.ReadPeriod("stdout", from, to)
	require.ErrorIs(t, err, audit.ErrNoAuditFile)
}
