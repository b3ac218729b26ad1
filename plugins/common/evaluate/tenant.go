package evaluate

import (
	"context"
	"fmt"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// TenantSource is what evaluating a Qlik Cloud tenant reads; *qcloud.Client satisfies it.
type TenantSource interface {
	Assignments(ctx context.Context, q qcloud.AssignmentQuery, fn func(qcloud.Assignment) error) error
	// UsersFor returns the users holding these subjects (exact match), at the lower cost
	// of paging every user once or reading them filtered in batches.
	UsersFor(ctx context.Context, subjects []string) ([]qcloud.User, error)
	LastUse(ctx context.Context, since time.Time) (*qcloud.Usage, error)
}

// MinUseWindow is the least span of consumption read on a first run. LateEvents is how far
// before the watermark a later read starts again, for events that arrive late: Qlik does
// not say how soon a session's event can be read after its end, and an event missed is a
// use missed (a user could be released for it), so a later read goes back a whole day.
const (
	MinUseWindow = 30 * 24 * time.Hour
	LateEvents   = 24 * time.Hour
)

// UseWindow is how far back a first read of the consumption goes: the longest enabled
// threshold, at least MinUseWindow. A last use older than the window is not seen; the
// decision is the same (the assignment is past every threshold either way, and is kept
// while younger than the threshold), but the inactivity then counts from the assignment's
// creation, as for a never-used one.
func UseWindow(p *policy.Policy) time.Duration {
	w := MinUseWindow
	if p != nil {
		for _, t := range policy.TenantTypes {
			if days, on := p.Enabled(t); on {
				w = max(w, time.Duration(days)*24*time.Hour)
			}
		}
	}
	return w
}

// UseBook is the last use of a tenant's users, kept between runs so that each run reads
// only the consumption events newer than what it has seen (the first run reads the
// window). The zero UseBook is empty. It is not safe for concurrent use.
type UseBook struct {
	LastUse   map[string]time.Time // by user id
	Watermark time.Time            // the latest endTime read
	From      time.Time            // the start of what the book covers (zero: nothing read yet)
	Events    int                  // events read by the last Refresh
}

// Refresh reads the consumption since the book's watermark (less LateEvents), or the
// window before now on a first read, and keeps each user's latest endTime. On an error the
// book is unchanged.
func (b *UseBook) Refresh(ctx context.Context, src TenantSource, now time.Time, window time.Duration) error {
	since := b.Watermark.Add(-LateEvents)
	// A book without its users' last use, or with a watermark ahead of now (an event dated
	// in the future), cannot be trusted to cover the window: read it whole again.
	first := b.LastUse == nil || b.From.IsZero() || b.From.After(now.Add(-window)) || b.Watermark.After(now)
	if first {
		since = now.Add(-window)
	}
	u, err := src.LastUse(ctx, since)
	if err != nil {
		return err
	}
	if first || b.LastUse == nil {
		b.LastUse, b.From = map[string]time.Time{}, since
	}
	for id, t := range u.LastUse {
		if t.After(b.LastUse[id]) {
			b.LastUse[id] = t
		}
	}
	if u.Watermark.After(b.Watermark) {
		b.Watermark = u.Watermark
	}
	if b.Watermark.After(now) {
		b.Watermark = now // an event dated ahead must not stop the later reads
	}
	if b.Watermark.IsZero() || first && b.Watermark.Before(since) {
		b.Watermark = since // nothing yet: the next read starts where this one did
	}
	b.Events = u.Events
	return nil
}

// TenantOptions say what to evaluate.
type TenantOptions struct {
	// Policy decides; nil reads and observes only.
	Policy *policy.Policy
	// Now is the evaluation time.
	Now time.Time
	// Uses is the users' last use (UseBook.Refresh before), read from the consumption since
	// UsesFrom (UseBook.From; zero: all of it).
	Uses     map[string]time.Time
	UsesFrom time.Time
	// Observe, when set, sees every assignment with its user and last use.
	Observe func(*policy.Assignment, bool)
	// KeepItems keeps every decided assignment in the result (a plan).
	KeepItems bool
	// Decided, when set, sees every decision (the plugin counts assignments waiting out a
	// notice).
	Decided func(*policy.Assignment, policy.Decision)
}

// TenantItem is one decided assignment.
type TenantItem struct {
	Assignment policy.Assignment
	Excess     bool
	Decision   policy.Decision
}

// TenantTypeResult is the outcome for one assignment type.
type TenantTypeResult struct {
	Assignments int
	// Reasons counts decisions by reason; nil when the policy does not cover the type.
	Reasons map[policy.Reason]int
	Items   []TenantItem
}

// TenantResult of an evaluation.
type TenantResult struct {
	ByType map[qrs.AccessType]*TenantTypeResult
	// Users is the number of users read; Orphans the assignments whose subject matched none.
	Users, Orphans int
}

// TenantTypeOf maps a Qlik Cloud assignment type to the project's license type; ok is false
// for a type the policy does not know.
func TenantTypeOf(s string) (qrs.AccessType, bool) {
	switch s {
	case qcloud.Professional:
		return qrs.Professional, true
	case qcloud.Analyzer:
		return qrs.Analyzer, true
	}
	return "", false
}

// Tenant reads a tenant's assignments and the users behind them, joins them with the last
// use, and decides each assignment with the policy. Subjects are matched to users exactly
// (case-sensitive); an assignment whose subject matches no user is an orphan. An
// assignment the pages list twice (its type and subject: a cursor that shifted while the
// list changed) is one assignment: counted, decided and planned once (planned twice, one
// delete call would carry it twice, and its second item's "not found" would hide the
// first's 200). An error means nothing could be decided.
func Tenant(ctx context.Context, src TenantSource, o TenantOptions) (*TenantResult, error) {
	var list []qcloud.Assignment
	seen := map[qcloud.Key]bool{}
	err := src.Assignments(ctx, qcloud.AssignmentQuery{}, func(a qcloud.Assignment) error {
		if !seen[a.Key()] {
			seen[a.Key()] = true
			list = append(list, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading license assignments: %w", err)
	}
	users, err := readUsers(ctx, src, list)
	if err != nil {
		return nil, fmt.Errorf("reading the users of the assignments: %w", err)
	}
	res := &TenantResult{ByType: map[qrs.AccessType]*TenantTypeResult{}, Users: len(users)}
	for _, t := range policy.TenantTypes {
		r := &TenantTypeResult{}
		if o.Policy != nil {
			if _, on := o.Policy.Enabled(t); on {
				r.Reasons = map[policy.Reason]int{}
			}
		}
		res.ByType[t] = r
	}
	for _, a := range list {
		t, ok := TenantTypeOf(a.Type)
		if !ok {
			continue
		}
		r := res.ByType[t]
		r.Assignments++
		pa := policy.Assignment{Type: t, Subject: a.Subject, Created: a.Created}
		if u := users[a.Subject]; u != nil {
			pa.User = u
			pa.LastUsed, pa.UsesFrom = o.Uses[u.ID], o.UsesFrom
		} else {
			res.Orphans++
		}
		if o.Observe != nil {
			o.Observe(&pa, a.Excess)
		}
		if r.Reasons == nil {
			continue
		}
		d := o.Policy.EvaluateAssignment(&pa, o.Now)
		r.Reasons[d.Reason]++
		if o.Decided != nil {
			o.Decided(&pa, d)
		}
		if o.KeepItems {
			r.Items = append(r.Items, TenantItem{Assignment: pa, Excess: a.Excess, Decision: d})
		}
	}
	return res, nil
}

// readUsers reads the users of the assignments' subjects, by exact subject.
func readUsers(ctx context.Context, src TenantSource, list []qcloud.Assignment) (map[string]*policy.CloudUser, error) {
	subjects := make([]string, 0, len(list))
	want := map[string]bool{}
	for _, a := range list {
		if !want[a.Subject] {
			want[a.Subject] = true
			subjects = append(subjects, a.Subject)
		}
	}
	out := map[string]*policy.CloudUser{}
	if len(subjects) == 0 {
		return out, nil
	}
	users, err := src.UsersFor(ctx, subjects)
	for _, u := range users {
		if want[u.Subject] { // exact, whatever the API compared
			out[u.Subject] = CloudUser(u)
		}
	}
	return out, err
}

// CloudUser is what the policy reads of a Qlik Cloud user.
func CloudUser(u qcloud.User) *policy.CloudUser {
	c := &policy.CloudUser{ID: u.ID, Subject: u.Subject, Name: u.Name, Email: u.Email, Status: u.Status, Roles: u.Roles}
	for _, g := range u.Groups {
		c.Groups = append(c.Groups, policy.CloudGroup{Name: g.Name, Roles: g.Roles})
	}
	return c
}
