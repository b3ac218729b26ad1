package emulator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// generateAuthoring adds apps and app objects (spec.Apps, spec.AppObjects) from a random
// stream of its own, so that sites generated without them keep their ids and dates. Most
// apps are owned by professional users; an app changed last by the scheduler was reloaded,
// not edited. Sheets belong to the app's owner or, as community sheets, to other
// professional users; stories and bookmarks to anyone (analyzer access makes those too).
func (g *generator) generateAuthoring(site *Site, spec SiteSpec, users []*User) {
	if spec.Apps <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(spec.Seed^0xa9950b, spec.Seed+0xa99))
	old := g.rng
	g.rng = rng
	defer func() { g.rng = old }()
	var pros []*User
	for _, a := range site.allocs[KindProfessional] {
		if u := site.userIdx[strings.ToLower(a.UserRef)]; u != nil {
			pros = append(pros, u)
		}
	}
	if len(pros) == 0 {
		pros = users
	}
	name := func(u *User) string { return u.UserDirectory + `\` + u.UserID }
	streams := []string{"Everyone", "Finance", "Sales", "Operations"}
	apps := make([]*App, 0, spec.Apps)
	for i := range spec.Apps {
		owner := pros[rng.IntN(len(pros))]
		if rng.Float64() < 0.15 {
			owner = users[rng.IntN(len(users))]
		}
		created := g.past(3 * 365 * day)
		a := App{ID: g.uuid(), Name: fmt.Sprintf("App %d", i+1), OwnerRef: owner.ID, Created: created, Modified: created, ModifiedBy: name(owner)}
		switch r := rng.Float64(); {
		case r < 0.35: // edited by its owner since
			a.Modified = created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(created)) + 1))).Truncate(time.Millisecond)
		case r < 0.75: // reloaded by the scheduler
			a.Modified = g.past(30 * day)
			a.ModifiedBy = `INTERNAL\sa_scheduler`
		}
		if rng.Float64() < 0.4 {
			a.Published, a.PublishTime = true, a.Modified
			a.Stream = streams[rng.IntN(len(streams))]
			a.StreamID = tagID("stream:" + a.Stream)
		}
		site.apps = append(site.apps, &a)
		site.appIdx[strings.ToLower(a.ID)] = &a
		apps = append(apps, &a)
	}
	if len(apps) == 0 {
		return
	}
	types := []struct {
		name  string
		share float64
	}{{"sheet", 0.5}, {"story", 0.15}, {"bookmark", 0.25}, {"masterobject", 0.10}}
	for i := range spec.AppObjects {
		app := apps[rng.IntN(len(apps))]
		typ := types[len(types)-1].name
		r := rng.Float64()
		for _, t := range types {
			if r < t.share {
				typ = t.name
				break
			}
			r -= t.share
		}
		owner := site.userIdx[strings.ToLower(app.OwnerRef)]
		switch {
		case typ == "sheet" && rng.Float64() < 0.4:
			owner = pros[rng.IntN(len(pros))] // a community sheet
		case typ == "story" || typ == "bookmark":
			owner = users[rng.IntN(len(users))]
		}
		created := app.Created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(app.Created)) + 1))).Truncate(time.Millisecond)
		o := AppObject{ID: g.uuid(), Name: fmt.Sprintf("%s %d", typ, i+1), AppRef: app.ID, OwnerRef: owner.ID, ObjectType: typ,
			Created: created, Modified: created, ModifiedBy: name(owner), Published: app.Published && rng.Float64() < 0.6}
		if rng.Float64() < 0.3 {
			o.Modified = created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(created)) + 1))).Truncate(time.Millisecond)
		}
		o.Approved = o.Published && owner.ID == app.OwnerRef
		if o.Published {
			o.PublishTime = o.Modified
		}
		site.objects = append(site.objects, &o)
	}
	// Whoever authored something used Qlik Sense then: their allocations' last use is no
	// earlier than their last authoring.
	last := map[string]time.Time{}
	touch := func(owner, by string, created, modified time.Time) {
		u := site.userIdx[strings.ToLower(owner)]
		if u == nil {
			return
		}
		at := created
		if strings.EqualFold(by, name(u)) && modified.After(at) {
			at = modified
		}
		if at.After(last[u.ID]) {
			last[u.ID] = at
		}
	}
	for _, a := range site.apps {
		touch(a.OwnerRef, a.ModifiedBy, a.Created, a.Modified)
	}
	for _, o := range site.objects {
		touch(o.OwnerRef, o.ModifiedBy, o.Created, o.Modified)
	}
	for _, k := range []Kind{KindProfessional, KindAnalyzer} {
		for _, a := range site.allocs[k] {
			if at, ok := last[a.UserRef]; ok && at.After(a.LastUsed) && !at.Before(a.Created) {
				a.LastUsed = at
			}
		}
	}
}
