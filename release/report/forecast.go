package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// Forecast is the forecast command's report of one site: per seat type, the same numbers
// as the plugin's qlik_sense_license_forecast point.
type Forecast struct {
	Site    string
	Made    time.Time
	Params  forecast.Params
	Results map[string]forecast.Result // by license_type
}

// Render writes the report as a table, JSON or CSV.
func (f *Forecast) Render(w io.Writer, format string) error {
	return render(w, format, f.table, f.json, f.csv)
}

func (f *Forecast) types() []string { return slices.Sorted(maps.Keys(f.Results)) }

func (f *Forecast) table(w io.Writer) error {
	p := f.Params
	fmt.Fprintf(w, "Forecast for site %s on %s (margin %g %%, purchase lead time %d days, horizon %d days)\n\n",
		f.Site, f.Made.UTC().Format(time.DateOnly), p.MarginPercent, p.LeadTimeDays, p.HorizonDays)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tPOOL\tHELD\tAVAILABLE\tGROWTH/DAY (10–90 %)\tTREND\tEXHAUSTED\tMARGIN REACHED\tBUY BY\tSEATS TO BUY\tRECLAIMABLE\tHISTORY")
	for _, t := range f.types() {
		r := f.Results[t]
		fl := r.Fields(p, f.Made)
		if r.Status != forecast.OK {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\t-\t-\t-\t-\t-\t%d days\n", t, r.Status, r.HistoryDays)
			continue
		}
		date := func(key, days string) string {
			d, ok := fl[key].(string)
			switch {
			case !ok:
				return "never (" + string(r.Trend) + ")"
			case d == forecast.NotWithin:
				return d
			}
			return fmt.Sprintf("%s (%.0f d)", d, fl[days])
		}
		reclaim := strconv.Itoa(r.Reclaimable)
		if r.ReclaimableDays > 0 {
			reclaim += fmt.Sprintf(" (+%.0f d)", r.ReclaimableDays)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%+.2f (%+.2f … %+.2f)\t%s\t%s\t%s\t%s\t%d\t%s\t%d days\n", t, r.Pool, r.HeldNow, r.Available,
			r.GrowthPerDay, r.GrowthLow, r.GrowthHigh, r.Trend, date("exhaustion_date", "days_to_exhaustion"), date("margin_date", "days_to_margin"),
			date("buy_by_date", "buy_by_days"), r.SeatsToBuy, reclaim, r.HistoryDays)
	}
	return tw.Flush()
}

// forecastColumns are the JSON and CSV fields, in order.
var forecastColumns = []string{"status", "history_days", "pool", "held_now", "available", "growth_per_day", "growth_low", "growth_high", "trend",
	"days_to_exhaustion", "exhaustion_date", "days_to_margin", "margin_date", "buy_by_days", "buy_by_date", "seats_to_buy",
	"reclaimable", "reclaimable_days", "fit_residual_seats", "lag_days", "steps_removed", "margin_percent", "lead_time_days", "horizon_days"}

func (f *Forecast) json(w io.Writer) error {
	type entry struct {
		Site        string         `json:"site"`
		LicenseType string         `json:"license_type"`
		Made        time.Time      `json:"made"`
		Fields      map[string]any `json:"fields"`
	}
	out := []entry{}
	for _, t := range f.types() {
		out = append(out, entry{Site: f.Site, LicenseType: t, Made: f.Made.UTC(), Fields: f.Results[t].Fields(f.Params, f.Made)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (f *Forecast) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"site", "license_type"}, forecastColumns...)); err != nil {
		return err
	}
	for _, t := range f.types() {
		fl := f.Results[t].Fields(f.Params, f.Made)
		row := []string{f.Site, t}
		for _, c := range forecastColumns {
			v, ok := fl[c]
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, fmt.Sprint(v))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
