package qliksense_license_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// notice_waiting counts the reclaimable allocations whose notice the sidecar sent and
// whose period is not over, from the sidecar's notice state; without that file the field
// is left out.
func TestReclaimableCountsNoticesWaiting(t *testing.T) {
	srv := serve(t, emulator.Generate(emulator.SiteSpec{Seed: 71, Users: 80, Now: testkit.Now}))
	state := t.TempDir()
	conf := filepath.Join(t.TempDir(), "plugin.conf")
	require.NoError(t, os.WriteFile(conf, []byte(srv.PluginConfig("production", fmt.Sprintf(`  [inputs.qliksense_license.release]
    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
      notice_days = 14`, state))), 0o600))
	p := load(t, conf)

	professional := func(acc interface{ GetTag(string) (string, bool) }) bool {
		lt, _ := acc.GetTag("license_type")
		return lt == "professional"
	}
	acc := gather(t, p)
	var fields map[string]any
	for _, m := range byMeasurement(acc, "qlik_sense_license_reclaimable") {
		if professional(m) {
			fields = m.Fields()
		}
	}
	require.Equal(t, int64(14), fields["notice_days"])
	require.NotContains(t, fields, "notice_waiting", "no notice state: no count rather than a wrong one")

	// The sidecar's state: two candidates waiting, one whose period is over, and one
	// about an earlier episode (its user came back since).
	var candidates []*qrs.Allocation
	pol, err := policy.Compile(&p.Release.Config)
	require.NoError(t, err)
	res, err := evaluate.Site(t.Context(), p.Client(), evaluate.Options{Types: []qrs.AccessType{qrs.Professional}, Policy: pol, Now: testkit.Now, KeepItems: true})
	require.NoError(t, err)
	for _, it := range res.ByType[qrs.Professional].Items {
		if it.Decision.Verdict == policy.Release {
			candidates = append(candidates, it.Allocation)
		}
	}
	require.GreaterOrEqual(t, len(candidates), 4)
	st := notice.New()
	record := func(a *qrs.Allocation, noticed time.Time, episode time.Time) {
		st.Records[a.ID] = &notice.Record{AllocationID: a.ID, Type: qrs.Professional, Episode: episode,
			NoticedAt: noticed, ReleasableFrom: noticed.Add(14 * 24 * time.Hour)}
	}
	record(candidates[0], testkit.Now.Add(-24*time.Hour), notice.AllocationKey(qrs.Professional, candidates[0]).Episode)
	record(candidates[1], testkit.Now.Add(-13*24*time.Hour), notice.AllocationKey(qrs.Professional, candidates[1]).Episode)
	record(candidates[2], testkit.Now.Add(-15*24*time.Hour), notice.AllocationKey(qrs.Professional, candidates[2]).Episode)
	record(candidates[3], testkit.Now.Add(-24*time.Hour), notice.AllocationKey(qrs.Professional, candidates[3]).Episode.Add(-time.Hour))
	require.NoError(t, st.Save(p.NoticeFile()))

	acc = gather(t, p)
	for _, m := range byMeasurement(acc, "qlik_sense_license_reclaimable") {
		if professional(m) {
			fields = m.Fields()
		}
	}
	require.Equal(t, int64(2), fields["notice_waiting"])
	require.Empty(t, acc.Errors)
}
