package qcloud_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

// ReadCost is what reading a tenant for a release run cost and its physical minimum.
type ReadCost struct {
	Requests int64 // sent by the client (the emulator's log agrees)
	Minimum  int64 // overview + settings + assignment pages + user pages or batches + consumption pages
	Events   int
}

// readForRelease reads what a release run needs: the overview and auto-assign settings,
// every assignment, the users holding them (UsersFor: batches or one paging, whichever is
// cheaper), and the consumption since the watermark (zero: the 30-day window on a first
// run). It returns the cost, the minimum and the new watermark.
func readForRelease(ctx context.Context, c *qcloud.Client, totalUsers int, since time.Time) (ReadCost, time.Time, error) {
	before := c.Requests()
	if _, err := c.Overview(ctx); err != nil {
		return ReadCost{}, time.Time{}, err
	}
	if _, err := c.Settings(ctx); err != nil {
		return ReadCost{}, time.Time{}, err
	}
	as, err := c.AllAssignments(ctx)
	if err != nil {
		return ReadCost{}, time.Time{}, err
	}
	subjects := make([]string, len(as))
	for i, a := range as {
		subjects[i] = a.Subject
	}
	if _, err := c.UsersFor(ctx, subjects); err != nil {
		return ReadCost{}, time.Time{}, err
	}
	u, err := c.LastUse(ctx, since)
	if err != nil {
		return ReadCost{}, time.Time{}, err
	}
	pages := func(n, per int) int64 { return int64(max((n+per-1)/per, 1)) }
	userCost := min(pages(totalUsers, qcloud.PageLimit), pages(len(subjects), qcloud.SubjectBatch))
	return ReadCost{
		Requests: c.Requests() - before,
		Minimum:  2 + pages(len(as), qcloud.PageLimit) + userCost + pages(u.Events, qcloud.PageLimit),
		Events:   u.Events,
	}, u.Watermark, nil
}

var (
	tenant10kOnce sync.Once
	tenant10k     *qcloudemu.Tenant
)

// BenchmarkReadTenant10k measures the requests of a release run's reads on a generated
// 10 000-user tenant against the physical minimum (pages + batches): the first run reads
// 30 days of consumption, the steady state (a daily run) the last day's only. Metrics:
// requests/run, minimum/run, events/run.
func BenchmarkReadTenant10k(b *testing.B) {
	tenant10kOnce.Do(func() { tenant10k = qcloudemu.Generate(qcloudemu.Spec{Seed: 10, Users: 10000, Now: now}) })
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant10k})
	require.NoError(b, err)
	defer func() { _ = srv.Close() }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	c, err := qcloud.New(qcloud.Config{Tenant: srv.URL, APIKey: "emulator-api-key", TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ReadsPerMinute: -1, ActionsPerMinute: -1})
	require.NoError(b, err)
	defer c.Close()
	for _, run := range []struct {
		name  string
		since time.Time
	}{{"first-run-30d", now.AddDate(0, 0, -30)}, {"steady-state-1d", now.AddDate(0, 0, -1)}} {
		b.Run(run.name, func(b *testing.B) {
			var cost ReadCost
			for b.Loop() {
				cost, _, err = readForRelease(b.Context(), c, 10000, run.since)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(cost.Requests), "requests/run")
			b.ReportMetric(float64(cost.Minimum), "minimum/run")
			b.ReportMetric(float64(cost.Events), "events/run")
		})
	}
}

// The read of a generated tenant costs its physical minimum, and a steady-state run reads
// far fewer consumption pages than a first run.
func TestReadCostIsTheMinimum(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 11, Users: 2000, Now: now})
	srv, c := start(t, tenant, qcloud.Config{APIKey: "emulator-api-key"})
	first, mark, err := readForRelease(t.Context(), c, 2000, now.AddDate(0, 0, -30))
	require.NoError(t, err)
	require.Equal(t, first.Minimum+1, first.Requests, "the minimum and the user count")
	require.Equal(t, int(first.Requests), len(srv.Log.Entries()))
	require.Equal(t, 2000/qcloud.PageLimit, srv.Log.Count("GET", "/api/v1/users")-1, "1600 holders of 2000 users: paged once, not 32 batches")
	steady, _, err := readForRelease(t.Context(), c, 2000, mark.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Less(t, steady.Events*10, first.Events)
	require.Equal(t, steady.Minimum+1, steady.Requests)
}

func TestUsersForBatchesFewHolders(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 12, Users: 2000, Now: now, Professional: 60, Analyzer: 60})
	srv, c := start(t, tenant, qcloud.Config{APIKey: "emulator-api-key"})
	var subjects []string
	for _, a := range tenant.Assignments() {
		subjects = append(subjects, a.Subject)
	}
	users, err := c.UsersFor(t.Context(), subjects)
	require.NoError(t, err)
	require.Len(t, users, 120)
	require.Equal(t, 1, srv.Log.Count("GET", "/actions/count"))
	require.Equal(t, 3+1, srv.Log.Count("GET", "/api/v1/users"), "130 subjects in 3 batches, and the count")
}
