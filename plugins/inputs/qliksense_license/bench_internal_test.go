package qliksense_license

import (
	"fmt"
	"testing"
	"time"

	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/plugins/serializers/influx"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// BenchmarkLineProtocol turns 10 000 allocations into per-allocation points and line
// protocol, as the shim does with allocation_details on.
func BenchmarkLineProtocol(b *testing.B) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	allocs := make([]qrs.Allocation, 10_000)
	for i := range allocs {
		allocs[i] = qrs.Allocation{
			ID:       fmt.Sprintf("%08d-58a7-4442-ada7-c54dc8906016", i),
			User:     &qrs.UserCondensed{UserDirectory: "CORP", UserID: fmt.Sprintf("user%d", i)},
			LastUsed: qrs.Time{Time: now.Add(-time.Duration(i) * time.Hour)},
		}
	}
	s := &influx.Serializer{}
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range allocs {
			a := &allocs[i]
			tags := detailTags(map[string]string{"site": "production", "license_type": "professional"}, a)
			m := metric.New(MeasurementAllocation, tags, detailFields(a, now.Sub(a.LastUsed.Time)), now)
			if _, err := s.Serialize(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBuckets counts 10 000 allocations into the inactivity buckets.
func BenchmarkBuckets(b *testing.B) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	a := &qrs.Allocation{LastUsed: qrs.Time{Time: now.Add(-45 * 24 * time.Hour)}}
	b.ReportAllocs()
	for b.Loop() {
		bk := newBuckets(siteconfig.DefaultInactivityBuckets)
		for i := range 10_000 {
			bk.add(a, time.Duration(i)*time.Hour)
		}
		_ = bk.fields()
	}
}
