package doctor_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/influxdata/telegraf/config"
	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"

	"github.com/qliksense-license/qliksense-license/plugins/common/doctor"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// tenantDouble answers the few calls the doctor makes, in Qlik Cloud's wire format, with
// the permissions a test takes away; it records the delete probe's body.
type tenantDouble struct {
	forbid     map[string]bool // path → 403
	autoAssign bool
	probe      []byte
}

func (d *tenantDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Authorization") != "Bearer key" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"AUTH-1","title":"Not authorized"}]}`))
		return
	}
	if d.forbid[r.URL.Path] {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"LICENSES-007","title":"Forbidden"}]}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/licenses/overview":
		_, _ = w.Write([]byte(`{"allotments":[{"name":"professional","units":10,"unitsUsed":7,"usageClass":"assigned"}],"valid":"2026-01-01/2027-01-01","licenseNumber":"1"}`))
	case "/api/v1/licenses/assignments":
		_, _ = w.Write([]byte(`{"data":[{"type":"professional","subject":"auth0|a","created":"2026-01-02T00:00:00Z"}],"links":{}}`))
	case "/api/v1/users":
		_, _ = w.Write([]byte(`{"data":[{"id":"u1","subject":"auth0|a","status":"active"}],"links":{}}`))
	case "/api/v1/licenses/settings":
		_ = json.NewEncoder(w).Encode(map[string]bool{"autoAssignProfessional": d.autoAssign, "autoAssignAnalyzer": false})
	case "/api/v1/licenses/assignments/actions/delete":
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		d.probe = body.Bytes()
		w.WriteHeader(http.StatusMultiStatus)
		_, _ = w.Write([]byte(`{"data":[{"status":404,"code":"LICENSES-016","title":"Assignment not found","subject":"` + doctor.ProbeSubject + `","type":"professional"}]}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func checkTenant(t *testing.T, d *tenantDouble, key string, needs doctor.Needs, now time.Time) (*doctor.Report, string) {
	t.Helper()
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	c := siteconfig.Defaults()
	c.Tenant = srv.URL
	c.Site = "acme"
	client, err := qcloud.New(qcloud.Config{Tenant: srv.URL, APIKey: key, Retries: -1, ReadsPerMinute: -1, ActionsPerMinute: -1})
	require.NoError(t, err)
	r := doctor.CheckTenant(t.Context(), &c, client, needs, now)
	var out bytes.Buffer
	r.Print(&out)
	return r, out.String()
}

var releases = doctor.Needs{Delete: []qrs.AccessType{qrs.Professional}}

func TestTenantEverythingWorks(t *testing.T) {
	d := &tenantDouble{autoAssign: true}
	r, out := checkTenant(t, d, "key", releases, time.Now())
	require.True(t, r.OK(), out)
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"configuration", "clock", "token", "read", "change", "auto-assign"}, names)
	require.Contains(t, step(t, r, "token").Detail, "professional 7 of 10, valid through 2027-01-01")
	require.Contains(t, step(t, r, "change").Detail, "delete license assignments: yes")
	require.JSONEq(t, `{"delete":[{"type":"professional","subject":"`+doctor.ProbeSubject+`"}]}`, string(d.probe))
	require.Contains(t, step(t, r, "auto-assign").Detail, "on for professional: a released user gets a seat of that type back at the next login")
	require.NotContains(t, out, "Bearer")
}

func TestTenantFailures(t *testing.T) {
	// A key the tenant does not accept stops at the token, with the fix.
	r, out := checkTenant(t, &tenantDouble{}, "wrong", releases, time.Now())
	require.False(t, r.OK())
	require.Contains(t, out, "the tenant did not accept the API key")
	require.Equal(t, "token", r.Steps[len(r.Steps)-1].Name)
	require.NotContains(t, out, "wrong")

	// A 403 names the missing permission.
	r, out = checkTenant(t, &tenantDouble{forbid: map[string]bool{"/api/v1/users": true}}, "key", releases, time.Now())
	require.False(t, r.OK(), out)
	require.Contains(t, step(t, r, "read").Fix, "may not read users")

	r, out = checkTenant(t, &tenantDouble{forbid: map[string]bool{"/api/v1/licenses/assignments/actions/delete": true}}, "key", releases, time.Now())
	require.False(t, r.OK(), out)
	require.Contains(t, step(t, r, "change").Detail, "delete license assignments: NO")
	require.Contains(t, step(t, r, "change").Fix, "manage license assignments")
	// …which the plugin alone does not need.
	r, out = checkTenant(t, &tenantDouble{forbid: map[string]bool{"/api/v1/licenses/assignments/actions/delete": true}}, "key", doctor.Needs{}, time.Now())
	require.True(t, r.OK(), out)
	require.Contains(t, step(t, r, "change").Detail, "not needed by this configuration")

	// A clock five minutes off.
	r, out = checkTenant(t, &tenantDouble{}, "key", releases, time.Now().Add(5*time.Minute))
	require.False(t, r.OK(), out)
	require.Regexp(t, `^this host.s clock is (4m59s|5m0s|5m1s) from the tenant.s$`, step(t, r, "clock").Detail) // Date has whole seconds
	require.Contains(t, step(t, r, "clock").Fix, "NTP")
	require.Contains(t, step(t, r, "auto-assign").Detail, "off for professional and analyzer")
}

// Against the Qlik Cloud emulator, through the client siteconfig builds: an OAuth client
// passes every step; an API key that may read but not change assignments fails "change"
// when releases are configured, with the permission named.
func TestTenantDoctorAgainstTheEmulator(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(time.Now())
	tenant.AddOAuthClient("m2m", "s3cret")
	tenant.Deny(qcloudemu.KnownAnswerAPIKey, "/api/v1/licenses/assignments/actions")
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	run := func(change func(*siteconfig.Config)) (*doctor.Report, string) {
		c := siteconfig.Defaults()
		c.Tenant, c.TLSCA = srv.URL, srv.CAFile
		change(&c)
		require.NoError(t, c.Validate())
		client, err := c.NewTenantClient(nil)
		require.NoError(t, err)
		r := doctor.CheckTenant(t.Context(), &c, client, releases, time.Now())
		var out bytes.Buffer
		r.Print(&out)
		return r, out.String()
	}
	r, out := run(func(c *siteconfig.Config) {
		c.OAuthClientID, c.OAuthClientSecret = "m2m", config.NewSecret([]byte("s3cret"))
	})
	require.True(t, r.OK(), out)
	require.Contains(t, out, "authenticated with OAuth client m2m")
	require.NotContains(t, out, "s3cret")

	r, out = run(func(c *siteconfig.Config) { c.APIKey = config.NewSecret([]byte(qcloudemu.KnownAnswerAPIKey)) })
	require.False(t, r.OK(), out)
	require.True(t, step(t, r, "read").OK, out)
	require.Contains(t, step(t, r, "change").Detail, "delete license assignments: NO", out)
	require.Contains(t, step(t, r, "change").Fix, "manage license assignments")
}
