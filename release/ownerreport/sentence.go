package ownerreport

import (
	"fmt"
	"math"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// date is a forecast field's date (YYYY-MM-DD, as the forecast report prints it) as the
// owner reads it: "12 March 2027".
func date(fields map[string]any, key string) (string, bool) {
	s, ok := fields[key].(string)
	if !ok {
		return "", false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s, true
	}
	return t.Format("2 January 2006"), true
}

func seats(n int) string { return plural(n, "seat") }

// plural is "1 seat", "2 seats", "0 seats".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Answer is the forecast's answer for one type in one sentence, from the same fields as
// the forecast report's ("Professional: order 40 seats by 12 March 2027 to keep 10 % free
// until December 2027").
func Answer(licenseType string, r forecast.Result, p forecast.Params, made time.Time) string {
	name := typeName(licenseType)
	switch r.Status {
	case forecast.InsufficientHistory:
		if need := max(p.MinHistoryDays, 2); r.HistoryDays < need {
			return fmt.Sprintf("%s: no forecast yet: %s of history, %d needed.", name, plural(r.HistoryDays, "day"), need)
		}
		// Enough days, but no two of them the trend's window apart (gaps).
		return fmt.Sprintf("%s: no forecast yet: the %d days of history have too many gaps to measure a trend.", name, r.HistoryDays)
	case forecast.NoPool:
		return fmt.Sprintf("%s: no forecast: the license has no %s seats.", name, licenseType)
	}
	f := r.Fields(p, made)
	until := made.UTC().AddDate(0, 0, p.HorizonDays).Format("January 2006")
	keep := fmt.Sprintf("to keep %g %% free until %s", p.MarginPercent, until)
	if r.SeatsToBuy == 0 {
		return fmt.Sprintf("%s: nothing to buy: at least %g %% of the pool stays free until %s.", name, p.MarginPercent, until)
	}
	buyBy, ok := date(f, "buy_by_date")
	switch {
	case ok && r.BuyByDays != nil && *r.BuyByDays >= 0:
		return fmt.Sprintf("%s: order %s by %s %s.", name, seats(r.SeatsToBuy), buyBy, keep)
	case ok:
		return fmt.Sprintf("%s: order %s now (the buy-by date, %s, has passed) %s.", name, seats(r.SeatsToBuy), buyBy, keep)
	}
	return fmt.Sprintf("%s: order %s now %s.", name, seats(r.SeatsToBuy), keep)
}

// Basis is what an answer rests on: the trend, the history and the dates.
func Basis(r forecast.Result, p forecast.Params, made time.Time) string {
	if r.Status != forecast.OK {
		return ""
	}
	f := r.Fields(p, made)
	s := fmt.Sprintf("Trend %s: %+.2f seats a day (80 %% of the history's %d-day windows grew between %+.2f and %+.2f); the trend's level today %.0f of %.0f, %.0f available; from %d days of history",
		r.Trend, r.GrowthPerDay, r.LagDays, r.GrowthLow, r.GrowthHigh, r.HeldNow, r.Pool, r.Available, r.HistoryDays)
	if r.StepsRemoved > 0 {
		s += fmt.Sprintf(", %d level shift(s) taken out", r.StepsRemoved)
	}
	s += "."
	if d, ok := date(f, "margin_date"); ok {
		if d == forecast.NotWithin {
			s += fmt.Sprintf(" The free seats do not fall below %g %% within %d years.", p.MarginPercent, forecast.DateCapYears)
		} else {
			s += fmt.Sprintf(" The free seats fall below %g %% on %s", p.MarginPercent, d)
			switch e, ok := date(f, "exhaustion_date"); {
			case ok && e == forecast.NotWithin:
				s += fmt.Sprintf(" and do not run out within %d years", forecast.DateCapYears)
			case ok:
				s += fmt.Sprintf(" and run out on %s", e)
			}
			s += fmt.Sprintf("; a purchase takes %s.", plural(p.LeadTimeDays, "day"))
		}
	}
	if r.Reclaimable > 0 {
		s += fmt.Sprintf(" Releasing the %s the policy would reclaim now", plural(r.Reclaimable, "allocation"))
		switch days := math.Round(r.ReclaimableDays); {
		case r.ReclaimableDays <= 0:
			s += " frees as many seats."
		case days < 1:
			s += " moves these dates by less than a day."
		default:
			s += fmt.Sprintf(" moves these dates %s later.", plural(int(days), "day"))
		}
	}
	return s
}
