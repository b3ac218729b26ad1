package ownerreport

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// view is Data as the templates show it (HTML and text alike).
type view struct {
	Title, Site, Made, From, To string
	Types                       []typeView
	Did                         []string // what the runs of the period did
	DidErr                      string
	Now                         []string // what the policy can reclaim now
	NowErr                      string
	Rightsize                   string
	RightsizeErr                string
	Attention                   []string // failures that need a person
	License                     string
	LicenseTitle                string // "Server license", or a tenant's
	LicenseTitleText            string // the same in the text part's capitals
	Fresh                       []fresh
}

type typeView struct {
	Name, Answer, Basis string
	HasPool             bool
	Pool                Pool
	Chart               template.HTML
	NoChart             string // why there is no chart
}

type fresh struct{ What, When string }

func (d *Data) stamp(t time.Time) string { return d.inLoc(t).Format("2 Jan 2006 15:04 MST") }

func errText(err error) string { return err.Error() }

func (d *Data) view() *view {
	v := &view{Site: d.Site, Made: d.stamp(d.Made), Title: "Qlik Sense licenses of " + d.Site,
		From: d.inLoc(d.Made.AddDate(0, 0, -d.PeriodDays)).Format("2 Jan 2006"), To: d.inLoc(d.Made).Format("2 Jan 2006")}
	for _, t := range d.licenseTypes() {
		tv := typeView{Name: typeName(t)}
		tv.Pool, tv.HasPool = d.pool(t)
		c := &chart{Type: t, Days: d.window(t), Made: d.Made, ChartDays: d.ChartDays, Loc: d.loc(), Params: forecast.DefaultParams, Pool: float64(tv.Pool.Total)}
		switch {
		case d.Forecast != nil:
			c.Params = d.Forecast.Params
			if r, ok := d.Forecast.Results[t]; ok {
				c.Result = &r
				tv.Answer, tv.Basis = Answer(t, r, d.Forecast.Params, d.Forecast.Made), Basis(r, d.Forecast.Params, d.Forecast.Made)
			} else {
				tv.Answer = tv.Name + ": no forecast: the history has no " + t + " points."
			}
		case d.ForecastErr != nil:
			tv.Answer = tv.Name + ": no forecast: " + errText(d.ForecastErr) + "."
		default:
			tv.Answer = tv.Name + ": no forecast: no [inputs.qliksense_license.forecast] table says where the history is."
		}
		if len(c.Days) > 0 {
			tv.Chart = template.HTML(c.svg()) // #nosec: built from numbers, and names escaped
		} else {
			tv.NoChart = "No history to draw."
		}
		v.Types = append(v.Types, tv)
	}
	d.viewAudit(v)
	d.viewPlan(v)
	switch {
	case d.Tenant:
		v.Rightsize = "Not applicable to a Qlik Cloud tenant: right-sizing reads a Qlik Sense site's apps and their use."
	case d.Rightsize != nil:
		n := d.Rightsize.Totals()["analyzer_candidates"]
		v.Rightsize = fmt.Sprintf("%d of %d professional holders only consume (no authoring in the window since %s): moving them to analyzer access would free %s of the professional pool.",
			n, len(d.Rightsize.Holders), d.inLoc(d.Rightsize.Since).Format("2 Jan 2006"), seats(n))
	case d.RightsizeErr != nil:
		v.RightsizeErr = errText(d.RightsizeErr)
	}
	d.viewLicense(v)
	d.viewFresh(v)
	return v
}

func (d *Data) viewAudit(v *view) {
	a := d.Audit
	if a == nil {
		if d.AuditErr != nil {
			v.DidErr = errText(d.AuditErr)
		} else {
			v.DidErr = "no release table: the sidecar keeps no audit log for this site"
		}
		return
	}
	runs := fmt.Sprintf("%d runs", a.Runs)
	if a.Runs == 1 {
		runs = "1 run"
	}
	if !a.LastRun.IsZero() {
		runs += ", the last on " + d.stamp(a.LastRun)
	}
	if a.First.IsZero() || a.First.After(a.From) {
		begins := "has no record yet"
		if !a.First.IsZero() {
			begins = "begins on " + d.stamp(a.First)
		}
		v.Did = append(v.Did, "The audit log "+begins+": only what it holds is counted (a new install, or a rotated file)")
	}
	v.Did = append(v.Did, runs)
	line := fmt.Sprintf("Reclaimed: %d (%d released, %d quarantined by QRS until their seat frees)", a.Reclaimed(), a.Results[audit.Released], a.Results[audit.Quarantined])
	if rs := counts(a.Reasons); rs != "" {
		line += "; by reason: " + rs
	}
	v.Did = append(v.Did, line)
	if n := a.Results[audit.DryRun]; n > 0 {
		v.Did = append(v.Did, fmt.Sprintf("Dry run: %d would have been released", n))
	}
	v.Did = append(v.Did, fmt.Sprintf("Notices sent: %d (%d refused by the mail server)", a.Results[audit.Noticed], a.Results[audit.NoticeFailed]))
	v.Did = append(v.Did, fmt.Sprintf("Moves to analyzer: %d (%d failed, %d undone, %d in dry run)", a.Results[audit.Moved], a.Results[audit.MoveFailed], a.Results[audit.MoveUndone], a.Results[audit.DryRunMove]))
	failures := a.Failures
	if n := len(failures) - maxFailures; n > 0 { // the latest; a mail of thousands of lines is read by nobody
		v.Attention = append(v.Attention, fmt.Sprintf("%d failures of the period; the latest %d follow, the rest are in the audit log", len(failures), maxFailures))
		failures = failures[n:]
	}
	for _, o := range failures {
		v.Attention = append(v.Attention, fmt.Sprintf("%s: %s %s of %s (%s): %s", d.stamp(o.Time), o.Result, o.Type, o.User, o.AllocationID, o.Detail))
	}
	for _, e := range a.Errors {
		v.Attention = append(v.Attention, fmt.Sprintf("%d run(s) reported: %s", e.Runs, e.Error))
	}
}

// maxFailures is how many of the period's failed outcomes the report lists.
const maxFailures = 20

// counts is "inactive 3, user_inactive 1", largest first.
func counts[K ~string](m map[K]int) string {
	keys := make([]K, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b K) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(string(a), string(b))
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (d *Data) viewPlan(v *view) {
	p := d.Plan
	if p == nil {
		if d.PlanErr != nil {
			v.NowErr = errText(d.PlanErr)
		} else {
			v.NowErr = "no release policy ([inputs.qliksense_license.release]) for this site"
		}
		return
	}
	r := ReclaimOf(p)
	line := fmt.Sprintf("%s: %d at the next run, %d beyond max_releases_per_run (%d), %d to be noticed, %d waiting out their notice",
		plural(r.Total(), "allocation"), r.Release, r.Deferred, p.MaxReleasesPerRun, r.Notice, r.Waiting)
	if p.DryRun {
		line += " (dry_run is on: nothing is released until it is off)"
	}
	v.Now = append(v.Now, line)
	if rs := counts(r.Reasons); rs != "" {
		v.Now = append(v.Now, "By reason: "+rs)
	}
	var types []string
	for _, t := range p.Totals {
		types = append(types, fmt.Sprintf("%s %d of %d", t.Type, t.Release+t.Deferred+t.Notice+t.Waiting, t.Considered))
	}
	if len(types) > 0 {
		v.Now = append(v.Now, "By type: "+strings.Join(types, ", "))
	}
	kept := map[policy.Reason]int{}
	for _, t := range p.Totals {
		for k, n := range t.Kept {
			kept[k] += n
		}
	}
	if ks := counts(kept); ks != "" {
		v.Now = append(v.Now, "Kept: "+ks)
	}
	for _, err := range p.Errors {
		v.Attention = append(v.Attention, "The plan could not read: "+err.Error())
	}
}

func (d *Data) viewLicense(v *view) {
	v.LicenseTitle = "Server license"
	if d.Tenant {
		v.LicenseTitle = "Tenant license"
	}
	v.LicenseTitleText = strings.ToUpper(v.LicenseTitle)
	if d.Tenant {
		d.viewCloudLicense(v)
		return
	}
	l := d.License
	switch {
	case l == nil && d.LicenseErr != nil:
		v.License = "Not read: " + errText(d.LicenseErr)
		return
	case l == nil:
		v.License = "Not read."
		return
	}
	raw, t, ok := qrs.ParseValidTo(l.KeyDetails)
	switch {
	case l.IsExpired:
		v.License = "EXPIRED"
		if l.ExpiredReason != "" {
			v.License += " (" + l.ExpiredReason + ")"
		}
		v.Attention = append(v.Attention, "The server license has expired.")
	case ok:
		d.viewValidTo(v, t, "server license")
	case raw != "":
		v.License = "Valid to " + raw + " (as the license key says)"
	default:
		v.License = "No expiry date in the license key (a perpetual license)."
	}
	if l.Serial != "" {
		v.License += "; serial " + l.Serial
	}
}

// viewCloudLicense is a tenant's license: its overview's status and valid interval.
func (d *Data) viewCloudLicense(v *view) {
	l := d.CloudLicense
	switch {
	case l == nil && d.LicenseErr != nil:
		v.License = "Not read: " + errText(d.LicenseErr)
		return
	case l == nil:
		v.License = "Not read."
		return
	case l.Expired:
		v.License = "EXPIRED"
		if !l.ValidTo.IsZero() {
			v.License += " (valid to " + lastValid(l.ValidTo).Format("2 January 2006") + ")"
		}
		v.Attention = append(v.Attention, "The tenant's license has expired.")
	case !l.ValidTo.IsZero():
		d.viewValidTo(v, lastValid(l.ValidTo), "tenant license")
	default:
		v.License = "No end in the license's valid interval."
	}
	if l.Product != "" {
		v.License += "; " + l.Product
	}
	if l.Status != "" && !l.Expired {
		v.License += " (status " + l.Status + ")"
	}
}

// lastValid is the last instant a license whose validity ends at end (the first instant
// no longer valid) is valid, in UTC: a date-only end "2027-12-31" is 31 December 2027.
func lastValid(end time.Time) time.Time { return end.Add(-time.Nanosecond).UTC() }

// viewValidTo says how far away the end of a license is, and asks for attention within
// 60 days of it.
func (d *Data) viewValidTo(v *view, t time.Time, what string) {
	days := int(math.Round(t.Sub(d.LicenseRead).Hours() / 24))
	on := t.Format("2 January 2006")
	switch {
	case days < 0:
		v.License = fmt.Sprintf("Valid to %s: passed %s ago", on, plural(-days, "day"))
		v.Attention = append(v.Attention, fmt.Sprintf("The %s's Valid To date (%s) has passed.", what, on))
	default:
		v.License = fmt.Sprintf("Valid to %s: %s from now", on, plural(days, "day"))
		if days < 60 {
			v.Attention = append(v.Attention, fmt.Sprintf("The %s expires in %s (%s).", what, plural(days, "day"), on))
		}
	}
}

func (d *Data) viewFresh(v *view) {
	add := func(what string, at time.Time, err error, configured bool) {
		switch {
		case err != nil:
			v.Fresh = append(v.Fresh, fresh{what, "not read: " + errText(err)})
		case !configured:
			v.Fresh = append(v.Fresh, fresh{what, "not configured"})
		default:
			v.Fresh = append(v.Fresh, fresh{what, d.stamp(at)})
		}
	}
	src, pools, lic := "QRS", "QRS access type overview", "Server license (QRS)"
	if d.Tenant {
		src, pools, lic = "Qlik Cloud", "the tenant's license overview", "Tenant license (Qlik Cloud)"
	}
	add("Seats per type ("+pools+")", d.PoolsRead, d.PoolsErr, d.Pools != nil || d.PoolsErr == nil)
	var fm time.Time
	if d.Forecast != nil {
		fm = d.Forecast.Made
	}
	add("Forecast and its history (InfluxDB)", fm, d.ForecastErr, d.Forecast != nil)
	if d.Forecast != nil {
		var last time.Time
		for _, days := range d.History {
			for _, day := range days {
				if day.Date.After(last) {
					last = day.Date
				}
			}
		}
		if !last.IsZero() {
			v.Fresh = append(v.Fresh, fresh{"Latest day in the history", d.inLoc(last).Format("2 Jan 2006")})
		}
	}
	var pn, rn time.Time
	if d.Plan != nil {
		pn = d.Plan.Now
	}
	if d.Rightsize != nil {
		rn = d.Rightsize.Now
	}
	add("Release plan ("+src+")", pn, d.PlanErr, d.Plan != nil)
	if d.Tenant {
		v.Fresh = append(v.Fresh, fresh{"Right-sizing", "not applicable to a Qlik Cloud tenant"})
	} else {
		add("Right-sizing (QRS)", rn, d.RightsizeErr, d.Rightsize != nil)
	}
	add("Audit log of the period", d.AuditRead, d.AuditErr, d.Audit != nil)
	add(lic, d.LicenseRead, d.LicenseErr, d.License != nil || d.CloudLicense != nil)
}
