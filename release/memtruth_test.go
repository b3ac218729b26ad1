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
