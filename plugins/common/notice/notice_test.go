package notice_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

const day = 24 * time.Hour

func allocation(lastUsed time.Time) *qrs.Allocation {
	return &qrs.Allocation{ID: "a1", CreatedDate: qrs.Time{Time: testkit.Now.Add(-400 * day)}, LastUsed: qrs.Time{Time: lastUsed}}
}

func TestStagesOverTime(t *testing.T) {
	now := testkit.Now
	a := allocation(now.Add(-100 * day))
	s := notice.New()

	st, _ := s.StageOf(notice.AllocationKey(qrs.Professional, a), 0, now)
	require.Equal(t, notice.Release, st, "no notice period: released at once")

	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, a), 14, now)
	require.Equal(t, notice.Notice, st, "nothing sent yet")

	// Refused by the mail server: still to notice.
	s.Records[a.ID] = &notice.Record{AllocationID: a.ID, Type: qrs.Professional, Episode: notice.AllocationKey(qrs.Professional, a).Episode, Failures: 1}
	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, a), 14, now)
	require.Equal(t, notice.Notice, st, "a refused notice is sent again")

	// Accepted now: waiting 14 days, to the second.
	r := s.Records[a.ID]
	r.NoticedAt, r.ReleasableFrom = now, now.Add(14*day)
	st, from := s.StageOf(notice.AllocationKey(qrs.Professional, a), 14, now.Add(14*day-time.Second))
	require.Equal(t, notice.Waiting, st)
	require.Equal(t, now.Add(14*day), from)
	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, a), 14, now.Add(14*day))
	require.Equal(t, notice.Release, st, "releasable exactly notice_days after the notice")

	// notice_days lowered after the notice: the date the user was given still holds.
	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, a), 3, now.Add(5*day))
	require.Equal(t, notice.Waiting, st, "never released before the date the notice gave")
	// …and raised: the longer period applies.
	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, a), 30, now.Add(20*day))
	require.Equal(t, notice.Waiting, st)

	// The user came back: a new episode needs a new notice.
	used := allocation(now.Add(2 * day))
	st, _ = s.StageOf(notice.AllocationKey(qrs.Professional, used), 14, now.Add(20*day))
	require.Equal(t, notice.Notice, st, "a use in between ends the episode")
	require.Nil(t, s.Of(notice.AllocationKey(qrs.Professional, used)))

	// A record of another type (the same id cannot be, but a state file can be edited).
	st, _ = s.StageOf(notice.AllocationKey(qrs.Analyzer, a), 14, now.Add(20*day))
	require.Equal(t, notice.Notice, st)
}

// A Qlik Cloud assignment's last use older than the consumption window read is not seen
// (a plugin started since, a use book rebuilt): its inactivity then counts from the
// assignment's creation. That earlier start is the same episode, not a use since: the
// notice holds; only a later start (a use) voids it.
func TestEarlierEpisodeIsTheSameInactivity(t *testing.T) {
	now := testkit.Now
	created, lastUse := now.Add(-200*day), now.Add(-40*day)
	s := notice.New()
	k := notice.KeyOf(qrs.Analyzer, `CORP\anna`, lastUse, created)
	s.Records[k.ID] = &notice.Record{AllocationID: k.ID, Type: k.Type, Episode: k.Episode, NoticedAt: now, ReleasableFrom: now.Add(14 * day)}

	unseen := notice.KeyOf(qrs.Analyzer, `CORP\anna`, time.Time{}, created)
	unseen.NoUseSince = now.Add(day - 30*day) // a window of 30 days, read since
	st, from := s.StageOf(unseen, 14, now.Add(day))
	require.Equal(t, notice.Waiting, st, "the last use not seen: still the noticed inactivity")
	require.Equal(t, now.Add(14*day), from)

	used := notice.KeyOf(qrs.Analyzer, `CORP\anna`, now.Add(day), created)
	st, _ = s.StageOf(used, 14, now.Add(2*day))
	require.Equal(t, notice.Notice, st, "a use after the notice's episode needs a new notice")
}

// An earlier episode holds only while the uses read reach back to the notice: a read that
// starts after it (a Qlik Cloud use book rebuilt long after) would not see a use since,
// so the notice no longer holds and a new one is due. A read that starts before it, and a
// record not yet accepted, are unaffected.
func TestEarlierEpisodeNeedsTheReadToReachTheNotice(t *testing.T) {
	now := testkit.Now
	created := now.Add(-200 * day)
	s := notice.New()
	k := notice.KeyOf(qrs.Professional, `CORP\anna`, time.Time{}, created)
	s.Records[k.ID] = &notice.Record{AllocationID: k.ID, Type: k.Type, Episode: k.Episode, NoticedAt: now, ReleasableFrom: now.Add(14 * day)}

	covered := k
	covered.NoUseSince = now.Add(-day)
	st, _ := s.StageOf(covered, 14, now.Add(14*day))
	require.Equal(t, notice.Release, st, "the read reaches back before the notice: no use since it")

	gap := k
	gap.NoUseSince = now.Add(3 * day)
	require.Nil(t, s.Of(gap))
	st, _ = s.StageOf(gap, 14, now.Add(33*day))
	require.Equal(t, notice.Notice, st, "a use between the notice and the read cannot be ruled out")

	s.Records[k.ID].NoticedAt, s.Records[k.ID].Failures = time.Time{}, 1
	require.NotNil(t, s.Of(gap), "a refused notice is still the one to retry")
}

func TestNeverUsedEpisodeIsTheCreation(t *testing.T) {
	a := &qrs.Allocation{ID: "x", CreatedDate: qrs.Time{Time: testkit.Now.Add(-50 * day)}} // the 1753 sentinel decodes as a zero LastUsed
	require.Equal(t, testkit.Now.Add(-50*day), notice.AllocationKey(qrs.Professional, a).Episode)
	require.Equal(t, testkit.Now.Add(-50*day), notice.Episode(time.Time{}, testkit.Now.Add(-50*day)), "a holder never used (a Qlik Cloud user without consumption)")
	require.Equal(t, testkit.Now.Add(-5*day), notice.Episode(testkit.Now.Add(-5*day), testkit.Now.Add(-50*day)))
}

func TestStateSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site-notices.json")
	s, err := notice.Load(path)
	require.NoError(t, err, "a missing file is an empty state")
	require.Empty(t, s.Records)

	a := allocation(testkit.Now.Add(-100 * day))
	s.Records[a.ID] = &notice.Record{
		AllocationID: a.ID, Type: qrs.Analyzer, User: `CORP\anna`, Email: "anna@corp.example.com",
		Episode: notice.AllocationKey(qrs.Professional, a).Episode, NoticedAt: testkit.Now, ReleasableFrom: testkit.Now.Add(7 * day),
	}
	require.NoError(t, s.Save(path))
	back, err := notice.Load(path)
	require.NoError(t, err)
	st, from := back.StageOf(notice.AllocationKey(qrs.Analyzer, a), 7, testkit.Now.Add(day))
	require.Equal(t, notice.Waiting, st)
	require.Equal(t, testkit.Now.Add(7*day), from)
	left, err := filepath.Glob(path + ".*.tmp")
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file left behind")

	require.NoError(t, os.WriteFile(path, []byte(`{"records":{"a1":{"allocation_id":"other"}}}`), 0o600))
	_, err = notice.Load(path)
	require.ErrorContains(t, err, `record "a1" does not name its allocation`)
	require.NoError(t, os.WriteFile(path, []byte(`{`), 0o600))
	_, err = notice.Load(path)
	require.ErrorContains(t, err, "reading the notice state")
}
