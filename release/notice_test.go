package release_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/notices"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/report"
)

const day = 24 * time.Hour

// noticePolicy is the shared test policy with a 14-day notice on both types, live, with
// room for every release, mail through smtp and the extra release keys given.
func noticePolicy(smtp *testkit.SMTP, keys ...string) string {
	tables := strings.ReplaceAll(testkit.PolicyTables, "inactive_days = 30\n", "inactive_days = 30\n      notice_days = 14\n")
	tables = strings.ReplaceAll(tables, "inactive_days = 60\n", "inactive_days = 60\n      notice_days = 14\n")
	head := "\n    dry_run = false\n    max_releases_per_run = 1000\n    time_zone = \"Europe/Stockholm\"\n"
	for _, k := range keys {
		head += "    " + k + "\n"
	}
	return head + tables + smtp.MailTable()
}

// noticeEnv is a site with notices, its clock at now (the emulator's too).
type noticeEnv struct {
	*env
	site *emulator.Site
	smtp *testkit.SMTP
	now  time.Time
	conf string
}

func newNoticeEnv(t *testing.T, seed uint64, keys ...string) *noticeEnv {
	t.Helper()
	site := emulator.Generate(emulator.SiteSpec{Seed: seed, Users: 150, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	e := &noticeEnv{env: newEnv(t, site, noticePolicy(smtp, keys...)), site: site, smtp: smtp, now: testkit.Now}
	e.conf = e.env.site.Path
	e.runner.Now = func() time.Time { return e.now }
	return e
}

func (e *noticeEnv) at(t time.Time) {
	e.now = t
	e.site.SetClock(func() time.Time { return t })
}

// restart loads the site file again and opens a new runner, as a new process would.
func (e *noticeEnv) restart(t *testing.T) {
	t.Helper()
	e.runner.Close()
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	s, err := release.LoadSite(e.conf, log)
	require.NoError(t, err)
	r, err := release.NewRunner(s, log, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.Now = func() time.Time { return e.now }
	e.env.site, e.runner = s, r
}

func itemsWith(p *plan.Plan, v policy.Verdict) map[string]plan.Item {
	out := map[string]plan.Item{}
	for _, it := range p.Items {
		if it.Decision.Verdict == v {
			out[it.Holder.ID] = it
		}
	}
	return out
}

func recipients(ms []testkit.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

func emails(items map[string]plan.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Email)
	}
	slices.Sort(out)
	return out
}

// The whole life of a notice: noticed, waiting (a user comes back, another gets
// protected, the process restarts), released at the date the notice gave — exactly the
// noticed allocations that are still idle.
func TestNoticeWaitThenRelease(t *testing.T) {
	e := newNoticeEnv(t, 61)

	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	toNotice := itemsWith(p, policy.Notice)
	require.Greater(t, len(toNotice), 5)
	require.Empty(t, p.Releases(), "nothing is released before a notice")
	require.Positive(t, p.Totals[0].Kept[policy.ReasonNoEmail]+p.Totals[1].Kept[policy.ReasonNoEmail], "users without an address are kept")

	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, len(toNotice), sum.Noticed)
	require.Zero(t, sum.Released)
	require.Zero(t, e.srv.Log.Count("DELETE", ""))
	msgs := e.smtp.Messages()
	require.Equal(t, emails(toNotice), recipients(msgs), "one message per noticed allocation, to its user")
	releaseOn := "Monday 18 May 2026 at 12:00 CEST" // testkit.Now + 14 days, in Stockholm
	for _, m := range msgs {
		require.True(t, m.TLS, "sent after STARTTLS")
		require.Contains(t, m.Subject(), releaseOn)
		require.Contains(t, m.Body("text/plain"), "will be released on or after "+releaseOn)
		require.Contains(t, m.Body("text/html"), releaseOn)
		require.NotContains(t, m.Data, e.smtp.Password, "no secret in a message")
	}
	require.NotContains(t, e.logs.String(), e.smtp.Password)

	// Two days later one user comes back and another gets protected.
	ids := make([]string, 0, len(toNotice))
	for id := range toNotice {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	used, tagged := toNotice[ids[0]], toNotice[ids[1]]
	require.NoError(t, e.site.Touch(emulator.Kind(used.Type), used.Holder.ID, testkit.Now.Add(2*day)))
	require.NoError(t, e.site.UpdateUser(tagged.Holder.User, func(u *emulator.User) {
		u.Tags = append(u.Tags, emulator.Tag{ID: "aaaaaaaa-0000-4000-8000-00000000000b", Name: "License do not release"})
	}))

	// Day 5, after a restart: every other candidate waits; nothing is sent or deleted.
	e.at(testkit.Now.Add(5 * day))
	e.restart(t)
	e.srv.Log.Reset()
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	// Users are read for addresses only for candidates still to be told: new ones, and
	// those kept for want of an address (it may have been added since); not for those
	// waiting, whose address is in the notice state.
	toTell := len(itemsWith(p, policy.Notice))
	for _, tt := range p.Totals {
		toTell += tt.Kept[policy.ReasonNoEmail]
	}
	byID := 0
	for _, en := range e.srv.Log.Entries() {
		if q, _ := url.ParseQuery(en.Query); en.Path == "/qrs/user/full" && strings.HasPrefix(q.Get("filter"), "id eq ") {
			byID += strings.Count(q.Get("filter"), "id eq ")
		}
	}
	require.Equal(t, toTell, byID)
	waiting := itemsWith(p, policy.Waiting)
	require.Len(t, waiting, len(toNotice)-2)
	require.NotContains(t, waiting, used.Holder.ID)
	require.NotContains(t, waiting, tagged.Holder.ID)
	for _, it := range waiting {
		require.Equal(t, testkit.Now.Add(14*day), it.ReleasableFrom.UTC())
		require.Contains(t, it.Decision.Detail, "releasable from "+releaseOn)
	}
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, len(waiting), sum.Waiting)
	require.Zero(t, sum.Released)
	requireNoNewNoticeTo(t, e.smtp.Messages()[len(msgs):], toNotice)
	require.Zero(t, e.srv.Log.Count("DELETE", ""))

	// The user who came back and the protected one leave the notice state.
	st, err := notice.Load(e.env.site.Settings.NoticeFile())
	require.NoError(t, err)
	require.Len(t, st.Records, len(waiting))

	// One second before the date: still waiting. At the date: released, exactly those.
	e.at(testkit.Now.Add(14*day - time.Second))
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Releases())
	e.at(testkit.Now.Add(14 * day))
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	var planned []string
	for _, it := range p.Releases() {
		planned = append(planned, it.Holder.ID)
		require.Contains(t, it.Note, "noticed on")
	}
	slices.Sort(planned)
	want := make([]string, 0, len(waiting))
	for id := range waiting {
		want = append(want, id)
	}
	slices.Sort(want)
	require.Equal(t, want, planned)
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, len(want), sum.Released+sum.Quarantined)
	require.Equal(t, len(want), e.srv.Log.Count("DELETE", ""))
	for _, id := range want {
		_, still := e.site.Allocation(emulator.Kind(waiting[id].Type), id)
		require.False(t, still, "%s was noticed and stayed idle: released", id)
	}
	for _, it := range []plan.Item{used, tagged} {
		_, still := e.site.Allocation(emulator.Kind(it.Type), it.Holder.ID)
		require.True(t, still, "%s was used or protected after its notice: kept", it.Holder.ID)
	}
	requireNoNewNoticeTo(t, e.smtp.Messages()[len(msgs):], toNotice)
}

// requireNoNewNoticeTo checks that none of the later messages (to allocations that became
// candidates since) went to a user noticed before.
func requireNoNewNoticeTo(t *testing.T, later []testkit.Mail, noticed map[string]plan.Item) {
	t.Helper()
	before := emails(noticed)
	for _, m := range later {
		for _, to := range m.To {
			require.NotContains(t, before, to, "a second notice in the same episode")
		}
	}
}

// A notice the mail server refuses is counted, recorded as notice_failed and sent again at
// the next run, whose date then counts.
func TestRefusedNoticeIsRetried(t *testing.T) {
	e := newNoticeEnv(t, 62)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	toNotice := itemsWith(p, policy.Notice)
	require.NotEmpty(t, toNotice)
	var refused plan.Item
	for _, it := range toNotice {
		refused = it
		break
	}
	e.smtp.Refuse(refused.Email, true)

	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.NoticeFailed)
	require.Equal(t, len(toNotice)-1, sum.Noticed)
	audit := strings.Join(auditLines(t, e.audit), "\n")
	require.Contains(t, audit, `"outcome":"notice_failed","reason":"mail_refused"`)

	e.smtp.Refuse(refused.Email, false)
	e.at(testkit.Now.Add(day))
	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	again := itemsWith(p, policy.Notice)
	require.Len(t, again, 1)
	require.Contains(t, again[refused.Holder.ID].Note, "1 earlier notice(s) refused")
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Noticed)
	st, err := notice.Load(e.env.site.Settings.NoticeFile())
	require.NoError(t, err)
	rec := st.Records[refused.Holder.ID]
	require.Equal(t, testkit.Now.Add(day), rec.NoticedAt)
	require.Equal(t, testkit.Now.Add(15*day), rec.ReleasableFrom)
	require.Equal(t, 1, rec.Failures)
}

// A dry run sends nothing and leaves the notice state alone; its plan shows the stages.
func TestDryRunSendsNoNotice(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 63, Users: 150, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	e := newEnv(t, site, strings.Replace(noticePolicy(smtp), "dry_run = false", "dry_run = true", 1))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	n := len(itemsWith(p, policy.Notice))
	require.Positive(t, n)
	var b bytes.Buffer
	require.NoError(t, report.Plan(&b, p, report.FormatTable))
	require.Contains(t, b.String(), "notice ")
	require.Regexp(t, `TYPE +CONSIDERED +RELEASE +DEFERRED +NOTICE +WAITING +KEEP +KEPT BY`, b.String())
	require.Regexp(t, `KEPT BY[\s\S]*no_email \d+`, b.String(), "candidates without an address are counted with the keep reasons")
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, n, sum.WouldNotice)
	require.Zero(t, sum.Noticed)
	require.Empty(t, smtp.Messages())
	_, err = os.Stat(e.site.Settings.NoticeFile())
	require.ErrorIs(t, err, os.ErrNotExist)
}

// without_email = "release" releases a candidate without an address, without notice.
func TestWithoutEmailRelease(t *testing.T) {
	e := newNoticeEnv(t, 64, `[inputs.qliksense_license.release.notice]`, `  without_email = "release"`)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	rels := p.Releases()
	require.NotEmpty(t, rels)
	for _, it := range rels {
		require.Empty(t, it.Email)
		require.Contains(t, it.Note, "no email address: released without notice")
	}
	for _, tt := range p.Totals {
		require.Zero(t, tt.Kept[policy.ReasonNoEmail])
	}
}

// The administrators' digest lists what was noticed and what is coming.
func TestDigest(t *testing.T) {
	e := newNoticeEnv(t, 65, `[inputs.qliksense_license.release.notice]`, `  digest_to = ["qlik-admins@example.com"]`)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	var digest *testkit.Mail
	for _, m := range e.smtp.Messages() {
		if slices.Contains(m.To, "qlik-admins@example.com") {
			digest = &m
		}
	}
	require.NotNil(t, digest, "a digest after a run that noticed")
	require.Contains(t, digest.Subject(), "noticed")
	body := digest.Body("text/plain")
	require.Contains(t, body, "Noticed in this run (")
	require.Equal(t, sum.Noticed, strings.Count(body, "Monday 18 May 2026"), "one line per notice, with its date")
}

// A template error is a configuration error when the site is loaded, naming the key.
func TestNoticeConfigErrors(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 66, Users: 20, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	smtp := testkit.StartSMTP(t)
	bad := filepath.Join(t.TempDir(), "bad.html")
	require.NoError(t, os.WriteFile(bad, []byte("<p>{{.Nope}}</p>"), 0o600))
	for _, tc := range []struct{ table, want string }{
		{`[inputs.qliksense_license.release.notice]` + "\n  subject = \"{{.ReleaseDate\"", "release.notice.subject"},
		{`[inputs.qliksense_license.release.notice]` + "\n  html_template = '" + bad + "'", "release.notice.html_template = " + bad},
		{`[inputs.qliksense_license.release.notice]` + "\n  text_template = '/nonexistent/notice.txt'", `release.notice.text_template = "/nonexistent/notice.txt"`},
		{`[inputs.qliksense_license.release.notice]` + "\n  without_email = \"drop\"", `release.notice.without_email = "drop"`},
	} {
		conf := siteConfig(t, srv, t.TempDir(), noticePolicy(smtp, tc.table))
		_, err := release.LoadSite(conf, slogDiscard())
		require.ErrorContains(t, err, tc.want)
	}
	noMail := strings.ReplaceAll(testkit.PolicyTables, "inactive_days = 30\n", "inactive_days = 30\n      notice_days = 14\n")
	_, err := release.LoadSite(siteConfig(t, srv, t.TempDir(), noMail), slogDiscard())
	require.ErrorContains(t, err, "release.mail.host is required")
	plain := strings.Replace(noticePolicy(smtp), `tls = "starttls"`, `tls = "none"`, 1)
	_, err = release.LoadSite(siteConfig(t, srv, t.TempDir(), plain), slogDiscard())
	require.ErrorContains(t, err, "plain text")
	require.NotContains(t, err.Error(), smtp.Password)
}

// The example notice of docs/notices.md is what the built-in templates render.
func TestReadmeExampleNoticeIsTheBuiltInOne(t *testing.T) {
	readme, err := os.ReadFile("../docs/notices.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "The built-in notice (text part")
	require.True(t, ok)
	_, rest, ok = strings.Cut(rest, "```text\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)

	site := emulator.Generate(emulator.SiteSpec{Seed: 67, Users: 10, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	e := newEnv(t, site, noticePolicy(smtp))
	m, err := e.site.Notifier.Render(notices.NoticeData{
		Site: "production", User: `CORP\lars.holm91`, Name: "lars holm", Email: "lars.holm91@corp.example.com",
		Access: "analyzer access", LicenseType: "analyzer", DaysInactive: 402, LastUsed: "28 March 2025",
		ThresholdDays: 60, NoticeDays: 14, ReleaseDate: "Monday 18 May 2026 at 12:00 CEST", ReplyTo: "licenses@example.com",
	})
	require.NoError(t, err)
	require.Equal(t, example, "Subject: "+m.Subject+"\n\n"+m.Text)
	require.Contains(t, m.HTML, "<strong>Your analyzer access will be released on or after Monday 18 May 2026 at 12:00 CEST.</strong>")

	m, err = e.site.Notifier.Render(notices.NoticeData{Name: "<b>O'Brien</b>", Email: "x@example.com", Access: "analyzer access"})
	require.NoError(t, err)
	require.Contains(t, m.HTML, "Hello &lt;b&gt;O&#39;Brien&lt;/b&gt;,", "html/template escapes every field")
}

// stoppingMailer accepts messages and closes stop after the first.
type stoppingMailer struct {
	stop chan struct{}
	sent int
}

func (m *stoppingMailer) Send(context.Context, notices.Message) error {
	m.sent++
	if m.sent == 1 {
		close(m.stop)
	}
	return nil
}

// A stop sends no further notice; the message on the wire is recorded; the rest go out at
// the next run.
func TestStopSendsNoFurtherNotice(t *testing.T) {
	e := newNoticeEnv(t, 68)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	n := len(itemsWith(p, policy.Notice))
	require.Greater(t, n, 2)
	stop := make(chan struct{})
	m := &stoppingMailer{stop: stop}
	e.env.site.Notifier.Mailer = m
	sum, err := e.runner.Once(t.Context(), stop)
	require.NoError(t, err)
	require.Equal(t, 1, m.sent)
	require.Equal(t, 1, sum.Noticed)
	require.Len(t, outcomesOf(t, e.env, audit.Noticed), 1)

	p, err = e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Len(t, itemsWith(p, policy.Notice), n-1, "the others are noticed at the next run")
	require.Len(t, itemsWith(p, policy.Waiting), 1)
}
