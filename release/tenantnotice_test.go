package release_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// tenantNoticePolicy is testkit.TenantPolicyTables with a 14-day notice on both types, mail through
// smtp, and the extra sub-tables given.
func tenantNoticePolicy(smtp *testkit.SMTP, extra string) string {
	return strings.ReplaceAll(testkit.TenantPolicyTables, "inactive_days = 30", "inactive_days = 30\n      notice_days = 14") + "\n" + smtp.MailTable() + extra
}

// noticeTenant is the known-answer tenant with two more analyzer assignments, 60 days old
// and never used: a user without an email address and one whose display name is not
// the subject.
func noticeTenant() *qcloudemu.Tenant {
	tenant := qcloudemu.KnownAnswer(knownNow)
	for _, u := range []qcloudemu.User{
		{ID: "000000000000000000000021", Subject: `CORP\no-mail`, Name: `CORP\no-mail`},
		{ID: "000000000000000000000022", Subject: `CORP\nora`, Name: "Nora Lind", Email: "nora.lind@corp.example"},
	} {
		u.Status, u.Roles, u.Created = qcloudemu.StatusActive, []string{"Consumer"}, knownNow.AddDate(-1, 0, 0)
		tenant.AddUser(u)
		tenant.AddAssignment(qcloudemu.Assignment{Type: qcloudemu.Analyzer, Subject: u.Subject, Created: knownNow.Add(-60 * day)})
	}
	return tenant
}

// subjectsOf are the sorted holder ids of items.
func subjectsOf(items map[string]plan.Item) []string {
	var out []string
	for id := range items {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// A tenant's notices work as a site's: the first run tells every candidate with an address
// by mail (the addresses came with the plan's one users read: no request per user) and
// deletes nothing; a run before the period is over deletes nothing; the run at the date
// the notice gave deletes exactly the noticed assignments still idle, in one delete call;
// a user who came back in between keeps the seat and needs a new notice later. A candidate
// without an address, and an orphan (no user to tell), are kept (without_email = "keep").
func TestTenantNoticeWaitThenRelease(t *testing.T) {
	tenant := noticeTenant()
	smtp := testkit.StartSMTP(t)
	e := newTenantEnvWith(t, tenant, "dry_run = false", tenantNoticePolicy(smtp, ""), nil)
	now := knownNow
	at := func(ts time.Time) {
		now = ts
		tenant.SetClock(func() time.Time { return ts })
	}
	e.runner.Now = func() time.Time { return now }

	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Errors)
	require.Empty(t, p.Releases(), "nothing is released before a notice")
	toNotice := itemsWith(p, policy.Notice)
	var want []string
	for _, fx := range qcloudemu.KnownAnswers {
		if fx.Release && fx.Key.Subject != `CORP\gone` {
			want = append(want, fx.Key.Subject)
		}
	}
	want = append(want, `CORP\nora`)
	slices.Sort(want)
	require.Equal(t, want, subjectsOf(toNotice))
	kept := itemsWith(p, policy.Keep)
	for _, s := range []string{`CORP\no-mail`, `CORP\gone`} {
		require.Equal(t, policy.ReasonNoEmail, kept[s].Decision.Reason, s)
	}
	require.Contains(t, kept[`CORP\gone`].Decision.Detail, "no user to tell")
	require.Equal(t, 4, len(e.srv.Log.Entries()), "the plan's pages (assignments, users, consumption, settings): the addresses came with the users")

	e.srv.Log.Reset()
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.Equal(t, len(want), sum.Noticed)
	require.Zero(t, sum.Released)
	require.Zero(t, e.srv.Log.Count(http.MethodPost, "/actions/delete"), "no delete call before a notice")
	users := 0
	for _, en := range e.srv.Log.Entries() {
		if strings.HasPrefix(en.Path, "/api/v1/users") {
			users++
		}
	}
	require.Equal(t, 1, users, "one users read for the whole run, none per candidate")
	require.Equal(t, 4, len(e.srv.Log.Entries()))
	msgs := smtp.Messages()
	require.Equal(t, emails(toNotice), recipients(msgs), "one message per noticed assignment, to its user's email")
	for _, m := range msgs {
		if slices.Contains(m.To, "nora.lind@corp.example") {
			require.Contains(t, m.Body("text/plain"), "Hello Nora Lind,", "the user's display name")
			require.Contains(t, m.Body("text/plain"), `User: CORP\nora`, "the subject")
			require.Contains(t, m.Subject(), "analyzer access")
		}
	}
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	var noticed []string
	for _, o := range outs {
		require.Equal(t, audit.Noticed, o.Result)
		require.Equal(t, o.AllocationID, o.User, "an assignment's holder is its subject")
		noticed = append(noticed, o.AllocationID)
	}
	slices.Sort(noticed)
	require.Equal(t, want, noticed)
	st, err := notice.Load(e.site.Settings.NoticeFile())
	require.NoError(t, err)
	require.Len(t, st.Records, len(want))
	rec := st.Records[`CORP\nora`]
	require.Equal(t, "nora.lind@corp.example", rec.Email)
	require.Equal(t, qcloudemu.Analyzer, string(rec.Type))
	require.Equal(t, knownNow.Add(14*day), rec.ReleasableFrom)

	// Two days later CORP\used-30.1 uses the seat again.
	tenant.AddEvent(qcloudemu.Event{ID: "back", UserID: "000000000000000000000002", AppID: "app-1", SessionID: "s-back",
		AllotmentID: qcloudemu.Professional, LicenseUsage: "assignment", EndTime: knownNow.Add(2 * day), Duration: time.Minute})

	// Day 5: the others wait; CORP\used-29.9, idle 30 days since, is told now.
	at(knownNow.Add(5 * day))
	e.srv.Log.Reset()
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, len(want)-1, sum.Waiting)
	require.Equal(t, 1, sum.Noticed)
	require.Zero(t, sum.Released)
	require.Zero(t, e.srv.Log.Count(http.MethodPost, "/actions/delete"))
	require.Equal(t, 4, len(e.srv.Log.Entries()))
	later := smtp.Messages()[len(msgs):]
	require.Len(t, later, 1)
	require.Equal(t, []string{"u01@corp.example"}, later[0].To)
	st, err = notice.Load(e.site.Settings.NoticeFile())
	require.NoError(t, err)
	require.NotContains(t, st.Records, `CORP\used-30.1`, "used since: its notice is void")

	// One second before the date: nothing. At the date: exactly the noticed and still idle.
	at(knownNow.Add(14*day - time.Second))
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Releases())
	at(knownNow.Add(14 * day))
	e.srv.Log.Reset()
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	released := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == `CORP\used-30.1` })
	require.Equal(t, len(released), sum.Released)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodPost, "/actions/delete"), "one delete call")
	left := map[string]bool{}
	for _, a := range tenant.Assignments() {
		left[a.Subject] = true
	}
	for _, s := range released {
		require.False(t, left[s], "%s was noticed and stayed idle: deleted", s)
	}
	for _, s := range []string{`CORP\used-30.1`, `CORP\used-29.9`, `CORP\no-mail`, `CORP\gone`} {
		require.True(t, left[s], "%s: not released", s)
	}
	outs, _ = auditOutcomes(t, e.site.Settings.AuditLog)
	var gone []string
	for _, o := range outs {
		if o.Result == audit.Released {
			gone = append(gone, o.AllocationID)
		}
	}
	slices.Sort(gone)
	require.Equal(t, released, gone)

	// 31 days after its use CORP\used-30.1 is idle again: a new notice, not a release.
	at(knownNow.Add(33 * day))
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Contains(t, itemsWith(p, policy.Notice), `CORP\used-30.1`)
	require.Contains(t, itemsWith(p, policy.Release), `CORP\used-29.9`, "noticed on day 5: releasable")
}

// without_email = "release" releases a tenant's candidate without an address, and an
// orphan (no user to tell), without notice, while the others are told.
func TestTenantWithoutEmailRelease(t *testing.T) {
	tenant := noticeTenant()
	smtp := testkit.StartSMTP(t)
	e := newTenantEnvWith(t, tenant, "dry_run = false",
		tenantNoticePolicy(smtp, "\n    [inputs.qliksense_license.release.notice]\n      without_email = \"release\"\n"), nil)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	rels := map[string]plan.Item{}
	for _, it := range p.Releases() {
		rels[it.Holder.ID] = it
	}
	require.Equal(t, []string{`CORP\gone`, `CORP\no-mail`}, subjectsOf(rels))
	require.Contains(t, rels[`CORP\no-mail`].Note, "no email address: released without notice")
	require.Contains(t, rels[`CORP\gone`].Note, "no user to tell: released without notice")
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Released)
	require.Equal(t, len(itemsWith(p, policy.Notice)), sum.Noticed)
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: qcloudemu.Analyzer, Subject: `CORP\no-mail`}))
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: qcloudemu.Analyzer, Subject: `CORP\gone`}))
}

// A notice holds only while the consumption read covers the time since it was given. A
// user noticed (their use older than the window read: counted from the assignment's
// creation) who used the seat two days later, with the uses file lost before the next run
// and that run more than the window after the use: the rebuilt read starts after the
// notice, sees no use, and the episode (the creation again) is the noticed one. A use in
// between cannot be ruled out: a new notice, never a release on the old one.
func TestTenantNoticeVoidWhenTheReadStartsAfterIt(t *testing.T) {
	tenant := noticeTenant()
	smtp := testkit.StartSMTP(t)
	e := newTenantEnvWith(t, tenant, "dry_run = false", tenantNoticePolicy(smtp, ""), nil)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	st, err := notice.Load(e.site.Settings.NoticeFile())
	require.NoError(t, err)
	require.NotNil(t, st.Records[`CORP\used-30.1`], "noticed at the first run")
	require.True(t, st.Records[`CORP\used-30.1`].Accepted())

	// CORP\used-30.1 uses the seat two days after the notice; the sidecar next runs 33 days
	// after it, its uses file lost: the read covers only the last 30 days.
	tenant.AddEvent(qcloudemu.Event{ID: "back", UserID: "000000000000000000000002", AppID: "app-1", SessionID: "s-back",
		AllotmentID: qcloudemu.Professional, LicenseUsage: "assignment", EndTime: knownNow.Add(2 * day), Duration: time.Minute})
	e.runner.Close()
	uses, err := filepath.Glob(filepath.Join(e.state, "*-uses-*.json"))
	require.NoError(t, err)
	require.Len(t, uses, 1)
	require.NoError(t, os.Remove(uses[0]))
	later := knownNow.Add(33 * day)
	tenant.SetClock(func() time.Time { return later })
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	s, err := release.LoadSite(e.site.Path, log)
	require.NoError(t, err)
	r, err := release.NewRunner(s, log, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.Now = func() time.Time { return later }

	p, err := r.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Errors)
	require.NotContains(t, itemsWith(p, policy.Release), `CORP\used-30.1`, "a use since the notice is not ruled out: no release on it")
	require.Contains(t, itemsWith(p, policy.Notice), `CORP\used-30.1`, "told again")
}
