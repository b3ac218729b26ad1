package emulator

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is an allocation kind the emulator serves under /qrs/license/<kind>accesstype. It
// mirrors qrs.AccessType on purpose and is named after QRS's paths (KindUser serves
// useraccesstype, the user pass): the emulator keeps a model of its own, independent of
// the client it tests (see wire.go).
type Kind string

// The allocation kinds.
const (
	KindProfessional Kind = "professional"
	KindAnalyzer     Kind = "analyzer"
	KindUser         Kind = "user"
)

// Kinds lists the allocation kinds in a fixed order.
var Kinds = []Kind{KindProfessional, KindAnalyzer, KindUser}

func (k Kind) schemaPath() string {
	switch k {
	case KindProfessional:
		return "License.ProfessionalAccessType"
	case KindAnalyzer:
		return "License.AnalyzerAccessType"
	default:
		return "License.UserAccessType"
	}
}

// User is a user record of the emulated site.
type User struct {
	ID                string
	UserID            string
	UserDirectory     string
	Name              string
	Created           time.Time
	Modified          time.Time
	ModifiedBy        string
	Inactive          bool
	RemovedExternally bool
	Blacklisted       bool
	DeleteProhibited  bool
	Roles             []string
	Tags              []Tag
	CustomProperties  []CustomProperty
	// Attributes are what the user directory connector read, e.g. type "email".
	Attributes []Attribute
}

// Attribute is one user attribute (QRS UserAttribute).
type Attribute struct {
	ID         string
	Type       string
	Value      string
	ExternalID string
}

// Tag is a tag on a user.
type Tag struct {
	ID   string
	Name string
}

// CustomProperty is one custom property value on a user.
type CustomProperty struct {
	ID           string
	DefinitionID string
	Name         string
	Value        string
	ChoiceValues []string
}

// Allocation is one license allocation of the emulated site.
type Allocation struct {
	ID                   string
	Kind                 Kind
	UserRef              string // User.ID; "" once the user is deleted
	DeletedUserID        string
	DeletedUserDirectory string
	Created              time.Time
	Modified             time.Time
	ModifiedBy           string
	LastUsed             time.Time // zero: never used
	Excess               bool
	Quarantined          bool
	QuarantineEnd        time.Time
}

// LoginGroup is a token-model login access group.
type LoginGroup struct {
	ID             string
	Name           string
	Created        time.Time
	AssignedTokens int
	Used           int // login passes used this period
}

// CapacityGroup is an analyzer capacity (analyzer time) allocation group.
type CapacityGroup struct {
	ID              string
	Name            string
	Created         time.Time
	AssignedMinutes int
	UsedMinutes     int
}

// ServerLicense is the site's server license.
type ServerLicense struct {
	ID           string
	Serial       string
	Name         string
	Organization string
	Created      time.Time
	ValidTo      time.Time // zero: no end date
	IsExpired    bool
	Allotments   map[string]int // "professional", "analyzer", "analyzer_time"…
	Subscription bool
}

// Behaviour holds the choices where the real QRS is not documented (qrs-api.md §7).
type Behaviour struct {
	// QuarantineDays: a DELETE of an allocation used within this many days quarantines it
	// (default 7; 0 disables quarantine, as on sites where it does not apply).
	QuarantineDays int
	// QuarantineFromRelease anchors quarantineEnd at the release instead of at lastUsed.
	QuarantineFromRelease bool
	// NeverUsedAsCreated writes createdDate as lastUsed of never-used allocations instead
	// of the 1753 sentinel.
	NeverUsedAsCreated bool
	// UsedWindow: the overview's "used" counts allocations used within this window, the
	// emulator's stand-in for "has an active session" (default 1h).
	UsedWindow time.Duration
	// StrictUser answers 403 when a certificate request has no X-Qlik-User header.
	StrictUser bool
	// StrictXrfkey also requires the key to be 16 characters of [0-9A-Za-z].
	StrictXrfkey bool
}

// Site is the emulated repository: users, allocations and license totals behind a lock,
// with an injectable clock. All methods are safe for concurrent use.
type Site struct {
	mu sync.RWMutex

	rights map[string][]string // acting user (lower DIR\id) → rights; see SetRights

	clock     atomic.Pointer[func() time.Time]
	behaviour Behaviour

	// Model: "user" (professional/analyzer) or "token" (user and login passes).
	tokenModel        bool
	ProfessionalTotal int
	AnalyzerTotal     int
	TotalTokens       int
	UserTokenCost     float64
	LoginTokenCost    float64
	capacityEnabled   bool

	license ServerLicense
	users   []*User
	userIdx map[string]*User
	allocs  map[Kind][]*Allocation
	aidx    map[string]*Allocation // lower-case id → allocation, all kinds
	// nextExpiry is the earliest quarantine end (valid when expiryKnown).
	nextExpiry  time.Time
	expiryKnown bool
	logins      []LoginGroup
	groups      []CapacityGroup
	apps        []*App
	appIdx      map[string]*App // lower-case id → app
	objects     []*AppObject
}

// NewSite returns an empty user-model site whose clock is now (time.Now when nil).
func NewSite(now func() time.Time, b Behaviour) *Site {
	if now == nil {
		now = time.Now
	}
	if b.QuarantineDays == 0 {
		b.QuarantineDays = 7
	} else if b.QuarantineDays < 0 {
		b.QuarantineDays = 0
	}
	if b.UsedWindow <= 0 {
		b.UsedWindow = time.Hour
	}
	s := &Site{
		behaviour:      b,
		UserTokenCost:  1,
		LoginTokenCost: 0.1,
		userIdx:        map[string]*User{},
		allocs:         map[Kind][]*Allocation{},
		appIdx:         map[string]*App{},
		aidx:           map[string]*Allocation{},
	}
	s.clock.Store(&now)
	return s
}

// Now is the site's clock.
func (s *Site) Now() time.Time { return (*s.clock.Load())().UTC() }

// Behaviour returns the site's behaviour options.
func (s *Site) Behaviour() Behaviour { return s.behaviour }

// AddUser adds a user; it panics on a duplicate id, which is a bug in the caller.
func (s *Site) AddUser(u User) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.userIdx[strings.ToLower(u.ID)]; dup {
		panic("emulator: duplicate user id " + u.ID)
	}
	p := &u
	s.users = append(s.users, p)
	s.userIdx[strings.ToLower(u.ID)] = p
	return p
}

// AddAllocation adds an allocation.
func (s *Site) AddAllocation(a Allocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := a
	if _, dup := s.aidx[strings.ToLower(a.ID)]; dup {
		panic("emulator: duplicate allocation id " + a.ID)
	}
	s.allocs[a.Kind] = append(s.allocs[a.Kind], &p)
	s.aidx[strings.ToLower(a.ID)] = &p
	s.expiryKnown = false
}

// SetLicense sets the server license.
func (s *Site) SetLicense(l ServerLicense) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.license = l
}

// User returns a copy of the user with the given id.
func (s *Site) User(id string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.userIdx[strings.ToLower(id)]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// UpdateUser changes a user in place (tests: mark inactive, add a tag …).
func (s *Site) UpdateUser(id string, change func(*User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.userIdx[strings.ToLower(id)]
	if !ok {
		return fmt.Errorf("no user %s", id)
	}
	change(u)
	u.Modified = s.Now()
	return nil
}

// Allocations returns copies of the allocations of a kind, in QRS order.
func (s *Site) Allocations(k Kind) []Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	out := make([]Allocation, len(s.allocs[k]))
	for i, a := range s.allocs[k] {
		out[i] = *a
	}
	return out
}

// Allocation returns a copy of one allocation.
func (s *Site) Allocation(k Kind, id string) (Allocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if a := s.findLocked(k, id); a != nil {
		return *a, true
	}
	return Allocation{}, false
}

// Touch records that the allocation's user used the hub at t, as QRS does: lastUsed,
// modifiedDate and modifiedByUserName change.
func (s *Site) Touch(k Kind, id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.findLocked(k, id)
	if a == nil {
		return fmt.Errorf("no %s allocation %s", k, id)
	}
	a.LastUsed = t.UTC()
	a.Modified = t.UTC()
	if u := s.userIdx[strings.ToLower(a.UserRef)]; u != nil {
		a.ModifiedBy = u.UserDirectory + `\` + u.UserID
	}
	return nil
}

func (s *Site) findLocked(k Kind, id string) *Allocation {
	if a := s.aidx[strings.ToLower(id)]; a != nil && a.Kind == k {
		return a
	}
	return nil
}

// ReleaseResult says what a DELETE did.
type ReleaseResult int

// The results of Release.
const (
	NotFound ReleaseResult = iota
	Removed
	Quarantined
	AlreadyQuarantined
)

func (r ReleaseResult) String() string {
	return [...]string{"not found", "removed", "quarantined", "already quarantined"}[r]
}

// Release is what DELETE /qrs/license/<kind>accesstype/{id} does: an allocation used within
// the quarantine period is quarantined (and stays listed), any other is removed.
func (s *Site) Release(k Kind, id string) ReleaseResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	now := s.Now()
	a := s.findLocked(k, id)
	switch {
	case a == nil:
		return NotFound
	case a.Quarantined:
		return AlreadyQuarantined
	}
	period := time.Duration(s.behaviour.QuarantineDays) * 24 * time.Hour
	if period > 0 && !a.LastUsed.IsZero() && now.Sub(a.LastUsed) < period {
		a.Quarantined = true
		a.Excess = false
		a.Modified = now
		a.ModifiedBy = `INTERNAL\sa_repository`
		if s.behaviour.QuarantineFromRelease {
			a.QuarantineEnd = now.Add(period)
		} else {
			a.QuarantineEnd = a.LastUsed.Add(period)
		}
		s.expiryKnown = false
		return Quarantined
	}
	s.allocs[k] = slices.DeleteFunc(s.allocs[k], func(x *Allocation) bool { return x == a })
	delete(s.aidx, strings.ToLower(a.ID))
	return Removed
}

// expireLocked drops quarantined allocations whose quarantine has ended. It scans only
// when the earliest quarantine end has passed (every request calls it).
func (s *Site) expireLocked() {
	now := s.Now()
	if s.expiryKnown && now.Before(s.nextExpiry) {
		return
	}
	s.expiryKnown, s.nextExpiry = true, time.Time{}
	defer func() {
		for _, list := range s.allocs {
			for _, a := range list {
				if a.Quarantined && !a.QuarantineEnd.IsZero() && (s.nextExpiry.IsZero() || a.QuarantineEnd.Before(s.nextExpiry)) {
					s.nextExpiry = a.QuarantineEnd
				}
			}
		}
		if s.nextExpiry.IsZero() {
			s.nextExpiry = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}()
	for k, list := range s.allocs {
		expired := false
		for _, a := range list {
			if a.Quarantined && !a.QuarantineEnd.IsZero() && !now.Before(a.QuarantineEnd) {
				expired = true
				break
			}
		}
		if expired {
			s.allocs[k] = slices.DeleteFunc(list, func(a *Allocation) bool {
				gone := a.Quarantined && !a.QuarantineEnd.IsZero() && !now.Before(a.QuarantineEnd)
				if gone {
					delete(s.aidx, strings.ToLower(a.ID))
				}
				return gone
			})
		}
	}
}

// UserIDs returns the ids of all users, in QRS order.
func (s *Site) UserIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.users))
	for i, u := range s.users {
		out[i] = u.ID
	}
	return out
}

// GroupIDs returns the ids of the login access groups ("loginaccesstype") or the analyzer
// capacity groups ("analyzertimeaccesstype").
func (s *Site) GroupIDs(collection string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	if collection == "loginaccesstype" {
		for _, g := range s.logins {
			out = append(out, g.ID)
		}
	} else {
		for _, g := range s.groups {
			out = append(out, g.ID)
		}
	}
	return out
}
