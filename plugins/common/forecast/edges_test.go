package forecast_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// A slowly rising trend reaches its pool centuries ahead: its days stay the number they
// are, its dates say "not within 10 years" — never a day in the 1700s from an overflowed
// time.Duration.
func TestFarDatesAreCapped(t *testing.T) {
	// pool 1000, 500 held, 1.5 seats a year: about 121 000 days to the margin.
	days, now := history(400, func(d int) float64 { return 500 - 1.5/365*float64(399-d) })
	r := make1(days, now, 1000)
	require.Equal(t, forecast.Rising, r.Trend)
	require.Greater(t, *r.DaysToMargin, 90000.0)
	f := r.Fields(forecast.DefaultParams, now)
	for _, k := range []string{"exhaustion_date", "margin_date", "buy_by_date"} {
		require.Equal(t, "not within 10 years", f[k], k)
	}
	require.InDelta(t, *r.DaysToMargin, f["days_to_margin"], 1e-9)

	// Within the cap, dates are calendar days: 41.5 days from noon is the 42nd day after.
	made := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	d, ok := forecast.Date(made, 41.5)
	require.True(t, ok)
	require.Equal(t, "2027-01-18", d)
	d, ok = forecast.Date(made, -30)
	require.True(t, ok)
	require.Equal(t, "2026-11-07", d)
	d, ok = forecast.Date(made, 3652)
	require.True(t, ok, "ten years less a day is a date")
	require.Equal(t, "2036-12-06", d)
	_, ok = forecast.Date(made, 3654)
	require.False(t, ok)
	_, ok = forecast.Date(made, 1e18)
	require.False(t, ok, "no overflow")
}

// Seven days of history have no day pairs: no slope, so no forecast — not "flat, never".
func TestTooFewPairs(t *testing.T) {
	days, now := history(7, func(d int) float64 { return 100 + 5*float64(d) })
	p := forecast.DefaultParams
	p.MinHistoryDays = 7
	r := forecast.Make(forecast.Input{Days: days, Pool: 400, Now: now}, p)
	require.Equal(t, forecast.InsufficientHistory, r.Status)
	require.Equal(t, 7, r.HistoryDays)

	days, now = history(14, func(d int) float64 { return 100 + 5*float64(d) })
	r = forecast.Make(forecast.Input{Days: days, Pool: 400, Now: now}, p)
	require.Equal(t, forecast.OK, r.Status, "fourteen days have pairs")
	require.InDelta(t, 5, r.GrowthPerDay, 1e-9)
}

// An onboarding of 100 users six days ago: the level now is the level after it, not the
// two weeks' median of before and after.
func TestRecentStep(t *testing.T) {
	n := noise(11, 2)
	f := func(d int) float64 {
		v := 300 + 0.3*float64(d) + n()
		if d >= 174 { // six days before day 179, the forecast's day
			v += 100
		}
		return v
	}
	days, now := history(180, f)
	r := make1(days, now, 1000)
	require.InDelta(t, 300+0.3*179+100, r.HeldNow, 4)
	require.InDelta(t, 0.3, r.GrowthPerDay, 0.05)
	require.Equal(t, 1, r.StepsRemoved)

	// Three to thirteen days ago (an older one is judged by two full weeks either side).
	for _, ago := range []int{3, 10, 13} {
		days, now := rising(uint64(ago), 180, 100, 179-ago)
		r := make1(days, now, 1000)
		require.InDelta(t, 300+0.3*179+100, r.HeldNow, 4, "%d days ago", ago)
		require.Equal(t, 1, r.StepsRemoved, "%d days ago", ago)
	}

	// And a release run three days ago, down by 80.
	days, now = history(180, func(d int) float64 {
		if d >= 177 {
			return 600 - 80
		}
		return 600
	})
	r = make1(days, now, 1000)
	require.InDelta(t, 520, r.HeldNow, 1e-9)
	require.Equal(t, forecast.Flat, r.Trend)
}

// seasonal is the university-style history: two years rising 0.2 seats a day with a
// ±30-seat yearly wave whose peak comes 89 days after the forecast's day, ±2 noise,
// 346 held today, a pool of 400.
func seasonal(d int) float64 {
	return 346 + 0.2*float64(d-729) + 30*math.Cos(2*math.Pi*float64(d-88)/365) - 30*math.Cos(2*math.Pi*float64(729-88)/365)
}

// A yearly rhythm is not a row of steps: the forecast follows last year's path into the
// coming peak and says the purchase is already late, as it is.
func TestSeasonalIsNotSteps(t *testing.T) {
	n := noise(29, 2)
	days, now := history(730, func(d int) float64 { return seasonal(d) + n() })
	truth := 0
	for seasonal(729+truth) < 360 {
		truth++
	}
	require.Equal(t, 20, truth)
	r := make1(days, now, 400)
	require.Equal(t, 364, r.LagDays)
	require.Zero(t, r.StepsRemoved, "the wave's slopes are not steps")
	require.InDelta(t, float64(truth), *r.DaysToMargin, 7)
	require.Negative(t, *r.BuyByDays, "already late: the margin comes within the 30 days of lead time")
	require.InDelta(t, 346, r.HeldNow, 4)
}

// A step in a seasonal history is still a step.
func TestSeasonalWithAStep(t *testing.T) {
	n := noise(31, 2)
	f := func(d int) float64 {
		v := seasonal(d) + n()
		if d >= 600 {
			v -= 60 // a release run
		}
		return v
	}
	days, now := history(730, f)
	r := make1(days, now, 400)
	require.Equal(t, 1, r.StepsRemoved)
	require.InDelta(t, 346-60, r.HeldNow, 4)
	require.InDelta(t, 0.2, r.GrowthPerDay, 0.05)
}

// Two months of history with an onboarding of 100 a month ago: the step fills most of the
// 28-day differences, so the drift it is judged against must not be their median (it read
// the step as 2 seats a day of growth, took out half of it and told a site rising 0.3 a
// day to buy 300 seats).
func TestStepInAShortHistory(t *testing.T) {
	for _, c := range []struct{ n, ago int }{{42, 20}, {60, 20}, {60, 30}, {60, 40}, {90, 20}} {
		days, now := rising(uint64(c.ago), c.n, 100, c.n-1-c.ago)
		r := make1(days, now, 1000)
		require.InDelta(t, 0.3, r.GrowthPerDay, 0.15, "%+v", c)
		require.InDelta(t, 300+0.3*float64(c.n-1)+100, r.HeldNow, 4, "%+v", c)
		require.Equal(t, 1, r.StepsRemoved, "%+v", c)
		require.Zero(t, r.SeatsToBuy, "%+v", c)
	}
}

// NaN and ±Inf are no data: fourteen days of which one is NaN are thirteen days of
// history, too few for a forecast, and an infinite day is left out of every number.
func TestNotANumberIsNoData(t *testing.T) {
	p := forecast.DefaultParams
	p.MinHistoryDays = 14
	days, now := history(14, func(d int) float64 { return 100 + float64(d) })
	days[5].Held = math.NaN()
	r := forecast.Make(forecast.Input{Days: days, Pool: 400, Now: now}, p)
	require.Equal(t, forecast.InsufficientHistory, r.Status)
	require.Equal(t, 13, r.HistoryDays)

	days, now = history(60, func(d int) float64 { return 100 + float64(d) })
	days[0].Held, days[30].Held, days[59].Held = math.NaN(), math.Inf(1), math.Inf(-1)
	r = forecast.Make(forecast.Input{Days: days, Pool: 400, Now: now}, p)
	require.Equal(t, 57, r.HistoryDays)
	require.InDelta(t, 1, r.GrowthPerDay, 1e-9)
	require.InDelta(t, 159, r.HeldNow, 1e-9)
}

// Two onboardings of 50 within the last two weeks: the level is after both. One recent
// step taken out, judged by all the days after it, left the level 13 or 25 seats short
// (or 12 over).
func TestTwoRecentSteps(t *testing.T) {
	for _, ago := range [][2]int{{12, 5}, {10, 4}, {11, 6}, {9, 3}, {8, 4}, {13, 3}} {
		days, now := rising(5, 180, 50, 179-ago[0], 179-ago[1])
		r := make1(days, now, 1000)
		require.InDelta(t, 300+0.3*179+100, r.HeldNow, 4, "%v days ago", ago)
		require.Equal(t, 2, r.StepsRemoved, "%v days ago", ago)
	}
}

// A month of history with an onboarding in its first two weeks: the step fills most of
// the day pairs, and read as growth it made a site rising 0.3 a day rise by 4 and buy
// a thousand seats.
func TestStepAtTheStart(t *testing.T) {
	for _, c := range []struct{ n, at int }{{28, 7}, {28, 4}, {42, 11}, {35, 12}} {
		days, now := rising(uint64(c.at), c.n, 100, c.at)
		r := make1(days, now, 1000)
		require.InDelta(t, 0.3, r.GrowthPerDay, 0.2, "%+v", c)
		require.InDelta(t, 400+0.3*float64(c.n-1), r.HeldNow, 4, "%+v", c)
		require.Equal(t, 1, r.StepsRemoved, "%+v", c)
		require.Zero(t, r.SeatsToBuy, "%+v", c)
	}
}

// rising is n days from 300 seats rising 0.3 a day, ±2 noise (seeded), and a step of size
// on each of the days at.
func rising(seed uint64, n int, size float64, at ...int) ([]forecast.Day, time.Time) {
	nz := noise(seed, 2)
	return history(n, func(d int) float64 {
		v := 300 + 0.3*float64(d) + nz()
		for _, a := range at {
			if d >= a {
				v += size
			}
		}
		return v
	})
}

// The seasonal history with its last two or four weeks missing (Telegraf down, or the
// forecast command run on a history that stopped): the level and last year's path are
// taken at today, not at the last day with data — which put the margin 10 and 22 days
// late and the buy-by on the wrong side of today.
func TestSeasonalWithTheLastDaysMissing(t *testing.T) {
	for _, gap := range []int{14, 30} {
		n := noise(29, 2)
		days, now := history(730, func(d int) float64 { return seasonal(d) + n() })
		r := make1(days[:730-gap], now, 400)
		require.Equal(t, 364, r.LagDays)
		require.InDelta(t, 346, r.HeldNow, 4, "%d days missing", gap)
		require.InDelta(t, 20, *r.DaysToMargin, 7, "%d days missing", gap)
		require.Negative(t, *r.BuyByDays, "%d days missing", gap)
	}
}
