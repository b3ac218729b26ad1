// Package qcloudemu is an in-process Qlik Cloud tenant for tests, demos and benchmarks:
// the licenses API (overview, status, settings, assignments with cursor pages, consumption
// with its endTime filter, the delete/add/update actions answering 207 per item), the
// users API (SCIM filters, cursor pages), bearer authentication (API keys, OAuth client
// credentials with tokens that expire), rate limits answering 429 with Retry-After, an
// injectable clock and fault modes. Its wire model follows Qlik's published types
// (@qlik/api licenses.d.ts, users.d.ts), not the client's.
package qcloudemu

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Assignment types and allotment names.
const (
	Professional = "professional"
	Analyzer     = "analyzer"
	AnalyzerTime = "analyzer_time"
)

// User is a user of the tenant.
type User struct {
	ID      string
	Subject string
	Name    string
	Email   string
	Status  string // active, invited, disabled, deleted, provisioned
	Roles   []string
	Groups  []string // group ids
	Created time.Time
}

// Group is a group of the tenant with the roles it gives its members.
type Group struct {
	ID    string
	Name  string
	Roles []string
}

// Assignment is a license assignment.
type Assignment struct {
	Type    string
	Subject string
	Created time.Time
	Excess  bool
	seq     int64
}

// Event is a license consumption event.
type Event struct {
	ID           string
	UserID       string
	AppID        string
	SessionID    string
	AllotmentID  string
	LicenseUsage string // assignment, capacity
	EndTime      time.Time
	Duration     time.Duration
	MinutesUsed  int
	CapacityUsed int
	seq          int64
}

// AssignmentKey names an assignment.
type AssignmentKey struct{ Type, Subject string }

// Tenant is the emulated tenant's state. Its methods are safe for concurrent use.
type Tenant struct {
	mu sync.Mutex
	// now is the tenant's clock (default: the real one).
	now func() time.Time

	ID            string
	LicenseNumber string
	LicenseKey    string // a secret-like token, answered in the overview
	Valid         string // ISO 8601 interval
	Product       string
	Units         map[string]int // professional, analyzer, analyzer_time (minutes)
	Overage       int            // analyzer_time overage (-1 unbounded)
	AutoAssignPro bool
	AutoAssignAn  bool

	users       []*User // in id order
	groups      map[string]*Group
	assignments []*Assignment // in creation (seq) order
	events      []*Event      // in seq order
	seq         int64

	apiKeys map[string]bool
	clients map[string]string    // OAuth client id → secret
	tokens  map[string]time.Time // access token → expiry
	// denied: credential (API key or OAuth client id) → path prefixes answered 403.
	denied     map[string][]string
	tokenOwner map[string]string // access token → OAuth client id
	// unlisted: subjects the users API leaves out (a fault: see UnlistUser).
	unlisted map[string]bool
	// TokenLife is the lifetime of an OAuth access token (default 6 hours, Qlik's).
	TokenLife time.Duration
}

// NewTenant returns an empty tenant with the given API keys.
func NewTenant(apiKeys ...string) *Tenant {
	t := &Tenant{
		now: time.Now, ID: "emulated-tenant", LicenseNumber: "9999000000001234", Product: "Qlik Cloud Analytics Standard",
		LicenseKey: "eyJhbGciOiJub25lIn0.eyJsaWNlbnNlIjoiOTk5OTAwMDAwMDAwMTIzNCJ9.c2VjcmV0LWxpY2Vuc2Uta2V5",
		Valid:      "2026-01-01/2027-12-31", Units: map[string]int{Professional: 0, Analyzer: 0, AnalyzerTime: 0},
		groups: map[string]*Group{}, apiKeys: map[string]bool{}, clients: map[string]string{}, tokens: map[string]time.Time{},
		denied: map[string][]string{}, tokenOwner: map[string]string{},
		TokenLife: 6 * time.Hour,
	}
	for _, k := range apiKeys {
		t.apiKeys[k] = true
	}
	return t
}

// SetClock sets the tenant's clock (token expiry, rate windows, created dates).
func (t *Tenant) SetClock(now func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now
}

// Now is the tenant's time.
func (t *Tenant) Now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.now()
}

// AddAPIKey accepts key as a bearer token.
func (t *Tenant) AddAPIKey(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.apiKeys[key] = true
}

// Deny makes the tenant answer 403 to the API key or OAuth client id credential on every
// path starting with one of the prefixes, e.g. "/api/v1/licenses/assignments/actions/"
// for a key whose user may read assignments but not change them.
func (t *Tenant) Deny(credential string, pathPrefixes ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.denied[credential] = append(t.denied[credential], pathPrefixes...)
}

// AddOAuthClient registers a machine-to-machine OAuth client.
func (t *Tenant) AddOAuthClient(id, secret string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients[id] = secret
}

// AddGroup adds a group.
func (t *Tenant) AddGroup(g Group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups[g.ID] = &g
}

// AddUser adds a user (kept in id order).
func (t *Tenant) AddUser(u User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := slices.BinarySearchFunc(t.users, u.ID, func(x *User, id string) int { return cmp.Compare(x.ID, id) })
	t.users = slices.Insert(t.users, i, &u)
}

// UnlistUser is a fault: the users API (GET /api/v1/users, any filter) leaves out the
// user of subject, as a read that misses a real user would (a subject's quoting or
// Unicode normalisation, a status the list leaves out, a page lost); the licenses API
// still knows the user (its assignments are no orphans).
func (t *Tenant) UnlistUser(subject string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unlisted == nil {
		t.unlisted = map[string]bool{}
	}
	t.unlisted[subject] = true
}

// AddAssignment adds an assignment (no checks: fixtures may hold orphans).
func (t *Tenant) AddAssignment(a Assignment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	a.seq = t.seq
	t.assignments = append(t.assignments, &a)
}

// AddEvent adds a consumption event.
func (t *Tenant) AddEvent(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addEventLocked(e)
}

func (t *Tenant) addEventLocked(e Event) {
	t.seq++
	e.seq = t.seq
	t.events = append(t.events, &e)
}

// Assignments returns a copy of the assignments, in creation order.
func (t *Tenant) Assignments() []Assignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Assignment, len(t.assignments))
	for i, a := range t.assignments {
		out[i] = *a
	}
	return out
}

// HasAssignment reports whether the assignment exists (exact type and subject).
func (t *Tenant) HasAssignment(k AssignmentKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.findLocked(k.Type, k.Subject) >= 0
}

// Users returns a copy of the users, in id order.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, len(t.users))
	for i, u := range t.users {
		out[i] = *u
	}
	return out
}

// Events returns a copy of the consumption events.
func (t *Tenant) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Event, len(t.events))
	for i, e := range t.events {
		out[i] = *e
	}
	return out
}

func (t *Tenant) findLocked(typ, subject string) int {
	for i, a := range t.assignments {
		if a.Subject == subject && (typ == "" || a.Type == typ) {
			return i
		}
	}
	return -1
}

func (t *Tenant) userBySubjectLocked(subject string) *User {
	for _, u := range t.users {
		if u.Subject == subject {
			return u
		}
	}
	return nil
}

func (t *Tenant) usedLocked(typ string) int {
	n := 0
	for _, a := range t.assignments {
		if a.Type == typ {
			n++
		}
	}
	return n
}

// capacityUsedLocked sums the analyzer capacity minutes of the current month.
func (t *Tenant) capacityUsedLocked() int {
	now := t.now().UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for _, e := range t.events {
		if !e.EndTime.Before(start) {
			n += e.MinutesUsed
		}
	}
	return n
}
