package release_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release"
)

// requestsOf sorts a run's requests: DELETEs, filtered list reads (re-checks and
// read-backs, the plan's lists), user reads, and reads of one allocation by id.
func requestsOf(entries []emulator.LoggedRequest) (deletes, lists, users, byID int) {
	for _, e := range entries {
		switch {
		case e.Method == http.MethodDelete:
			deletes++
		case strings.Contains(e.Path, "/user"):
			users++
		case strings.HasSuffix(e.Path, "/full"):
			lists++
		default:
			byID++
		}
	}
	return
}

// A run of N releases costs N DELETEs and, per batch, one re-check, one read of the users
// and one read-back: at most N + 3⌈N/k⌉ + 3 requests with the plan's three (17 releases:
// at most 26), never one request per allocation besides its DELETE.
func TestReleasesAreBatched(t *testing.T) {
	for _, tc := range []struct {
		users, releases int
	}{{200, 17}, {1000, 120}} {
		site := emulator.Generate(emulator.SiteSpec{Seed: 81, Users: tc.users, Now: testkit.Now})
		e := newEnv(t, site, withKeys("max_releases_per_run = "+strconv.Itoa(tc.releases)))
		p, err := e.runner.Plan(t.Context())
		require.NoError(t, err)
		perType := map[qrs.AccessType]int{}
		for _, it := range p.Releases() {
			perType[it.Type]++
		}
		require.Len(t, p.Releases(), tc.releases)
		e.srv.Log.Reset()
		sum, err := e.runner.Once(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, tc.releases, sum.Released+sum.Quarantined, "%+v", sum)

		batches := 0
		for _, n := range perType {
			batches += (n + 39) / 40
		}
		deletes, lists, users, byID := requestsOf(e.srv.Log.Entries())
		require.Equal(t, tc.releases, deletes)
		require.Zero(t, byID, "no allocation is read on its own")
		require.Equal(t, 2+2*batches, lists, "the plan's two lists, a re-check and a read-back per batch")
		require.Equal(t, 1+batches, users, "the plan's users, and a batch's users with its re-check")
		total := len(e.srv.Log.Entries())
		require.LessOrEqual(t, total, tc.releases+3*batches+3)
		t.Logf("%d releases in %d batches: %d requests (%.2f a release)", tc.releases, batches, total, float64(total)/float64(tc.releases))
		if tc.releases == 17 {
			require.LessOrEqual(t, total, 26)
		}
	}
}

// A DELETE whose answer is lost inside a batch is resolved by the batch's one read-back.
func TestLostAnswerInABatchIsResolvedByTheBatchReadBack(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 82, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 6"))
	e.srv.Faults.Inject(emulator.FaultNone, http.MethodDelete, "", 1)
	e.srv.Faults.Inject(emulator.FaultLoseAnswer, http.MethodDelete, "", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 6, sum.Released+sum.Quarantined)
	require.Zero(t, sum.Unsettled+sum.Failed)
	require.Contains(t, strings.Join(auditLines(t, e.audit), "\n"), "the DELETE's answer was lost; the allocation is gone")
	_, _, _, byID := requestsOf(e.srv.Log.Entries())
	require.Zero(t, byID, "resolved by the batch's read-back, not a read of its own")
}

// No re-check is older than recheck_max_age when its DELETE starts: with DELETEs slower
// than the bound allows for a whole batch, what is left of the batch is re-checked again.
func TestRecheckIsFreshWhenItsDeleteStarts(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 83, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 8", `recheck_max_age = "1s"`))
	e.srv.Faults.Configure(emulator.FaultConfig{Latency: 400 * time.Millisecond, Method: http.MethodDelete})
	e.srv.Log.Reset()
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 8, sum.Released+sum.Quarantined)

	entries := e.srv.Log.Entries()
	rechecks := 0
	for i, d := range entries {
		if d.Method != http.MethodDelete {
			continue
		}
		id := d.Path[strings.LastIndex(d.Path, "/")+1:]
		var last *emulator.LoggedRequest
		for j := range entries[:i] {
			g := &entries[j]
			if g.Method == http.MethodGet && strings.HasSuffix(g.Path, "/full") && strings.Contains(g.Query, id) && g.Wall.Before(d.Wall) {
				last = g
			}
		}
		require.NotNil(t, last, "DELETE %s without a re-check", id)
		// Measured on the server: from the re-check's arrival to the DELETE's, so a little
		// more than the client's own age of it (a slow machine adds its round trips; without
		// the bound the last DELETE would come some 2.8 s after the only re-check).
		require.LessOrEqual(t, d.Wall.Sub(last.Wall), time.Second+500*time.Millisecond, "DELETE %s", id)
	}
	for _, g := range entries {
		if g.Method == http.MethodGet && strings.HasSuffix(g.Path, "/full") && strings.Contains(g.Query, "filter") {
			rechecks++
		}
	}
	require.Greater(t, rechecks, 2, "the batch was re-checked in parts")
}

// A 500 on a batch's re-check releases nothing of that batch: each allocation is skipped
// with recheck_failed, and the next run releases them.
func TestFailedBatchRecheckReleasesNothing(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 84, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 4"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	ex := &release.Executor{Source: e.site.Source, Policy: e.site.Policy, Site: "production",
		Now: func() time.Time { return testkit.Now }, Recorder: &memRecorder{}, Log: slogDiscard()}
	failing := p.Releases()[0].Type
	inBatch := 0
	for _, it := range p.Releases() {
		if it.Type == failing {
			inBatch++
		}
	}
	e.srv.Faults.Inject(emulator.FaultServerError, http.MethodGet, p.Releases()[0].Holder.ID, 10)
	e.srv.Log.Reset()
	sum := ex.Run(t.Context(), nil, p)
	require.Zero(t, e.srv.Log.Count(http.MethodDelete, failing.Endpoint()), "nothing of the batch is deleted")
	require.Equal(t, 4-inBatch, e.srv.Log.Count(http.MethodDelete, ""), "the other type's batch goes on")
	require.Equal(t, inBatch, sum.Skipped)
	for _, o := range ex.Recorder.(*memRecorder).outcomes {
		if o.Type == failing {
			require.Equal(t, release.ReasonRecheckFailed, o.Reason)
			require.Contains(t, o.Detail, "re-reading the allocations: GET /qrs"+failing.Endpoint()+"/full: 500")
		}
	}
	e.srv.Faults.Clear()
	sum2, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 4, sum2.Released+sum2.Quarantined)
	for _, it := range p.Releases() {
		a, ok := site.Allocation(emulator.Kind(it.Type), it.Holder.ID)
		require.True(t, !ok || a.Quarantined, "%s: the next run releases the skipped batch", it.Holder.ID)
	}
}

// A QRS behind a proxy that answers 502 or 504 after QRS carried the DELETE out (every
// fourth change, as in the issue): a live run of 17 releases records all 17 as released
// — read back, not failed — at no extra request.
func TestGatewayErrorsAfterTheEffectAreReadBack(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 81, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 17"))
	var deletes int
	e.srv.Faults.OnArrive(func(method, path string) {
		if method != http.MethodDelete {
			return
		}
		deletes++
		if deletes%4 == 0 {
			kind := emulator.FaultBadGatewayAfter
			if deletes%8 == 0 {
				kind = emulator.FaultGatewayTimeoutAfter
			}
			e.srv.Faults.Inject(kind, http.MethodDelete, path[strings.LastIndex(path, "/")+1:], 1)
		}
	})
	e.srv.Log.Reset()
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 17, sum.Released+sum.Quarantined, "%+v", sum)
	require.Zero(t, sum.Failed+sum.Unsettled)
	audit := strings.Join(auditLines(t, e.audit), "\n")
	require.Equal(t, 2, strings.Count(audit, "the DELETE was answered 502 Bad Gateway, which does not say what QRS did; read back"))
	require.Equal(t, 2, strings.Count(audit, "the DELETE was answered 504 Gateway Timeout"))
	require.NotContains(t, audit, `"outcome":"failed"`)
	_, _, _, byID := requestsOf(e.srv.Log.Entries())
	require.Zero(t, byID, "settled by the batches' read-backs")
	require.LessOrEqual(t, len(e.srv.Log.Entries()), 26, "no request more than without the faults")
}

// Answers QRS itself sent are definitive: a 404 means gone (skipped, no read needed), a
// 403 means refused (failed); a 503 or a reset before the effect is read back and found
// still there — which proves nothing until the settle grace has passed; read again after
// it, the DELETE is proven not done and sent again (audit.Settle).
func TestDefinitiveAndAmbiguousAnswersOfADelete(t *testing.T) {
	for _, fault := range []emulator.FaultKind{emulator.FaultUnavailable, emulator.FaultReset} {
		t.Run(string(fault), func(t *testing.T) {
			site := emulator.Generate(emulator.SiteSpec{Seed: 82, Users: 200, Now: testkit.Now})
			e := newEnv(t, site, withKeys("max_releases_per_run = 3"))
			e.srv.Faults.Inject(fault, http.MethodDelete, "", 1)
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Zero(t, sum.Failed+sum.Unsettled)
			require.Equal(t, 3, sum.Released+sum.Quarantined)
			require.Equal(t, 4, e.srv.Log.Count(http.MethodDelete, ""))
			audit := strings.Join(auditLines(t, e.audit), "\n")
			require.Contains(t, audit, "sent 2 times")
			require.Contains(t, e.logs.String(), "reading them again once the settle grace has passed")
		})
	}
	t.Run("404 from QRS", func(t *testing.T) {
		site := emulator.Generate(emulator.SiteSpec{Seed: 82, Users: 200, Now: testkit.Now})
		e := newEnv(t, site, withKeys("max_releases_per_run = 3"))
		// Released by someone else between the re-check and the DELETE.
		var first sync.Once
		e.srv.Faults.OnArrive(func(method, path string) {
			if method != http.MethodDelete {
				return
			}
			first.Do(func() {
				kind := emulator.KindProfessional
				if strings.Contains(path, "analyzeraccesstype") {
					kind = emulator.KindAnalyzer
				}
				site.Release(kind, path[strings.LastIndex(path, "/")+1:])
			})
		})
		sum, err := e.runner.Once(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, 1, sum.Skipped)
		require.Contains(t, strings.Join(auditLines(t, e.audit), "\n"), "QRS answered 404: the allocation no longer exists")
	})
	t.Run("403 from QRS", func(t *testing.T) {
		site := emulator.Generate(emulator.SiteSpec{Seed: 82, Users: 200, Now: testkit.Now})
		site.SetRights(`INTERNAL\sa_repository`, []string{"read"})
		e := newEnv(t, site, withKeys("max_releases_per_run = 3"))
		e.srv.Log.Reset()
		sum, err := e.runner.Once(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, 3, sum.Failed)
		require.Contains(t, strings.Join(auditLines(t, e.audit), "\n"), `"reason":"delete_failed","detail":"DELETE /qrs/license/`)
		_, lists, _, _ := requestsOf(e.srv.Log.Entries())
		require.Equal(t, 2+1, lists, "the plan's two lists and the re-check: a refusal needs no read-back")
	})
}
