package qliksense_license

import (
	"fmt"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// buckets counts allocations by days since last use. Quarantined allocations (released,
// waiting out their quarantine) and never-used ones are counted apart, so
// total = sum of the days_* buckets + never_used + quarantined.
type buckets struct {
	edges      []int // days
	counts     []int64
	names      []string
	neverUsed  int64
	quarantine int64
	oldest     time.Duration
	seenUsed   bool
}

func newBuckets(edges []int) *buckets {
	b := &buckets{edges: edges, counts: make([]int64, len(edges)+1)}
	lo := 0
	for _, e := range edges {
		b.names = append(b.names, fmt.Sprintf("days_%d_%d", lo, e))
		lo = e
	}
	b.names = append(b.names, fmt.Sprintf("days_%d_plus", lo))
	return b
}

func (b *buckets) add(a *qrs.Allocation, inactivity time.Duration) {
	b.count(a.Quarantined, !a.LastUsed.Valid(), inactivity)
}

// count counts one holder: quarantined, never used, or by its inactivity.
func (b *buckets) count(quarantined, neverUsed bool, inactivity time.Duration) {
	switch {
	case quarantined:
		b.quarantine++
	case neverUsed:
		b.neverUsed++
	default:
		i := 0
		for i < len(b.edges) && inactivity >= time.Duration(b.edges[i])*24*time.Hour {
			i++
		}
		b.counts[i]++
		if !b.seenUsed || inactivity > b.oldest {
			b.oldest, b.seenUsed = inactivity, true
		}
	}
}

func (b *buckets) fields() map[string]any {
	f := map[string]any{"never_used": b.neverUsed, "quarantined": b.quarantine}
	total := b.neverUsed + b.quarantine
	for i, n := range b.counts {
		f[b.names[i]] = n
		total += n
	}
	f["total"] = total
	if b.seenUsed {
		f["oldest_last_use_days"] = b.oldest.Hours() / 24
	}
	return f
}
