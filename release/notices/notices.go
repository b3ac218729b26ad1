// Package notices tells users by email before their allocation (a Qlik Cloud tenant's
// assignment) is released, through the same code for every license source: the stage
// of each candidate of a type with notice_days (notice, waiting, release) from the notice
// state, the notices and the administrators' digest rendered from templates and sent
// through the site's SMTP server, and the notice state kept.
package notices

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

//go:embed templates
var templateFS embed.FS

// defaultNoticeSubject is the subject of a notice unless release.notice.subject is set.
const defaultNoticeSubject = "Your Qlik Sense {{.Access}} will be released on or after {{.ReleaseDate}}"

// NoticeData is what a notice template sees (docs/notices.md lists the fields). Dates are in
// the site's time zone (release.time_zone). No secret is in it.
type NoticeData struct {
	Site         string
	User         string // DIRECTORY\userid; a Qlik Cloud tenant's: the subject
	Name         string // the user's name in QRS or Qlik Cloud, or User when it has none
	Email        string
	Access       string // "professional access", "analyzer access" or "user pass"
	LicenseType  string // as in the metrics: professional, analyzer, token_user
	DaysInactive int
	NeverUsed    bool
	LastUsed     string // the last use (or the allocation or assignment, when never used) as a date
	// UnusedSince: a Qlik Cloud user with no use in the consumption the tenant kept for the
	// tool; LastUsed is then the start of that consumption (the last use, if any, is older)
	// and DaysInactive a lower bound.
	UnusedSince   bool
	ThresholdDays int
	NoticeDays    int
	ReleaseDate   string // the first run at or after the end of the notice period
	ReleaseTime   time.Time
	ReplyTo       string
}

// digestLine is one allocation in the administrators' digest.
type digestLine struct {
	User, Access, Date string
}

// digestData is what the digest template sees.
type digestData struct {
	Site, RunID, Time                       string
	Noticed, Released, Coming, NoticeFailed []digestLine
}

// Notifier renders and sends a site's notices and digest and keeps their dates honest:
// the date a notice gives is the first scheduled run at or after the end of the notice
// period, and that is the run that releases.
type Notifier struct {
	Settings *siteconfig.Notices
	Mailer   Mailer
	Location *time.Location
	Schedule cron.Schedule // nil: runs are started by hand or at start
	// StatePath is the notice state file (siteconfig.Sidecar.NoticeFile).
	StatePath string

	subject, text, digest *template.Template
	html                  *htmltemplate.Template
	textKey, htmlKey      string // where the templates came from, for errors
}

// NewNotifier parses the templates and renders them once with sample data, so that a
// template error is a configuration error at start, never at send time.
func NewNotifier(st *siteconfig.Sidecar, mailer Mailer) (*Notifier, error) {
	n := &Notifier{Settings: st.Notices, Mailer: mailer, Location: st.Location, Schedule: st.Schedule, StatePath: st.NoticeFile()}
	s := st.Notices
	var err error
	subject := s.Subject
	if subject == "" {
		subject = defaultNoticeSubject
	}
	if n.subject, err = template.New("subject").Option("missingkey=error").Parse(subject); err != nil {
		return nil, fmt.Errorf("release.notice.subject: %w", err)
	}
	text, textKey := s.TextTemplate, "release.notice.text_template = "+s.TextTemplateFile
	if text == "" {
		text, textKey = builtin("notice.txt.tmpl"), "built-in notice.txt.tmpl"
	}
	if n.text, err = template.New("text").Option("missingkey=error").Parse(text); err != nil {
		return nil, fmt.Errorf("%s: %w", textKey, err)
	}
	html, htmlKey := s.HTMLTemplate, "release.notice.html_template = "+s.HTMLTemplateFile
	if html == "" {
		html, htmlKey = builtin("notice.html.tmpl"), "built-in notice.html.tmpl"
	}
	if n.html, err = htmltemplate.New("html").Option("missingkey=error").Parse(html); err != nil {
		return nil, fmt.Errorf("%s: %w", htmlKey, err)
	}
	n.textKey, n.htmlKey = textKey, htmlKey
	if n.digest, err = template.New("digest").Parse(builtin("digest.txt.tmpl")); err != nil {
		return nil, fmt.Errorf("built-in digest.txt.tmpl: %w", err)
	}
	sample := NoticeData{
		Site: "site", User: `DIR\user`, Name: "A User", Email: "user@example.com", Access: "professional access",
		LicenseType: "professional", DaysInactive: 95, LastUsed: "1 January 2026", ThresholdDays: 90, NoticeDays: 14,
		ReleaseDate: "Monday 19 January 2026 at 03:00 CET", ReleaseTime: time.Now(), ReplyTo: "licenses@example.com",
	}
	if _, err := n.Render(sample); err != nil {
		return nil, err
	}
	if _, err := n.renderDigest(digestData{Noticed: []digestLine{{"a", "b", "c"}}}); err != nil {
		return nil, err
	}
	return n, nil
}

func builtin(name string) string {
	b, err := templateFS.ReadFile("templates/" + name)
	if err != nil {
		panic("notices: built-in template " + name + " is missing: " + err.Error())
	}
	return string(b)
}

// ReleaseDate is when an allocation noticed at noticed is released: the first scheduled
// run at or after the end of the notice period (without a schedule, the end itself,
// rounded up to the minute).
func (n *Notifier) ReleaseDate(noticed time.Time, days int) time.Time {
	end := noticed.Add(time.Duration(days) * 24 * time.Hour)
	if n.Schedule == nil {
		if r := end.Truncate(time.Minute); !r.Equal(end) {
			return r.Add(time.Minute)
		}
		return end
	}
	return n.Schedule.Next(end.In(n.Location).Add(-time.Nanosecond))
}

// formatDate writes an instant as people read it, in the site's time zone.
func (n *Notifier) formatDate(t time.Time) string {
	return t.In(n.Location).Format("Monday 2 January 2006 at 15:04 MST")
}

func (n *Notifier) formatDay(t time.Time) string { return t.In(n.Location).Format("2 January 2006") }

// Render builds a notice.
func (n *Notifier) Render(d NoticeData) (Message, error) {
	m := Message{To: []string{d.Email}}
	var b bytes.Buffer
	if err := n.subject.Execute(&b, d); err != nil {
		return m, fmt.Errorf("release.notice.subject: %w", err)
	}
	m.Subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := n.text.Execute(&b, d); err != nil {
		return m, fmt.Errorf("%s: %w", n.textKey, err)
	}
	m.Text = b.String()
	b.Reset()
	if err := n.html.Execute(&b, d); err != nil {
		return m, fmt.Errorf("%s: %w", n.htmlKey, err)
	}
	m.HTML = b.String()
	return m, nil
}

func (n *Notifier) renderDigest(d digestData) (Message, error) {
	var b bytes.Buffer
	if err := n.digest.Execute(&b, d); err != nil {
		return Message{}, fmt.Errorf("the digest template: %w", err)
	}
	return Message{
		To:      n.Settings.DigestTo,
		Subject: fmt.Sprintf("Qlik Sense licenses on %s: %d noticed, %d released, %d coming", d.Site, len(d.Noticed), len(d.Released), len(d.Coming)),
		Text:    b.String(),
	}, nil
}

// noticeData describes one plan item for its notice.
func (n *Notifier) noticeData(site string, it *plan.Item, thresholdDays, noticeDays int, release time.Time) NoticeData {
	h := &it.Holder
	name := h.Name
	if h.UserName != "" {
		name = h.UserName
	}
	last := notice.Episode(h.LastUsed, h.Created)
	if !h.NoUseSince.IsZero() {
		last = h.NoUseSince
	}
	return NoticeData{
		Site: site, User: h.Name, Name: name, Email: it.Email, Access: accessName(it.Type), LicenseType: it.Type.LicenseType(),
		DaysInactive: int(it.Decision.Inactivity.Hours() / 24), NeverUsed: it.Decision.NeverUsed, LastUsed: n.formatDay(last), UnusedSince: !h.NoUseSince.IsZero(),
		ThresholdDays: thresholdDays, NoticeDays: noticeDays, ReleaseDate: n.formatDate(release), ReleaseTime: release.In(n.Location),
		ReplyTo: n.Settings.Mail.ReplyTo,
	}
}

// accessName is the name of an allocation type in a sentence to its user.
func accessName(t qrs.AccessType) string {
	switch t {
	case qrs.Professional:
		return "professional access"
	case qrs.Analyzer:
		return "analyzer access"
	case qrs.UserPass:
		return "user pass"
	}
	return string(t)
}
