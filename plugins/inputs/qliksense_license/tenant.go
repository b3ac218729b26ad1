package qliksense_license

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// tenantClient is what a tenant's gather reads; *qcloud.Client satisfies it.
type tenantClient interface {
	evaluate.TenantSource
	Overview(ctx context.Context) (*qcloud.Overview, error)
	Stats() qcloud.Stats
}

// tenantSource reads a Qlik Cloud tenant: the overview, the assignments with their users,
// and the consumption, incrementally (the UseBook keeps the last use between gathers, so
// a gather reads only the events since the last one).
type tenantSource struct {
	q *QlikSenseLicense
	c tenantClient

	mu       sync.Mutex // gathers do not overlap; this keeps a stray one from racing
	book     evaluate.UseBook
	overview *qcloud.Overview // of the current gather; nil when it could not be read
	events   int64
}

func (t *tenantSource) requests() requestStats {
	st := t.c.Stats()
	return requestStats{requests: st.Requests, retries: st.Retries, throttled: st.Throttled}
}

func (t *tenantSource) health(f map[string]any, before, after requestStats) {
	f["throttled"] = after.throttled - before.throttled
	f["consumption_events"] = t.events
}

// licenses reads the overview and reports its validity as qlik_sense_server_license;
// qlik_sense_license is reported with the assignments (holders), which count them.
func (t *tenantSource) licenses(ctx context.Context, g *gathering) []qrs.AccessType {
	ov, err := t.c.Overview(ctx)
	t.overview = ov
	if err != nil {
		t.overview = nil
		g.acc.AddError(fmt.Errorf("reading the license overview: %w", err))
		return policy.TenantTypes
	}
	g.acc.AddFields(MeasurementServerLicense, tenantLicenseFields(ov, g.start), g.tags(), g.ts)
	if a, ok := ov.Allotment(qcloud.AnalyzerTime); ok {
		f := map[string]any{
			"enabled":           true,
			"allocated_minutes": float64(a.Units),
			"used_minutes":      float64(a.UnitsUsed),
		}
		if a.Overage >= 0 {
			f["overage_minutes"] = float64(a.Overage)
		}
		g.acc.AddFields(MeasurementLicense, f, g.tags("license_type", "analyzer_capacity"), g.ts)
	}
	return policy.TenantTypes
}

// tenantLicenseFields: qlik_sense_server_license from the overview's validity.
func tenantLicenseFields(ov *qcloud.Overview, now time.Time) map[string]any {
	f := map[string]any{"license_expired": ov.Expired(now)}
	if !ov.ValidTo.IsZero() {
		f["expiry_date"] = ov.ValidTo.UTC().Format(time.RFC3339)
		f["days_until_expiry"] = ov.ValidTo.Sub(now).Hours() / 24
	}
	return f
}

// holders reads the consumption since the last gather, then the assignments and their
// users, and reports per type: qlik_sense_license (units, assignments), the inactivity
// buckets and the reclaimable assignments.
func (t *tenantSource) holders(ctx context.Context, g *gathering, types []qrs.AccessType) {
	q := g.q
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = 0
	useErr := t.book.Refresh(ctx, t.c, g.start, evaluate.UseWindow(q.policy))
	if useErr != nil {
		g.acc.AddError(fmt.Errorf("reading license consumption: %w", useErr))
	} else {
		t.events = int64(t.book.Events)
	}
	bucketsOf := map[qrs.AccessType]*buckets{}
	excess := map[qrs.AccessType]int64{}
	for _, ty := range types {
		bucketsOf[ty] = newBuckets(q.InactivityBuckets)
	}
	waiting := q.noticeCounter(g.acc, g.start)
	opts := evaluate.TenantOptions{Now: g.start, Uses: t.book.LastUse, UsesFrom: t.book.From, Decided: waiting.tenantHook(),
		Observe: func(a *policy.Assignment, exc bool) {
			if exc {
				excess[a.Type]++
			}
			d, never := a.Inactivity(g.start)
			bucketsOf[a.Type].count(false, never, d)
		},
	}
	if useErr == nil {
		opts.Policy = q.policy // without the last use nothing is decided
	}
	res, err := evaluate.Tenant(ctx, t.c, opts)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		g.acc.AddError(err)
	}
	for _, ty := range types {
		var r *evaluate.TenantTypeResult
		if res != nil {
			r = res.ByType[ty]
		}
		if f := t.licenseFields(ty, r, excess[ty]); f != nil {
			g.acc.AddFields(MeasurementLicense, f, g.tags("license_type", ty.LicenseType()), g.ts)
		}
		if r == nil {
			continue
		}
		g.counted += r.Assignments
		if useErr == nil {
			g.acc.AddFields(MeasurementInactivity, bucketsOf[ty].fields(), g.tags("license_type", ty.LicenseType()), g.ts)
		}
		if r.Reasons != nil {
			days, _ := q.policy.Enabled(ty)
			f := reclaimableFields(q.policy, r.Reasons, days)
			waiting.addFields(f, ty)
			if g.reclaimable == nil {
				g.reclaimable = map[string]int{}
			}
			g.reclaimable[ty.LicenseType()] = policy.Reclaimable(r.Reasons)
			g.acc.AddFields(MeasurementReclaimable, f, g.tags("license_type", ty.LicenseType()), g.ts)
		}
	}
}

// licenseFields is qlik_sense_license of one type, with the site's field names: total =
// the allotment's units, allocated = the assignments read (the overview's unitsUsed when
// they could not be read), available = what is left, excess = the assignments beyond the
// units; nil when neither the overview nor the assignments were read. enabled, total and
// available come from the overview only.
func (t *tenantSource) licenseFields(ty qrs.AccessType, r *evaluate.TenantTypeResult, excess int64) map[string]any {
	var (
		a  qcloud.Allotment
		on bool
	)
	if t.overview != nil {
		a, on = t.overview.Allotment(string(ty))
	}
	if t.overview == nil && r == nil {
		return nil
	}
	if !on && (r == nil || r.Assignments == 0) {
		return map[string]any{"enabled": false}
	}
	allocated := a.UnitsUsed
	if r != nil {
		allocated = int64(r.Assignments)
	} else {
		excess = max(0, a.UnitsUsed-a.Units)
	}
	f := map[string]any{
		"allocated": float64(allocated), "used": float64(allocated), "excess": float64(excess),
		"quarantined": float64(0),
	}
	if t.overview != nil { // without it, whether the tenant has the allotment is unknown
		f["enabled"] = on
		f["total"] = float64(a.Units)
		f["available"] = float64(max(0, a.Units-allocated))
		if a.Overage >= 0 && on {
			f["overage"] = float64(a.Overage)
		}
	}
	return f
}
