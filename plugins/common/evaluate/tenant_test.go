package evaluate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// fakeTenant is an in-memory tenant: what evaluate.Tenant reads, with the calls counted.
type fakeTenant struct {
	assignments []qcloud.Assignment
	users       []qcloud.User
	events      []qcloud.Event
	sinces      []time.Time
	bySubject   int
}

func (f *fakeTenant) Assignments(_ context.Context, _ qcloud.AssignmentQuery, fn func(qcloud.Assignment) error) error {
	for _, a := range f.assignments {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// UsersFor answers as the API's filter compares, case-insensitively: the evaluation keeps
// only the exact subjects.
func (f *fakeTenant) UsersFor(_ context.Context, subjects []string) ([]qcloud.User, error) {
	f.bySubject++
	var out []qcloud.User
	for _, u := range f.users {
		for _, s := range subjects {
			if strings.EqualFold(u.Subject, s) {
				out = append(out, u)
				break
			}
		}
	}
	return out, nil
}

func (f *fakeTenant) LastUse(_ context.Context, since time.Time) (*qcloud.Usage, error) {
	f.sinces = append(f.sinces, since)
	u := &qcloud.Usage{LastUse: map[string]time.Time{}}
	for _, e := range f.events {
		if e.EndTime.Before(since) {
			continue
		}
		u.Events++
		if e.EndTime.After(u.Watermark) {
			u.Watermark = e.EndTime
		}
		if e.EndTime.After(u.LastUse[e.UserID]) {
			u.LastUse[e.UserID] = e.EndTime
		}
	}
	return u, nil
}

var tnow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func tago(days float64) time.Time { return tnow.Add(-time.Duration(days * float64(24*time.Hour))) }

// The tenant: subjects differing only in case are two users; an orphan; a capacity
// session counts as use; a new assignment is kept.
func TestTenantJoinsExactlyAndDecides(t *testing.T) {
	old := tago(400)
	f := &fakeTenant{
		assignments: []qcloud.Assignment{
			{Type: "professional", Subject: `DOMAIN\Anna`, Created: old},
			{Type: "professional", Subject: `DOMAIN\anna`, Created: old},
			{Type: "analyzer", Subject: "auth0|capacity", Created: old},
			{Type: "analyzer", Subject: "gone", Created: old},
			{Type: "professional", Subject: "new", Created: tago(2)},
			{Type: "analyzer_time", Subject: "whatever", Created: old},
		},
		users: []qcloud.User{
			{ID: "U1", Subject: `DOMAIN\Anna`},
			{ID: "u2", Subject: `DOMAIN\anna`},
			{ID: "c", Subject: "auth0|capacity"},
			{ID: "n", Subject: "new"},
		},
		events: []qcloud.Event{
			{UserID: "U1", EndTime: tago(1)},
			{UserID: "u2", EndTime: tago(31)},
			{UserID: "c", EndTime: tago(3), LicenseUsage: "capacity", MinutesUsed: 6},
		},
	}
	p, err := policy.CompileTenant(&policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 30},
	})
	require.NoError(t, err)
	var book evaluate.UseBook
	require.NoError(t, book.Refresh(context.Background(), f, tnow, evaluate.UseWindow(p)))
	res, err := evaluate.Tenant(context.Background(), f, evaluate.TenantOptions{Policy: p, Now: tnow, Uses: book.LastUse, KeepItems: true})
	require.NoError(t, err)
	got := map[string]policy.Reason{}
	for _, r := range res.ByType {
		for _, it := range r.Items {
			got[it.Assignment.Subject] = it.Decision.Reason
		}
	}
	require.Equal(t, map[string]policy.Reason{
		`DOMAIN\Anna`:    policy.ReasonRecentlyUsed,
		`DOMAIN\anna`:    policy.ReasonInactive,
		"auth0|capacity": policy.ReasonRecentlyUsed,
		"gone":           policy.ReasonOrphan,
		"new":            policy.ReasonRecentlyAssigned,
	}, got)
	require.Equal(t, 3, res.ByType[qrs.Professional].Assignments)
	require.Equal(t, 2, res.ByType[qrs.Analyzer].Assignments)
	require.Equal(t, 1, res.Orphans)
	require.Equal(t, 1, f.bySubject)
}

// The consumption is read once over the window, then only from the watermark on (less an
// hour for late events); a longer threshold reads the window again.
func TestUseBookIsIncremental(t *testing.T) {
	f := &fakeTenant{events: []qcloud.Event{{UserID: "a", EndTime: tago(10)}, {UserID: "b", EndTime: tago(0.5)}}}
	var book evaluate.UseBook
	window := 30 * 24 * time.Hour
	require.NoError(t, book.Refresh(context.Background(), f, tnow, window))
	require.Equal(t, []time.Time{tago(30)}, f.sinces)
	require.Equal(t, tago(0.5), book.Watermark)
	f.events = append(f.events, qcloud.Event{UserID: "a", EndTime: tnow.Add(time.Hour)})
	require.NoError(t, book.Refresh(context.Background(), f, tnow.Add(2*time.Hour), window))
	require.Equal(t, tago(0.5).Add(-evaluate.LateEvents), f.sinces[1])
	require.Equal(t, tnow.Add(time.Hour), book.LastUse["a"])
	require.Equal(t, tago(0.5), book.LastUse["b"])
	require.NoError(t, book.Refresh(context.Background(), f, tnow.Add(2*time.Hour), 60*24*time.Hour))
	require.Equal(t, tnow.Add(2*time.Hour).Add(-60*24*time.Hour), f.sinces[2])

	p, err := policy.CompileTenant(&policy.Config{Analyzer: policy.TypeConfig{Enabled: true, InactiveDays: 90}})
	require.NoError(t, err)
	require.Equal(t, 90*24*time.Hour, evaluate.UseWindow(p))
	require.Equal(t, evaluate.MinUseWindow, evaluate.UseWindow(nil))
}

// An event dated in the future must not stop the later reads, and a book that lost its
// users' last use (a state file half restored) reads the window whole again.
func TestUseBookSurvivesAFutureEventAndALostMap(t *testing.T) {
	window := 30 * 24 * time.Hour
	f := &fakeTenant{events: []qcloud.Event{{UserID: "a", EndTime: tago(10)}, {UserID: "x", EndTime: tnow.Add(48 * time.Hour)}}}
	var book evaluate.UseBook
	require.NoError(t, book.Refresh(context.Background(), f, tnow, window))
	require.Equal(t, tnow, book.Watermark, "the watermark never runs ahead of now")
	later := tnow.Add(6 * time.Hour)
	f.events = append(f.events, qcloud.Event{UserID: "b", EndTime: tnow.Add(3 * time.Hour)})
	require.NoError(t, book.Refresh(context.Background(), f, later, window))
	require.Equal(t, tnow.Add(3*time.Hour), book.LastUse["b"], "a use after the future event is seen")

	lost := evaluate.UseBook{From: book.From, Watermark: book.Watermark}
	require.NoError(t, lost.Refresh(context.Background(), f, later, window))
	require.Equal(t, later.Add(-window), f.sinces[len(f.sinces)-1], "the whole window is read again")
	require.Equal(t, tago(10), lost.LastUse["a"])
}

// An assignment the pages list twice (a cursor shifted while the list changed) is one
// assignment: counted and decided once, so a plan never carries it twice into one delete
// call (whose second item, answered "not found", would hide the first's 200).
func TestTenantCountsARepeatedAssignmentOnce(t *testing.T) {
	old := tago(400)
	f := &fakeTenant{
		assignments: []qcloud.Assignment{
			{Type: "professional", Subject: "a", Created: old},
			{Type: "analyzer", Subject: "b", Created: old},
			{Type: "professional", Subject: "a", Created: old},
		},
		users: []qcloud.User{{ID: "ua", Subject: "a"}, {ID: "ub", Subject: "b"}},
	}
	p, err := policy.CompileTenant(&policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 30},
	})
	require.NoError(t, err)
	res, err := evaluate.Tenant(context.Background(), f, evaluate.TenantOptions{Policy: p, Now: tnow, KeepItems: true})
	require.NoError(t, err)
	require.Equal(t, 1, res.ByType[qrs.Professional].Assignments)
	require.Len(t, res.ByType[qrs.Professional].Items, 1)
	require.Equal(t, 1, res.ByType[qrs.Analyzer].Assignments)
}
