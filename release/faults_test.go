package release_test

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

// The fault matrix for the sidecar: a clear error naming what failed, no wrong release,
// no crash, an accurate summary, and a normal run once QRS is well again.
func TestSidecarFaultMatrix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(s *emulator.Server, first string)
		// planErr: the run plans nothing of a type and says why
		planErr string
		// failed, skipped: outcomes the fault causes
		failed, skipped int
	}{
		{name: "5xx burst while planning", fault: func(s *emulator.Server, _ string) {
			s.Faults.Inject(emulator.FaultServerError, "GET", "/full", 2)
		}},
		{name: "truncated list", fault: func(s *emulator.Server, _ string) {
			s.Faults.Inject(emulator.FaultTruncate, "GET", "analyzeraccesstype/full", 10)
		}, planErr: "reading analyzer allocations: GET /qrs/license/analyzeraccesstype/full: decoding element"},
		{name: "malformed list", fault: func(s *emulator.Server, _ string) {
			s.Faults.Inject(emulator.FaultMalformed, "GET", "professionalaccesstype/full", 10)
		}, planErr: "reading professional allocations: GET /qrs/license/professionalaccesstype/full: decoding response: invalid character '<'"},
		{name: "users unreadable", fault: func(s *emulator.Server, _ string) {
			s.Faults.Inject(emulator.FaultServerError, "GET", "/qrs/user", 100)
		}, planErr: "reading users for the release policy: GET /qrs/user"},
		{name: "429 on the re-check", fault: func(s *emulator.Server, _ string) {
			s.Faults.Configure(emulator.FaultConfig{RetryAfter: time.Second})
			s.Faults.Inject(emulator.FaultNone, "GET", "/full", 2)
			s.Faults.Inject(emulator.FaultTooMany, "GET", "accesstype/", 1)
		}},
		{name: "500 on a re-check", fault: func(s *emulator.Server, first string) {
			s.Faults.Inject(emulator.FaultServerError, "GET", first, 10)
		}, skipped: -1},
		{name: "reset on a DELETE", fault: func(s *emulator.Server, _ string) {
			// Read back still there after the settle grace: proven not done, sent again.
			s.Faults.Inject(emulator.FaultReset, "DELETE", "", 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := emulator.Generate(emulator.SiteSpec{Seed: 61, Users: 200, Now: testkit.Now})
			e := newEnv(t, site, withKeys("max_releases_per_run = 5"))
			before := snapshotOf(site)
			p, err := e.runner.Plan(t.Context())
			require.NoError(t, err)
			tc.fault(e.srv, p.Releases()[0].Holder.ID)
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			if tc.planErr != "" {
				require.Len(t, sum.Errors, 1)
				require.Contains(t, sum.Errors[0], tc.planErr)
			} else {
				require.Empty(t, sum.Errors)
			}
			require.Equal(t, max(tc.failed, 0), sum.Failed)
			if tc.skipped < 0 {
				require.Positive(t, sum.Skipped)
				require.Contains(t, strings.Join(auditLines(t, e.audit), "\n"), `"reason":"recheck_failed"`)
			}
			changed := 0
			for id, a := range before {
				if b, ok := site.Allocation(a.Kind, id); !ok || b.Quarantined != a.Quarantined {
					changed++
				}
			}
			require.Equal(t, sum.Released+sum.Quarantined, changed, "the summary is exact")

			e.srv.Faults.Clear()
			sum, err = e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Empty(t, sum.Errors, "recovered")
			require.Zero(t, sum.Failed)
		})
	}
}

func snapshotOf(site *emulator.Site) map[string]emulator.Allocation {
	out := map[string]emulator.Allocation{}
	for _, k := range emulator.Kinds {
		for _, a := range site.Allocations(k) {
			out[a.ID] = a
		}
	}
	return out
}

// QRS down for a whole scheduled run: the run says so and releases nothing; the next run,
// with QRS back on the same address, works.
func TestQRSDownForAWholeRun(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 62, Users: 100, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 3"))
	addr := strings.TrimPrefix(e.srv.URL, "https://")
	require.NoError(t, e.srv.Close())
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.NotEmpty(t, sum.Errors)
	// Refused, or reset if a parallel test briefly had the freed port.
	require.Regexp(t, regexp.QuoteMeta("dial tcp "+addr+": connect: connection ")+"(refused|reset by peer)", sum.Errors[0])
	require.Zero(t, sum.Released+sum.Quarantined+sum.Failed)

	// The same emulator back on the same port.
	var srv *emulator.Server
	require.Eventually(t, func() bool {
		srv, err = emulator.Start(emulator.Options{Site: site, CertDir: e.srv.Certs.Dir, Addr: addr})
		return err == nil
	}, 5*time.Second, 50*time.Millisecond)
	t.Cleanup(func() { _ = srv.Close() })
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.Equal(t, 3, sum.Released+sum.Quarantined)
}

// The clock jumps: backwards, nothing looks inactive and nothing is released; forwards,
// more is released, but never anything protected or quarantined.
func TestClockJumps(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 63, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 1000"))
	e.runner.Now = func() time.Time { return testkit.Now.AddDate(-5, 0, 0) }
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Zero(t, sum.Released+sum.Quarantined, "a clock in the past makes nothing inactive")

	e.runner.Now = func() time.Time { return testkit.Now.AddDate(3, 0, 0) }
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	for _, it := range p.Releases() {
		a, _ := e.srv.Site.Allocation(emulator.Kind(it.Type), it.Holder.ID)
		require.False(t, a.Quarantined)
		require.NotEqual(t, `INTERNAL\sa_api`, it.Holder.Name)
	}
	kept := 0
	for _, tt := range p.Totals {
		kept += tt.Kept["protected_tag"] + tt.Kept["protected_user"] + tt.Kept["quarantined"]
	}
	require.Positive(t, kept, "protections hold whatever the date")
	require.Zero(t, p.Totals[0].Kept["recently_used"]+p.Totals[1].Kept["recently_used"], "three years on, nobody is recent")
}

// A run leaves no goroutine behind once the runner is closed.
func TestRunnerLeavesNoGoroutine(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 64, Users: 100, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 5", "concurrency = 3"))
	for range 2 {
		_, err := e.runner.Once(t.Context(), nil)
		require.NoError(t, err)
	}
	e.runner.Close()
}

// The plugin's start-up warnings reach the sidecar's structured log.
func TestInsecureSkipVerifyIsWarned(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 65, Users: 20, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	var logs strings.Builder
	path := siteConfig(t, srv, t.TempDir(), "")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), "  [inputs.qliksense_license.release]", "  insecure_skip_verify = true\n  [inputs.qliksense_license.release]", 1)), 0o600))
	_, err = release.LoadSite(path, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.Contains(t, logs.String(), `level=WARN msg="insecure_skip_verify is on: the certificate of `+srv.URL+` is not verified"`)
}
