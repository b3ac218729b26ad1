package ownerreport

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// The chart is hand-written SVG: five kinds of marks (lines, a polyline, a polygon, text)
// on a linear scale, which a charting library would not make shorter; and SVG drawn here
// needs no font metrics, no script and no file, so the page stays self-contained.

// Chart geometry, in SVG user units (the SVG scales to the page's width).
const (
	chartW, chartH                    = 640.0, 250.0
	padLeft, padRight, padTop, padBot = 46.0, 14.0, 14.0, 34.0
)

// chart is one license type's chart: the days of history in the window, held against the
// pool, with the forecast's path, its band, the margin line and the buy-by date.
type chart struct {
	Type      string
	Days      []forecast.Day // the history in the window, in order
	Result    *forecast.Result
	Params    forecast.Params
	Made      time.Time
	ChartDays int
	Pool      float64 // drawn when the forecast has none (0: not drawn)
	Loc       *time.Location
}

// scale maps days from Made (x) and seats (y) to SVG units.
type scale struct{ d0, d1, y0, y1 float64 }

func (s scale) x(d float64) float64 {
	return padLeft + (d-s.d0)/(s.d1-s.d0)*(chartW-padLeft-padRight)
}

func (s scale) y(v float64) float64 {
	return chartH - padBot - (v-s.y0)/(s.y1-s.y0)*(chartH-padTop-padBot)
}

func (c *chart) daysFrom(t time.Time) float64 { return t.Sub(c.Made).Hours() / 24 }

// ahead is how far the projection is drawn: 90 days, or to a little past the buy-by and
// margin dates when they come within the horizon (at most a year).
func (c *chart) ahead() float64 {
	r := c.Result
	if r == nil || r.Status != forecast.OK {
		return 0
	}
	h := float64(min(max(c.Params.HorizonDays, 1), 365))
	a := 90.0
	for _, d := range []*float64{r.BuyByDays, r.DaysToMargin} {
		if d != nil && *d+21 > a {
			a = *d + 21
		}
	}
	return min(a, h)
}

// projectionSteps are the days (from Made) at which the path and its band are drawn.
func (c *chart) projectionSteps() []float64 {
	a := c.ahead()
	if a <= 0 {
		return nil
	}
	step := max(1, math.Ceil(a/60))
	var ks []float64
	for k := 0.0; k < a; k += step {
		ks = append(ks, k)
	}
	return append(ks, a)
}

// band is the path moved by the spread of the history's growth rates: at k days, the path
// plus (GrowthLow − GrowthPerDay)·k below and (GrowthHigh − GrowthPerDay)·k above.
// No seat count is below zero: a falling path and its band stop at 0.
func (c *chart) band(k float64) (lo, mid, hi float64) {
	r := c.Result
	mid = r.HeldIn(k)
	return max(0, mid+(r.GrowthLow-r.GrowthPerDay)*k), max(0, mid), max(0, mid+(r.GrowthHigh-r.GrowthPerDay)*k)
}

// poolAbove: the pool's lines are left out of the scale when even their margin is more
// than four times the highest seats drawn — held would be a flat line along the bottom;
// the chart then says the pool is above it.
func (c *chart) poolAbove() bool {
	p := c.pool()
	if p <= 0 {
		return false
	}
	top := 0.0
	for _, d := range c.Days {
		top = max(top, d.Held)
	}
	for _, k := range c.projectionSteps() {
		_, _, h := c.band(k)
		top = max(top, h)
	}
	return p*(1-c.Params.MarginPercent/100) > 4*max(top, 10)
}

func (c *chart) pool() float64 {
	if r := c.Result; r != nil && r.Status == forecast.OK {
		return r.Pool
	}
	return c.Pool
}

func (c *chart) scale() scale {
	s := scale{d0: -float64(c.ChartDays), d1: max(c.ahead(), 1)}
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) { lo, hi = min(lo, v), max(hi, v) }
	for _, d := range c.Days {
		see(d.Held)
	}
	if p := c.pool(); p > 0 && !c.poolAbove() {
		see(p)
		see(p * (1 - c.Params.MarginPercent/100))
	}
	for _, k := range c.projectionSteps() {
		l, _, h := c.band(k)
		see(l)
		see(h)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 10
	}
	span := max(hi-lo, 10)
	s.y0, s.y1 = max(0, lo-0.08*span), hi+0.08*span
	if lo < 0 {
		s.y0 = lo - 0.08*span
	}
	return s
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// niceStep is a 1, 2 or 5 × 10ⁿ step giving about n ticks over span.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// svg draws the chart. Every mark has a class the browser test finds it by: held (one
// point a day of history), projection, band, pool, margin, today, buy-by.
func (c *chart) svg() string {
	s := c.scale()
	var b strings.Builder
	name := typeName(c.Type)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-type="%s" viewBox="0 0 %g %g" width="100%%" role="img" aria-label="%s: seats held per day against the pool" style="display:block;max-width:%gpx;height:auto;font-family:Arial,sans-serif">`,
		html.EscapeString(c.Type), chartW, chartH, html.EscapeString(name), chartW)
	fmt.Fprintf(&b, `<title>%s: seats held per day against the pool, with the forecast</title>`, html.EscapeString(name))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="#ffffff"/>`, chartW, chartH)
	// Horizontal grid and seat labels.
	step := niceStep(s.y1-s.y0, 4)
	for v := math.Ceil(s.y0/step) * step; v <= s.y1; v += step {
		y := s.y(v)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%s" y2="%s" stroke="#e4e7eb" stroke-width="1"/>`, padLeft, chartW-padRight, f1(y), f1(y))
		fmt.Fprintf(&b, `<text x="%g" y="%s" font-size="10" fill="#616e7c" text-anchor="end">%s</text>`, padLeft-4, f1(y+3), fmt.Sprintf("%.0f", v))
	}
	// Month labels along the bottom.
	loc := c.Loc
	first := c.Made.Add(time.Duration(s.d0 * 24 * float64(time.Hour))).In(loc)
	m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, 1, 0)
	// A label every 1, 2, 3, 6 or 12 months (January always among them): at least 42
	// units apart, so that two years of history and one ahead do not overlap.
	every := 1
	for _, n := range []int{1, 2, 3, 6, 12} {
		if every = n; s.x(30.44*float64(n))-s.x(0) >= 42 {
			break
		}
	}
	for ; c.daysFrom(m) <= s.d1; m = m.AddDate(0, 1, 0) {
		x := s.x(c.daysFrom(m))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%g" y2="%g" stroke="#e4e7eb" stroke-width="1"/>`, f1(x), f1(x), padTop, chartH-padBot)
		if (int(m.Month())-1)%every != 0 {
			continue
		}
		label := m.Format("Jan")
		if m.Month() == time.January {
			label = m.Format("Jan 2006")
		}
		fmt.Fprintf(&b, `<text class="month" x="%s" y="%g" font-size="10" fill="#616e7c" text-anchor="middle">%s</text>`, f1(x), chartH-padBot+13, label)
	}
	r := c.Result
	ok := r != nil && r.Status == forecast.OK
	if ok {
		var up, down []string
		for _, k := range c.projectionSteps() {
			lo, _, hi := c.band(k)
			up = append(up, f1(s.x(k))+","+f1(s.y(hi)))
			down = append([]string{f1(s.x(k)) + "," + f1(s.y(lo))}, down...)
		}
		fmt.Fprintf(&b, `<polygon class="band" points="%s" fill="#9fb3c8" fill-opacity="0.35" stroke="none"/>`, strings.Join(append(up, down...), " "))
	}
	if p := c.pool(); p > 0 && c.poolAbove() {
		fmt.Fprintf(&b, `<text class="pool-above" x="%g" y="%g" font-size="11" fill="#c81e1e">pool %.0f, margin %.0f (%g %% free): far above the chart</text>`,
			padLeft+4, padTop+10, p, p*(1-c.Params.MarginPercent/100), c.Params.MarginPercent)
	} else if p > 0 {
		y := s.y(p)
		fmt.Fprintf(&b, `<line class="pool" x1="%g" x2="%g" y1="%s" y2="%s" stroke="#c81e1e" stroke-width="2"/>`, padLeft, chartW-padRight, f1(y), f1(y))
		fmt.Fprintf(&b, `<text x="%g" y="%s" font-size="11" fill="#c81e1e">pool %.0f</text>`, padLeft+4, f1(y-4), p)
		mv := p * (1 - c.Params.MarginPercent/100)
		y = s.y(mv)
		fmt.Fprintf(&b, `<line class="margin" x1="%g" x2="%g" y1="%s" y2="%s" stroke="#de911d" stroke-width="1.5" stroke-dasharray="6 4"/>`, padLeft, chartW-padRight, f1(y), f1(y))
		fmt.Fprintf(&b, `<text x="%g" y="%s" font-size="11" fill="#b44d12">margin %.0f (%g %% free)</text>`, padLeft+4, f1(y+13), mv, c.Params.MarginPercent)
	}
	if len(c.Days) > 0 {
		pts := make([]string, len(c.Days))
		for i, d := range c.Days {
			pts[i] = f1(s.x(c.daysFrom(d.Date))) + "," + f1(s.y(d.Held))
		}
		fmt.Fprintf(&b, `<polyline class="held" points="%s" fill="none" stroke="#2f80ed" stroke-width="2" stroke-linejoin="round"/>`, strings.Join(pts, " "))
		if len(pts) == 1 { // one day: a line of one point draws nothing
			x, y, _ := strings.Cut(pts[0], ",")
			fmt.Fprintf(&b, `<circle class="held-day" cx="%s" cy="%s" r="3" fill="#2f80ed"/>`, x, y)
		}
	}
	if ok {
		var pts []string
		for _, k := range c.projectionSteps() {
			_, mid, _ := c.band(k)
			pts = append(pts, f1(s.x(k))+","+f1(s.y(mid)))
		}
		fmt.Fprintf(&b, `<polyline class="projection" points="%s" fill="none" stroke="#102a43" stroke-width="2" stroke-dasharray="5 4"/>`, strings.Join(pts, " "))
	}
	x0 := s.x(0)
	fmt.Fprintf(&b, `<line class="today" x1="%s" x2="%s" y1="%g" y2="%g" stroke="#52606d" stroke-width="1"/>`, f1(x0), f1(x0), padTop, chartH-padBot)
	fmt.Fprintf(&b, `<text x="%s" y="%g" font-size="10" fill="#52606d" text-anchor="middle">today</text>`, f1(x0), padTop-3)
	if ok && r.BuyByDays != nil && *r.BuyByDays <= s.d1 {
		d := max(*r.BuyByDays, s.d0)
		x := s.x(d)
		// The date of the forecast's buy_by_date field, which is UTC.
		label := "buy by " + c.Made.UTC().Add(time.Duration(*r.BuyByDays*24*float64(time.Hour))).Format("2 Jan")
		fmt.Fprintf(&b, `<line class="buy-by" x1="%s" x2="%s" y1="%g" y2="%g" stroke="#8e24aa" stroke-width="2"/>`, f1(x), f1(x), padTop, chartH-padBot)
		anchor := "start"
		if x > chartW-140 {
			anchor = "end"
		}
		off := 4.0
		if anchor == "end" {
			off = -4
		}
		fmt.Fprintf(&b, `<text x="%s" y="%g" font-size="11" font-weight="bold" fill="#8e24aa" text-anchor="%s">%s</text>`, f1(x+off), padTop+12, anchor, label)
	}
	// Legend.
	ly := chartH - 6
	legend := []struct{ color, dash, text string }{{"#2f80ed", "", "held per day"}, {"#102a43", "5 4", "forecast"}, {"#9fb3c8", "", "80 % band"}, {"#c81e1e", "", "pool"}, {"#de911d", "6 4", "margin"}}
	x := padLeft
	for _, l := range legend {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, x, x+16, ly-4, ly-4, l.color, l.dash)
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#323f4b">%s</text>`, x+20, ly, l.text)
		x += 20 + 6*float64(len(l.text)) + 16
	}
	b.WriteString(`</svg>`)
	return b.String()
}
