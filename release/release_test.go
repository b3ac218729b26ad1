package release_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/filelock"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/report"
)

var update = flag.Bool("update", false, "rewrite golden files from the real code")

func smallSite() *emulator.Site {
	return emulator.Generate(emulator.SiteSpec{Seed: 31, Users: 60, Now: testkit.Now})
}

func TestPlanTableGolden(t *testing.T) {
	e := newEnv(t, smallSite(), withKeys("max_releases_per_run = 4"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, report.Plan(&out, p, report.FormatTable))
	golden := "testdata/plan.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())
}

func TestPlanJSONAndCSV(t *testing.T) {
	e := newEnv(t, smallSite(), basicPolicy)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	var js bytes.Buffer
	require.NoError(t, report.Plan(&js, p, report.FormatJSON))
	var doc struct {
		Site   string `json:"site"`
		DryRun bool   `json:"dry_run"`
		Items  []struct {
			Verdict string `json:"verdict"`
			Reason  string `json:"reason"`
		} `json:"items"`
		Totals []struct {
			Considered int `json:"considered"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	require.Equal(t, "production", doc.Site)
	require.False(t, doc.DryRun)
	require.Len(t, doc.Items, doc.Totals[0].Considered+doc.Totals[1].Considered)

	var csv bytes.Buffer
	require.NoError(t, report.Plan(&csv, p, report.FormatCSV))
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	require.Equal(t, "verdict,type,allocation_id,user_directory,user_id,days_inactive,never_used,last_used,reason,detail,note,email,noticed_at,releasable_from", lines[0])
	require.Len(t, lines, len(doc.Items)+1)
	require.EqualError(t, report.Plan(&csv, p, "xml"), `unknown format "xml": expected table, json or csv`)
}

// Every planned allocation is of an enabled type, each verdict has a reason, releases
// come first and most inactive first, and no protected or quarantined one is released.
func TestPlanInvariants(t *testing.T) {
	e := newEnv(t, emulator.Generate(emulator.SiteSpec{Seed: 32, Users: 400, Now: testkit.Now}), basicPolicy)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Errors)
	rels := p.Releases()
	require.Len(t, rels, policy.DefaultMaxReleasesPerRun)
	for i := 1; i < len(rels); i++ {
		require.GreaterOrEqual(t, rels[i-1].Decision.Inactivity, rels[i].Decision.Inactivity)
	}
	var notes int
	for _, it := range p.Items {
		require.NotEmpty(t, it.Decision.Reason)
		if it.Decision.Verdict != policy.Keep {
			a, _ := e.srv.Site.Allocation(emulator.Kind(it.Type), it.Holder.ID)
			require.False(t, a.Quarantined)
			require.NotEqual(t, `INTERNAL\sa_api`, it.Holder.Name)
		}
		if it.Note != "" {
			notes++
		}
	}
	require.Positive(t, notes, "users with both a professional and an analyzer allocation are pointed out")
}

func TestDryRunChangesNothing(t *testing.T) {
	site := smallSite()
	e := newEnv(t, site, strings.Replace(basicPolicy, "dry_run = false", "dry_run = true", 1))
	before := append(site.Allocations(emulator.KindProfessional), site.Allocations(emulator.KindAnalyzer)...)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	after := append(site.Allocations(emulator.KindProfessional), site.Allocations(emulator.KindAnalyzer)...)
	require.Equal(t, before, after)
	require.Zero(t, e.srv.Log.Count("DELETE", ""))
	require.Positive(t, sum.WouldRelease)
	require.Zero(t, sum.Released)
	lines := auditLines(t, e.audit)
	require.Len(t, lines, sum.WouldRelease+1)
	require.Contains(t, lines[0], `"outcome":"dry_run"`)
}

// Once releases exactly what the plan said, most inactive first, up to the cap; the
// emulator's state shows it.
func TestOnceReleasesThePlanUpToTheCap(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 33, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 7"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	var planned []string
	for _, it := range p.Releases() {
		planned = append(planned, it.Holder.ID)
	}
	require.Len(t, planned, 7)
	deferred := 0
	for _, tt := range p.Totals {
		deferred += tt.Deferred
	}
	require.Positive(t, deferred)

	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 7, sum.Released+sum.Quarantined)
	require.Equal(t, deferred, sum.Deferred)
	require.Zero(t, sum.Failed)
	for _, id := range planned {
		a, ok := site.Allocation(emulator.KindProfessional, id)
		if !ok {
			a, ok = site.Allocation(emulator.KindAnalyzer, id)
		}
		require.True(t, !ok || a.Quarantined, "%s was released", id)
	}
	require.Equal(t, 7, e.srv.Log.Count("DELETE", ""))
}

// Between plan and DELETE the user comes back, or gets protected: the re-check skips it.
func TestRecheckSkipsWhatChanged(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 34, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 3"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	rels := p.Releases()
	require.Len(t, rels, 3)
	used, tagged := rels[0], rels[1]
	require.NoError(t, site.Touch(emulator.Kind(used.Type), used.Holder.ID, testkit.Now.Add(-time.Hour)))
	require.NoError(t, site.UpdateUser(tagged.Holder.User, func(u *emulator.User) {
		u.Tags = append(u.Tags, emulator.Tag{ID: "aaaaaaaa-0000-4000-8000-00000000000a", Name: "license do not release"})
	}))

	ex := &release.Executor{
		Source: e.site.Source, Policy: e.site.Policy, Site: "production",
		Now: func() time.Time { return testkit.Now }, Concurrency: 1, Recorder: &memRecorder{}, Log: slogDiscard(),
	}
	sum := ex.Run(t.Context(), nil, p)
	out := ex.Recorder.(*memRecorder).outcomes
	require.Len(t, out, 3)
	byID := map[string]audit.Outcome{}
	for _, o := range out {
		byID[o.AllocationID] = o
	}
	require.Equal(t, audit.Skipped, byID[used.Holder.ID].Result)
	require.Equal(t, release.ReasonUsedSincePlan, byID[used.Holder.ID].Reason)
	require.Equal(t, audit.Skipped, byID[tagged.Holder.ID].Result)
	require.Equal(t, "protected_tag", byID[tagged.Holder.ID].Reason)
	require.Equal(t, 2, sum.Skipped)
	require.Equal(t, 1, sum.Released)
	_, still := site.Allocation(emulator.Kind(used.Type), used.Holder.ID)
	require.True(t, still)
}

// A DELETE answered with QRS's own 500 and read back still there is proven not done: it
// is sent again in the same run (not left for the next period), and one that keeps
// failing is failed once the client's retry budget is spent, without stopping the run.
func TestADeleteReadBackUndoneIsSentAgain(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 35, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 5"))
	// The second DELETE of the run gets a 500; sent again, it works.
	e.srv.Faults.Inject(emulator.FaultNone, "DELETE", "", 1)
	e.srv.Faults.Inject(emulator.FaultServerError, "DELETE", "", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Zero(t, sum.Failed)
	require.Equal(t, 5, sum.Released+sum.Quarantined)
	require.Equal(t, 6, e.srv.Log.Count("DELETE", ""), "the DELETE proven not done is sent again, once")
	require.Contains(t, strings.Join(auditLines(t, e.audit), "\n"), "sent 2 times")

	// Failing every time: sent 1 + retry budget (3) times, then failed; the others released.
	site = emulator.Generate(emulator.SiteSpec{Seed: 35, Users: 200, Now: testkit.Now})
	e = newEnv(t, site, withKeys("max_releases_per_run = 5"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	e.srv.Faults.Inject(emulator.FaultServerError, "DELETE", p.Releases()[1].Holder.ID, 4)
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Failed)
	require.Equal(t, 4, sum.Released+sum.Quarantined)
	require.Equal(t, 5+3, e.srv.Log.Count("DELETE", ""))
	var failed int
	for _, l := range auditLines(t, e.audit) {
		if strings.Contains(l, `"outcome":"failed"`) {
			failed++
			require.Contains(t, l, "500 Internal Server Error")
			require.Contains(t, l, "sent 4 times")
		}
	}
	require.Equal(t, 1, failed)
}

// A DELETE whose answer is lost is resolved by reading the allocation back: gone is
// released at once; still there proves nothing until the settle grace has passed, then it
// is proven not done and sent again.
func TestLostAnswerIsResolvedByReadingBack(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 36, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 2"))
	e.srv.Faults.Inject(emulator.FaultLoseAnswer, "DELETE", "", 1) // done, answer lost
	e.srv.Faults.Inject(emulator.FaultReset, "DELETE", "", 1)      // not done, answer lost
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Released+sum.Quarantined)
	require.Zero(t, sum.Failed)
	lines := auditLines(t, e.audit)
	require.Contains(t, lines[0], "the DELETE's answer was lost; the allocation is gone")
	require.Contains(t, lines[1], "sent 2 times")
	require.Equal(t, 3, e.srv.Log.Count("DELETE", ""), "the reset one sent again after the grace")
	var first time.Time
	reads := 0
	for _, r := range e.srv.Log.Entries() {
		switch {
		case r.Method == "DELETE" && first.IsZero():
			first = r.Wall
		case r.Method == "GET" && !first.IsZero() && strings.Contains(r.Path, "accesstype/full"):
			reads++
		}
	}
	require.Equal(t, 3, reads, "after the DELETEs: one read-back, one read after the grace, one of the DELETE sent again")
}

func TestRecentlyUsedAllocationIsQuarantined(t *testing.T) {
	site := emulator.NewSite(func() time.Time { return testkit.Now }, emulator.Behaviour{})
	site.ProfessionalTotal = 5
	u := site.AddUser(emulator.User{ID: "9e403391-58a7-4442-ada7-c54dc8906016", UserID: "anna", UserDirectory: "CORP"})
	site.AddAllocation(emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-000000000001", Kind: emulator.KindProfessional, UserRef: u.ID,
		Created: testkit.Now.Add(-90 * 24 * time.Hour), LastUsed: testkit.Now.Add(-3 * 24 * time.Hour)})
	e := newEnv(t, site, `
    dry_run = false
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 2
`)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Quarantined)
	a, ok := site.Allocation(emulator.KindProfessional, "aaaaaaaa-0000-4000-8000-000000000001")
	require.True(t, ok)
	require.True(t, a.Quarantined)
	require.Contains(t, auditLines(t, e.audit)[0], "quarantined until 2026-05-08T10:00:00Z")
}

func TestConcurrencyAndPacing(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 37, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 6", "concurrency = 3"))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 6, sum.Released+sum.Quarantined)
	require.Equal(t, 6, e.srv.Log.Count("DELETE", ""))

	// With pacing, DELETEs are spaced (the slots themselves are tested on a fake clock in
	// TestPacerSlots). The server sees the spacing too, though a busy machine may delay a
	// request on its way: the three DELETEs, two slots of 40ms apart when sent, span at
	// least one slot there.
	site = emulator.Generate(emulator.SiteSpec{Seed: 37, Users: 200, Now: testkit.Now})
	e = newEnv(t, site, withKeys("max_releases_per_run = 3", `pacing = "40ms"`))
	_, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	var deletes []time.Time
	for _, r := range e.srv.Log.Entries() {
		if r.Method == "DELETE" {
			deletes = append(deletes, r.Wall)
		}
	}
	require.Len(t, deletes, 3)
	require.GreaterOrEqual(t, deletes[2].Sub(deletes[0]), 40*time.Millisecond)
}

// Closing stop finishes the DELETE in flight and starts no more; the rest is deferred.
func TestStopFinishesInFlightAndDefersTheRest(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 38, Users: 200, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 5"))
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	// stop closes as the first DELETE is about to be sent (its intent is being recorded):
	// that DELETE is in flight and must finish; no other may start.
	stop := make(chan struct{})
	rec := &memRecorder{onIntent: func() { close(stop) }}
	ex := &release.Executor{
		Source: e.site.Source, Policy: e.site.Policy, Site: "production",
		Now: func() time.Time { return testkit.Now }, Concurrency: 1, Recorder: rec, Log: slogDiscard(),
	}
	sum := ex.Run(t.Context(), stop, p)
	require.True(t, sum.Interrupted)
	require.Len(t, rec.outcomes, 1)
	require.Equal(t, len(rec.outcomes), sum.Released+sum.Quarantined)
	require.Equal(t, 5-len(rec.outcomes)+(sum.Candidates-5), sum.Deferred)
	require.Equal(t, len(rec.outcomes), e.srv.Log.Count("DELETE", ""))
}

func TestLockedSiteIsSkipped(t *testing.T) {
	e := newEnv(t, smallSite(), basicPolicy)
	lock, err := filelock.Acquire(e.site.Settings.LockFile)
	require.NoError(t, err)
	_, err = e.runner.Once(t.Context(), nil)
	require.ErrorIs(t, err, release.ErrLocked)
	require.Zero(t, e.srv.Log.Count("", ""), "a locked run does not even plan")
	require.NoError(t, lock.Unlock())
	_, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
}

type memRecorder struct {
	outcomes  []audit.Outcome
	summaries []audit.Summary
	onIntent  func() // called once, at the first intent
}

func (m *memRecorder) Intent(audit.Outcome) error {
	if m.onIntent != nil {
		m.onIntent()
		m.onIntent = nil
	}
	return nil
}

func (m *memRecorder) Outcome(o audit.Outcome) error {
	m.outcomes = append(m.outcomes, o)
	return nil
}

func (m *memRecorder) Summary(s audit.Summary) error {
	m.summaries = append(m.summaries, s)
	return nil
}

// The process died after writing an outcome to the audit log but before noting it in the
// in-flight file: recovery must not record it twice.
func TestRecoveryDoesNotRecordTwice(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 39, Users: 100, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 2"))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Released+sum.Quarantined)
	before := auditLines(t, e.audit)
	var first struct {
		Outcome audit.Outcome `json:"outcome"`
	}
	require.NoError(t, json.Unmarshal([]byte(before[0]), &first))
	// Re-create the in-flight file as the crash left it: the intent, no done note.
	intent, err := json.Marshal(map[string]any{"intent": first.Outcome})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.site.Settings.InflightFile(), append(intent, '\n'), 0o640))

	require.NoError(t, e.runner.Recover(t.Context()))
	lines := auditLines(t, e.audit)
	outcomes := 0
	for _, l := range lines[len(before):] {
		if strings.Contains(l, `"kind":"outcome"`) {
			outcomes++
		}
	}
	require.Zero(t, outcomes, "the outcome was in the audit log already")
	require.Contains(t, lines[len(lines)-1], `"kind":"run"`, "the interrupted run gets its summary")
	b, err := os.ReadFile(e.site.Settings.InflightFile())
	require.NoError(t, err)
	require.Empty(t, b)
}
