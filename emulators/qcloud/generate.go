package qcloudemu

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Spec describes a generated tenant.
type Spec struct {
	Seed  uint64
	Users int
	// Now is the tenant's fixed clock (zero: the real clock at generation).
	Now time.Time
	// Professional and Analyzer are the assignments (default 30% and 50% of users).
	Professional, Analyzer int
	// EventDays is how far back consumption events go (default 60).
	EventDays int
	// SessionsPerUser is the mean sessions a user holding an assignment has in EventDays
	// (default 6); a quarter of the holders never use their seat.
	SessionsPerUser int
	// APIKey is accepted as a bearer token (default "emulator-api-key").
	APIKey string
}

// Generate builds a tenant of spec.Users users, repeatable for a seed: subjects in the
// IdP's forms, a few TenantAdmins (directly and through a group), some disabled and
// deleted users, orphan assignments, consumption events spread over EventDays.
func Generate(spec Spec) *Tenant {
	now := spec.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	if spec.Professional == 0 && spec.Analyzer == 0 {
		spec.Professional, spec.Analyzer = spec.Users*3/10, spec.Users/2
	}
	if spec.EventDays <= 0 {
		spec.EventDays = 60
	}
	if spec.SessionsPerUser == 0 {
		spec.SessionsPerUser = 6
	}
	if spec.APIKey == "" {
		spec.APIKey = "emulator-api-key"
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x5eed))
	t := NewTenant(spec.APIKey)
	t.SetClock(func() time.Time { return now })
	t.Units[Professional] = spec.Professional + spec.Professional/10
	t.Units[Analyzer] = spec.Analyzer + spec.Analyzer/10
	t.Units[AnalyzerTime] = 10000
	t.AddGroup(Group{ID: "group-admins", Name: "Qlik Admins", Roles: []string{"TenantAdmin"}})
	t.AddGroup(Group{ID: "group-sales", Name: "Sales", Roles: []string{"Consumer"}})
	holders := 0
	for i := range spec.Users {
		u := User{
			ID:      fmt.Sprintf("%024x", uint64(i)+1<<40),
			Subject: fmt.Sprintf("auth0|%016x", rng.Uint64()),
			Name:    fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@corp.example", i),
			Status: StatusActive, Created: now.AddDate(0, 0, -400+rng.IntN(300)),
			Roles: []string{"Consumer"}, Groups: []string{"group-sales"},
		}
		if i%3 == 0 {
			u.Subject = fmt.Sprintf("CORP\\user%05d", i)
		}
		switch {
		case i%97 == 0:
			u.Status = StatusDisabled
		case i%89 == 0:
			u.Status = StatusDeleted
		case i%500 == 1:
			u.Roles = append(u.Roles, "TenantAdmin")
		case i%500 == 2:
			u.Groups = append(u.Groups, "group-admins")
		}
		t.AddUser(u)
		typ := ""
		switch {
		case i < spec.Professional:
			typ = Professional
		case i < spec.Professional+spec.Analyzer:
			typ = Analyzer
		}
		if typ == "" {
			continue
		}
		holders++
		t.AddAssignment(Assignment{Type: typ, Subject: u.Subject, Created: now.AddDate(0, 0, -rng.IntN(200)).Add(-time.Hour)})
		if rng.IntN(4) == 0 {
			continue // never uses the seat
		}
		n := rng.IntN(2*spec.SessionsPerUser + 1)
		for s := range n {
			end := now.Add(-time.Duration(rng.Int64N(int64(spec.EventDays) * int64(24*time.Hour))))
			t.AddEvent(Event{ID: fmt.Sprintf("ev-%d-%d", i, s), UserID: u.ID, AppID: "app-1", SessionID: fmt.Sprintf("s-%d-%d", i, s),
				AllotmentID: typ, LicenseUsage: "assignment", EndTime: end, Duration: time.Duration(5+rng.IntN(60)) * time.Minute})
		}
	}
	for i := range max(spec.Users/200, 1) {
		t.AddAssignment(Assignment{Type: Analyzer, Subject: fmt.Sprintf("CORP\\left%04d", i), Created: now.AddDate(0, 0, -100)})
	}
	t.sortEvents()
	return t
}

// The statuses of a user (users.d.ts User.status).
const (
	StatusActive      = "active"
	StatusInvited     = "invited"
	StatusDisabled    = "disabled"
	StatusDeleted     = "deleted"
	StatusProvisioned = "provisioned"
)

// sortEvents orders the events by end time (the order the consumption API pages in) and
// renumbers them.
func (t *Tenant) sortEvents() {
	t.mu.Lock()
	defer t.mu.Unlock()
	es := t.events
	sortByEnd(es)
	for _, e := range es {
		t.seq++
		e.seq = t.seq
	}
}
