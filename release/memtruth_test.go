package release_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/memsource"
)

// The truth rule once for both batch shapes, on the in-memory source: one change a
// request (as QRS) and one call per part (as Qlik Cloud), with calls answered in turn
// done, reset before their effect, 504 after it, 504 with the effect landing within the
// settle grace, and refused. Once the runs settle, the audit log equals the source: every
// holder gone recorded released exactly once, every refused one failed and still there,
// no intent left open.
func TestTruthOnTheMemorySourceForBothBatchShapes(t *testing.T) {
	for _, batch := range []int{1, 100} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
			var hs []memsource.Holder
			for i := range 60 {
				typ := []qrs.AccessType{qrs.Professional, qrs.Analyzer}[i%2]
				hs = append(hs, memsource.Holder{Key: source.Key{Type: typ, ID: fmt.Sprintf("user%02d", i)}, Created: now.AddDate(0, 0, -90-i)})
			}
			src := memsource.New(hs...)
			src.Batch, src.LateAfter, src.Retries = batch, 100*time.Millisecond, 2
			script := []memsource.Behaviour{memsource.Done, memsource.FailBefore, memsource.FailAfter, memsource.Late, memsource.Refused}
			src.Script = func(n int) memsource.Behaviour { return script[n%len(script)] }
			pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool), MaxReleasesPerRun: ptr(25),
				Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}, Analyzer: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
			require.NoError(t, err)
			state := t.TempDir()
			site := &release.Site{Name: "memory", Path: "memory.conf", Source: src, Policy: pol, Settings: &siteconfig.Sidecar{
				StateDir: state, LockFile: filepath.Join(state, "memory.lock"), AuditLog: filepath.Join(state, "memory-audit.jsonl"),
				Concurrency: 2, RecheckMaxAge: 10 * time.Second, SettleGrace: 300 * time.Millisecond}}
			r, err := release.NewRunner(site, slogDiscard(), &bytes.Buffer{})
			require.NoError(t, err)
			defer r.Close()
			r.Now = func() time.Time { return now }
			r.RecoverGrace = 10 * time.Millisecond
			for range 3 {
				_, err := r.Once(t.Context(), nil)
				require.NoError(t, err)
			}
			src.Settle()
			src.Script = nil
			sum, err := r.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Zero(t, sum.Unsettled)

			outs, _ := auditOutcomes(t, site.Settings.AuditLog)
			released, failed := map[string]int{}, map[string]bool{}
			for _, o := range outs {
				switch o.Result {
				case audit.Released:
					released[o.AllocationID]++
				case audit.Failed:
					failed[o.AllocationID] = true
				}
			}
			gone := 0
			for _, h := range hs {
				if src.Present(h.Key) {
					require.Zero(t, released[h.Key.ID], "%s is still there: not recorded released", h.Key.ID)
					continue
				}
				gone++
				require.Equal(t, 1, released[h.Key.ID], "%s is gone: recorded released exactly once", h.Key.ID)
			}
			require.Len(t, released, gone)
			require.Positive(t, gone)
			require.NotEmpty(t, failed, "refused calls are recorded failed")
			inflight, err := os.ReadFile(site.Settings.InflightFile())
			require.NoError(t, err)
			require.Empty(t, inflight, "no intent left open")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A change sent again (a read proved its first send not done) whose new send is answered
// gone: the seat was freed between that read and the new send. When the read came within
// twice the settle grace of the first answer, the first send may have landed after it —
// the only known cause —, so the tool freed the seat: released, with the policy's reason
// and a detail saying so. When the first send never reached the service (a rate
// limiter's 429), or the read that proved it not done came long after the grace, it is
// not the tool's doing: skipped, gone. One engine: the same on both batch shapes.
func TestChangeSentAgainAnsweredGone(t *testing.T) {
	const grace = 200 * time.Millisecond
	for _, tc := range []struct {
		name   string
		script []memsource.Behaviour
		pacing time.Duration
		want   []audit.Result // in the order the holders were sent
		detail []string
	}{
		{name: "reset, read after the grace, gone", script: []memsource.Behaviour{memsource.FailBefore, memsource.GoneBefore},
			want:   []audit.Result{audit.Released},
			detail: []string{"sent again after a read showed the holder still there, the change was answered 404 Not Found: the first change landed late, after that read (sent 2 times); "}},
		{name: "throttled, never seen, gone", script: []memsource.Behaviour{memsource.Throttled, memsource.GoneBefore},
			want:   []audit.Result{audit.Skipped},
			detail: []string{"the memory answered gone when the change was sent again; the earlier change never reached the memory or was proved not done by a read long after the settle grace: not this tool's"}},
		{name: "reset, then throttled, gone", script: []memsource.Behaviour{memsource.FailBefore, memsource.Throttled, memsource.GoneBefore},
			// The second send never reached the service, but the first did, and the read
			// after the throttled send came within twice the grace of the first's answer:
			// the first may have landed after it.
			want:   []audit.Result{audit.Released},
			detail: []string{"sent again after a read showed the holder still there, the change was answered 404 Not Found: an earlier change landed late, after that read (sent 3 times); "}},
		{name: "read long after the grace", pacing: 3 * grace,
			// The first holder's send (reset) is read back once the second's (done) is
			// answered, three graces later: that read proved it not done long after any
			// late effect could land.
			script: []memsource.Behaviour{memsource.FailBefore, memsource.Done, memsource.GoneBefore},
			want:   []audit.Result{audit.Released, audit.Skipped},
			detail: []string{"", "not this tool's"}},
	} {
		for _, batch := range []int{1, 100} {
			if tc.pacing > 0 && batch > 1 {
				continue // one call carries both: there is no first and second
			}
			t.Run(fmt.Sprintf("%s, batch %d", tc.name, batch), func(t *testing.T) {
				now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
				var hs []memsource.Holder
				for i := range tc.want {
					hs = append(hs, memsource.Holder{Key: source.Key{Type: qrs.Professional, ID: fmt.Sprintf("user%d", i)}, Created: now.AddDate(0, 0, -90-i)})
				}
				src := memsource.New(hs...)
				src.Batch, src.Retries, src.Grace = batch, 2, grace
				src.Script = func(n int) memsource.Behaviour { return tc.script[n-1] }
				pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool), Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
				require.NoError(t, err)
				p, err := src.Plan(t.Context(), pol, "memory", now, nil)
				require.NoError(t, err)
				require.Len(t, p.Releases(), len(tc.want))
				rec := &memRecorder{}
				ex := &release.Executor{Source: src, Policy: pol, Site: "memory", Now: func() time.Time { return now }, Pacing: tc.pacing,
					SettleGrace: grace, Recorder: rec, Log: slogDiscard()}
				sum := ex.Run(t.Context(), nil, p)
				require.Zero(t, sum.Unsettled)
				require.Len(t, rec.outcomes, len(tc.want))
				for i, o := range rec.outcomes { // in the order recorded: the first sent is read back first
					require.False(t, src.Present(source.Key{Type: o.Type, ID: o.AllocationID}), "the seat is free")
					require.Equal(t, tc.want[i], o.Result, "%s: %s", o.AllocationID, o.Detail)
					require.Contains(t, o.Detail, tc.detail[i])
					if o.Result == audit.Released {
						require.Equal(t, string(p.Releases()[0].Decision.Reason), o.Reason, "the policy's reason")
						require.NotEmpty(t, o.Reason)
					} else {
						require.Equal(t, release.ReasonGone, o.Reason)
					}
				}
			})
		}
	}
}
