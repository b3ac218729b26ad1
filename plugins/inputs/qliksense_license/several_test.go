package qliksense_license_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// stalledTenant is a tenant whose consumption read hangs until released, as a tenant
// behind a dead proxy does until the gather's bound.
type stalledTenant struct {
	*memTenant
	release chan struct{}
}

func (s *stalledTenant) LastUse(ctx context.Context, since time.Time) (*qcloud.Usage, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.memTenant.LastUse(ctx, since)
}

// gathersOf counts the qlik_sense_license_gather points of each site.
func gathersOf(acc *testutil.Accumulator) map[string]int {
	n := map[string]int{}
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == qliksense_license.MeasurementGather {
			n[m.Tags()["site"]]++
		}
	}
	return n
}

type logSink struct {
	testutil.Logger
	mu    sync.Mutex
	warns []string
}

func (l *logSink) Warnf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, format)
}

// Tables of one file are gathered independently: a table whose gather hangs (up to its
// bound) does not hold back the others' gathers, as it would not under Telegraf with a
// process per table; it is skipped, with a warning, while its gather runs; Wait waits
// for the gathers in flight (the shim's Stop, -once).
func TestSeveralASlowTableDoesNotHoldBackTheOthers(t *testing.T) {
	slow := &stalledTenant{memTenant: issueTenant(), release: make(chan struct{})}
	stalled := loadTenant(t, tenantConf, slow.memTenant)
	stalled.SetTenantClient(slow)
	fast := loadTenant(t, strings.Replace(tenantConf, `api_key = "k"`, "api_key = \"k\"\n  site = \"fast\"", 1), issueTenant())
	log := &logSink{}
	s := &qliksense_license.Several{Plugins: []*qliksense_license.QlikSenseLicense{stalled, fast}, Log: log}

	var acc testutil.Accumulator
	for i := range 3 { // three intervals
		done := make(chan struct{})
		go func() {
			defer close(done)
			require.NoError(t, s.Gather(&acc))
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			close(slow.release)
			t.Fatal("Gather waited for the stalled table")
		}
		require.Eventually(t, func() bool { return gathersOf(&acc)["fast"] == i+1 }, time.Minute, time.Millisecond)
	}
	require.Zero(t, gathersOf(&acc)["acme.eu.qlikcloud.com"])
	log.mu.Lock()
	require.Len(t, log.warns, 2, log.warns) // the stalled table, skipped twice
	log.mu.Unlock()

	close(slow.release)
	s.Wait()
	require.Equal(t, map[string]int{"fast": 3, "acme.eu.qlikcloud.com": 1}, gathersOf(&acc))
	require.Empty(t, acc.Errors)
}
