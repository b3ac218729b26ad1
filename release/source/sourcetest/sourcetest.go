// Package sourcetest is the one conformance suite of a license source (release/source),
// run unchanged against every implementation and its emulator, as restic runs one suite
// against each backend: what the engine and the truth rule count on — a plan of holders,
// a re-check that finds a holder gone, a change answered done, a change of a holder that
// is gone answered refused and gone, a read-back that tells gone from present, and
// ambiguous answers never marked unsent (the engine takes a change sent again and then
// answered gone for the tool's own only when its earlier send may have reached the
// service).
package sourcetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Harness is a source on a fresh emulator whose plan, under Policy at Now, releases at
// least three holders of one type, and Present, which asks the emulator itself.
type Harness struct {
	Source  source.Source
	Policy  *policy.Policy
	Now     time.Time
	Present func(source.Key) bool
	// Requests counts the requests the emulator received.
	Requests func() int
	// Fail makes the emulator fail the next change request: after carrying it out, with a
	// gateway's 504 (after = true), or by closing the connection before doing anything.
	Fail func(after bool)
}

// Run runs the suite on h.
func Run(t *testing.T, h Harness) {
	ctx := t.Context()
	src := h.Source
	w := src.Words()
	require.NotEmpty(t, w.Service)
	require.NotEmpty(t, w.Change)
	require.NotEmpty(t, w.Holder)
	require.NotEmpty(t, w.Gone)
	require.Positive(t, src.BatchSize())
	require.Positive(t, src.Timeout())

	p, err := src.Plan(ctx, h.Policy, "conformance", h.Now, nil)
	require.NoError(t, err)
	require.Empty(t, p.Errors)
	byType := map[string][]plan.Item{}
	var three []plan.Item
	for _, it := range p.Releases() {
		require.True(t, h.Present(source.KeyOf(&it)), "a planned holder exists")
		byType[string(it.Type)] = append(byType[string(it.Type)], it)
		if len(byType[string(it.Type)]) == 3 && three == nil {
			three = byType[string(it.Type)]
		}
	}
	require.NotNil(t, three, "the plan releases three holders of one type")
	two := three[:2]
	n := src.PartSize(two, 1)
	require.Equal(t, 1, n, "a part is at most the limit")
	require.Equal(t, 2, src.PartSize(two, 50), "two holders fit one re-check")

	// A re-check of present holders releases them again, with their decisions.
	checked, err := src.Recheck(ctx, h.Policy, two[0].Type, two, h.Now)
	require.NoError(t, err)
	require.Len(t, checked, 2)
	for i, c := range checked {
		require.False(t, c.Skip, "%s: %s %s", c.Item.Holder.ID, c.Reason, c.Detail)
		require.Equal(t, policy.Release, c.Item.Decision.Verdict)
		require.Equal(t, source.KeyOf(&two[i]), source.KeyOf(&c.Item), "in order")
	}

	// The change of a present holder: done, and the holder is gone.
	first, second := source.KeyOf(&two[0]), source.KeyOf(&two[1])
	before := h.Requests()
	ans := src.Release(ctx, two[:1])
	require.Len(t, ans, 1)
	require.NoError(t, ans[0].Err)
	require.Equal(t, audit.AnswerDone, ans[0].Class)
	require.Equal(t, 1, h.Requests()-before, "one request for the change")
	require.False(t, h.Present(first), "the holder is gone")

	// A read-back tells gone from present.
	back, err := src.ReadBack(ctx, []source.Key{first, second})
	require.NoError(t, err)
	_, present := back[first]
	require.False(t, present, "gone")
	b, present := back[second]
	require.True(t, present, "still there")
	require.False(t, b.Quarantined)

	// The change of a holder that is gone: refused because it is gone, nothing changed.
	ans = src.Release(ctx, two[:1])
	require.Equal(t, audit.AnswerRefused, ans[0].Class, "%v", ans[0].Err)
	require.True(t, ans[0].Gone, "%v", ans[0].Err)
	require.Error(t, ans[0].Err)
	require.False(t, ans[0].Retryable)
	require.True(t, h.Present(second), "the other holder is untouched")

	// A re-check finds the gone holder gone and keeps the other.
	checked, err = src.Recheck(ctx, h.Policy, two[0].Type, two, h.Now)
	require.NoError(t, err)
	require.Len(t, checked, 2)
	require.True(t, checked[0].Skip)
	require.Equal(t, source.ReasonGone, checked[0].Reason)
	require.False(t, checked[1].Skip)

	// A change carried out and then answered by a gateway's 504: unknown (the truth rule
	// reads it back), retryable; the read-back shows it done.
	h.Fail(true)
	ans = src.Release(ctx, two[1:2])
	require.Equal(t, audit.AnswerAmbiguous, ans[0].Class, "%v", ans[0].Err)
	require.Equal(t, 504, ans[0].Status)
	require.True(t, ans[0].Retryable)
	require.False(t, ans[0].Unsent, "it reached the service: sent again and answered gone, it is the tool's (audit.ResentGoneIsOurs)")
	require.False(t, h.Present(second), "the tenant or QRS did it")
	back, err = src.ReadBack(ctx, []source.Key{second})
	require.NoError(t, err)
	require.Empty(t, back, "read back: gone")

	// A change whose connection closed before anything was done: unknown, no status,
	// retryable; the read-back shows the holder still there, and sent again it is done.
	third := source.KeyOf(&three[2])
	h.Fail(false)
	ans = src.Release(ctx, three[2:])
	require.Equal(t, audit.AnswerAmbiguous, ans[0].Class, "%v", ans[0].Err)
	require.Zero(t, ans[0].Status)
	require.True(t, ans[0].Retryable)
	require.False(t, ans[0].Unsent, "a closed connection does not say the service never saw it")
	back, err = src.ReadBack(ctx, []source.Key{third})
	require.NoError(t, err)
	require.Contains(t, back, third, "read back: still there")
	ans = src.Release(ctx, three[2:])
	require.Equal(t, audit.AnswerDone, ans[0].Class, "%v", ans[0].Err)
	require.False(t, h.Present(third))
}
