package qcloudemu

import (
	"slices"
)

func sortByEnd(es []*Event) {
	slices.SortStableFunc(es, func(a, b *Event) int { return a.EndTime.Compare(b.EndTime) })
}
