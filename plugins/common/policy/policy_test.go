package policy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func alloc(dir, id string, lastUsed time.Time) *qrs.Allocation {
	return &qrs.Allocation{
		ID:          "9e403391-58a7-4442-ada7-c54dc8906016",
		CreatedDate: qrs.Time{Time: now.Add(-400 * 24 * time.Hour)},
		LastUsed:    qrs.Time{Time: lastUsed},
		User:        &qrs.UserCondensed{UserDirectory: dir, UserID: id},
	}
}

func daysAgo(d float64) time.Time { return now.Add(-time.Duration(d * float64(24*time.Hour))) }

func compile(t *testing.T, c policy.Config) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(&c)
	require.NoError(t, err)
	return p
}

func TestEveryRule(t *testing.T) {
	base := policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 14},
		Protect: policy.ProtectConfig{
			Users:            []string{`INTERNAL\sa_api`, `CORP\O'Brien`, `corp\ÅSA`},
			UserDirectories:  []string{"lab"},
			Tags:             []string{"License do not release"},
			CustomProperties: []string{"LicenseManage=do-not-release"},
		},
	}
	old := daysAgo(90)
	user := &qrs.User{UserDirectory: "CORP", UserID: "anna"}
	for _, tc := range []struct {
		name   string
		cfg    func(*policy.Config)
		typ    qrs.AccessType
		a      *qrs.Allocation
		u      *qrs.User
		want   policy.Verdict
		reason policy.Reason
	}{
		{"inactive professional", nil, qrs.Professional, alloc("CORP", "anna", old), user, policy.Release, policy.ReasonInactive},
		{"recently used", nil, qrs.Professional, alloc("CORP", "anna", daysAgo(29)), user, policy.Keep, policy.ReasonRecentlyUsed},
		{"analyzer threshold differs", nil, qrs.Analyzer, alloc("CORP", "anna", daysAgo(15)), user, policy.Release, policy.ReasonInactive},
		{"user passes not enabled", nil, qrs.UserPass, alloc("CORP", "anna", old), user, policy.Keep, policy.ReasonTypeDisabled},
		{"quarantined", nil, qrs.Professional, func() *qrs.Allocation { a := alloc("CORP", "anna", old); a.Quarantined = true; return a }(), user, policy.Keep, policy.ReasonQuarantined},
		{"deleted user", nil, qrs.Professional, func() *qrs.Allocation { a := alloc("CORP", "anna", old); a.User = nil; return a }(), nil, policy.Keep, policy.ReasonDeletedUser},
		{"listed user, case-insensitive", nil, qrs.Professional, alloc("internal", "SA_API", old), user, policy.Keep, policy.ReasonProtectedUser},
		{"listed user with apostrophe", nil, qrs.Professional, alloc("Corp", "o'brien", old), user, policy.Keep, policy.ReasonProtectedUser},
		{"listed user non-ASCII", nil, qrs.Professional, alloc("CORP", "åsa", old), user, policy.Keep, policy.ReasonProtectedUser},
		{"protected directory", nil, qrs.Professional, alloc("LAB", "x", old), user, policy.Keep, policy.ReasonProtectedDirectory},
		{"tag", nil, qrs.Professional, alloc("CORP", "anna", old),
			&qrs.User{Tags: []qrs.TagCondensed{{Name: "VIP"}, {Name: "license DO NOT release"}}}, policy.Keep, policy.ReasonProtectedTag},
		{"custom property", nil, qrs.Professional, alloc("CORP", "anna", old),
			&qrs.User{CustomProperties: []qrs.CustomPropertyValue{{Value: "Do-Not-Release", Definition: qrs.CustomPropertyDefinitionCondensed{Name: "licensemanage"}}}}, policy.Keep, policy.ReasonProtectedCustomProperty},
		{"other custom property value", nil, qrs.Professional, alloc("CORP", "anna", old),
			&qrs.User{CustomProperties: []qrs.CustomPropertyValue{{Value: "release-ok", Definition: qrs.CustomPropertyDefinitionCondensed{Name: "LicenseManage"}}}}, policy.Release, policy.ReasonInactive},
		{"user record missing", nil, qrs.Professional, alloc("CORP", "anna", old), nil, policy.Keep, policy.ReasonUserUnknown},
		{"protect inactive users", func(c *policy.Config) { c.Protect.InactiveUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{Inactive: true}, policy.Keep, policy.ReasonProtectedInactive},
		{"protect active users", func(c *policy.Config) { c.Protect.ActiveUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{}, policy.Keep, policy.ReasonProtectedActive},
		{"protect active users, inactive one", func(c *policy.Config) { c.Protect.ActiveUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{Inactive: true}, policy.Release, policy.ReasonInactive},
		{"protect blocked", func(c *policy.Config) { c.Protect.BlockedUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{Blacklisted: true}, policy.Keep, policy.ReasonProtectedBlocked},
		{"protect unblocked", func(c *policy.Config) { c.Protect.UnblockedUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{}, policy.Keep, policy.ReasonProtectedUnblocked},
		{"protect removed", func(c *policy.Config) { c.Protect.RemovedExternallyUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{RemovedExternally: true}, policy.Keep, policy.ReasonProtectedRemoved},
		{"protect present", func(c *policy.Config) { c.Protect.PresentUsers = true }, qrs.Professional, alloc("CORP", "anna", old), &qrs.User{}, policy.Keep, policy.ReasonProtectedPresent},
		{"always release removed, recently used", func(c *policy.Config) { c.AlwaysReleaseRemovedExternally = true }, qrs.Professional, alloc("CORP", "anna", daysAgo(1)), &qrs.User{RemovedExternally: true}, policy.Release, policy.ReasonUserRemovedExternally},
		{"always release inactive, recently used", func(c *policy.Config) { c.AlwaysReleaseInactive = true }, qrs.Professional, alloc("CORP", "anna", daysAgo(1)), &qrs.User{Inactive: true}, policy.Release, policy.ReasonUserInactive},
		{"always release never beats protection", func(c *policy.Config) { c.AlwaysReleaseInactive = true }, qrs.Professional, alloc("CORP", "anna", daysAgo(1)),
			&qrs.User{Inactive: true, Tags: []qrs.TagCondensed{{Name: "License do not release"}}}, policy.Keep, policy.ReasonProtectedTag},
		{"always release never beats quarantine", func(c *policy.Config) { c.AlwaysReleaseInactive = true }, qrs.Professional,
			func() *qrs.Allocation { a := alloc("CORP", "anna", daysAgo(1)); a.Quarantined = true; return a }(), &qrs.User{Inactive: true}, policy.Keep, policy.ReasonQuarantined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			p := compile(t, c)
			d := p.Evaluate(tc.typ, tc.a, tc.u, now)
			require.Equal(t, tc.want, d.Verdict, d.Detail)
			require.Equal(t, tc.reason, d.Reason, d.Detail)
			require.NotEmpty(t, d.Detail)
			// Precheck never contradicts Evaluate.
			if pd, final := p.Precheck(tc.typ, tc.a, now); final {
				require.Equal(t, d, pd)
			}
		})
	}
}

func TestThresholdIsExact(t *testing.T) {
	p := compile(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	limit := 30 * 24 * time.Hour
	for _, tc := range []struct {
		lastUsed time.Time
		want     policy.Verdict
	}{
		{now.Add(-limit), policy.Release},
		{now.Add(-limit + time.Second), policy.Keep},
		{now.Add(-limit - time.Second), policy.Release},
		// Butler cuts at local midnight and releases up to a day early; this does not.
		{now.Add(-limit + 23*time.Hour), policy.Keep},
	} {
		d := p.Evaluate(qrs.Professional, alloc("CORP", "anna", tc.lastUsed), nil, now)
		require.Equal(t, tc.want, d.Verdict, "last used %s", now.Sub(tc.lastUsed))
	}
}

func TestNeverUsedCountsFromCreation(t *testing.T) {
	p := compile(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	a := alloc("CORP", "anna", time.Time{}) // the 1753 sentinel decodes to the zero time
	a.CreatedDate = qrs.Time{Time: now.Add(-10 * 24 * time.Hour)}
	d := p.Evaluate(qrs.Professional, a, nil, now)
	require.Equal(t, policy.Keep, d.Verdict, "allocated 10 days ago and never used: not yet")
	require.True(t, d.NeverUsed)
	require.Equal(t, "never used, allocated 10.0d ago, threshold 30d", d.Detail)

	a.CreatedDate = qrs.Time{Time: now.Add(-31 * 24 * time.Hour)}
	d = p.Evaluate(qrs.Professional, a, nil, now)
	require.Equal(t, policy.Release, d.Verdict)
}

func TestPrecheckAsksForTheUserOnlyWhenNeeded(t *testing.T) {
	p := compile(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}, Protect: policy.ProtectConfig{Tags: []string{"x"}}})
	_, final := p.Precheck(qrs.Professional, alloc("CORP", "anna", daysAgo(90)), now)
	require.False(t, final, "a tag could protect it")
	d, final := p.Precheck(qrs.Professional, alloc("CORP", "anna", daysAgo(2)), now)
	require.True(t, final, "recently used: kept whatever the user record says")
	require.Equal(t, policy.ReasonRecentlyUsed, d.Reason)

	p = compile(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}, AlwaysReleaseInactive: true})
	_, final = p.Precheck(qrs.Professional, alloc("CORP", "anna", daysAgo(2)), now)
	require.False(t, final, "an inactive user could be released before the threshold")
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  policy.Config
		want string
	}{
		{policy.Config{Professional: policy.TypeConfig{Enabled: true}}, "release.professional.inactive_days = 0: expected 1 to 3650 when release.professional.enabled is true"},
		{policy.Config{Analyzer: policy.TypeConfig{Enabled: true, InactiveDays: 4000}}, "release.analyzer.inactive_days = 4000: expected 1 to 3650 when release.analyzer.enabled is true"},
		{policy.Config{UserPass: policy.TypeConfig{InactiveDays: -1}}, "release.user_pass.inactive_days = -1: expected 1 to 3650"},
		{policy.Config{MaxReleasesPerRun: ptr(0)}, "release.max_releases_per_run = 0: expected 1 to 100000"},
		{policy.Config{Protect: policy.ProtectConfig{Users: []string{"sa_api"}}}, `release.protect.users[0] = "sa_api": expected DIRECTORY\userid`},
		{policy.Config{Protect: policy.ProtectConfig{Users: []string{`INTERNAL\`}}}, `release.protect.users[0] = "INTERNAL\\": expected DIRECTORY\userid`},
		{policy.Config{Protect: policy.ProtectConfig{Tags: []string{"a", " "}}}, "release.protect.tags[1] is empty"},
		{policy.Config{Protect: policy.ProtectConfig{UserDirectories: []string{""}}}, "release.protect.user_directories[0] is empty"},
		{policy.Config{Protect: policy.ProtectConfig{CustomProperties: []string{"LicenseManage"}}}, `release.protect.custom_properties[0] = "LicenseManage": expected name=value`},
		{policy.Config{Protect: policy.ProtectConfig{InactiveUsers: true, ActiveUsers: true}}, "release.protect.inactive_users and release.protect.active_users are both true: that protects every user; set one"},
		{policy.Config{AlwaysReleaseInactive: true, Protect: policy.ProtectConfig{InactiveUsers: true}}, "release.always_release_inactive contradicts release.protect.inactive_users"},
	} {
		_, err := policy.Compile(&tc.cfg)
		require.EqualError(t, err, tc.want)
	}
	p := compile(t, policy.Config{})
	require.True(t, p.DryRun, "dry run by default")
	require.Equal(t, policy.DefaultMaxReleasesPerRun, p.MaxReleasesPerRun)
	p = compile(t, policy.Config{DryRun: ptr(false)})
	require.False(t, p.DryRun)
}

func BenchmarkEvaluate(b *testing.B) {
	p, _ := policy.Compile(&policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Protect:      policy.ProtectConfig{Users: []string{`INTERNAL\sa_api`}, Tags: []string{"x"}, UserDirectories: []string{"INTERNAL"}},
	})
	a := alloc("CORP", "anna", daysAgo(45))
	u := &qrs.User{Tags: []qrs.TagCondensed{{Name: "VIP"}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Evaluate(qrs.Professional, a, u, now)
	}
}

func TestUserFilter(t *testing.T) {
	p := compile(t, policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Protect: policy.ProtectConfig{
			Tags: []string{"License do not release", "VIP"}, CustomProperties: []string{"LicenseManage=do-not-release", "Other=O'Neil"},
			BlockedUsers: true, PresentUsers: true,
		},
		AlwaysReleaseInactive: true,
	})
	require.Equal(t, `(tags.name eq 'license do not release') or (tags.name eq 'vip') or (customProperties.value eq 'do-not-release') or `+
		`(customProperties.value eq 'o\'neil') or (inactive eq true) or (blacklisted eq true) or (removedExternally eq true)`, p.UserFilter())
	require.Empty(t, compile(t, policy.Config{Protect: policy.ProtectConfig{Users: []string{`A\b`}}}).UserFilter(), "user lists need no user record")
}
