package qliksense_license_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// memTenant is an in-memory tenant behind the plugin's reading interface, with the
// consumption reads recorded.
type memTenant struct {
	overview    *qcloud.Overview
	overviewErr error
	assignments []qcloud.Assignment
	users       []qcloud.User
	events      []qcloud.Event
	usesErr     error
	sinces      []time.Time
	requests    int64
}

func (m *memTenant) Overview(context.Context) (*qcloud.Overview, error) {
	m.requests++
	if m.overviewErr != nil {
		return nil, m.overviewErr
	}
	return m.overview, nil
}

func (m *memTenant) Stats() qcloud.Stats { return qcloud.Stats{Requests: m.requests} }

func (m *memTenant) Assignments(_ context.Context, _ qcloud.AssignmentQuery, fn func(qcloud.Assignment) error) error {
	m.requests++
	for _, a := range m.assignments {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (m *memTenant) UsersFor(_ context.Context, subjects []string) ([]qcloud.User, error) {
	m.requests++
	want := map[string]bool{}
	for _, s := range subjects {
		want[s] = true
	}
	var out []qcloud.User
	for _, u := range m.users {
		if want[u.Subject] {
			out = append(out, u)
		}
	}
	return out, nil
}

func (m *memTenant) LastUse(_ context.Context, since time.Time) (*qcloud.Usage, error) {
	m.requests++
	m.sinces = append(m.sinces, since)
	if m.usesErr != nil {
		return nil, m.usesErr
	}
	u := &qcloud.Usage{LastUse: map[string]time.Time{}}
	for _, e := range m.events {
		if e.EndTime.Before(since) {
			continue
		}
		u.Events++
		if e.EndTime.After(u.Watermark) {
			u.Watermark = e.EndTime
		}
		if e.EndTime.After(u.LastUse[e.UserID]) {
			u.LastUse[e.UserID] = e.EndTime
		}
	}
	return u, nil
}

var tenantNow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func ago(days float64) time.Time { return tenantNow.Add(-time.Duration(days * float64(24*time.Hour))) }

// The issue's tenant with known answers.
func issueTenant() *memTenant {
	old := ago(400)
	return &memTenant{
		overview: &qcloud.Overview{
			Allotments: []qcloud.Allotment{
				{Name: "professional", UsageClass: "assigned", Units: 5, UnitsUsed: 6, Overage: -1},
				{Name: "analyzer", UsageClass: "assigned", Units: 10, UnitsUsed: 4},
				{Name: "analyzer_time", UsageClass: "time", Units: 3000, UnitsUsed: 1234, Overage: 500},
			},
			Status: "Ok", ValidTo: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
		},
		assignments: []qcloud.Assignment{
			{Type: "professional", Subject: "u29", Created: old},
			{Type: "professional", Subject: "u31", Created: old},
			{Type: "professional", Subject: "new", Created: ago(2)},
			{Type: "professional", Subject: `CORP\O'Brien "Å"`, Created: old},
			{Type: "professional", Subject: "admin", Created: old},
			{Type: "professional", Subject: "gone", Created: old, Excess: true},
			{Type: "analyzer", Subject: "capacity", Created: old},
			{Type: "analyzer", Subject: "disabled", Created: old},
			{Type: "analyzer", Subject: "Case", Created: old},
			{Type: "analyzer", Subject: "case", Created: old},
		},
		users: []qcloud.User{
			{ID: "1", Subject: "u29"}, {ID: "2", Subject: "u31"}, {ID: "3", Subject: "new"},
			{ID: "4", Subject: `CORP\O'Brien "Å"`, Email: "obrien@example.com"},
			{ID: "5", Subject: "admin", Groups: []qcloud.Group{{Name: "Admins", Roles: []string{"TenantAdmin"}}}},
			{ID: "6", Subject: "capacity"}, {ID: "7", Subject: "disabled", Status: "disabled"},
			{ID: "8", Subject: "Case"}, {ID: "9", Subject: "case"},
		},
		events: []qcloud.Event{
			{UserID: "1", EndTime: ago(29.9)}, {UserID: "2", EndTime: ago(30.1)},
			{UserID: "6", EndTime: ago(3), LicenseUsage: "capacity", MinutesUsed: 6},
			{UserID: "7", EndTime: ago(1)}, {UserID: "8", EndTime: ago(2)},
		},
	}
}

const tenantConf = `[[inputs.qliksense_license]]
  tenant = "https://acme.eu.qlikcloud.com"
  api_key = "k"
  inactivity_buckets = [7, 30, 90]
  [inputs.qliksense_license.release]
    always_release_disabled = true
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
      notice_days = 5
    [inputs.qliksense_license.release.protect]
      users = ["corp\\o'brien \"å\""]
      roles = ["TenantAdmin"]
`

func loadTenant(t *testing.T, conf string, m *memTenant) *qliksense_license.QlikSenseLicense {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	p, err := qliksense_license.LoadConfig(path)
	require.NoError(t, err)
	p.Log = testutil.Logger{}
	p.SetNow(func() time.Time { return tenantNow })
	require.NoError(t, p.Init())
	require.NotNil(t, p.TenantClient())
	require.Nil(t, p.Client())
	p.SetTenantClient(m)
	return p
}

func fieldsOf(t *testing.T, acc *testutil.Accumulator, measurement, licenseType string) map[string]any {
	t.Helper()
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() != measurement {
			continue
		}
		if lt, _ := m.GetTag("license_type"); lt == licenseType {
			require.Equal(t, "acme.eu.qlikcloud.com", m.Tags()["site"])
			return m.Fields()
		}
	}
	t.Fatalf("no %s point for %q", measurement, licenseType)
	return nil
}

// A tenant reports the site's measurements and fields: units and assignments, capacity
// minutes, expiry, the inactivity buckets and the reclaimable assignments of the one
// policy, tagged with the tenant's site.
func TestTenantMetrics(t *testing.T) {
	m := issueTenant()
	p := loadTenant(t, tenantConf, m)
	acc := gather(t, p)
	require.Empty(t, acc.Errors)

	require.Equal(t, map[string]any{
		"enabled": true, "total": 5.0, "allocated": 6.0, "used": 6.0, "available": 0.0, "excess": 1.0, "quarantined": 0.0,
	}, fieldsOf(t, acc, qliksense_license.MeasurementLicense, "professional"))
	require.Equal(t, map[string]any{
		"enabled": true, "total": 10.0, "allocated": 4.0, "used": 4.0, "available": 6.0, "excess": 0.0, "quarantined": 0.0, "overage": 0.0,
	}, fieldsOf(t, acc, qliksense_license.MeasurementLicense, "analyzer"))
	require.Equal(t, map[string]any{
		"enabled": true, "allocated_minutes": 3000.0, "used_minutes": 1234.0, "overage_minutes": 500.0,
	}, fieldsOf(t, acc, qliksense_license.MeasurementLicense, "analyzer_capacity"))
	server := fieldsOf(t, acc, qliksense_license.MeasurementServerLicense, "")
	require.Equal(t, false, server["license_expired"])
	require.Equal(t, "2026-12-31T00:00:00Z", server["expiry_date"])
	require.InDelta(t, 240.58, server["days_until_expiry"], 0.01)

	// professional: u29 recently used, u31 inactive, new never used (assigned 2 days ago),
	// O'Brien protected by subject, admin by a role through a group, gone an orphan.
	prof := fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "professional")
	require.Equal(t, int64(2), prof["reclaimable"])
	require.Equal(t, int64(1), prof["release_inactive"])
	require.Equal(t, int64(1), prof["release_orphan"])
	require.Equal(t, int64(1), prof["kept_recently_used"])
	require.Equal(t, int64(1), prof["kept_recently_assigned"])
	require.Equal(t, int64(1), prof["kept_protected_user"])
	require.Equal(t, int64(1), prof["kept_protected_role"])
	require.Equal(t, int64(30), prof["threshold_days"])
	require.NotContains(t, prof, "notice_days")
	// analyzer: a capacity session is use, the disabled user is released, of the two
	// subjects differing in case one used the seat 2 days ago and the other never.
	an := fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "analyzer")
	require.Equal(t, int64(2), an["reclaimable"])
	require.Equal(t, int64(1), an["release_user_disabled"])
	require.Equal(t, int64(1), an["release_inactive"])
	require.Equal(t, int64(2), an["kept_recently_used"])
	require.Equal(t, int64(5), an["notice_days"])

	// The buckets: u29 in 7-30; u31's use 30.1 days ago is before the window read (the
	// longest threshold, 30 days), and O'Brien and admin have no use in it either: their
	// assignments are older than the window, so their last use is unread — counted from the
	// window's start (30 days, a lower bound), not as never used. Only the new assignment
	// and the orphan are never used.
	inact := fieldsOf(t, acc, qliksense_license.MeasurementInactivity, "professional")
	require.Equal(t, map[string]any{
		"days_0_7": int64(0), "days_7_30": int64(1), "days_30_90": int64(3), "days_90_plus": int64(0),
		"never_used": int64(2), "quarantined": int64(0), "total": int64(6), "oldest_last_use_days": 30.0,
	}, roundOldest(inact))

	health := fieldsOf(t, acc, qliksense_license.MeasurementGather, "")
	require.Equal(t, int64(10), health["allocations"])
	require.Equal(t, int64(0), health["errors"])
	require.Equal(t, int64(4), health["qrs_requests"])       // overview, consumption, assignments, users
	require.Equal(t, int64(4), health["consumption_events"]) // the event 30.1 days ago is before the window
}

func roundOldest(f map[string]any) map[string]any {
	if v, ok := f["oldest_last_use_days"].(float64); ok {
		f["oldest_last_use_days"] = float64(int(v*10+0.5)) / 10
	}
	return f
}

// The consumption is read over the window once, then from the watermark: a second gather
// reads only the events since the first.
func TestTenantReadsConsumptionIncrementally(t *testing.T) {
	m := issueTenant()
	p := loadTenant(t, tenantConf, m)
	gather(t, p)
	gather(t, p)
	require.Len(t, m.sinces, 2)
	require.Equal(t, ago(30), m.sinces[0])
	require.Equal(t, ago(1).Add(-24*time.Hour), m.sinces[1]) // the latest event, less the margin for late events
}

// A failed consumption read decides nothing (no reclaimable, no buckets) but still
// reports the licenses, with the error; a failed overview still reports the assignments.
func TestTenantPartialFailure(t *testing.T) {
	m := issueTenant()
	m.usesErr = errors.New("boom")
	p := loadTenant(t, tenantConf, m)
	acc := gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.ErrorContains(t, acc.Errors[0], "reading license consumption: boom")
	require.False(t, acc.HasMeasurement(qliksense_license.MeasurementReclaimable))
	require.False(t, acc.HasMeasurement(qliksense_license.MeasurementInactivity))
	require.Equal(t, 6.0, fieldsOf(t, acc, qliksense_license.MeasurementLicense, "professional")["allocated"])
	require.Equal(t, int64(1), fieldsOf(t, acc, qliksense_license.MeasurementGather, "")["errors"])

	m = issueTenant()
	m.overviewErr = errors.New("down")
	p = loadTenant(t, tenantConf, m)
	acc = gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.ErrorContains(t, acc.Errors[0], "reading the license overview: down")
	require.False(t, acc.HasMeasurement(qliksense_license.MeasurementServerLicense))
	// Whether the tenant has the allotment is unknown without the overview: no enabled
	// field (false would tell dashboards and alerts the family is off).
	require.Equal(t, map[string]any{"allocated": 6.0, "used": 6.0, "excess": 1.0, "quarantined": 0.0},
		fieldsOf(t, acc, qliksense_license.MeasurementLicense, "professional"))
	require.Equal(t, int64(2), fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "professional")["reclaimable"])
}

// A tenant reports notice_waiting from the sidecar's notice file of its site, as a site
// does (the same rule): an assignment noticed whose period is not over counts, also when
// the last use the notice was about is older than the consumption this plugin has read;
// one whose user came back since does not.
func TestTenantNoticeWaiting(t *testing.T) {
	m := issueTenant()
	conf := strings.Replace(tenantConf, "always_release_disabled = true", fmt.Sprintf("always_release_disabled = true\n    state_dir = %q", t.TempDir()), 1)
	p := loadTenant(t, conf, m)
	acc := gather(t, p)
	an := fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "analyzer")
	require.Equal(t, int64(5), an["notice_days"])
	require.NotContains(t, an, "notice_waiting", "no notice state: no count rather than a wrong one")

	// The analyzer candidates: "case" (never used in the window: its notice was about a
	// use 45 days ago, before it) and "disabled" (noticed about a use 10 days ago; used a
	// day ago since).
	st := notice.New()
	for _, r := range []struct {
		subject string
		episode time.Time
	}{{"case", ago(45)}, {"disabled", ago(10)}} {
		st.Records[r.subject] = &notice.Record{AllocationID: r.subject, Type: qrs.Analyzer, Episode: r.episode,
			NoticedAt: ago(1), ReleasableFrom: ago(1).Add(5 * 24 * time.Hour)}
	}
	require.NoError(t, st.Save(p.NoticeFile()))
	acc = gather(t, p)
	require.Empty(t, acc.Errors)
	an = fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "analyzer")
	require.Equal(t, int64(1), an["notice_waiting"])
	require.NotContains(t, fieldsOf(t, acc, qliksense_license.MeasurementReclaimable, "professional"), "notice_waiting", "no notice_days")
}
