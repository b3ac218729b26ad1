package qliksense_license

import (
	"context"
	"fmt"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
)

// gatherRightsizing reports qlik_sense_license_rightsizing when [rightsize] is enabled.
// The authoring evidence changes slowly and costs a few requests, so it is read again
// only after rightsize.refresh; in between the last pass is reported. A failed pass is
// an error and reports nothing.
func (q *QlikSenseLicense) gatherRightsizing(ctx context.Context, acc telegraf.Accumulator, tags map[string]string, ts time.Time) {
	rs := q.rightsize
	if rs == nil || !rs.Enabled {
		return
	}
	now := q.now()
	if q.sized == nil || now.Sub(q.sizedAt) >= rs.Refresh {
		res, err := rightsize.Evaluate(ctx, q.client, rightsize.Options{Now: now, LookbackDays: rs.LookbackDays, Policy: q.policy})
		if err != nil {
			q.sized = nil
			acc.AddError(fmt.Errorf("right-sizing: %w", err))
			return
		}
		q.sized, q.sizedAt = res, now
	}
	acc.AddFields(MeasurementRightsizing, rightsizingFields(q.sized, rs.LookbackDays), tags, ts)
}

// rightsizingFields are the fields of qlik_sense_license_rightsizing for a pass: its
// Totals (the rightsize command's too), the window and the requests it took.
func rightsizingFields(r *rightsize.Result, lookbackDays int) map[string]any {
	f := map[string]any{"lookback_days": int64(lookbackDays), "qrs_requests": r.Requests}
	for k, v := range r.Totals() {
		f[k] = int64(v)
	}
	return f
}
