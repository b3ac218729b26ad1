package qcloud

import (
	"strings"
	"time"
)

// Allotment names of the overview (LicenseOverview.allotments[].name) and assignment types.
const (
	Professional = "professional"
	Analyzer     = "analyzer"
	AnalyzerTime = "analyzer_time" // analyzer capacity, in minutes
)

// User statuses (User.status).
const (
	StatusActive      = "active"
	StatusInvited     = "invited"
	StatusDisabled    = "disabled"
	StatusDeleted     = "deleted"
	StatusProvisioned = "provisioned"
)

// Allotment is one entry of the license overview.
type Allotment struct {
	Name       string // professional, analyzer, analyzer_time
	UsageClass string // assigned, time, …
	Units      int64
	UnitsUsed  int64
	// Overage is the allowed overage; -1 means unbounded; 0 when the answer had none.
	Overage int64
}

// Overview is GET /api/v1/licenses/overview without the license key (a secret-like token
// that this package never keeps).
type Overview struct {
	Allotments    []Allotment
	LicenseNumber string
	Product       string
	Status        string // Ok, Blacklisted, Expired
	Trial         bool
	// Valid is the ISO 8601 interval as answered; ValidFrom and ValidTo its ends (ValidTo
	// is the first instant the license is no longer valid: a date-only end is valid
	// through that day, UTC); zero when open or unreadable.
	Valid     string
	ValidFrom time.Time
	ValidTo   time.Time
	// LatestValidTime is the latest time the license is known to be valid (zero: none).
	LatestValidTime time.Time
}

// Expired says whether the license is expired at now: by its status, or past its valid
// interval's end.
func (o *Overview) Expired(now time.Time) bool {
	return o.Status == "Expired" || (!o.ValidTo.IsZero() && !now.Before(o.ValidTo))
}

// Allotment returns the named allotment and whether the overview has it.
func (o *Overview) Allotment(name string) (Allotment, bool) {
	for _, a := range o.Allotments {
		if a.Name == name {
			return a, true
		}
	}
	return Allotment{}, false
}

// Status is GET /api/v1/licenses/status.
type Status struct {
	Type        string // Signed, Plain, 2.0
	Status      string // Ok, Blacklisted, Expired, Missing
	Product     string
	Trial       bool
	Deactivated bool
	Valid       string
}

// Settings is GET /api/v1/licenses/settings: with auto-assign on, a user whose assignment
// is released gets one again at the next login.
type Settings struct {
	AutoAssignProfessional bool
	AutoAssignAnalyzer     bool
}

// Key names one assignment: its type and its user's subject (exact, case-sensitive).
type Key struct {
	Type    string
	Subject string
}

func (k Key) String() string { return k.Type + " " + k.Subject }

// Assignment is one license assignment (AssignmentsResponse.data[]).
type Assignment struct {
	Type    string
	Subject string
	Created time.Time
	Excess  bool
}

// Key is the assignment's key.
func (a Assignment) Key() Key { return Key{Type: a.Type, Subject: a.Subject} }

// AssignmentQuery narrows an assignments read.
type AssignmentQuery struct {
	// Filter is a SCIM filter as the API takes it (e.g. `type eq "analyzer"`); "" reads all.
	Filter string
	// Orphans reads only the assignments whose subject matches no user of the tenant.
	Orphans bool
}

// Event is one license consumption event (ConsumptionEventsResponse.data[]).
type Event struct {
	ID           string
	UserID       string
	AppID        string
	SessionID    string
	AllotmentID  string
	LicenseUsage string // e.g. assignment, capacity
	EndTime      time.Time
	Duration     string
	MinutesUsed  float64 // analyzer capacity minutes
	CapacityUsed float64 // analyzer capacity chunks
}

// Usage is what a consumption read tells: each user's last use (latest endTime by
// userId) and the watermark to read from next time.
type Usage struct {
	LastUse map[string]time.Time
	// Watermark is the latest endTime read (zero when none); the next incremental read
	// gives it (or a little before it, for late events) as since.
	Watermark time.Time
	// Events counts the events of this read; CapacityMinutes sums their minutesUsed. The
	// events at the watermark are read again by the next read from it (endTime ge), so
	// these are not to be summed across incremental reads (LastUse, a maximum, may be).
	Events          int
	CapacityMinutes float64
}

// User is one user of the tenant (users.d.ts User), with the facts a policy reads.
type User struct {
	ID          string
	Subject     string
	Name        string
	Email       string
	Status      string // active, invited, disabled, deleted, provisioned
	Roles       []string
	Groups      []Group
	Created     time.Time
	LastUpdated time.Time
}

// Group is a group a user belongs to, with the roles it gives.
type Group struct {
	ID    string
	Name  string
	Roles []string
}

// HasRole reports whether the user holds the role (case-insensitive), directly or through
// one of its groups.
func (u *User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	for _, g := range u.Groups {
		for _, r := range g.Roles {
			if strings.EqualFold(r, role) {
				return true
			}
		}
	}
	return false
}

// Outcome is what a 207 said of one item of an actions call.
type Outcome int

// The outcomes of an item. Every one is definitive.
const (
	Done        Outcome = iota + 1 // 200 (201 for add, or update to a new subject)
	NotFound                       // 404 LICENSES-016: no such assignment
	NoAllotment                    // 403 LICENSES-011: no seat of the type left
	Refused                        // any other 4xx: refused, nothing changed
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case NotFound:
		return "not found"
	case NoAllotment:
		return "no allotment"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// ItemResult is one item's status in a 207 answer.
type ItemResult struct {
	Key     Key // the item as asked (for update: the target type and subject)
	Outcome Outcome
	Status  int
	Code    string // e.g. LICENSES-016
	Title   string
}

// Update changes one assignment (professional → analyzer, or a subject rename).
type Update struct {
	Subject       string // the target subject (the current one when unchanged)
	Type          string // the target type
	SourceType    string // the current type
	SourceSubject string // the current subject, when it changes
}
