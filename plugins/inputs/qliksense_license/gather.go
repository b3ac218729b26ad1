package qliksense_license

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Measurement names.
const (
	MeasurementLicense       = "qlik_sense_license"
	MeasurementServerLicense = "qlik_sense_server_license"
	MeasurementInactivity    = "qlik_sense_license_inactivity"
	MeasurementReclaimable   = "qlik_sense_license_reclaimable"
	MeasurementAllocation    = "qlik_sense_license_allocation"
	MeasurementGather        = "qlik_sense_license_gather"
	MeasurementRightsizing   = "qlik_sense_license_rightsizing"
)

// GatherBoundFactor bounds a whole gather: it ends after this many times `timeout` (each
// request has `timeout` of its own), so a site that answers too slowly cannot pile up
// gathers behind one another. The error then says so.
const GatherBoundFactor = 10

// countingAcc counts AddError calls for the gather health metric.
type countingAcc struct {
	telegraf.Accumulator
	errors int
}

func (c *countingAcc) AddError(err error) {
	c.errors++
	c.Accumulator.AddError(err)
}

// Gather reads the site once: the overview, the server license, each allocation list
// (streamed once), and user records only when the release policy needs them.
func (q *QlikSenseLicense) Gather(acc telegraf.Accumulator) error {
	src := q.source
	g := &gathering{q: q, start: q.now(), before: src.requests(), acc: &countingAcc{Accumulator: acc}}
	g.ts = g.start.UTC().Truncate(time.Second)
	bound := GatherBoundFactor * time.Duration(q.Timeout)
	ctx, cancel := context.WithTimeoutCause(context.Background(), bound,
		fmt.Errorf("the gather ran past its bound of %d × timeout (%s): the site answers too slowly for one interval; raise timeout", GatherBoundFactor, bound))
	defer cancel()

	types := src.licenses(ctx, g)
	src.holders(ctx, g, types)
	q.gatherRightsizing(ctx, g.acc, g.tags("license_type", qrs.Professional.LicenseType()), g.ts)
	q.gatherForecast(ctx, g.acc, g.reclaimable, g.ts)
	g.health()
	return nil
}

// gathering is one gather: its start, its accumulator and what it counted.
type gathering struct {
	q           *QlikSenseLicense
	start, ts   time.Time
	before      requestStats
	acc         *countingAcc
	users       *evaluate.Users
	counted     int            // allocations read
	reclaimable map[string]int // by license_type, for the forecast
}

// tags are the site's tag and the given pairs.
func (g *gathering) tags(kv ...string) map[string]string {
	t := map[string]string{"site": g.q.Site}
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i]] = kv[i+1]
	}
	return t
}

// licenses reports the overview and the server license, read at the same time as the
// users the release policy needs (if any); it returns the license types the site uses
// (all of them when the overview cannot be read).
func (g *gathering) licenses(ctx context.Context) []qrs.AccessType {
	q := g.q
	g.users = evaluate.PrefetchUsers(ctx, q.client, q.policy)
	var (
		lic    *qrs.License
		licErr error
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		lic, licErr = q.client.License(ctx)
	}()
	types := qrs.AccessTypes
	ov, err := q.client.AccessTypeOverview(ctx)
	wg.Wait()
	if err != nil {
		g.acc.AddError(fmt.Errorf("reading the access type overview: %w", err))
	} else {
		for _, p := range overviewPoints(ov) {
			g.acc.AddFields(MeasurementLicense, p.fields, g.tags("license_type", p.licenseType), g.ts)
		}
		types = nil
		for _, t := range qrs.AccessTypes {
			if ov.Enabled(t) {
				types = append(types, t)
			}
		}
	}
	if licErr != nil {
		g.acc.AddError(fmt.Errorf("reading the server license: %w", licErr))
	} else {
		g.acc.AddFields(MeasurementServerLicense, serverLicenseFields(lic, g.start), g.tags(), g.ts)
	}
	return types
}

// allocations streams each allocation list once and reports the inactivity buckets, the
// reclaimable allocations (with the release policy) and, when asked, one point each.
func (g *gathering) allocations(ctx context.Context, types []qrs.AccessType) {
	q := g.q
	bucketsOf := map[qrs.AccessType]*buckets{}
	for _, t := range types {
		bucketsOf[t] = newBuckets(q.InactivityBuckets)
	}
	waiting := q.noticeCounter(g.acc, g.start)
	res, err := evaluate.Site(ctx, q.client, evaluate.Options{
		Types:   types,
		Policy:  q.policy,
		Users:   g.users,
		Now:     g.start,
		Decided: waiting.hook(),
		Observe: func(t qrs.AccessType, a *qrs.Allocation) { // one goroutine per type
			d, _ := policy.Inactivity(a, g.start)
			bucketsOf[t].add(a, d)
			if q.AllocationDetails {
				g.acc.AddFields(MeasurementAllocation, detailFields(a, d), detailTags(g.tags("license_type", t.LicenseType()), a), g.ts)
			}
		},
	})
	if err != nil { // the gather's time ran out: report it, and the gather's own health
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		g.acc.AddError(fmt.Errorf("gathering allocations: %w", err))
		return
	}
	for _, t := range types {
		r := res.ByType[t]
		g.counted += r.Allocations
		if r.Err != nil {
			g.acc.AddError(fmt.Errorf("reading %s allocations: %w", t, r.Err))
			continue
		}
		g.acc.AddFields(MeasurementInactivity, bucketsOf[t].fields(), g.tags("license_type", t.LicenseType()), g.ts)
	}
	if res.UsersErr != nil {
		g.acc.AddError(res.UsersErr)
	}
	for _, t := range types {
		if r := res.ByType[t]; r.Err == nil && r.Reasons != nil {
			days, _ := q.policy.Enabled(t)
			f := reclaimableFields(q.policy, r.Reasons, days)
			if g.reclaimable == nil {
				g.reclaimable = map[string]int{}
			}
			g.reclaimable[t.LicenseType()] = policy.Reclaimable(r.Reasons)
			waiting.addFields(f, t)
			g.acc.AddFields(MeasurementReclaimable, f, g.tags("license_type", t.LicenseType()), g.ts)
		}
	}
}

// health reports the gather's own health: its duration, requests, errors, and the days
// to expiry of the certificates.
func (g *gathering) health() {
	q := g.q
	after := q.source.requests()
	health := map[string]any{
		"duration_seconds": q.now().Sub(g.start).Seconds(),
		"qrs_requests":     after.requests - g.before.requests,
		"qrs_retries":      after.retries - g.before.retries,
		"allocations":      int64(g.counted),
		"errors":           int64(g.acc.errors),
	}
	q.source.health(health, g.before, after)
	g.acc.AddFields(MeasurementGather, health, g.tags(), g.ts)
}

// source is what a gather reads: a Qlik Sense site through QRS (siteSource) or a Qlik
// Cloud tenant (tenantSource). Both report the same measurements with the same fields.
type source interface {
	// licenses reports qlik_sense_license and qlik_sense_server_license, and returns the
	// license types whose holders are read.
	licenses(ctx context.Context, g *gathering) []qrs.AccessType
	// holders reads the holders of the types and reports the inactivity buckets and, with
	// a release policy, the reclaimable holders; it adds what it read to g.counted.
	holders(ctx context.Context, g *gathering, types []qrs.AccessType)
	// requests counts the requests sent so far.
	requests() requestStats
	// health adds the source's own fields to qlik_sense_license_gather.
	health(f map[string]any, before, after requestStats)
}

// requestStats are a source's request counters.
type requestStats struct{ requests, retries, bytes, throttled int64 }

// siteSource reads a Qlik Sense site through QRS.
type siteSource struct{ q *QlikSenseLicense }

func (siteSource) licenses(ctx context.Context, g *gathering) []qrs.AccessType {
	return g.licenses(ctx)
}

func (siteSource) holders(ctx context.Context, g *gathering, types []qrs.AccessType) {
	g.allocations(ctx, types)
}

func (s siteSource) requests() requestStats {
	st := s.q.client.Stats()
	return requestStats{requests: st.Requests, retries: st.Retries, bytes: st.BytesRead}
}

func (s siteSource) health(f map[string]any, before, after requestStats) {
	q := s.q
	f["bytes_received"] = after.bytes - before.bytes
	// Certificates expire (the QMC's exports too), and an expired one silently stops
	// monitoring: their days to expiry, negative once expired, for alerts weeks ahead.
	if c := q.client.ClientCertificate(); c != nil {
		f["client_cert_days_to_expiry"] = daysUntil(c.NotAfter, q.now())
	}
	if c := q.client.ServerCertificate(); c != nil {
		f["server_cert_days_to_expiry"] = daysUntil(c.NotAfter, q.now())
	}
}

func daysUntil(t, now time.Time) float64 { return t.Sub(now).Hours() / 24 }

type point struct {
	licenseType string
	fields      map[string]any
}

// overviewPoints maps the overview to Butler's qlik_sense_license schema: the same tag
// values and snake_case field names, numbers as floats; plus an enabled field, so a
// family that is off is visible rather than missing. token_user carries used_tokens
// from userAccess.usedTokens (Butler reads a userTokens field QRS does not have).
func overviewPoints(ov *qrs.AccessTypeOverview) []point {
	details := func(d qrs.AccessDetails) map[string]any {
		return map[string]any{
			"enabled": d.Enabled, "allocated": float64(d.Allocated), "available": float64(d.Available),
			"excess": float64(d.Excess), "quarantined": float64(d.Quarantined), "total": float64(d.Total), "used": float64(d.Used),
		}
	}
	return []point{
		{qrs.Professional.LicenseType(), details(ov.ProfessionalAccess)},
		{qrs.Analyzer.LicenseType(), details(ov.AnalyzerAccess)},
		{"analyzer_capacity", map[string]any{
			"enabled":             ov.AnalyzerTimeAccess.Enabled,
			"allocated_minutes":   float64(ov.AnalyzerTimeAccess.AllocatedMinutes),
			"unavailable_minutes": float64(ov.AnalyzerTimeAccess.UnavailableMinutes),
			"used_minutes":        float64(ov.AnalyzerTimeAccess.UsedMinutes),
		}},
		{"token_login", map[string]any{
			"enabled":            ov.LoginAccess.Enabled,
			"allocated_tokens":   float64(ov.LoginAccess.AllocatedTokens),
			"token_cost":         ov.LoginAccess.TokenCost,
			"unavailable_tokens": float64(ov.LoginAccess.UnavailableTokens),
			"used_tokens":        float64(ov.LoginAccess.UsedTokens),
		}},
		{qrs.UserPass.LicenseType(), map[string]any{
			"enabled":            ov.UserAccess.Enabled,
			"allocated_tokens":   float64(ov.UserAccess.AllocatedTokens),
			"quarantined_tokens": float64(ov.UserAccess.QuarantinedTokens),
			"token_cost":         ov.UserAccess.TokenCost,
			"used_tokens":        float64(ov.UserAccess.UsedTokens),
		}},
		{"tokens_available", map[string]any{
			"enabled":          ov.TokensEnabled,
			"available_tokens": float64(ov.AvailableTokens),
			"total_tokens":     float64(ov.TotalTokens),
		}},
	}
}

// reclaimableFields: reclaimable, the threshold, and a count per reason of the policy's
// source (a site's or a tenant's).
func reclaimableFields(p *policy.Policy, counts map[policy.Reason]int, thresholdDays int) map[string]any {
	f := map[string]any{
		"reclaimable":    int64(policy.Reclaimable(counts)),
		"threshold_days": int64(thresholdDays),
	}
	for _, r := range p.KeepReasons() {
		if r == policy.ReasonTypeDisabled {
			continue
		}
		f["kept_"+string(r)] = int64(counts[r])
	}
	for _, r := range p.ReleaseReasons() {
		f["release_"+string(r)] = int64(counts[r])
	}
	return f
}

func detailTags(t map[string]string, a *qrs.Allocation) map[string]string {
	t["user_directory"], t["user_id"] = a.Holder()
	return t
}

func detailFields(a *qrs.Allocation, inactivity time.Duration) map[string]any {
	return map[string]any{
		"id":                  a.ID,
		"days_since_last_use": inactivity.Hours() / 24,
		"never_used":          !a.LastUsed.Valid(),
		"quarantined":         a.Quarantined,
		"excess":              a.Excess,
		"deleted_user":        a.User == nil,
	}
}
