package forecast

import "time"

// Fields are the fields of the plugin's qlik_sense_license_forecast point for a forecast
// made at made; the sidecar's forecast report shows the same. Dates that do not come are
// absent; a forecast that could not be made has its status and history_days only.
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
		return made.UTC().Add(time.Duration(days * 24 * float64(time.Hour))).Format(time.DateOnly)
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
