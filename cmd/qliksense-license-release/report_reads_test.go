package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// Light on the server: the report reads each allocation list once — the plan's
// evaluation gives the forecast its reclaimable count — and that count is the forecast
// command's, notices included (a candidate kept for want of an address still counts, as
// the forecast command counts it).
func TestReportReadsTheAllocationsOnce(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 42, Users: 300, Professional: 120, ProfessionalTotal: 150, Apps: 20, AppObjects: 200,
		Now: time.Now().UTC().Truncate(time.Second)})
	site.SetClock(time.Now)
	srv := testkit.StartEmulator(t, site)
	smtp := testkit.StartSMTP(t)
	influx := httptest.NewServer(http.HandlerFunc(reportHistory))
	defer influx.Close()
	conf := srv.PluginConfig("production", fmt.Sprintf(`  [inputs.qliksense_license.forecast]
    url = %q
    database = "qliksense"
  [inputs.qliksense_license.release]
    state_dir = %q
    dry_run = false
%s
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
      notice_days = 7
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']`, influx.URL, t.TempDir(), smtp.MailTable()))
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var fc []struct {
		LicenseType string         `json:"license_type"`
		Fields      map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &fc))
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"plan", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var pl struct {
		Items []struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &pl))
	require.True(t, strings.Contains(out.String(), `"no_email"`), "a candidate without an address is kept by the notices' stage")

	before := map[string]int{}
	for _, l := range []string{"professionalaccesstype/full", "analyzeraccesstype/full"} {
		before[l] = srv.Log.Count("GET", l)
	}
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", path}, &out, &errOut), errOut.String())
	page := out.String()
	require.Equal(t, 1, srv.Log.Count("GET", "analyzeraccesstype/full")-before["analyzeraccesstype/full"], "the analyzer list, read once")
	// The professional list: the plan's read and the right-sizing's own (rightsize.Evaluate).
	require.Equal(t, 2, srv.Log.Count("GET", "professionalaccesstype/full")-before["professionalaccesstype/full"])

	for _, f := range fc {
		n := int(f.Fields["reclaimable"].(float64))
		name := map[string]string{"professional": "Professional", "analyzer": "Analyzer"}[f.LicenseType]
		require.Positive(t, n, f.LicenseType)
		basis := page[strings.Index(page, ">"+name+"</h2>"):]
		if end := strings.Index(basis, `class="type"`); end > 0 {
			basis = basis[:end]
		}
		require.Contains(t, basis, fmt.Sprintf("Releasing the %d allocations the policy would reclaim now", n), f.LicenseType)
	}
}
