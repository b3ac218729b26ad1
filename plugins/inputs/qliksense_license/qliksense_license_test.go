package qliksense_license_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	serializer "github.com/influxdata/telegraf/plugins/serializers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

var update = flag.Bool("update", false, "rewrite the golden expected.out files from the real plugin")

// siteOf is the emulated site of a golden test case, from its folder's site.json: an
// emulator.SiteSpec (generated at testkit.Now), or {"Empty": true} for a site with nothing.
func siteOf(t *testing.T, name string) *emulator.Site {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "testcases", name, "site.json"))
	require.NoError(t, err)
	var spec struct {
		emulator.SiteSpec
		Empty bool
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&spec), "%s/site.json", name)
	if spec.Empty {
		return emulator.NewSite(func() time.Time { return testkit.Now }, emulator.Behaviour{})
	}
	spec.Now = testkit.Now
	return emulator.Generate(spec.SiteSpec)
}

// serve starts the emulator and points the test configuration's ${QRS_URL} and
// ${QRS_CERTS} at it.
func serve(t *testing.T, site *emulator.Site) *emulator.Server {
	t.Helper()
	srv := testkit.StartEmulator(t, site)
	t.Setenv("QRS_URL", srv.URL)
	t.Setenv("QRS_CERTS", srv.Certs.Dir)
	return srv
}

func load(t *testing.T, path string) *qliksense_license.QlikSenseLicense {
	t.Helper()
	p, err := qliksense_license.LoadConfig(path)
	require.NoError(t, err)
	p.Log = testutil.Logger{}
	p.SetNow(func() time.Time { return testkit.Now })
	require.NoError(t, p.Init())
	return p
}

func gather(t *testing.T, p *qliksense_license.QlikSenseLicense) *testutil.Accumulator {
	t.Helper()
	var acc testutil.Accumulator
	require.NoError(t, p.Gather(&acc))
	return &acc
}

// Each folder of testdata/testcases is a case: the site (site.json), the plugin's file
// (plugin.conf) and the metrics of one gather (expected.out, written by -update from the
// real plugin and reviewed). Left out: bytes_received, which measures the emulator's JSON
// (TestRequestEconomy checks it), and the certificates' days to expiry, which depend on
// when the test certificates were made (TestCertificateExpiry checks them).
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "testcases"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		require.True(t, c.IsDir(), "testdata/testcases holds only case folders: %s", c.Name())
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "testcases", c.Name())
			serve(t, siteOf(t, c.Name()))
			acc := gather(t, load(t, filepath.Join(dir, "plugin.conf")))
			require.Empty(t, acc.Errors)
			actual := acc.GetTelegrafMetrics()
			for _, m := range actual {
				m.RemoveField("bytes_received")
				m.RemoveField("client_cert_days_to_expiry")
				m.RemoveField("server_cert_days_to_expiry")
			}
			golden := filepath.Join(dir, "expected.out")
			if *update {
				require.NoError(t, os.WriteFile(golden, lineProtocol(t, actual), 0o644))
			}
			expected := parseLines(t, golden)
			require.NotEmpty(t, expected)
			testutil.RequireMetricsEqual(t, expected, actual, testutil.SortMetrics(), testutil.IgnoreTime())
		})
	}
}

// lineProtocol writes metrics sorted by measurement and tags, for reviewable golden files.
func lineProtocol(t *testing.T, ms []telegraf.Metric) []byte {
	t.Helper()
	s := &serializer.Serializer{SortFields: true}
	require.NoError(t, s.Init())
	var lines []string
	for _, m := range ms {
		b, err := s.Serialize(m)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, ""))
}

func parseLines(t *testing.T, path string) []telegraf.Metric {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	p := &influx.Parser{}
	require.NoError(t, p.Init())
	ms, err := p.Parse(b)
	require.NoError(t, err)
	return ms
}

func byMeasurement(acc *testutil.Accumulator, name string) []telegraf.Metric {
	var out []telegraf.Metric
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == name {
			out = append(out, m)
		}
	}
	return out
}

// Butler's dashboards keep working: the same measurement, tag values, field names, and
// floats for every number.
func TestButlerCompatibility(t *testing.T) {
	serve(t, siteOf(t, "user_model"))
	acc := gather(t, load(t, "testdata/testcases/user_model/plugin.conf"))
	want := map[string][]string{
		"professional":      {"allocated", "available", "excess", "quarantined", "total", "used"},
		"analyzer":          {"allocated", "available", "excess", "quarantined", "total", "used"},
		"analyzer_capacity": {"allocated_minutes", "unavailable_minutes", "used_minutes"},
		"token_login":       {"allocated_tokens", "token_cost", "unavailable_tokens", "used_tokens"},
		"token_user":        {"allocated_tokens", "quarantined_tokens", "token_cost", "used_tokens"},
		"tokens_available":  {"available_tokens", "total_tokens"},
	}
	points := byMeasurement(acc, "qlik_sense_license")
	require.Len(t, points, len(want))
	for _, m := range points {
		lt, _ := m.GetTag("license_type")
		fields, ok := want[lt]
		require.True(t, ok, "license_type %q", lt)
		for _, f := range fields {
			v, ok := m.GetField(f)
			require.True(t, ok, "%s.%s", lt, f)
			require.IsType(t, float64(0), v, "%s.%s must be a float like Butler's", lt, f)
		}
		enabled, ok := m.GetField("enabled")
		require.True(t, ok)
		require.IsType(t, true, enabled)
		require.Len(t, m.FieldList(), len(fields)+1, lt)
	}
	server := byMeasurement(acc, "qlik_sense_server_license")
	require.Len(t, server, 1)
	require.IsType(t, true, server[0].Fields()["license_expired"])
	require.IsType(t, "", server[0].Fields()["expiry_date"])
	require.IsType(t, float64(0), server[0].Fields()["days_until_expiry"])
}

// The overview values are the emulator's, field for field, for every family of both
// license models; a missing point fails.
func TestOverviewValuesMatchQRS(t *testing.T) {
	for _, name := range []string{"user_model", "token_model"} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, siteOf(t, name))
			acc := gather(t, load(t, "testdata/testcases/"+name+"/plugin.conf"))
			// The overview as QRS sent it, decoded apart from the project's client: each
			// object under its key, the top-level token totals under "".
			var flat map[string]any
			require.NoError(t, json.Unmarshal(testkit.QRSGet(t, srv, "/license/accesstypeoverview"), &flat))
			ov := map[string]map[string]any{"": {}}
			for k, v := range flat {
				if m, ok := v.(map[string]any); ok {
					ov[k] = m
				} else {
					ov[""][k] = v
				}
			}
			got := map[string]map[string]any{}
			for _, m := range byMeasurement(acc, "qlik_sense_license") {
				lt, _ := m.GetTag("license_type")
				got[lt] = m.Fields()
			}
			// license_type → the overview's object, and each field → its JSON key.
			families := map[string]struct {
				object string
				fields map[string]string
			}{
				"professional": {"professionalAccess", map[string]string{"enabled": "enabled", "allocated": "allocated", "available": "available", "excess": "excess", "quarantined": "quarantined", "total": "total", "used": "used"}},
				"analyzer":     {"analyzerAccess", map[string]string{"enabled": "enabled", "allocated": "allocated", "available": "available", "excess": "excess", "quarantined": "quarantined", "total": "total", "used": "used"}},
				"analyzer_capacity": {"analyzerTimeAccess", map[string]string{"enabled": "enabled", "allocated_minutes": "allocatedMinutes",
					"unavailable_minutes": "unavailableMinutes", "used_minutes": "usedMinutes"}},
				"token_login": {"loginAccess", map[string]string{"enabled": "enabled", "allocated_tokens": "allocatedTokens", "token_cost": "tokenCost",
					"unavailable_tokens": "unavailableTokens", "used_tokens": "usedTokens"}},
				"token_user": {"userAccess", map[string]string{"enabled": "enabled", "allocated_tokens": "allocatedTokens", "quarantined_tokens": "quarantinedTokens",
					"token_cost": "tokenCost", "used_tokens": "usedTokens"}},
				"tokens_available": {"", map[string]string{"enabled": "tokensEnabled", "available_tokens": "availableTokens", "total_tokens": "totalTokens"}},
			}
			require.Len(t, got, len(families))
			for lt, f := range families {
				require.Contains(t, got, lt)
				require.Len(t, got[lt], len(f.fields), lt)
				for field, key := range f.fields {
					want, ok := ov[f.object][key]
					require.True(t, ok, "%s.%s", f.object, key)
					require.Equal(t, want, got[lt][field], "%s %s (%s.%s)", lt, field, f.object, key)
				}
			}
			if name == "token_model" { // and the emulator's own count agrees with its rows
				passes, quarantined := 0, 0
				for _, a := range srv.Site.Allocations(emulator.KindUser) {
					if a.Quarantined {
						quarantined++
					} else {
						passes++
					}
				}
				require.Equal(t, float64(passes), got["token_user"]["allocated_tokens"])
				require.Equal(t, float64(quarantined), got["token_user"]["quarantined_tokens"])
			}
		})
	}
}

func TestPartialFailure(t *testing.T) {
	srv := serve(t, siteOf(t, "user_model"))
	p := load(t, "testdata/testcases/user_model/plugin.conf")

	srv.Faults.Inject(emulator.FaultServerError, "GET", "accesstypeoverview", 10)
	acc := gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.EqualError(t, acc.Errors[0], "reading the access type overview: GET /qrs/license/accesstypeoverview: 500 Internal Server Error: Internal Server Error")
	require.Empty(t, byMeasurement(acc, "qlik_sense_license"), "no zeros that look like data")
	require.Len(t, byMeasurement(acc, "qlik_sense_server_license"), 1, "what succeeded is still emitted")
	require.Len(t, byMeasurement(acc, "qlik_sense_license_inactivity"), 3, "without the overview every list is read")
	gatherPoint := byMeasurement(acc, "qlik_sense_license_gather")[0]
	require.Equal(t, int64(1), gatherPoint.Fields()["errors"])

	srv.Faults.Clear()
	srv.Faults.Inject(emulator.FaultTruncate, "GET", "professionalaccesstype/full", 10)
	acc = gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.ErrorContains(t, acc.Errors[0], "reading professional allocations: GET /qrs/license/professionalaccesstype/full: ")
	for _, name := range []string{"qlik_sense_license_inactivity", "qlik_sense_license_reclaimable"} {
		ms := byMeasurement(acc, name)
		require.Len(t, ms, 1, name)
		lt, _ := ms[0].GetTag("license_type")
		require.Equal(t, "analyzer", lt)
	}

	srv.Faults.Clear()
	srv.Faults.Inject(emulator.FaultServerError, "GET", "/qrs/user", 10)
	acc = gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.ErrorContains(t, acc.Errors[0], "reading users for the release policy: GET /qrs/user/full: 500")
	require.Empty(t, byMeasurement(acc, "qlik_sense_license_reclaimable"), "no reclaimable count is better than a wrong one")
	require.Len(t, byMeasurement(acc, "qlik_sense_license_inactivity"), 2)
}

func TestRequestEconomy(t *testing.T) {
	srv := serve(t, siteOf(t, "user_model"))
	p := load(t, "testdata/testcases/user_model/plugin.conf")
	srv.Log.Reset()
	health := byMeasurement(gather(t, p), "qlik_sense_license_gather")
	require.Len(t, health, 1)
	require.Equal(t, srv.Log.Bytes(), health[0].Fields()["bytes_received"], "bytes_received is the bodies QRS sent")
	require.Equal(t, int64(len(srv.Log.Entries())), health[0].Fields()["qrs_requests"])
	require.Equal(t, 1, srv.Log.Count("GET", "accesstypeoverview"))
	require.Equal(t, 1, srv.Log.Count("GET", "professionalaccesstype/full"))
	require.Equal(t, 1, srv.Log.Count("GET", "analyzeraccesstype/full"))
	require.Equal(t, 0, srv.Log.Count("GET", "useraccesstype"), "user passes are off on this site")
	require.Equal(t, 1, srv.Log.Count("GET", "/qrs/user"), "one filtered request for the users the policy needs")
	require.LessOrEqual(t, len(srv.Log.Entries()), 6)

	// Protection rules without any release enabled need no user: none is read.
	conf := filepath.Join(t.TempDir(), "plugin.conf")
	require.NoError(t, os.WriteFile(conf, []byte(srv.PluginConfig("production", `  [inputs.qliksense_license.release]
    [inputs.qliksense_license.release.protect]
      tags = ["License do not release"]`)), 0o600))
	srv.Log.Reset()
	acc := gather(t, load(t, conf))
	require.Empty(t, acc.Errors)
	require.Zero(t, srv.Log.Count("GET", "/qrs/user"))
	require.Len(t, srv.Log.Entries(), 4)
}

// Reclaimable counts are the policy's own verdicts: recomputed here from the emulator's
// state with the same rules written out by hand.
func TestReclaimableMatchesSite(t *testing.T) {
	srv := serve(t, siteOf(t, "user_model"))
	acc := gather(t, load(t, "testdata/testcases/user_model/plugin.conf"))
	want := 0
	for _, a := range srv.Site.Allocations(emulator.KindAnalyzer) {
		u, ok := srv.Site.User(a.UserRef)
		if a.Quarantined || !ok || strings.EqualFold(u.UserDirectory, "internal") || u.Blacklisted {
			continue
		}
		if strings.EqualFold(u.UserDirectory+`\`+u.UserID, `corp\o'brien`) {
			continue
		}
		protected := slices.ContainsFunc(u.Tags, func(t emulator.Tag) bool { return t.Name == "License do not release" }) ||
			slices.ContainsFunc(u.CustomProperties, func(c emulator.CustomProperty) bool { return c.Value == "do-not-release" })
		from := a.LastUsed
		if from.IsZero() {
			from = a.Created
		}
		if !protected && testkit.Now.Sub(from) >= 90*24*time.Hour {
			want++
		}
	}
	for _, m := range byMeasurement(acc, "qlik_sense_license_reclaimable") {
		if lt, _ := m.GetTag("license_type"); lt == "analyzer" {
			require.Equal(t, int64(want), m.Fields()["reclaimable"])
			require.Positive(t, want)
			return
		}
	}
	t.Fatal("no analyzer reclaimable point")
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		conf string
		want string
	}{
		{``, `"server" (a Qlik Sense site) or "tenant" (a Qlik Cloud tenant) is required, e.g. "https://qlik.example.com:4242"`},
		{`server = "http://qlik:4242"`, `server = "http://qlik:4242": expected "https://HOST[:PORT]" without a path (put a virtual proxy prefix in virtual_proxy)`},
		{`server = "https://qlik/hdr"`, `server = "https://qlik/hdr": expected "https://HOST[:PORT]" without a path (put a virtual proxy prefix in virtual_proxy)`},
		{`server = "https://qlik:4242"`, `auth = "certificate" needs tls_cert and tls_key: client.pem and client_key.pem exported from the QMC`},
		{`server = "https://qlik"` + "\nauth = \"ntlm\"", `auth = "ntlm": expected "certificate", "header" or "jwt"`},
		{`server = "https://qlik"` + "\nauth = \"header\"\nheader_name = \"X-User\"", `auth = "header" needs header_name and header_user`},
		{`server = "https://qlik"` + "\nauth = \"jwt\"", `auth = "jwt" needs exactly one of jwt and jwt_file`},
		{`server = "https://qlik"` + "\nauth = \"jwt\"\njwt = \"a\"\njwt_file = \"b\"", `auth = "jwt" needs exactly one of jwt and jwt_file`},
		{`server = "https://qlik"` + "\nauth = \"jwt\"\njwt_file = \"b\"\nqlik_user = \"UserDirectory=X; UserId=y\"", `qlik_user applies to auth = "certificate" only; through a virtual proxy the proxy names the user`},
		{`server = "https://qlik"` + "\nauth = \"jwt\"\njwt_file = \"b\"\nheader_name = \"X\"", `header_name and header_user apply to auth = "header" only`},
		{`server = "https://qlik"` + "\nauth = \"header\"\nheader_name = \"X\"\nheader_user = \"u\"\njwt_file = \"b\"", `jwt and jwt_file apply to auth = "jwt" only`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\nvirtual_proxy = \"hdr\"", `virtual_proxy applies to auth = "header" or "jwt"; certificates go straight to QRS on port 4242`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\nqlik_user = \"sa_repository\"", `qlik_user = "sa_repository": expected "UserDirectory=DIRECTORY; UserId=USER"`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\ntimeout = \"0s\"", `timeout = "0s": expected a duration from 1s to 10m`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\nmax_retries = 11", `max_retries = 11: expected 0 to 10`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\ninactivity_buckets = []", `inactivity_buckets is empty: give at least one edge in days, e.g. [30]`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\ninactivity_buckets = [30, 7]", `inactivity_buckets = [30 7]: expected increasing day counts from 1`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"c\"\ntls_key = \"k\"\n[inputs.qliksense_license.release.analyzer]\nenabled = true", `release.analyzer.inactive_days = 0: expected 1 to 3650 when release.analyzer.enabled is true`},
		{`server = "https://qlik:4242"` + "\ntls_cert = \"missing.pem\"\ntls_key = \"missing_key.pem\"", `loading client certificate "missing.pem" with key "missing_key.pem": open missing.pem: no such file or directory`},
		{`server = "https://qlik:4242"` + "\ntls_ca = \"missing.pem\"\ntls_cert = \"c\"\ntls_key = \"k\"", `reading CA certificate: open missing.pem: no such file or directory`},
	} {
		path := filepath.Join(dir, "p.conf")
		require.NoError(t, os.WriteFile(path, []byte("[[inputs.qliksense_license]]\n"+tc.conf+"\n"), 0o600))
		p, err := qliksense_license.LoadConfig(path)
		require.NoError(t, err, tc.conf)
		p.Log = testutil.Logger{}
		require.EqualError(t, p.Init(), tc.want, tc.conf)
	}
}

// The shim ignores what it does not know; LoadConfig does not.
func TestLoadConfigIsStrict(t *testing.T) {
	dir := t.TempDir()
	base := "[[inputs.qliksense_license]]\nserver = \"https://qlik:4242\"\n"
	for _, tc := range []struct{ conf, want string }{
		{base + "sever = \"x\"\n", "unknown setting(s) inputs.qliksense_license.sever"},
		{base + "[inputs.qliksense_license.release.professional]\nenabled = true\ninactive_dayz = 3\n", "unknown setting(s) inputs.qliksense_license.release.professional.inactive_dayz"},
		{base + "[inputs.qliksense_license.release.protect]\ntag = [\"x\"]\n", "unknown setting(s) inputs.qliksense_license.release.protect.tag"},
		{base + "[agent]\ninterval = \"10s\"\n", "unknown setting(s) agent, agent.interval"},
		{base + base, "2 [[inputs.qliksense_license]] tables: one file is one site (the release sidecar and the plugin binary take every table of a file; this reader takes one)"},
		{base + "[[inputs.cpu]]\n", "unexpected [[inputs.cpu]]: this file holds only [[inputs.qliksense_license]]"},
		{"[[inputs.cpu]]\n", "no [[inputs.qliksense_license]] table"},
		{base + "max_retries = \"3\"\n", "toml: line 3 (last key \"inputs.qliksense_license.max_retries\"): incompatible types: TOML value has type string; destination has type integer"},
	} {
		path := filepath.Join(dir, "p.conf")
		require.NoError(t, os.WriteFile(path, []byte(tc.conf), 0o600))
		_, err := qliksense_license.LoadConfig(path)
		require.EqualError(t, err, path+": "+tc.want)
	}
}

// Secrets from the environment, as the shim expands them, with quotes and backslashes
// escaped so the TOML stays valid.
func TestEnvironmentExpansion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.conf")
	require.NoError(t, os.WriteFile(path, []byte("[[inputs.qliksense_license]]\nserver = \"https://qlik\"\nauth = \"jwt\"\njwt = \"${TEST_JWT}\"\n"), 0o600))
	t.Setenv("TEST_JWT", `ab"c\d`)
	p, err := qliksense_license.LoadConfig(path)
	require.NoError(t, err)
	buf, err := p.JWT.Get()
	require.NoError(t, err)
	defer buf.Destroy()
	require.Equal(t, `ab"c\d`, buf.String())
}

func TestParseValidTo(t *testing.T) {
	for _, tc := range []struct {
		details, raw string
		want         time.Time
		ok           bool
	}{
		{"isBlackListed: False\nLicense Number: 0000 6500\nValid From: 0001-01-01  12:00:00 AM\nValid To: 2024-03-16  12:00:00 AM\nAllotment professional:100;", "2024-03-16  12:00:00 AM", time.Date(2024, 3, 16, 0, 0, 0, 0, time.UTC), true},
		{"Serial: 0000\nValid To: 2099-12-31T00:00:00Z\nOther: x", "2099-12-31T00:00:00Z", time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), true},
		{"Valid To: 2025-06-30  02:30:00 PM", "2025-06-30  02:30:00 PM", time.Date(2025, 6, 30, 14, 30, 0, 0, time.UTC), true},
		{"valid to:2026-01-31\r\n", "2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), true},
		{"Valid To: someday", "someday", time.Time{}, false},
		{"Valid From: 2020-01-01", "", time.Time{}, false},
	} {
		raw, got, ok := qliksense_license.ParseValidTo(tc.details)
		require.Equal(t, tc.ok, ok, tc.details)
		require.Equal(t, tc.raw, raw, tc.details)
		require.Equal(t, tc.want, got, tc.details)
	}
}

func TestExpiryGoesNegative(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 10, Now: testkit.Now, LicenseValidTo: testkit.Now.Add(-48 * time.Hour)})
	serve(t, site)
	acc := gather(t, load(t, "testdata/testcases/details/plugin.conf"))
	m := byMeasurement(acc, "qlik_sense_server_license")[0]
	require.Equal(t, true, m.Fields()["license_expired"])
	require.InDelta(t, -2.0, m.Fields()["days_until_expiry"], 1e-9)
}

// The sample configuration works as it is written: pointed at a site (server and the three
// certificate files changed, nothing else), it loads strictly and gathers without error.
func TestSampleConfigWorks(t *testing.T) {
	srv := serve(t, siteOf(t, "user_model"))
	sample := qliksense_license.New().SampleConfig()
	require.True(t, strings.HasPrefix(sample, "# Qlik Sense license usage"))
	files := testkit.ClientFiles(srv)
	conf := sample
	for _, r := range []struct{ key, from, to string }{
		{"server", "https://qlik.example.com:4242", srv.URL},
		{"tls_ca", "/etc/qliksense-license/root.pem", files.CA},
		{"tls_cert", "/etc/qliksense-license/client.pem", files.Cert},
		{"tls_key", "/etc/qliksense-license/client_key.pem", files.Key},
	} {
		line := "  " + r.key + " = " + strconv.Quote(r.from) + "\n"
		require.Equal(t, 1, strings.Count(conf, line), "sample.conf sets %s once", r.key)
		conf = strings.Replace(conf, line, "  "+r.key+" = "+strconv.Quote(r.to)+"\n", 1)
	}
	path := filepath.Join(t.TempDir(), "sample.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	acc := gather(t, load(t, path))
	require.Empty(t, acc.Errors)
	require.Len(t, byMeasurement(acc, "qlik_sense_license"), 6, "every license family")
	require.Len(t, byMeasurement(acc, "qlik_sense_license_gather"), 1)
}

// The gather health point carries the client's and the server's certificate days to
// expiry (negative once expired), from the certificates themselves.
func TestCertificateExpiry(t *testing.T) {
	srv := serve(t, siteOf(t, "details"))
	p := load(t, "testdata/testcases/details/plugin.conf")
	health := byMeasurement(gather(t, p), "qlik_sense_license_gather")
	require.Len(t, health, 1)
	pair, err := tls.LoadX509KeyPair(testkit.ClientFiles(srv).Cert, testkit.ClientFiles(srv).Key)
	require.NoError(t, err)
	client, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	server, err := x509.ParseCertificate(srv.Certs.Server.Certificate[0])
	require.NoError(t, err)
	days := func(at time.Time) float64 { return at.Sub(testkit.Now).Hours() / 24 }
	require.InDelta(t, days(client.NotAfter), health[0].Fields()["client_cert_days_to_expiry"], 1e-9)
	require.InDelta(t, days(server.NotAfter), health[0].Fields()["server_cert_days_to_expiry"], 1e-9)

	// Years later both have expired: the days go negative.
	p.SetNow(func() time.Time { return client.NotAfter.Add(48 * time.Hour) })
	health = byMeasurement(gather(t, p), "qlik_sense_license_gather")
	require.InDelta(t, -2.0, health[0].Fields()["client_cert_days_to_expiry"], 1e-9)
	require.Less(t, health[0].Fields()["server_cert_days_to_expiry"], 0.0)
}
