package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// A site and a tenant in one file: forecast and report take both, each as its own site,
// as run, once, plan and check-config do; rightsize makes the site's and leaves the
// tenant out, saying so (a file of tenants alone is still refused by name).
func TestReadOnlyCommandsTakeASiteAndATenantInOneFile(t *testing.T) {
	t.Parallel()
	qrsSrv := startEmulator(t)
	cloud := startTenant(t)
	siteHistory := &testkit.History{Site: "production", Series: map[string][][]any{
		"professional": testkit.Daily(time.Now(), 90, 100, func(d int) float64 { return float64(40 + d/10) }),
	}}
	siteInflux := httptest.NewServer(siteHistory)
	defer siteInflux.Close()
	tenantInflux := httptest.NewServer(tenantHistory(cloud.Tenant.Units, time.Now()))
	defer tenantInflux.Close()

	sitePath, _ := writeSite(t, qrsSrv, "")
	siteTable, err := os.ReadFile(sitePath)
	require.NoError(t, err)
	tenantPath, _ := writeTenant(t, cloud.URL, cloud.CAFile, "")
	tenantTable, err := os.ReadFile(tenantPath)
	require.NoError(t, err)
	forecastTable := func(url string) string {
		return fmt.Sprintf("\n  [inputs.qliksense_license.forecast]\n    url = %q\n    database = \"qliksense\"\n", url)
	}
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(string(siteTable)+forecastTable(siteInflux.URL)+"\n"+string(tenantTable)+forecastTable(tenantInflux.URL)), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	sites := map[string]int{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var rows []struct {
			Site string `json:"site"`
		}
		require.NoError(t, dec.Decode(&rows))
		for _, r := range rows {
			sites[r.Site]++
		}
	}
	require.Positive(t, sites["production"], "the site's forecast")
	require.Positive(t, sites["cloud"], "the tenant's forecast")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"rightsize", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), `"lookback_days"`, "the site's right-sizing")
	require.Contains(t, errOut.String(), "right-sizing: right-sizing is made for a Qlik Sense site, not a Qlik Cloud tenant: this table is left out")
	require.Contains(t, errOut.String(), "site=cloud")
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"rightsize", "-config", tenantPath}, &out, &errOut), "a file of tenants alone is refused")
	require.Contains(t, errOut.String(), "a Qlik Cloud tenant is not right-sized")
	require.Contains(t, errOut.String(), "config="+tenantPath, "which file's table failed")

	out.Reset()
	errOut.Reset()
	report := filepath.Join(t.TempDir(), "report.html")
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", path, "-out", report}, &out, &errOut), errOut.String())
	for _, site := range []string{"production", "cloud"} {
		file := strings.TrimSuffix(report, ".html") + "-" + site + ".html"
		require.Contains(t, out.String(), "license report of site "+site+": "+file)
		page, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Contains(t, string(page), site)
	}
	require.Len(t, cloud.Tenant.Assignments(), len(qcloudemu.KnownAnswers), "the read-only commands change nothing")
	require.Zero(t, qrsSrv.Log.Count("DELETE", "")+qrsSrv.Log.Count("POST", ""))
}

// In a file of several tables, forecast leaves out a table without a [forecast] table (it
// says so) when another has one; a file where none has one is an error naming the table.
func TestForecastLeavesOutATableWithoutItsForecastTable(t *testing.T) {
	t.Parallel()
	qrsSrv := startEmulator(t)
	cloud := startTenant(t)
	tenantInflux := httptest.NewServer(tenantHistory(cloud.Tenant.Units, time.Now()))
	defer tenantInflux.Close()
	sitePath, _ := writeSite(t, qrsSrv, "")
	siteTable, err := os.ReadFile(sitePath)
	require.NoError(t, err)
	tenantPath, _ := writeTenant(t, cloud.URL, cloud.CAFile, "")
	tenantTable, err := os.ReadFile(tenantPath)
	require.NoError(t, err)
	both := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(both, []byte(string(siteTable)+"\n"+string(tenantTable)+
		fmt.Sprintf("\n  [inputs.qliksense_license.forecast]\n    url = %q\n    database = \"qliksense\"\n", tenantInflux.URL)), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", both, "-format", "json"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), `"site": "cloud"`)
	require.NotContains(t, out.String(), `"site": "production"`)
	require.Contains(t, errOut.String(), "no [inputs.qliksense_license.forecast] table says where its history is: this table is left out")
	require.Contains(t, errOut.String(), "site=production")

	neither := filepath.Join(t.TempDir(), "neither.conf")
	require.NoError(t, os.WriteFile(neither, []byte(string(siteTable)+"\n"+string(tenantTable)), 0o600))
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"forecast", "-config", neither}, &out, &errOut))
	require.Contains(t, errOut.String(), "forecast failed")
}
