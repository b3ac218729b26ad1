package release_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// influxMetrics parses every line f received.
func influxMetrics(t *testing.T, f *testkit.InfluxWrites) []telegraf.Metric {
	t.Helper()
	p := &influx.Parser{}
	require.NoError(t, p.Init())
	ms, err := p.Parse([]byte(strings.Join(f.Lines(), "\n")))
	require.NoError(t, err)
	return ms
}

func outputKeys(url string) string {
	return `
    [inputs.qliksense_license.release.output]
      url = "` + url + `"
      token = "influxuser:s3cret-pa55"
      bucket = "qliksense/autogen"
      [inputs.qliksense_license.release.output.tags]
        env = "test"`
}

func TestOutcomesReachInfluxDB(t *testing.T) {
	fi := &testkit.InfluxWrites{}
	ts := httptest.NewServer(fi)
	defer ts.Close()
	e := newEnv(t, smallSite(), withKeys("max_releases_per_run = 3")+outputKeys(ts.URL))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 3, sum.Released+sum.Quarantined)

	ms := influxMetrics(t, fi)
	require.Len(t, ms, 4)
	_, queries, auth := fi.Writes()
	require.Equal(t, "bucket=qliksense%2Fautogen&org=&precision=ns", queries[0])
	require.Equal(t, "Token influxuser:s3cret-pa55", auth[0])
	var outcomes int
	for _, m := range ms {
		tags := m.Tags()
		require.Equal(t, "production", tags["site"])
		require.Equal(t, "test", tags["env"])
		switch m.Name() {
		case audit.MeasurementRelease:
			outcomes++
			require.Contains(t, []string{"professional", "analyzer"}, tags["license_type"])
			require.Regexp(t, `^[^\\]+\\[^\\]+$`, tags["user"], "user is DIR\\id like Butler's")
			require.Contains(t, []string{"released", "quarantined"}, tags["outcome"])
			require.IsType(t, float64(0), m.Fields()["days_since_last_use"])
			require.Equal(t, false, m.Fields()["dry_run"])
		case audit.MeasurementReleaseRun:
			require.Equal(t, int64(sum.Released), m.Fields()["released"], "integers as int64: InfluxDB 1.8 rejects unsigned")
			require.Equal(t, int64(sum.Deferred), m.Fields()["deferred"])
			require.IsType(t, float64(0), m.Fields()["duration_seconds"])
		default:
			t.Fatalf("unexpected measurement %s", m.Name())
		}
	}
	require.Equal(t, 3, outcomes)
	require.Zero(t, e.runner.Pending())
}

// While the destination is down, outcomes wait in the spool; they are delivered once it
// is back, also by a new process (a restart), and exactly once.
func TestOutcomesSurviveADownDestination(t *testing.T) {
	fi := &testkit.InfluxWrites{}
	fi.Down.Store(true)
	ts := httptest.NewServer(fi)
	defer ts.Close()
	e := newEnv(t, smallSite(), withKeys("max_releases_per_run = 2")+outputKeys(ts.URL))
	e.runner.Trail().SetRetryDelay(time.Millisecond)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Released+sum.Quarantined)
	require.Equal(t, 3, e.runner.Pending(), "two outcomes and the run summary wait")
	require.Len(t, auditLines(t, e.audit), 3, "the audit log has them already")
	require.Contains(t, e.logs.String(), "outcomes stay in the spool until the output is back")

	// A new process over the same state folder.
	e.runner.Close()
	restarted, err := release.NewRunner(e.site, slog.New(slog.DiscardHandler), &bytes.Buffer{})
	require.NoError(t, err)
	defer restarted.Close()
	require.Equal(t, 3, restarted.Pending())
	fi.Down.Store(false)
	n, err := restarted.Flush(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Zero(t, restarted.Pending())
	require.Len(t, influxMetrics(t, fi), 3)
	n, err = restarted.Flush(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "delivered once")
	require.Len(t, influxMetrics(t, fi), 3)
}

// No secret reaches logs, the audit log, a plan or check output.
func TestSecretsStayOut(t *testing.T) {
	fi := &testkit.InfluxWrites{}
	ts := httptest.NewServer(fi)
	defer ts.Close()
	e := newEnv(t, smallSite(), withKeys("max_releases_per_run = 2")+outputKeys(ts.URL))
	_, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	var plan bytes.Buffer
	for _, f := range []string{report.FormatTable, report.FormatJSON, report.FormatCSV} {
		require.NoError(t, report.Plan(&plan, p, f))
	}
	audit := strings.Join(auditLines(t, e.audit), "\n")
	for _, out := range []string{e.logs.String(), audit, plan.String()} {
		require.NotContains(t, out, "s3cret-pa55")
	}
}
