package emulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// SiteSpec describes a generated site. Zero values take the defaults noted.
type SiteSpec struct {
	Seed uint64
	// Now is the site's "today" for generated dates and its fixed clock (default: the
	// current time, truncated to the second).
	Now time.Time
	// TokenModel generates a token-licensed site (user and login passes) instead of a
	// professional/analyzer one.
	TokenModel bool
	Users      int // default 200
	// Allocations of each kind (defaults: 30% of users professional, 50% analyzer, 2% of the
	// professional users also hold an analyzer allocation; token model: 60% user passes).
	Professional int
	Analyzer     int
	UserPasses   int
	// License totals (defaults: professional 10% above its allocations; analyzer 1% below,
	// so a few allocations are excess; tokens 10% above what is assigned).
	ProfessionalTotal int
	AnalyzerTotal     int
	TotalTokens       int
	// CapacityMinutes > 0 adds analyzer capacity groups sharing that many minutes.
	CapacityMinutes int
	// LicenseValidTo is the server license's end (default: Now + 400 days).
	LicenseValidTo time.Time
	Behaviour      Behaviour
	// Apps and AppObjects: authoring activity (apps, and sheets, stories, bookmarks and
	// master objects in them), generated from a random stream of its own. Default none.
	Apps       int
	AppObjects int
}

// lastUseBuckets is the spread of last use: share of allocations and age range. The
// remainder (12%) was never used.
var lastUseBuckets = []struct {
	share    float64
	from, to time.Duration
}{
	{0.03, 0, time.Hour},
	{0.35, time.Hour, 7 * day},
	{0.10, 7 * day, 14 * day},
	{0.10, 14 * day, 30 * day},
	{0.08, 30 * day, 60 * day},
	{0.06, 60 * day, 90 * day},
	{0.06, 90 * day, 180 * day},
	{0.05, 180 * day, 365 * day},
	{0.05, 365 * day, 3 * 365 * day},
}

const day = 24 * time.Hour

// Generate builds a deterministic site: the same spec gives the same users, ids and dates.
// The site's clock is fixed at spec.Now; replace it with SetClock to move time.
func Generate(spec SiteSpec) *Site {
	if spec.Now.IsZero() {
		spec.Now = time.Now().UTC().Truncate(time.Second)
	}
	now := spec.Now.UTC()
	if spec.Users <= 0 {
		spec.Users = 200
	}
	g := &generator{rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed+0x5eed)), now: now}
	site := NewSite(func() time.Time { return now }, spec.Behaviour)
	site.tokenModel = spec.TokenModel

	users := g.users(site, spec.Users)
	if spec.TokenModel {
		passes := orDefault(spec.UserPasses, spec.Users*6/10)
		g.allocate(site, KindUser, users[:min(passes, len(users))])
		site.logins = []LoginGroup{
			{ID: g.uuid(), Name: "Login passes - Finance", Created: g.past(400 * day), AssignedTokens: 20, Used: 130},
			{ID: g.uuid(), Name: "Login passes - Partners", Created: g.past(400 * day), AssignedTokens: 10, Used: 12},
		}
		assigned := len(site.allocs[KindUser]) + 30
		site.TotalTokens = orDefault(spec.TotalTokens, int(math.Ceil(float64(assigned)*1.1)))
	} else {
		nPro := min(orDefault(spec.Professional, spec.Users*3/10), len(users))
		nAna := orDefault(spec.Analyzer, spec.Users/2)
		both := nPro / 50
		start := nPro - both
		nAna = min(nAna, len(users)-start)
		g.allocate(site, KindProfessional, users[:nPro])
		g.allocate(site, KindAnalyzer, users[start:start+nAna])
		site.ProfessionalTotal = orDefault(spec.ProfessionalTotal, int(math.Ceil(float64(nPro)*1.1)))
		site.AnalyzerTotal = orDefault(spec.AnalyzerTotal, nAna*99/100)
		markExcess(site.allocs[KindProfessional], site.ProfessionalTotal)
		markExcess(site.allocs[KindAnalyzer], site.AnalyzerTotal)
	}
	if spec.CapacityMinutes > 0 {
		site.capacityEnabled = true
		half := spec.CapacityMinutes / 2
		site.groups = []CapacityGroup{
			{ID: g.uuid(), Name: "Analyzer capacity - Sales", Created: g.past(300 * day), AssignedMinutes: half, UsedMinutes: half * 3 / 5 / 6 * 6},
			{ID: g.uuid(), Name: "Analyzer capacity - Support", Created: g.past(300 * day), AssignedMinutes: spec.CapacityMinutes - half, UsedMinutes: (spec.CapacityMinutes - half) / 4 / 6 * 6},
		}
	}
	validTo := spec.LicenseValidTo
	if validTo.IsZero() {
		validTo = now.Add(400 * day).Truncate(day)
	}
	site.license = ServerLicense{
		ID: g.uuid(), Serial: "9999 0000 1234 5678", Name: "Site administrator", Organization: "Emulated Corp",
		Created: g.past(900 * day), ValidTo: validTo, Subscription: true,
		Allotments: map[string]int{"professional": site.ProfessionalTotal, "analyzer": site.AnalyzerTotal, "analyzer_time": spec.CapacityMinutes},
	}
	g.generateAuthoring(site, spec, users)
	return site
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

type generator struct {
	rng *rand.Rand
	now time.Time
}

func (g *generator) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12) // version 4
	b = (b &^ (0x3 << 62)) | (0x2 << 62)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// past returns a millisecond-precision instant up to max before now.
func (g *generator) past(max time.Duration) time.Time {
	return g.now.Add(-time.Duration(g.rng.Int64N(int64(max)))).Truncate(time.Millisecond)
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// fixedUsers are always present: service accounts and ids that test quoting and matching.
var fixedUsers = []struct{ dir, id, name string }{
	{"INTERNAL", "sa_repository", "sa_repository"},
	{"INTERNAL", "sa_api", "sa_api"},
	{"INTERNAL", "sa_scheduler", "sa_scheduler"},
	{"CORP", "o'brien", "Siobhan O'Brien"},
	{"CORP", "åsa.lindqvist", "Åsa Lindqvist"},
	{"corp", "józef.nowak", "Józef Nowak"},
	{"LAB", "qs_admin_account", "Qlik admin"},
}

var (
	directories = []struct {
		name  string
		share float64
	}{{"CORP", 0.60}, {"corp", 0.05}, {"Corp", 0.02}, {"LAB", 0.15}, {"EXT", 0.18}}
	givenNames = []string{"anna", "erik", "maria", "lars", "karin", "johan", "eva", "per", "sara", "nils", "zoë", "björn", "li", "omar", "ines", "dan"}
	familyName = []string{"andersson", "berg", "chen", "dahl", "ek", "fors", "garcía", "holm", "ivanova", "jansen", "kowalski", "lund", "müller", "nyström", "okafor", "persson"}
)

func (g *generator) users(site *Site, n int) []*User {
	out := make([]*User, 0, n)
	for i := range n {
		var dir, id, name string
		if i < len(fixedUsers) {
			dir, id, name = fixedUsers[i].dir, fixedUsers[i].id, fixedUsers[i].name
		} else {
			r := g.rng.Float64()
			dir = directories[len(directories)-1].name
			for _, d := range directories {
				if r < d.share {
					dir = d.name
					break
				}
				r -= d.share
			}
			gn, fn := givenNames[g.rng.IntN(len(givenNames))], familyName[g.rng.IntN(len(familyName))]
			id = fmt.Sprintf("%s.%s%d", gn, fn, i)
			name = fmt.Sprintf("%s %s", gn, fn)
		}
		created := g.past(5 * 365 * day)
		u := User{
			ID: g.uuid(), UserID: id, UserDirectory: dir, Name: name,
			Created: created, Modified: created, ModifiedBy: `INTERNAL\sa_repository`,
			Roles: []string{},
		}
		if i >= len(fixedUsers) {
			u.Inactive = g.chance(0.03)
			u.Blacklisted = g.chance(0.01)
			u.RemovedExternally = g.chance(0.02)
		}
		for _, t := range []struct {
			name string
			p    float64
		}{{"License do not release", 0.03}, {"VIP", 0.05}, {"Contractor", 0.10}} {
			if g.chance(t.p) {
				u.Tags = append(u.Tags, Tag{ID: tagID(t.name), Name: t.name})
			}
		}
		switch r := g.rng.Float64(); {
		case r < 0.03:
			u.CustomProperties = append(u.CustomProperties, licenseManage("do-not-release"))
		case r < 0.08:
			u.CustomProperties = append(u.CustomProperties, licenseManage("release-ok"))
		}
		u.Attributes = emailAttribute(u.UserDirectory, u.UserID)
		if i < 3 {
			u.Roles = []string{"RootAdmin"}
			u.DeleteProhibited = true
		}
		out = append(out, site.AddUser(u))
	}
	return out
}

// Tags and custom property definitions have stable ids across a site.
func tagID(name string) string {
	h := fnv(name)
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", h>>32, (h>>16)&0xffff, h&0xfff, (h>>20)&0xfff, h&0xffffffffffff)
}

// emailAttribute gives most users an email attribute, as an Active Directory connector
// reads it: service accounts have none, and about one user in twelve has none either. The
// choice and the spelling of the type ("email" or "Email") come from a hash of the user,
// not from the generator's random stream, so sites generated before attributes existed
// keep their ids and dates.
func emailAttribute(dir, id string) []Attribute {
	h := fnv(dir + `\` + id)
	if dir == "INTERNAL" || h%12 == 0 {
		return []Attribute{}
	}
	typ := "email"
	if h%5 == 0 {
		typ = "Email"
	}
	local := strings.NewReplacer("'", "", " ", ".").Replace(strings.ToLower(id))
	return []Attribute{{
		ID: tagID("attribute:" + dir + `\` + id), Type: typ,
		Value: local + "@" + strings.ToLower(dir) + ".example.com", ExternalID: "mail",
	}}
}

func fnv(s string) uint64 {
	var h uint64 = 1469598103934665603
	for _, c := range []byte(s) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func licenseManage(value string) CustomProperty {
	return CustomProperty{
		ID: tagID("LicenseManage=" + value), DefinitionID: tagID("LicenseManage"), Name: "LicenseManage",
		Value: value, ChoiceValues: []string{"do-not-release", "release-ok"},
	}
}

func (g *generator) allocate(site *Site, k Kind, users []*User) {
	for _, u := range users {
		a := Allocation{ID: g.uuid(), Kind: k, UserRef: u.ID}
		r := g.rng.Float64()
		for _, b := range lastUseBuckets {
			if r < b.share {
				age := b.from + time.Duration(g.rng.Int64N(int64(b.to-b.from)))
				a.LastUsed = g.now.Add(-age).Truncate(time.Millisecond)
				break
			}
			r -= b.share
		}
		if a.LastUsed.IsZero() {
			a.Created = g.past(400 * day)
			a.Modified, a.ModifiedBy = a.Created, `INTERNAL\sa_repository`
		} else {
			a.Created = a.LastUsed.Add(-time.Duration(g.rng.Int64N(int64(2 * 365 * day)))).Truncate(time.Millisecond)
			a.Modified, a.ModifiedBy = a.LastUsed, u.UserDirectory+`\`+u.UserID
		}
		// A few allocations used this week were released already and sit in quarantine;
		// some of those belong to users deleted since.
		if !a.LastUsed.IsZero() && g.now.Sub(a.LastUsed) < 7*day && g.now.Sub(a.LastUsed) > time.Hour && g.chance(0.03) {
			a.Quarantined = true
			a.QuarantineEnd = a.LastUsed.Add(7 * day)
			a.Modified, a.ModifiedBy = a.LastUsed.Add(time.Minute), `INTERNAL\sa_repository`
			if g.chance(0.25) {
				a.UserRef, a.DeletedUserID, a.DeletedUserDirectory = "", u.UserID, u.UserDirectory
			}
		}
		site.AddAllocation(a)
	}
}

// markExcess flags the most recently created allocations beyond the license total.
func markExcess(list []*Allocation, total int) {
	n := 0
	for _, a := range list {
		if !a.Quarantined {
			n++
		}
	}
	over := n - total
	for i := len(list) - 1; i >= 0 && over > 0; i-- {
		if !list[i].Quarantined {
			list[i].Excess = true
			over--
		}
	}
}

// SetClock replaces the site's clock (tests move time with it).
func (s *Site) SetClock(now func() time.Time) {
	s.clock.Store(&now)
}
