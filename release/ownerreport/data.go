// Package ownerreport is the license report the owner reads: one self-contained HTML page
// per site (inline CSS and SVG, no script, no external resource) and its plain-text twin
// for the mail. It renders what the sidecar's other reports compute — the forecast
// (release/report's Forecast), the plan (release/plan), right-sizing (plugins/common/
// rightsize), the audit log's period (release/audit) — and computes none of it again.
package ownerreport

import (
	"slices"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// Data is everything a report shows, each part with when it was read or why it could
// not be. A part that is nil with a nil error is not configured.
type Data struct {
	Site       string
	Tenant     bool // a Qlik Cloud tenant: its license is CloudLicense, right-sizing does not apply
	Made       time.Time
	PeriodDays int // the audit period: the last PeriodDays before Made
	ChartDays  int // the charts' history window
	Loc        *time.Location

	// Pools: the license's seats per type (QRS's access type overview, or a tenant's
	// allotments), read at PoolsRead.
	Pools     []Pool
	PoolsRead time.Time
	PoolsErr  error
	// License: the server license (QRS), read at LicenseRead; for a tenant CloudLicense.
	License      *qrs.License
	CloudLicense *CloudLicense
	LicenseRead  time.Time
	LicenseErr   error
	// Forecast (Made is when the history was read) and the history it was made of, by
	// license_type.
	Forecast    *report.Forecast
	History     map[string][]forecast.Day
	ForecastErr error
	// Plan: what a run would do now (its Now is when QRS was read).
	Plan    *plan.Plan
	PlanErr error
	// Rightsize: professional holders who only consume (its Now is when QRS was read).
	Rightsize    *rightsize.Result
	RightsizeErr error
	// Audit: what the runs of the period did, from the audit log read at AuditRead.
	Audit     *audit.Period
	AuditRead time.Time
	AuditErr  error
}

// CloudLicense is a Qlik Cloud tenant's license as its overview says.
type CloudLicense struct {
	Product, Status string
	ValidTo         time.Time // the first instant it is no longer valid; zero: open
	Expired         bool
}

// Pool is one license type's seats.
type Pool struct {
	Type                                     qrs.AccessType
	Total, Allocated, Quarantined, Available int64
}

// Held is what the forecast counts: allocated plus quarantined (quarantine holds the seat).
func (p Pool) Held() int64 { return p.Allocated + p.Quarantined }

// PoolsOf are the professional and analyzer pools of an overview (the types the license
// enables).
func PoolsOf(ov *qrs.AccessTypeOverview) []Pool {
	var out []Pool
	for _, x := range []struct {
		t qrs.AccessType
		d qrs.AccessDetails
	}{{qrs.Professional, ov.ProfessionalAccess}, {qrs.Analyzer, ov.AnalyzerAccess}} {
		if x.d.Enabled || x.d.Total > 0 {
			out = append(out, Pool{Type: x.t, Total: x.d.Total, Allocated: x.d.Allocated, Quarantined: x.d.Quarantined, Available: x.d.Available})
		}
	}
	return out
}

// typeName is a license_type or access type as the owner reads it.
func typeName(t string) string {
	switch t {
	case "professional":
		return "Professional"
	case "analyzer":
		return "Analyzer"
	case "user_pass", "token_user":
		return "User pass"
	}
	return t
}

// licenseTypes are the types the report has a section for: the pools', then the
// forecast's, in that order.
func (d *Data) licenseTypes() []string {
	var out []string
	for _, p := range d.Pools {
		out = append(out, p.Type.LicenseType())
	}
	if d.Forecast != nil {
		for _, t := range []string{"professional", "analyzer"} {
			if _, ok := d.Forecast.Results[t]; ok && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func (d *Data) pool(t string) (Pool, bool) {
	for _, p := range d.Pools {
		if p.Type.LicenseType() == t {
			return p, true
		}
	}
	return Pool{}, false
}

// window is the history of a type within the chart window, in order.
func (d *Data) window(t string) []forecast.Day {
	from := d.Made.AddDate(0, 0, -d.ChartDays)
	var out []forecast.Day
	for _, day := range d.History[t] {
		if !day.Date.Before(from) && !day.Date.After(d.Made) {
			out = append(out, day)
		}
	}
	slices.SortFunc(out, func(a, b forecast.Day) int { return a.Date.Compare(b.Date) })
	return out
}

// Reclaim is what the plan would reclaim now: by verdict (release at the next run,
// deferred by the cap, notice to send, waiting out a notice) and by reason.
type Reclaim struct {
	Release, Deferred, Notice, Waiting int
	Reasons                            map[policy.Reason]int
}

// Total is every allocation the plan would reclaim, now or after its notice.
func (r Reclaim) Total() int { return r.Release + r.Deferred + r.Notice + r.Waiting }

// ReclaimOf counts the plan's verdicts (its Totals) and the reasons of the allocations
// it would reclaim.
func ReclaimOf(p *plan.Plan) Reclaim {
	r := Reclaim{Reasons: map[policy.Reason]int{}}
	for _, t := range p.Totals {
		r.Release += t.Release
		r.Deferred += t.Deferred
		r.Notice += t.Notice
		r.Waiting += t.Waiting
	}
	for _, it := range p.Items {
		switch it.Decision.Verdict {
		case policy.Release, policy.Deferred, policy.Notice, policy.Waiting:
			r.Reasons[it.Decision.Reason]++
		}
	}
	return r
}

// loc is the zone the report's dates are in (UTC unless set).
func (d *Data) loc() *time.Location {
	if d.Loc == nil {
		return time.UTC
	}
	return d.Loc
}

func (d *Data) inLoc(t time.Time) time.Time { return t.In(d.loc()) }
