package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// The backtest: generated two-year histories with a known future, in three families
// reported apart (mixed; seasonal: a strong yearly rhythm; young: a site with four to
// twelve weeks of history and a step in it). Every two weeks of each history a forecast
// is made from what came before (young: one from each of the last 35, 42, 56, 70 and 84
// days before the future); its days to the margin are compared
// with the day the generated future really crosses the margin, within 30, 60 and 90 days:
// the error is |min(predicted, h) − min(actual, h)|. The same forecasts are made by two
// naive baselines: a straight line through all the history (least squares), and the slope
// of the last 30 days (least squares over them).

// Horizons of the backtest, in days.
var horizons = []int{30, 60, 90}

// genSeries is one generated history and future: what license histories really contain.
type genSeries struct {
	held []float64 // a daily peak per day; NaN: a missing day
	pool float64
}

const (
	historyDays = 730
	futureDays  = 94 // 90, and the days either side of a crossing
)

// Families of generated histories, reported apart.
const (
	mixed    = "mixed"    // steps, spikes, missing days, a yearly rhythm of up to ±6 %
	seasonal = "seasonal" // a strong yearly rhythm (±5 … 15 %, a university's term peak), at most one step
	young    = "young"    // the mixed kind, forecast from its last 4 to 12 weeks only, a step within them
)

var families = []string{mixed, seasonal, young}

// youngDays are the lengths of history the young family's forecasts are made from.
var youngDays = []int{35, 42, 56, 70, 84}

func generate(family string, seed uint64) genSeries {
	rng := rand.New(rand.NewPCG(seed, 0xf0ca57))
	n := historyDays + futureDays
	base := 200 + rng.Float64()*1800
	growth := (rng.Float64()*1.6 - 0.2) * base / 1000 // −0.2 … 1.4 seats a day per 1000
	noise := 1 + rng.Float64()*0.004*base
	yearly := rng.Float64() * 0.06 * base
	phase := rng.Float64() * 2 * math.Pi
	steps := rng.IntN(4)
	if family == seasonal {
		yearly, steps = (0.05+rng.Float64()*0.1)*base, rng.IntN(2)
	}
	shift := make([]float64, n) // steps: release runs (down) and onboardings (up)
	for k := range steps {
		at := rng.IntN(n)
		if family == young && k == 0 {
			at = historyDays - 84 + rng.IntN(84) // within the weeks the forecasts see
		}
		size := -(40 + rng.Float64()*0.25*base) // a release run, the common step
		if rng.IntN(3) == 0 {
			size = -0.7 * size // an onboarding
		}
		for i := at; i < n; i++ {
			shift[i] += size
		}
	}
	s := genSeries{held: make([]float64, n)}
	for d := range n {
		v := base + growth*float64(d) + yearly*math.Sin(2*math.Pi*float64(d)/365+phase) + shift[d] + rng.NormFloat64()*noise
		if rng.Float64() < 0.01 {
			v += 50 + rng.Float64()*0.2*base // a one-day spike
		}
		if rng.Float64() < 0.05 && d < historyDays {
			v = math.NaN() // a missing day
		}
		s.held[d] = math.Max(0, math.Round(v))
	}
	// The pool: the margin line (10 %) somewhere in the last half year of the history or
	// the future, so that crossings happen where the horizons look.
	target := base + growth*float64(historyDays-180+rng.IntN(270))
	s.pool = math.Round(math.Max(target, base*0.8) / 0.9)
	return s
}

// predictor is a method under test: the days from day `now` (the index of the last day
// of history) until held reaches line; +Inf when it does not.
type predictor func(history []float64, now int, line float64) float64

func ours(history []float64, now int, line float64) float64 {
	days := make([]forecast.Day, 0, len(history))
	for d, v := range history {
		if !math.IsNaN(v) {
			days = append(days, forecast.Day{Date: benchDay0.AddDate(0, 0, d), Held: v})
		}
	}
	pool := line / 0.9
	r := forecast.Make(forecast.Input{Days: days, Pool: pool, Now: benchDay0.AddDate(0, 0, now)}, forecast.DefaultParams)
	if r.Status != forecast.OK || r.DaysToMargin == nil {
		return math.Inf(1)
	}
	return *r.DaysToMargin
}

var benchDay0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// lineThrough is least squares over the days of history from `from` on.
func lineThrough(history []float64, from, now int, line float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for d := from; d <= now; d++ {
		if math.IsNaN(history[d]) {
			continue
		}
		x, y := float64(d), history[d]
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	if n < 2 {
		return math.Inf(1)
	}
	b := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a := (sy - b*sx) / n
	level := a + b*float64(now)
	switch {
	case level >= line:
		return 0
	case b <= 0:
		return math.Inf(1)
	}
	return (line - level) / b
}

func allHistory(history []float64, now int, line float64) float64 {
	return lineThrough(history, 0, now, line)
}

func last30(history []float64, now int, line float64) float64 {
	return lineThrough(history, max(0, now-29), now, line)
}

// crossing is the days from now until the generated future reaches line: the first day
// whose week (three days either side) has its median at or above it — a one-day spike is
// not a crossing (+Inf: not within the future generated).
func crossing(held []float64, now int, line float64) float64 {
	for d := now + 1; d+3 < len(held); d++ {
		week := make([]float64, 0, 7)
		for _, v := range held[d-3 : d+4] {
			if !math.IsNaN(v) {
				week = append(week, v)
			}
		}
		sort.Float64s(week)
		if len(week) > 0 && week[len(week)/2] >= line {
			return float64(d - now)
		}
	}
	return math.Inf(1)
}

// accuracyRow is one method's errors at one horizon on one family of histories.
type accuracyRow struct {
	Family      string  `json:"family"`
	Method      string  `json:"method"`
	HorizonDays int     `json:"horizon_days"`
	MeanError   float64 `json:"mean_abs_error_days"`
	MedianError float64 `json:"median_abs_error_days"`
	P90Error    float64 `json:"p90_abs_error_days"`
	// WrongSide is the share of forecasts whose buy-by day (the margin date less 30 days
	// of lead time) falls on the other side of the forecast's day than the truth's: "buy
	// now" said as "there is time", or the reverse.
	WrongSide float64 `json:"buy_by_wrong_side_share"`
	Forecasts int     `json:"forecasts"`
}

// forecastsOf are the forecasts made of each history of a family: from day `from` to day
// `now`, both counted.
func forecastsOf(family string) []struct{ from, now int } {
	var out []struct{ from, now int }
	if family == young {
		for _, n := range youngDays {
			out = append(out, struct{ from, now int }{historyDays - n, historyDays - 1})
		}
		return out
	}
	for now := 179; now < historyDays; now += 14 {
		out = append(out, struct{ from, now int }{0, now})
	}
	return out
}

// leadTime is the backtest's purchase lead time (the default's).
const leadTime = 30

func backtest(series int) []accuracyRow {
	methods := []struct {
		name string
		f    predictor
	}{{"ours (steps out, median L-day growth)", ours}, {"straight line through all history", allHistory}, {"slope of the last 30 days", last30}}
	var rows []accuracyRow
	for _, fam := range families {
		errs, wrong := map[string]map[int][]float64{}, map[string]map[int]int{}
		for _, m := range methods {
			errs[m.name], wrong[m.name] = map[int][]float64{}, map[int]int{}
		}
		for i := range series {
			s := generate(fam, uint64(i))
			line := s.pool * 0.9
			for _, c := range forecastsOf(fam) {
				actual := crossing(s.held, c.now, line)
				preds := make([]float64, len(methods))
				for j, m := range methods {
					preds[j] = m.f(s.held[c.from:c.now+1], c.now-c.from, line)
				}
				for _, h := range horizons {
					// Only the forecasts where a crossing is within the horizon, really or by
					// some method's word: elsewhere every method is right by saying "later".
					if actual >= float64(h) && slices.Min(preds) >= float64(h) {
						continue
					}
					truth := math.Min(actual, float64(h))
					for j, m := range methods {
						pred := math.Min(preds[j], float64(h))
						errs[m.name][h] = append(errs[m.name][h], math.Abs(pred-truth))
						if (pred < leadTime) != (truth < leadTime) {
							wrong[m.name][h]++
						}
					}
				}
			}
		}
		for _, h := range horizons {
			for _, m := range methods {
				e := errs[m.name][h]
				if len(e) == 0 {
					continue
				}
				sort.Float64s(e)
				sum := 0.0
				for _, v := range e {
					sum += v
				}
				rows = append(rows, accuracyRow{Family: fam, Method: m.name, HorizonDays: h, MeanError: sum / float64(len(e)),
					MedianError: e[len(e)/2], P90Error: e[len(e)*9/10], WrongSide: float64(wrong[m.name][h]) / float64(len(e)), Forecasts: len(e)})
			}
		}
	}
	return rows
}
