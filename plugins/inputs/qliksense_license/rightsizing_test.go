package qliksense_license_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
)

// qlik_sense_license_rightsizing carries the counts of a right-sizing pass, read again only
// after refresh.
func TestRightsizingMeasurement(t *testing.T) {
	srv := serve(t, emulator.Generate(emulator.SiteSpec{Seed: 82, Users: 300, Apps: 80, AppObjects: 1500, Now: testkit.Now}))
	conf := filepath.Join(t.TempDir(), "plugin.conf")
	require.NoError(t, os.WriteFile(conf, []byte(srv.PluginConfig("production", `  [inputs.qliksense_license.rightsize]
    enabled = true
    lookback_days = 60
    refresh = "1h"`)), 0o600))
	p := load(t, conf)
	acc := gather(t, p)
	require.Empty(t, acc.Errors)
	ms := byMeasurement(acc, "qlik_sense_license_rightsizing")
	require.Len(t, ms, 1)
	lt, _ := ms[0].GetTag("license_type")
	require.Equal(t, "professional", lt)

	want, err := rightsize.Evaluate(t.Context(), p.Client(), rightsize.Options{Now: testkit.Now, LookbackDays: 60})
	require.NoError(t, err)
	f := ms[0].Fields()
	require.Equal(t, int64(len(want.Holders)), f["professional_holders"])
	require.Equal(t, int64(want.Counts[rightsize.Candidate]), f["analyzer_candidates"])
	require.Positive(t, f["analyzer_candidates"])
	for _, k := range rightsize.KeptReasons {
		require.Equal(t, int64(want.Counts[k]), f["kept_"+string(k)], k)
	}
	require.Equal(t, int64(60), f["lookback_days"])
	require.Equal(t, int64(4), f["qrs_requests"])

	// Within refresh the last pass is reported and no app is read again.
	srv.Log.Reset()
	acc = gather(t, p)
	require.Len(t, byMeasurement(acc, "qlik_sense_license_rightsizing"), 1)
	require.Zero(t, srv.Log.Count("GET", "/qrs/app/full"))
	p.SetNow(func() time.Time { return testkit.Now.Add(time.Hour) })
	gather(t, p)
	require.Equal(t, 1, srv.Log.Count("GET", "/qrs/app/full"), "read again after refresh")
}
