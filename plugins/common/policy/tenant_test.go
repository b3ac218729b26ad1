package policy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

func compileTenant(t *testing.T, c policy.Config) *policy.Policy {
	t.Helper()
	p, err := policy.CompileTenant(&c)
	require.NoError(t, err)
	return p
}

// Every rule of a tenant's policy, with the known answers: 29.9 and 30.1 days,
// a new assignment never used, capacity-only use (a last use like any other), an orphan,
// disabled and deleted users, a TenantAdmin directly and through a group, protected
// subjects and emails in another case.
func TestTenantEveryRule(t *testing.T) {
	base := policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 14},
		Protect: policy.ProtectConfig{
			Users:  []string{`auth0|Boss`, "CEO@Example.com"},
			Groups: []string{"Finance Leads"},
			Roles:  []string{"tenantadmin"},
		},
	}
	old := daysAgo(400)
	user := func(status string) *policy.CloudUser {
		return &policy.CloudUser{ID: "u1", Subject: `DOMAIN\anna`, Email: "anna@example.com", Status: status}
	}
	for _, tc := range []struct {
		name   string
		cfg    func(*policy.Config)
		a      policy.Assignment
		want   policy.Verdict
		reason policy.Reason
	}{
		{name: "used 30.1 days ago", a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(30.1), User: user("active")}, want: policy.Release, reason: policy.ReasonInactive},
		{name: "used 29.9 days ago", a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(29.9), User: user("active")}, want: policy.Keep, reason: policy.ReasonRecentlyUsed},
		{name: "exactly the threshold", a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(30), User: user("active")}, want: policy.Release, reason: policy.ReasonInactive},
		{name: "never used, old", a: policy.Assignment{Type: qrs.Analyzer, Created: old, User: user("active")}, want: policy.Release, reason: policy.ReasonInactive},
		{name: "new assignment never used", a: policy.Assignment{Type: qrs.Professional, Created: daysAgo(3), User: user("active")}, want: policy.Keep, reason: policy.ReasonRecentlyAssigned},
		{name: "new assignment of a user unused for long", a: policy.Assignment{Type: qrs.Professional, Created: daysAgo(29), LastUsed: daysAgo(200), User: user("active")}, want: policy.Keep, reason: policy.ReasonRecentlyAssigned},
		{name: "no created date", a: policy.Assignment{Type: qrs.Professional, User: user("active")}, want: policy.Keep, reason: policy.ReasonRecentlyAssigned},
		{name: "type off", cfg: func(c *policy.Config) { c.Analyzer.Enabled = false }, a: policy.Assignment{Type: qrs.Analyzer, Created: old, User: user("active")}, want: policy.Keep, reason: policy.ReasonTypeDisabled},
		{name: "orphan, old", a: policy.Assignment{Type: qrs.Professional, Subject: "gone", Created: old}, want: policy.Release, reason: policy.ReasonOrphan},
		{name: "orphan, new", a: policy.Assignment{Type: qrs.Professional, Subject: "gone", Created: daysAgo(10)}, want: policy.Keep, reason: policy.ReasonRecentlyAssigned},
		{name: "orphan with a protected subject", a: policy.Assignment{Type: qrs.Professional, Subject: "AUTH0|boss", Created: old}, want: policy.Keep, reason: policy.ReasonProtectedUser},
		{name: "protected subject, other case", a: policy.Assignment{Type: qrs.Professional, Subject: "auth0|BOSS", Created: old, User: user("active")}, want: policy.Keep, reason: policy.ReasonProtectedUser},
		{name: "protected email, other case", a: policy.Assignment{Type: qrs.Professional, Subject: "x", Created: old, User: &policy.CloudUser{ID: "c", Subject: "x", Email: "ceo@example.COM"}}, want: policy.Keep, reason: policy.ReasonProtectedUser},
		{name: "TenantAdmin directly", a: policy.Assignment{Type: qrs.Professional, Created: old, User: &policy.CloudUser{ID: "a", Roles: []string{"Developer", "TenantAdmin"}}}, want: policy.Keep, reason: policy.ReasonProtectedRole},
		{name: "TenantAdmin through a group", a: policy.Assignment{Type: qrs.Professional, Created: old, User: &policy.CloudUser{ID: "a", Groups: []policy.CloudGroup{{Name: "Admins", Roles: []string{"TenantAdmin"}}}}}, want: policy.Keep, reason: policy.ReasonProtectedRole},
		{name: "a role not protected", a: policy.Assignment{Type: qrs.Professional, Created: old, User: &policy.CloudUser{ID: "a", Roles: []string{"AnalyticsAdmin"}}}, want: policy.Release, reason: policy.ReasonInactive},
		{name: "protected group", a: policy.Assignment{Type: qrs.Professional, Created: old, User: &policy.CloudUser{ID: "a", Groups: []policy.CloudGroup{{Name: "finance leads"}}}}, want: policy.Keep, reason: policy.ReasonProtectedGroup},
		{name: "disabled, recently used, without the rule", a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(1), User: user("disabled")}, want: policy.Keep, reason: policy.ReasonRecentlyUsed},
		{name: "disabled, recently used", cfg: func(c *policy.Config) { c.AlwaysReleaseDisabled = true }, a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(1), User: user("disabled")}, want: policy.Release, reason: policy.ReasonUserDisabled},
		{name: "deleted, recently used", cfg: func(c *policy.Config) { c.AlwaysReleaseDisabled = true }, a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(1), User: user("Deleted")}, want: policy.Release, reason: policy.ReasonUserDisabled},
		{name: "disabled but a new assignment", cfg: func(c *policy.Config) { c.AlwaysReleaseDisabled = true }, a: policy.Assignment{Type: qrs.Professional, Created: daysAgo(2), User: user("disabled")}, want: policy.Keep, reason: policy.ReasonRecentlyAssigned},
		{name: "invited, recently used", cfg: func(c *policy.Config) { c.AlwaysReleaseDisabled = true }, a: policy.Assignment{Type: qrs.Professional, Created: old, LastUsed: daysAgo(1), User: user("invited")}, want: policy.Keep, reason: policy.ReasonRecentlyUsed},
		{name: "disabled TenantAdmin", cfg: func(c *policy.Config) { c.AlwaysReleaseDisabled = true }, a: policy.Assignment{Type: qrs.Professional, Created: old, User: &policy.CloudUser{ID: "a", Status: "disabled", Roles: []string{"TenantAdmin"}}}, want: policy.Keep, reason: policy.ReasonProtectedRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			d := compileTenant(t, c).EvaluateAssignment(&tc.a, now)
			require.Equal(t, tc.want, d.Verdict, d.Detail)
			require.Equal(t, tc.reason, d.Reason, d.Detail)
			require.Contains(t, append(policy.TenantKeepReasons, policy.TenantReleaseReasons...), d.Reason)
		})
	}
}

// The tenant's inactivity is the one definition the site uses.
func TestTenantInactivityIsTheSitesDefinition(t *testing.T) {
	p := compileTenant(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	for _, last := range []time.Time{{}, daysAgo(45.5), now.Add(time.Hour)} {
		created := daysAgo(100)
		d := p.EvaluateAssignment(&policy.Assignment{Type: qrs.Professional, Created: created, LastUsed: last, User: &policy.CloudUser{ID: "u"}}, now)
		a := &qrs.Allocation{CreatedDate: qrs.Time{Time: created}, LastUsed: qrs.Time{Time: last}}
		want, never := policy.Inactivity(a, now)
		require.Equal(t, want, d.Inactivity)
		require.Equal(t, never, d.NeverUsed)
	}
}

// A user with no use in the consumption read, whose assignment is older than its start,
// is not "never used": the last use, if any, lies before the read, and the inactivity
// counts from the read's start (a lower bound) — the detail says so. An orphan, and an
// assignment younger than the read, with no use are never used.
func TestTenantUseOlderThanTheReadIsNotNeverUsed(t *testing.T) {
	p := compileTenant(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		AlwaysReleaseDisabled: true})
	from := daysAgo(60)
	u := &policy.CloudUser{ID: "u"}
	unread := policy.Assignment{Type: qrs.Professional, Created: daysAgo(400), User: u, UsesFrom: from}
	require.True(t, unread.UseUnread())
	d := p.EvaluateAssignment(&unread, now)
	require.Equal(t, policy.Release, d.Verdict)
	require.Equal(t, policy.ReasonInactive, d.Reason)
	require.False(t, d.NeverUsed, "an unread use is not never used")
	require.Equal(t, 60*24*time.Hour, d.Inactivity, "counted from the read's start, not the creation")
	require.Equal(t, "no use in the consumption read since "+from.UTC().Format(time.DateOnly)+": last used 60.0d ago or more, threshold 30d", d.Detail)

	disabled := unread
	disabled.User = &policy.CloudUser{ID: "d", Status: "disabled"}
	d = p.EvaluateAssignment(&disabled, now)
	require.Equal(t, policy.ReasonUserDisabled, d.Reason)
	require.Contains(t, d.Detail, "inactive 60.0d or more (no use in the consumption read since")

	for name, a := range map[string]policy.Assignment{
		"orphan":            {Type: qrs.Professional, Created: daysAgo(400), UsesFrom: from},
		"younger than read": {Type: qrs.Professional, Created: daysAgo(45), User: u, UsesFrom: from},
		"no read start":     {Type: qrs.Professional, Created: daysAgo(400), User: u},
	} {
		require.False(t, a.UseUnread(), name)
		d := p.EvaluateAssignment(&a, now)
		require.True(t, d.NeverUsed, name)
		require.Equal(t, now.Sub(a.Created), d.Inactivity, name)
	}
	used := policy.Assignment{Type: qrs.Professional, Created: daysAgo(400), LastUsed: daysAgo(45), User: u, UsesFrom: from}
	require.False(t, used.UseUnread())
	require.Equal(t, 45*24*time.Hour, p.EvaluateAssignment(&used, now).Inactivity)
}

func TestCompileTenantErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  policy.Config
		want string
	}{
		{policy.Config{UserPass: policy.TypeConfig{Enabled: true, InactiveDays: 30}}, "release.user_pass has no meaning for a Qlik Cloud tenant"},
		{policy.Config{Protect: policy.ProtectConfig{UserDirectories: []string{"CORP"}}}, "release.protect.user_directories has no meaning"},
		{policy.Config{Protect: policy.ProtectConfig{Tags: []string{"x"}}}, "release.protect.tags has no meaning"},
		{policy.Config{Protect: policy.ProtectConfig{CustomProperties: []string{"a=b"}}}, "release.protect.custom_properties has no meaning"},
		{policy.Config{Protect: policy.ProtectConfig{BlockedUsers: true}}, "release.protect.blocked_users has no meaning"},
		{policy.Config{AlwaysReleaseInactive: true}, "release.always_release_inactive has no meaning"},
		{policy.Config{AlwaysReleaseRemovedExternally: true}, "release.always_release_removed_externally has no meaning"},
		{policy.Config{Protect: policy.ProtectConfig{Roles: []string{" "}}}, "release.protect.roles[0] is empty"},
		{policy.Config{Professional: policy.TypeConfig{Enabled: true}}, "release.professional.inactive_days = 0: expected 1 to 3650 when release.professional.enabled is true"},
	} {
		_, err := policy.CompileTenant(&tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
	// A site refuses the tenant's keys by name.
	for key, cfg := range map[string]policy.Config{
		"protect.groups":          {Protect: policy.ProtectConfig{Groups: []string{"g"}}},
		"protect.roles":           {Protect: policy.ProtectConfig{Roles: []string{"TenantAdmin"}}},
		"always_release_disabled": {AlwaysReleaseDisabled: true},
	} {
		_, err := policy.Compile(&cfg)
		require.ErrorContains(t, err, "release."+key+" applies to a Qlik Cloud tenant only")
	}
}

// The reasons a tenant gives: reclaimable counts its release reasons.
func TestTenantReasons(t *testing.T) {
	p := compileTenant(t, policy.Config{Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	require.True(t, p.IsTenant())
	require.Equal(t, policy.TenantKeepReasons, p.KeepReasons())
	require.Equal(t, policy.TenantReleaseReasons, p.ReleaseReasons())
	require.Equal(t, 6, policy.Reclaimable(map[policy.Reason]int{policy.ReasonInactive: 1, policy.ReasonOrphan: 2, policy.ReasonUserDisabled: 3, policy.ReasonRecentlyUsed: 9}))
	site := compile(t, policy.Config{})
	require.False(t, site.IsTenant())
	require.Equal(t, policy.KeepReasons, site.KeepReasons())
}

// A site's policy (Compile) knows none of a tenant's protections: given a Qlik Cloud
// assignment by mistake, it releases nothing, rather than releasing past protect.users
// (a subject with a backslash compiles as a site's DIRECTORY\userid) and as an orphan.
func TestSitePolicyReleasesNoAssignment(t *testing.T) {
	site := compile(t, policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Protect:      policy.ProtectConfig{Users: []string{`CORP\boss`}},
	})
	for _, a := range []policy.Assignment{
		{Type: qrs.Professional, Subject: `CORP\boss`, Created: daysAgo(400), User: &policy.CloudUser{ID: "b", Subject: `CORP\boss`}},
		{Type: qrs.Professional, Subject: `CORP\boss`, Created: daysAgo(400)},
	} {
		d := site.EvaluateAssignment(&a, now)
		require.Equal(t, policy.Keep, d.Verdict, d.Detail)
		require.Equal(t, policy.ReasonTypeDisabled, d.Reason)
		require.Contains(t, d.Detail, "CompileTenant")
	}
}
