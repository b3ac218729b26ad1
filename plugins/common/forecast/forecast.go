// Package forecast says when to buy more licenses: from the daily peak of seats held of a
// license type (allocated plus quarantined: quarantine holds the seat) and the size of its
// pool, the trend of demand and the days until the pool runs out, until what is left falls
// below the safety margin, and until a purchase must start given its lead time. It is pure:
// no I/O, no clock (Input.Now).
//
// The method (see docs/forecast.md for the alternatives measured): steps are found and taken out
// of the history first — a release run that frees hundreds of seats, a department
// onboarded — as jumps between two flat stretches (steps.go: a yearly wave's slope is not a
// step; a step of the last two weeks is judged by the week after it, one of the first two
// weeks by the week before it); growth is then the
// median of the L-day differences of the adjusted series divided by L (L = 364 once the
// history covers a year and four weeks, which cancels a yearly rhythm; 28 otherwise, which
// cancels the weekly one), and the level now is the median of the last two weeks brought to
// today along that slope, or along last year's path. Medians make one-day spikes and
// missing days harmless; too little history gives no number at all.
package forecast

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Day is one day's peak of seats held (allocated + quarantined).
type Day struct {
	Date time.Time
	Held float64
}

// Params are the owner's terms.
type Params struct {
	MarginPercent  float64 // the share of the pool to keep free (10)
	LeadTimeDays   int     // how long a purchase takes (30)
	HorizonDays    int     // how far ahead seats_to_buy looks (365)
	MinHistoryDays int     // fewer days of history give no forecast (28)
}

// DefaultParams are the defaults of the configuration.
var DefaultParams = Params{MarginPercent: 10, LeadTimeDays: 30, HorizonDays: 365, MinHistoryDays: 28}

// Input is one license type's history.
type Input struct {
	Days        []Day     // in any order; more than one value a day keeps the highest; NaN and ±Inf are no data
	Pool        float64   // the seats of the license now
	Reclaimable int       // allocations the release policy would reclaim now
	Now         time.Time // the forecast's day
}

// Status says whether the forecast could be made.
type Status string

// The statuses.
const (
	OK                  Status = "ok"
	InsufficientHistory Status = "insufficient_history" // fewer days than MinHistoryDays: no guess
	NoPool              Status = "no_pool"              // the license has no seats of this type
)

// Trend is the direction of demand over the horizon.
type Trend string

// The trends: flat means it would not move one seat within the horizon.
const (
	Rising  Trend = "rising"
	Flat    Trend = "flat"
	Falling Trend = "falling"
)

// Result is the forecast of one license type. Days are counted from Input.Now; a nil
// pointer is a date that does not come (a flat or falling trend, unless last year's path
// reaches the line within the coming year).
type Result struct {
	Status      Status
	HistoryDays int // days with data in the history
	Pool        float64
	// HeldNow is the trend's level today, Available the pool minus it.
	HeldNow, Available float64
	// GrowthPerDay is the trend, in seats a day; GrowthLow and GrowthHigh the 10th and 90th
	// percentiles of the L-day growth rates of the history (80 % of its L-day windows grew
	// within the band).
	GrowthPerDay, GrowthLow, GrowthHigh float64
	Trend                               Trend
	// DaysToExhaustion: until held reaches the pool; DaysToMargin: until what is available
	// falls below MarginPercent of the pool (0: already); BuyByDays: DaysToMargin minus
	// the lead time (negative: already late).
	DaysToExhaustion, DaysToMargin, BuyByDays *float64
	// SeatsToBuy keeps the margin up to the horizon: the seats to add to the pool now.
	SeatsToBuy int
	// Reclaimable is Input.Reclaimable; ReclaimableDays the days releasing them adds to
	// every date (0 unless demand is rising).
	Reclaimable     int
	ReclaimableDays float64
	// FitResidualSeats is the fit's quality: the median distance, in seats, of the last
	// four weeks' peaks from the trend line. LagDays is L; StepsRemoved the level shifts
	// taken out of the history.
	FitResidualSeats float64
	LagDays          int
	StepsRemoved     int

	path projection
}

// HeldIn is the forecast's held seats in the given days from Input.Now (0: HeldNow).
func (r Result) HeldIn(days float64) float64 { return r.path.at(days) }

// Make forecasts one license type.
func Make(in Input, p Params) Result {
	r := Result{Pool: in.Pool, Reclaimable: in.Reclaimable}
	s := newSeries(in.Days)
	r.HistoryDays = s.count
	if s.count < max(p.MinHistoryDays, 2) || s.span() < max(p.MinHistoryDays, 2) {
		r.Status = InsufficientHistory
		return r
	}
	if in.Pool <= 0 {
		r.Status = NoPool
		return r
	}
	today := dayIndex(s.first, in.Now)
	fit := fitSeries(s, today)
	if fit.Pairs == 0 { // no two days L apart: no slope, so no forecast (never "flat")
		r.Status = InsufficientHistory
		return r
	}
	r.Status = OK
	r.LagDays, r.StepsRemoved = fit.Lag, fit.Steps
	r.GrowthPerDay, r.GrowthLow, r.GrowthHigh = fit.Slope, fit.Low, fit.High
	r.HeldNow = fit.Level + fit.Slope*float64(today-fit.LevelDay)
	r.Available = in.Pool - r.HeldNow
	r.FitResidualSeats = fit.Residual
	h := float64(max(p.HorizonDays, 1))
	switch {
	case fit.Slope*h >= 1:
		r.Trend = Rising
	case fit.Slope*h <= -1:
		r.Trend = Falling
	default:
		r.Trend = Flat
	}
	m := p.MarginPercent / 100
	path := projection{held: r.HeldNow, slope: fit.Slope, ahead: fit.Ahead}
	r.path = path
	r.DaysToExhaustion = path.reach(in.Pool, r.Trend)
	r.DaysToMargin = path.reach(in.Pool*(1-m), r.Trend)
	if r.DaysToMargin != nil {
		b := *r.DaysToMargin - float64(p.LeadTimeDays)
		r.BuyByDays = &b
	}
	if need := math.Ceil(path.peak(int(h))/(1-m) - 1e-9); need > in.Pool {
		r.SeatsToBuy = int(need - in.Pool)
	}
	if r.Trend == Rising {
		r.ReclaimableDays = float64(in.Reclaimable) / fit.Slope
	}
	return r
}

// projection is the forecast path from today: held + Ahead[k] for the year that last
// year's path covers (a yearly rhythm repeats), then the slope; or the straight line.
type projection struct {
	held, slope float64
	ahead       []float64
}

func (p projection) at(k float64) float64 {
	n := len(p.ahead)
	switch {
	case n == 0:
		return p.held + p.slope*k
	case k >= float64(n-1):
		return p.held + p.ahead[n-1] + p.slope*(k-float64(n-1))
	}
	i := int(k)
	return p.held + p.ahead[i] + (p.ahead[i+1]-p.ahead[i])*(k-float64(i))
}

// reach is the days until the path reaches line: 0 when it has, nil when it never does
// (a flat or falling trend beyond last year's path).
func (p projection) reach(line float64, t Trend) *float64 {
	d := 0.0
	if p.held >= line {
		return &d
	}
	for k := 1; k < len(p.ahead); k++ { // last year's path, day by day
		if p.at(float64(k)) >= line {
			prev := p.at(float64(k - 1))
			d = float64(k-1) + (line-prev)/(p.at(float64(k))-prev)
			return &d
		}
	}
	if t != Rising {
		return nil
	}
	from := float64(max(len(p.ahead)-1, 0))
	d = from + (line-p.at(from))/p.slope
	return &d
}

// peak is the highest held of the path within the horizon.
func (p projection) peak(horizon int) float64 {
	top := p.held
	for k := 1; k <= horizon; k++ {
		top = max(top, p.at(float64(k)))
	}
	return top
}

// series is a history on a day grid: value[i] is day first+i, ok[i] whether it has data.
type series struct {
	first time.Time
	value []float64
	ok    []bool
	count int
}

func dayIndex(first, t time.Time) int {
	return int(math.Round(t.UTC().Truncate(24*time.Hour).Sub(first).Hours() / 24))
}

func newSeries(days []Day) *series {
	s := &series{}
	days = slices.DeleteFunc(slices.Clone(days), func(d Day) bool { // no number is no data: not a day of history
		return math.IsNaN(d.Held) || math.IsInf(d.Held, 0)
	})
	if len(days) == 0 {
		return s
	}
	first := days[0].Date
	for _, d := range days {
		if d.Date.Before(first) {
			first = d.Date
		}
	}
	s.first = first.UTC().Truncate(24 * time.Hour)
	for _, d := range days {
		i := dayIndex(s.first, d.Date)
		for len(s.value) <= i {
			s.value, s.ok = append(s.value, 0), append(s.ok, false)
		}
		if !s.ok[i] || d.Held > s.value[i] {
			if !s.ok[i] {
				s.count++
			}
			s.value[i], s.ok[i] = d.Held, true
		}
	}
	return s
}

// span is the days from the first to the last day with data, both counted.
func (s *series) span() int { return len(s.value) }

// fitResult is the trend a series gives.
type fitResult struct {
	Slope, Low, High float64 // seats a day
	Level            float64 // held on LevelDay (an index of the series), on the trend line
	LevelDay         int
	Lag              int
	Steps            int
	Residual         float64
	Pairs            int // the L-day differences the slope is the median of
	// Ahead, with a year of history: Ahead[k] is how much held moved in the k days after
	// the same day last year (one-week medians, steps taken out) — the path the next year
	// follows from the level, yearly rhythm included. Nil: a straight line.
	Ahead []float64
}

// recentPairs: without a year of history, growth is the median of the 28-day differences
// ending in the last 13 weeks — recent enough to follow a turn, long enough to outvote a
// step.
const recentPairs = 91

// fitSeries is the method: steps taken out, the median L-day growth, the level of the
// last two weeks brought to today (an index of the series: the last day with data or
// later) and, with a year of history, last year's path from today.
func fitSeries(s *series, today int) fitResult {
	n := s.span()
	lag, from := 28, max(0, n-recentPairs)
	switch {
	case n >= 364+28:
		lag, from = 364, 0
	case n < 56:
		lag = max(7, 7*(n/14))
	}
	y := slices.Clone(s.value)
	// A first slope tells the drift steps are judged against: the median of the 7-day
	// differences, of which a step fills only seven (in a short history a step fills most
	// of the 28-day ones, and read as growth it hid half of itself).
	slope0, _, _, _ := lagSlopes(y, s.ok, 7, 0)
	steps := removeSteps(y, s.ok, slope0)
	slope, low, high, pairs := lagSlopes(y, s.ok, lag, from)
	last := n - 1
	// The level: the last two weeks brought to today along the slope — or, with a year of
	// history, along last year's path over the same days, which holds the rhythm's slope
	// too (a wave rising into its peak would otherwise leave the level a week behind, and
	// weeks behind when the last days are missing).
	var around []float64
	for i := last; i >= 0 && i > last-14; i-- {
		if !s.ok[i] {
			continue
		}
		move := slope * float64(today-i)
		if lag == 364 {
			if from, to := weekMedian(y, s.ok, i-364), weekMedian(y, s.ok, today-364); len(from) > 0 && len(to) > 0 {
				move = median(to) - median(from)
			}
		}
		around = append(around, y[i]+move)
	}
	level := median(around)
	var res []float64
	for i := last; i >= 0 && i > last-28; i-- {
		if s.ok[i] {
			res = append(res, math.Abs(y[i]-(level+slope*float64(i-today))))
		}
	}
	f := fitResult{Slope: slope, Low: low, High: high, Level: level, LevelDay: today, Lag: lag, Steps: steps, Residual: median(res),
		Pairs: pairs}
	if lag == 364 {
		f.Ahead = lastYearsPath(y, s.ok, today, slope)
	}
	return f
}

// lastYearsPath is how held moved from the same day last year, for each day of the year
// that followed it: Ahead[k] = m(today−364+k) − m(today−364), m a one-week median; a week
// without data (the last days missing) goes on from the week before along the slope.
func lastYearsPath(y []float64, ok []bool, today int, slope float64) []float64 {
	start := today - 364
	m := func(i int) (float64, bool) {
		w := weekMedian(y, ok, i)
		return median(w), len(w) > 0
	}
	base, found := m(start)
	if !found {
		return nil
	}
	ahead := make([]float64, 365)
	for k := range ahead {
		if v, found := m(start + k); found {
			ahead[k] = v - base
		} else if k > 0 {
			ahead[k] = ahead[k-1] + slope
		}
	}
	return ahead
}

// lagSlopes is the median of the L-day growth rates (y[i] − y[i−L]) / L of the days from
// `from` on that have both ends, and their 10th and 90th percentiles.
func lagSlopes(y []float64, ok []bool, lag, from int) (med, low, high float64, pairs int) {
	var rates []float64
	for i := max(lag, from); i < len(y); i++ {
		if ok[i] && ok[i-lag] {
			rates = append(rates, (y[i]-y[i-lag])/float64(lag))
		}
	}
	if len(rates) == 0 {
		return 0, 0, 0, 0
	}
	sort.Float64s(rates)
	return quantile(rates, 0.5), quantile(rates, 0.1), quantile(rates, 0.9), len(rates)
}

// weekMedian's days: the week around day i (three days either side).
func weekMedian(y []float64, ok []bool, i int) []float64 { return window(y, ok, i-3, i+4) }

func window(y []float64, ok []bool, from, to int) []float64 {
	var out []float64
	for i := max(from, 0); i < min(to, len(y)); i++ {
		if ok[i] {
			out = append(out, y[i])
		}
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	sort.Float64s(v)
	return quantile(v, 0.5)
}

// quantile of sorted values, interpolated.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}
