package forecast

import "math"

// stepWindow is the days either side of a day whose medians a step is judged by.
const stepWindow = 14

// edgeDays are the days either side of a step that must hold most of its jump: a step is
// a jump between two stretches, a wave a slope that spreads its rise over weeks.
const edgeDays = 3

// shortDays are the days of a step's short stretch near an end of the history (endStep).
const shortDays = 7

// removeSteps finds level shifts and moves the history before each to the level after it,
// so that a step is neither growth nor decline. It returns how many it took out.
//
// A step is a jump between two flat stretches: a median of the next two weeks that
// differs from the median of the last two by more than the noise allows once the drift
// and the stretches' own slope are taken out, and whose jump is made at the day (the
// three days either side differ by most of it). A yearly wave's slope moves the two
// weeks' medians as far as a small step, but each stretch rises as much as the wave
// explains and three days hold a fifth of it: it is left to the year-over-year growth
// and last year's path, which follow it. A step in the first two weeks, whose first
// stretch is short, is judged by the week before it; a step in the last two weeks, whose
// second stretch is short, by the week after it (endStep): the level is then taken from
// after it.
func removeSteps(y []float64, ok []bool, drift float64) int {
	noise := noiseScale(y, ok)
	level := math.Abs(median(window(y, ok, 0, len(y))))
	least := max(5*noise, 0.02*level, 3)
	steps := 0
	for steps < 10 {
		best, bestJump := -1, 0.0
		for d := stepWindow; d+stepWindow <= len(y); d++ {
			before, after := window(y, ok, d-stepWindow, d), window(y, ok, d, d+stepWindow)
			if len(before) < stepWindow/2 || len(after) < stepWindow/2 {
				continue
			}
			jump := median(after) - median(before) - drift*stepWindow
			// What the stretches' own slope explains of the jump is a wave's, not a step's.
			wave := (slopeOf(y, ok, d-stepWindow, d) + slopeOf(y, ok, d, d+stepWindow) - 2*drift) / 2 * stepWindow
			if math.Abs(jump) > math.Abs(bestJump) && isStep(jump, wave, least) && atTheDay(y, ok, d, jump, drift) {
				best, bestJump = d, jump
			}
		}
		if best < 0 {
			break
		}
		shift(y, best, bestJump)
		steps++
	}
	if steps < 10 && endStep(y, ok, drift, least, true) >= 0 {
		steps++
	}
	// Two onboardings a week apart are two steps, and a step first measured with the other
	// in its days is measured again once the other is out: up to four passes, each day
	// counted once.
	found := map[int]bool{}
	for range 4 {
		d := endStep(y, ok, drift, least, false)
		if d < 0 {
			break
		}
		found[d] = true
	}
	return steps + len(found)
}

// endStep finds a step near an end of the history, where one of its two stretches is
// short: in the last two weeks (at least edgeDays days ago) judged by the week after it —
// no more: a second step later in the week would be taken for part of it — against the
// two weeks before; or, first, in the first two weeks judged by the week before it against
// the two weeks after (in a month of history such a step fills most of the day pairs, and
// read as growth it made a flat site rise by three seats a day). Both around the drift,
// and beyond what the long stretch's own slope explains. It takes the step out as
// removeSteps does and returns its day (−1: none).
func endStep(y []float64, ok []bool, drift, least float64, first bool) int {
	n := len(y)
	lo, hi := max(stepWindow, n-stepWindow+1), n-edgeDays+1 // the days it looks at
	if first {
		lo, hi = edgeDays, min(stepWindow, n-stepWindow+1)
	}
	best, bestJump := -1, 0.0
	for d := lo; d < hi; d++ {
		from, to := d-stepWindow, min(n, d+shortDays) // the stretches: from…d−1 and d…to−1
		longFrom, longTo := from, d
		if first {
			from, to = max(0, d-shortDays), d+stepWindow
			longFrom, longTo = d, to
		}
		var before, after []float64
		for i := from; i < to; i++ {
			if !ok[i] {
				continue
			}
			if v := y[i] - drift*float64(i-d); i < d {
				before = append(before, v)
			} else {
				after = append(after, v)
			}
		}
		long, short := len(before), len(after)
		if first {
			long, short = short, long
		}
		if long < stepWindow/2 || short < 2 {
			continue
		}
		jump := median(after) - median(before)
		wave := (slopeOf(y, ok, longFrom, longTo) - drift) * float64(to-from) / 2
		if math.Abs(jump) > math.Abs(bestJump) && isStep(jump, wave, least) && atTheDay(y, ok, d, jump, drift) {
			best, bestJump = d, jump
		}
	}
	if best >= 0 {
		shift(y, best, bestJump)
	}
	return best
}

// isStep says whether a jump is a step's: beyond the noise (least), and so even without
// what the stretches' own slope explains (wave).
func isStep(jump, wave, least float64) bool {
	return math.Abs(jump) >= least && (jump-wave)*jump > 0 && math.Abs(jump-wave) >= least
}

// atTheDay says whether the edgeDays either side of day d, around the drift, differ by at
// least 60 % of jump, in its direction: the jump is made at d, not spread over weeks.
func atTheDay(y []float64, ok []bool, d int, jump, drift float64) bool {
	before, after := window(y, ok, d-edgeDays, d), window(y, ok, d, d+edgeDays)
	if len(before) == 0 || len(after) == 0 {
		return false
	}
	edge := median(after) - median(before) - drift*edgeDays
	return edge*jump > 0 && math.Abs(edge) >= 0.6*math.Abs(jump)
}

// slopeOf is the slope of days from … to−1, in seats a day: the medians of its halves
// apart by half its length.
func slopeOf(y []float64, ok []bool, from, to int) float64 {
	half := (to - from) / 2
	a, b := window(y, ok, from, from+half), window(y, ok, to-half, to)
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	return (median(b) - median(a)) / float64(to-half-from)
}

// shift moves the history before day d by jump: to the level after the step.
func shift(y []float64, d int, jump float64) {
	for i := range d {
		y[i] += jump
	}
}

// noiseScale is a robust day-to-day noise: 1.4826 × the median absolute deviation of the
// differences from a one-week median.
func noiseScale(y []float64, ok []bool) float64 {
	var dev []float64
	for i := range y {
		if !ok[i] {
			continue
		}
		w := window(y, ok, max(0, i-3), min(len(y), i+4))
		dev = append(dev, math.Abs(y[i]-median(w)))
	}
	return 1.4826 * median(dev)
}
