package qcloudemu

import (
	"time"
)

// KnownAnswerAPIKey is the known-answer tenant's API key.
const KnownAnswerAPIKey = "known-answer-key"

// Fixture is one assignment of the known-answer tenant and what a policy of 30 inactive
// days (both types, TenantAdmin protected, always_release_disabled off) must do with it.
type Fixture struct {
	Key AssignmentKey
	// Release: the assignment is released at 30 days; Protected: kept by protect.roles =
	// ["TenantAdmin"] although inactive; ReleaseIfDisabledRule: released only with
	// always_release_disabled.
	Release, Protected, ReleaseIfDisabledRule bool
	Why                                       string
}

// KnownAnswers is the known-answer tenant's table (KnownAnswer builds it).
var KnownAnswers = []Fixture{
	{Key: AssignmentKey{Professional, `CORP\used-29.9`}, Why: "used 29.9 days ago"},
	{Key: AssignmentKey{Professional, `CORP\used-30.1`}, Release: true, Why: "used 30.1 days ago"},
	{Key: AssignmentKey{Analyzer, `CORP\new`}, Why: "assigned 2 days ago, never used: younger than the threshold"},
	{Key: AssignmentKey{Analyzer, `CORP\capacity-only`}, Why: "an analyzer-capacity session 5 days ago counts as use"},
	{Key: AssignmentKey{Analyzer, `CORP\gone`}, Release: true, Why: "an orphan (no user), assigned 60 days ago"},
	{Key: AssignmentKey{Professional, `CORP\disabled`}, ReleaseIfDisabledRule: true, Why: "disabled, used 3 days ago"},
	{Key: AssignmentKey{Analyzer, `CORP\deleted`}, Release: true, Why: "deleted, last used 40 days ago"},
	{Key: AssignmentKey{Professional, `CORP\admin`}, Protected: true, Why: "TenantAdmin directly, unused for 100 days"},
	{Key: AssignmentKey{Professional, `CORP\group-admin`}, Protected: true, Why: "TenantAdmin through the group Qlik Admins, unused for 100 days"},
	{Key: AssignmentKey{Analyzer, `CORP\o"brien\x`}, Release: true, Why: "a quote and backslashes in the subject, used 45 days ago"},
	{Key: AssignmentKey{Analyzer, "CORP\\jürgen.ñ 東京"}, Release: true, Why: "a unicode subject, used 45 days ago"},
	{Key: AssignmentKey{Professional, `CORP\Anna`}, Why: "used a day ago; differs from CORP\\anna only in case"},
	{Key: AssignmentKey{Analyzer, `CORP\anna`}, Release: true, Why: "used 45 days ago; differs from CORP\\Anna only in case"},
	{Key: AssignmentKey{Professional, "auth0|5f8e2b7c9d1a"}, Release: true, Why: "assigned 60 days ago, never used"},
}

// KnownAnswer builds the known-answer tenant at now (its fixed clock): the users,
// groups, assignments and consumption events behind KnownAnswers, with API key
// KnownAnswerAPIKey.
func KnownAnswer(now time.Time) *Tenant {
	t := NewTenant(KnownAnswerAPIKey)
	t.SetClock(func() time.Time { return now })
	t.Units[Professional], t.Units[Analyzer], t.Units[AnalyzerTime] = 10, 10, 1000
	t.Overage = 100
	t.AddGroup(Group{ID: "g-admins", Name: "Qlik Admins", Roles: []string{"TenantAdmin"}})
	day := 24 * time.Hour
	ago := func(days float64) time.Time { return now.Add(-time.Duration(days * float64(day))) }
	type spec struct {
		id, subject, email, status string
		roles, groups              []string
		typ                        string
		assigned                   float64   // days ago
		used                       []float64 // days ago
		capacity                   bool
	}
	specs := []spec{
		{id: "u01", subject: `CORP\used-29.9`, typ: Professional, assigned: 90, used: []float64{60, 29.9}},
		{id: "u02", subject: `CORP\used-30.1`, typ: Professional, assigned: 90, used: []float64{50, 30.1}},
		{id: "u03", subject: `CORP\new`, typ: Analyzer, assigned: 2},
		{id: "u04", subject: `CORP\capacity-only`, typ: Analyzer, assigned: 90, used: []float64{5}, capacity: true},
		{id: "u05", subject: `CORP\disabled`, status: StatusDisabled, typ: Professional, assigned: 90, used: []float64{3}},
		{id: "u06", subject: `CORP\deleted`, status: StatusDeleted, typ: Analyzer, assigned: 90, used: []float64{40}},
		{id: "u07", subject: `CORP\admin`, roles: []string{"TenantAdmin"}, typ: Professional, assigned: 200, used: []float64{100}},
		{id: "u08", subject: `CORP\group-admin`, groups: []string{"g-admins"}, typ: Professional, assigned: 200, used: []float64{100}},
		{id: "u09", subject: `CORP\o"brien\x`, typ: Analyzer, assigned: 90, used: []float64{45}},
		{id: "u10", subject: "CORP\\jürgen.ñ 東京", typ: Analyzer, assigned: 90, used: []float64{45}},
		{id: "u11", subject: `CORP\Anna`, email: "anna.a@corp.example", typ: Professional, assigned: 90, used: []float64{1}},
		{id: "u12", subject: `CORP\anna`, email: "anna.b@corp.example", typ: Analyzer, assigned: 90, used: []float64{45}},
		{id: "u13", subject: "auth0|5f8e2b7c9d1a", typ: Professional, assigned: 60},
		{id: "u14", subject: `CORP\no-seat`, used: []float64{1}},
	}
	var events []Event
	for _, s := range specs {
		u := User{ID: "0000000000000000000000" + s.id[1:], Subject: s.subject, Name: s.subject, Email: s.email,
			Status: StatusActive, Roles: append([]string{"Consumer"}, s.roles...), Groups: s.groups, Created: ago(365)}
		if u.Email == "" {
			u.Email = s.id + "@corp.example"
		}
		if s.status != "" {
			u.Status = s.status
		}
		t.AddUser(u)
		if s.typ != "" {
			t.AddAssignment(Assignment{Type: s.typ, Subject: s.subject, Created: ago(s.assigned)})
		}
		for i, d := range s.used {
			e := Event{ID: s.id + "-" + string(rune('a'+i)), UserID: u.ID, AppID: "app-1", SessionID: s.id + "-s" + string(rune('a'+i)),
				AllotmentID: s.typ, LicenseUsage: "assignment", EndTime: ago(d), Duration: 20 * time.Minute}
			if s.capacity {
				e.AllotmentID, e.LicenseUsage, e.MinutesUsed, e.CapacityUsed = AnalyzerTime, "capacity", 6, 1
			}
			events = append(events, e)
		}
	}
	t.AddAssignment(Assignment{Type: Analyzer, Subject: `CORP\gone`, Created: ago(60)})
	for _, e := range events {
		t.AddEvent(e)
	}
	t.sortEvents()
	return t
}
