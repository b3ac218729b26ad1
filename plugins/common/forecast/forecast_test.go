package forecast_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

var day0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// history builds n days of f(d), and the forecast's day is the last.
func history(n int, f func(d int) float64) ([]forecast.Day, time.Time) {
	days := make([]forecast.Day, 0, n)
	for d := range n {
		days = append(days, forecast.Day{Date: day0.AddDate(0, 0, d), Held: f(d)})
	}
	return days, day0.AddDate(0, 0, n-1)
}

func make1(days []forecast.Day, now time.Time, pool float64) forecast.Result {
	return forecast.Make(forecast.Input{Days: days, Pool: pool, Now: now}, forecast.DefaultParams)
}

func noise(seed uint64, amp float64) func() float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	return func() float64 { return math.Round((rng.Float64()*2 - 1) * amp) }
}

// A straight line gives exact dates: 100 + 0.5 seats a day, 400 seats, 10 % margin.
func TestStraightLine(t *testing.T) {
	days, now := history(180, func(d int) float64 { return 100 + 0.5*float64(d) })
	r := make1(days, now, 400)
	require.Equal(t, forecast.OK, r.Status)
	require.Equal(t, 180, r.HistoryDays)
	require.InDelta(t, 0.5, r.GrowthPerDay, 1e-9)
	require.InDelta(t, 0.5, r.GrowthLow, 1e-9)
	require.InDelta(t, 0.5, r.GrowthHigh, 1e-9)
	require.InDelta(t, 189.5, r.HeldNow, 1e-9)
	require.InDelta(t, 210.5, r.Available, 1e-9)
	require.Equal(t, forecast.Rising, r.Trend)
	require.InDelta(t, 421, *r.DaysToExhaustion, 1e-9) // (400 − 189.5) / 0.5
	require.InDelta(t, 341, *r.DaysToMargin, 1e-9)     // (360 − 189.5) / 0.5
	require.InDelta(t, 311, *r.BuyByDays, 1e-9)        // 341 − 30
	require.Equal(t, 14, r.SeatsToBuy)                 // ⌈(189.5 + 0.5 × 365) / 0.9⌉ − 400
	require.Zero(t, r.FitResidualSeats)
	require.Equal(t, 28, r.LagDays)

	// Asked a week later, the line is projected to that day.
	r = forecast.Make(forecast.Input{Days: days, Pool: 400, Now: now.AddDate(0, 0, 7), Reclaimable: 50}, forecast.DefaultParams)
	require.InDelta(t, 193, r.HeldNow, 1e-9)
	require.InDelta(t, 100, r.ReclaimableDays, 1e-9, "releasing 50 seats buys 100 days at 0.5 a day")
}

// Noise moves the answer little; a one-day spike, missing days, a step down after a
// release run and a step up when a department arrives do not move the trend.
func TestRobustness(t *testing.T) {
	n := noise(1, 6)
	base := func(d int) float64 { return 300 + 0.8*float64(d) }
	cases := []struct {
		name string
		f    func(d int) float64
		drop float64 // share of days missing
	}{
		{"noise", func(d int) float64 { return base(d) + n() }, 0},
		{"a one-day spike", func(d int) float64 {
			if d == 150 || d == 179 {
				return base(d) + 400
			}
			return base(d)
		}, 0},
		{"missing days", func(d int) float64 { return base(d) + n() }, 0.3},
		{"a step down (a release run freed 250 seats)", func(d int) float64 {
			if d >= 120 {
				return base(d) - 250 + n()
			}
			return base(d) + n()
		}, 0},
		{"a step up (a department onboarded)", func(d int) float64 {
			if d >= 90 {
				return base(d) + 180 + n()
			}
			return base(d) + n()
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			days, now := history(180, c.f)
			rng := rand.New(rand.NewPCG(3, 3))
			kept := days[:0]
			for i, d := range days {
				if i == len(days)-1 || rng.Float64() >= c.drop {
					kept = append(kept, d)
				}
			}
			r := make1(kept, now, 2000)
			require.Equal(t, forecast.OK, r.Status)
			require.InDelta(t, 0.8, r.GrowthPerDay, 0.12, "growth")
			want := c.f(179)
			if c.name == "a one-day spike" {
				want = base(179)
			}
			require.InDelta(t, want, r.HeldNow, 12, "level now")
			require.Equal(t, forecast.Rising, r.Trend)
		})
	}
}

// Two years with a yearly rhythm (±40 seats, low in summer): the year-over-year growth
// cancels it; a straight line through the last half year would not.
func TestYearlyRhythm(t *testing.T) {
	f := func(d int) float64 { return 500 + 0.2*float64(d) + 40*math.Cos(2*math.Pi*float64(d)/365) }
	days, now := history(730, f)
	r := make1(days, now, 2000)
	require.Equal(t, 364, r.LagDays)
	require.InDelta(t, 0.2, r.GrowthPerDay, 0.02)
	require.InDelta(t, f(729), r.HeldNow, 3)
}

// Flat and falling demand give no date, and say so; a pool already short of its margin
// is late today whatever the trend.
func TestFlatAndFalling(t *testing.T) {
	days, now := history(120, func(int) float64 { return 200 })
	r := make1(days, now, 400)
	require.Equal(t, forecast.Flat, r.Trend)
	require.Nil(t, r.DaysToExhaustion)
	require.Nil(t, r.DaysToMargin)
	require.Nil(t, r.BuyByDays)
	require.Zero(t, r.SeatsToBuy)
	require.Zero(t, r.ReclaimableDays)

	days, now = history(120, func(d int) float64 { return 300 - 0.5*float64(d) })
	r = make1(days, now, 400)
	require.Equal(t, forecast.Falling, r.Trend)
	require.InDelta(t, -0.5, r.GrowthPerDay, 1e-9)
	require.Nil(t, r.DaysToMargin)

	days, now = history(120, func(int) float64 { return 380 })
	r = make1(days, now, 400)
	require.Equal(t, forecast.Flat, r.Trend)
	require.Equal(t, 0.0, *r.DaysToMargin, "20 free of 400 is below the 10 % margin already")
	require.Equal(t, -30.0, *r.BuyByDays, "a purchase is 30 days late")
	require.Nil(t, r.DaysToExhaustion)
	require.Equal(t, 23, r.SeatsToBuy) // ⌈380 / 0.9⌉ − 400
}

// Too little history gives a point saying so, never a guess; no pool says so too.
func TestTooLittleHistory(t *testing.T) {
	days, now := history(20, func(d int) float64 { return 100 + float64(d) })
	r := make1(days, now, 400)
	require.Equal(t, forecast.InsufficientHistory, r.Status)
	require.Equal(t, 20, r.HistoryDays)
	require.Zero(t, r.GrowthPerDay)
	require.Nil(t, r.DaysToMargin)
	require.Empty(t, r.Trend)

	r = make1(nil, now, 400)
	require.Equal(t, forecast.InsufficientHistory, r.Status)

	days, now = history(60, func(d int) float64 { return 100 })
	require.Equal(t, forecast.NoPool, make1(days, now, 0).Status)

	// Several values a day: the day's peak counts.
	days = append(days, forecast.Day{Date: now.Add(3 * time.Hour), Held: 150})
	r = make1(days, now, 400)
	require.Equal(t, 60, r.HistoryDays)
}

// Year-over-year differences span any step of the last year: steps are taken out first, or
// a release run 7 months ago would read as a year of decline.
func TestStepWithinTheYear(t *testing.T) {
	n := noise(5, 8)
	f := func(d int) float64 {
		v := 500 + 0.2*float64(d) + 40*math.Cos(2*math.Pi*float64(d)/365) + n()
		if d >= 500 {
			v -= 250
		}
		return v
	}
	days, now := history(730, f)
	r := make1(days, now, 2000)
	require.Equal(t, 364, r.LagDays)
	require.Equal(t, 1, r.StepsRemoved)
	require.InDelta(t, 0.2, r.GrowthPerDay, 0.05)
	require.InDelta(t, 500+0.2*729+40*math.Cos(2*math.Pi*729/365)-250, r.HeldNow, 10)
}
