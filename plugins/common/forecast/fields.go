package forecast

import (
	"fmt"
	"math"
	"time"
)

// DateCapYears is how far ahead a date is given: a trend that reaches its line later than
// this says "not within 10 years" (NotWithin) instead of a date — a slow trend's day
// decades away is no date anyone can act on, and no time.Time arithmetic overflows.
const DateCapYears = 10

// NotWithin is the text of a date beyond DateCapYears.
var NotWithin = fmt.Sprintf("not within %d years", DateCapYears)

// Date is the calendar day days after made (UTC; a fraction of a day counts from made's
// time of day), and false beyond DateCapYears.
func Date(made time.Time, days float64) (string, bool) {
	made = made.UTC()
	limit := made.AddDate(DateCapYears, 0, 0)
	if math.IsNaN(days) || math.Abs(days) > limit.Sub(made).Hours()/24 {
		return NotWithin, false
	}
	whole := math.Floor(days)
	at := made.AddDate(0, 0, int(whole)).Add(time.Duration((days - whole) * float64(24*time.Hour)))
	return at.Format(time.DateOnly), true
}

// Fields are the fields of the plugin's qlik_sense_license_forecast point for a forecast
// made at made; the sidecar's forecast report shows the same. Dates that do not come are
// absent; a date beyond DateCapYears is NotWithin (its days stay the number they are); a
// forecast that could not be made has its status and history_days only.
func (r Result) Fields(p Params, made time.Time) map[string]any {
	f := map[string]any{
		"status": string(r.Status), "history_days": int64(r.HistoryDays),
		"margin_percent": p.MarginPercent, "lead_time_days": int64(p.LeadTimeDays), "horizon_days": int64(p.HorizonDays),
	}
	if r.Status != OK {
		return f
	}
	f["trend"] = string(r.Trend)
	f["pool"], f["held_now"], f["available"] = r.Pool, r.HeldNow, r.Available
	f["growth_per_day"], f["growth_low"], f["growth_high"] = r.GrowthPerDay, r.GrowthLow, r.GrowthHigh
	f["seats_to_buy"], f["reclaimable"], f["reclaimable_days"] = int64(r.SeatsToBuy), int64(r.Reclaimable), r.ReclaimableDays
	f["fit_residual_seats"], f["lag_days"], f["steps_removed"] = r.FitResidualSeats, int64(r.LagDays), int64(r.StepsRemoved)
	day := func(days float64) string {
		d, _ := Date(made, days)
		return d
	}
	if d := r.DaysToExhaustion; d != nil {
		f["days_to_exhaustion"], f["exhaustion_date"] = *d, day(*d)
	}
	if d := r.DaysToMargin; d != nil {
		f["days_to_margin"], f["margin_date"] = *d, day(*d)
	}
	if d := r.BuyByDays; d != nil {
		f["buy_by_days"], f["buy_by_date"] = *d, day(*d)
	}
	return f
}
