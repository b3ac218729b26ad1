package rightsize_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
)

const day = 24 * time.Hour

func client(t *testing.T, srv *emulator.Server) *qrs.Client {
	t.Helper()
	tlsCfg, err := testkit.ClientFiles(srv).TLSConfig()
	require.NoError(t, err)
	c, err := qrs.New(qrs.Config{Server: srv.URL, TLS: tlsCfg})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func id(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// One professional holder per rule, built by hand: each gets exactly its verdict and
// evidence.
func TestEveryRuleAndItsEvidence(t *testing.T) {
	now := testkit.Now
	site := emulator.NewSite(func() time.Time { return now }, emulator.Behaviour{})
	site.AnalyzerTotal, site.ProfessionalTotal = 10, 20
	type who struct {
		n    int
		name string
	}
	users := []who{{1, "author.app"}, {2, "author.sheet"}, {3, "admin"}, {4, "tagged"}, {5, "idle"}, {6, "consumer"},
		{7, "reloaded"}, {8, "old.author"}, {9, "storyteller"}, {10, "community"}}
	for _, u := range users {
		usr := emulator.User{ID: id(u.n), UserID: u.name, UserDirectory: "CORP", Name: u.name, Created: now.Add(-900 * day), Modified: now.Add(-900 * day)}
		switch u.name {
		case "admin":
			usr.Roles = []string{"ContentAdmin"}
		case "tagged":
			usr.Tags = []emulator.Tag{{ID: id(900), Name: "License do not release"}}
		}
		site.AddUser(usr)
		last := now.Add(-3 * day)
		if u.name == "idle" {
			last = now.Add(-120 * day)
		}
		site.AddAllocation(emulator.Allocation{ID: id(100 + u.n), Kind: emulator.KindProfessional, UserRef: id(u.n), Created: now.Add(-800 * day), Modified: now.Add(-800 * day), LastUsed: last})
	}
	app := func(n, owner int, created, modified time.Time, by string) {
		site.AddApp(emulator.App{ID: id(200 + n), Name: fmt.Sprintf("App %d", n), OwnerRef: id(owner), Created: created, Modified: modified, ModifiedBy: by})
	}
	object := func(n, app, owner int, typ string, created time.Time) {
		site.AddAppObject(emulator.AppObject{ID: id(300 + n), Name: fmt.Sprintf("%s %d", typ, n), AppRef: id(200 + app), OwnerRef: id(owner),
			ObjectType: typ, Created: created, Modified: created, ModifiedBy: `CORP\x`})
	}
	app(1, 1, now.Add(-400*day), now.Add(-20*day), `CORP\author.app`)      // edited by its owner in the window
	app(2, 7, now.Add(-400*day), now.Add(-1*day), `INTERNAL\sa_scheduler`) // only reloaded
	app(3, 8, now.Add(-200*day), now.Add(-200*day), `CORP\old.author`)     // authored before the window
	app(4, 3, now.Add(-10*day), now.Add(-10*day), `CORP\admin`)
	object(1, 2, 2, "sheet", now.Add(-30*day))
	object(2, 2, 9, "story", now.Add(-5*day))
	object(3, 2, 9, "bookmark", now.Add(-5*day))
	object(4, 3, 8, "sheet", now.Add(-100*day))    // before the window
	object(5, 2, 10, "sheet", now.Add(-89*day))    // a community sheet, just inside
	object(6, 2, 6, "masterobject", now.Add(-day)) // not a sheet
	srv := testkit.StartEmulator(t, site)

	cfg := policy.Config{Protect: policy.ProtectConfig{Tags: []string{"License do not release"}}}
	pol, err := policy.Compile(&cfg)
	require.NoError(t, err)
	c := client(t, srv)
	res, err := rightsize.Evaluate(t.Context(), c, rightsize.Options{Now: now, LookbackDays: 90, Policy: pol})
	require.NoError(t, err)

	got := map[string]rightsize.Holder{}
	for _, h := range res.Holders {
		got[h.Allocation.User.UserID] = h
	}
	want := map[string]rightsize.Reason{
		"author.app": rightsize.KeptAuthoredApp, "author.sheet": rightsize.KeptAuthoredSheet, "admin": rightsize.KeptAdminRole,
		"tagged": rightsize.KeptProtected, "idle": rightsize.KeptIdle, "consumer": rightsize.Candidate,
		"reloaded": rightsize.Candidate, "old.author": rightsize.Candidate, "storyteller": rightsize.Candidate,
		"community": rightsize.KeptAuthoredSheet,
	}
	for name, r := range want {
		require.Equal(t, r, got[name].Reason, "%s: %s", name, got[name].Detail)
	}
	require.Contains(t, got["author.app"].Detail, `app "App 1"`)
	require.Equal(t, now.Add(-20*day), got["author.app"].Evidence.LastAuthored)
	require.Contains(t, got["author.sheet"].Detail, `sheet "sheet 1" in app "App 2"`)
	require.Equal(t, 1, got["reloaded"].Evidence.AppsOwned, "owns an app, but a reload is no authoring")
	require.Equal(t, 1, got["old.author"].Evidence.AppsOwned)
	require.Zero(t, got["old.author"].Evidence.AuthoredApps)
	require.Equal(t, []string{"ContentAdmin"}, got["admin"].Evidence.Roles)
	require.Contains(t, got["tagged"].Detail, "protected_tag")
	require.Equal(t, 4, res.Counts[rightsize.Candidate])
	require.Equal(t, rightsize.Candidate, res.Holders[0].Reason, "candidates first")
	require.Len(t, res.Candidates(), 4)

	// Few requests: the allocations, the users, the apps and the sheets of the window.
	require.Equal(t, int64(4), res.Requests)
	require.Equal(t, 1, srv.Log.Count("GET", "/qrs/app/object/full"))
	for _, e := range srv.Log.Entries() {
		if e.Path == "/qrs/app/object/full" {
			q, err := url.ParseQuery(e.Query)
			require.NoError(t, err)
			require.Equal(t, "(objectType eq 'sheet') and (modifiedDate ge '2026-02-03T10:00:00.000Z')", q.Get("filter"))
		}
	}
}

// On a generated site the counts equal a recomputation from the emulator's own rows with
// the rules written out by hand.
func TestCountsMatchTheSite(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 81, Users: 400, Apps: 120, AppObjects: 2000, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	res, err := rightsize.Evaluate(t.Context(), client(t, srv), rightsize.Options{Now: testkit.Now, LookbackDays: 90})
	require.NoError(t, err)
	since := testkit.Now.Add(-90 * day)
	authoredApp, authoredSheet := map[string]bool{}, map[string]bool{}
	users := map[string]emulator.User{}
	for _, id := range site.UserIDs() {
		u, _ := site.User(id)
		users[id] = u
	}
	by := func(ref string) string { u := users[ref]; return u.UserDirectory + `\` + u.UserID }
	for _, a := range site.Apps() {
		if !a.Created.Before(since) || (!a.Modified.Before(since) && strings.EqualFold(a.ModifiedBy, by(a.OwnerRef))) {
			authoredApp[a.OwnerRef] = true
		}
	}
	for _, o := range site.AppObjects() {
		if o.ObjectType == "sheet" && (!o.Created.Before(since) || (!o.Modified.Before(since) && strings.EqualFold(o.ModifiedBy, by(o.OwnerRef)))) {
			authoredSheet[o.OwnerRef] = true
		}
	}
	want := map[rightsize.Reason]int{}
	for _, a := range site.Allocations(emulator.KindProfessional) {
		u, ok := users[a.UserRef]
		if a.Quarantined || !ok {
			continue
		}
		switch {
		case a.LastUsed.IsZero() || a.LastUsed.Before(since):
			want[rightsize.KeptIdle]++
		case len(u.Roles) > 0:
			want[rightsize.KeptAdminRole]++
		case authoredApp[u.ID]:
			want[rightsize.KeptAuthoredApp]++
		case authoredSheet[u.ID]:
			want[rightsize.KeptAuthoredSheet]++
		default:
			want[rightsize.Candidate]++
		}
	}
	require.Equal(t, want, res.Counts)
	require.Positive(t, want[rightsize.Candidate])
	require.Positive(t, want[rightsize.KeptAuthoredApp])
	require.Positive(t, want[rightsize.KeptAuthoredSheet])
}
