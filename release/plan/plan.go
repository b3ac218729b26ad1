// Package plan is what a run of the sidecar would do now: every allocation of the types
// the release policy enables, with its verdict and reason, releases first (most inactive
// first) and those beyond max_releases_per_run deferred. Notices stage their candidates
// in it (release/notices) before it is ordered.
package plan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// Holder is who holds one license of a plan: a QRS allocation, or a Qlik Cloud
// assignment. With the item's type, ID is its key.
type Holder struct {
	// ID is a QRS allocation's id, or a Qlik Cloud assignment's subject.
	ID string
	// Name is the holder as people know it: DIRECTORY\userid (a site), or the subject (a
	// tenant).
	Name string
	// Directory and UserID are the JSON report's user_directory and user_id (a tenant's:
	// no directory and the subject).
	Directory, UserID string
	// User is the user's id in the source; "" when the holder has no user (a QRS
	// allocation whose user was deleted, a Qlik Cloud orphan).
	User string
	// UserName is the user's display name, when read.
	UserName string
	// Created is when the license was allocated or assigned.
	Created time.Time
	// LastUsed is the last use (zero: never used, or see NoUseSince).
	LastUsed time.Time
	// NoUseSince: a Qlik Cloud user with no use in the consumption read, whose assignment
	// is older than its start (policy.Assignment.UseUnread): that start. The last use, if
	// any, is older; the inactivity counts from it (a lower bound), and it is not "never
	// used".
	NoUseSince time.Time
}

// HolderOf is the holder of a QRS allocation; u is its user's record, when read.
func HolderOf(a *qrs.Allocation, u *qrs.User) Holder {
	dir, id := a.Holder()
	h := Holder{ID: a.ID, Name: a.HolderName(), Directory: dir, UserID: id, Created: a.CreatedDate.Time}
	if a.LastUsed.Valid() {
		h.LastUsed = a.LastUsed.Time
	}
	if a.User != nil {
		h.User = a.User.ID
	}
	if u != nil {
		h.UserName = u.Name
	}
	return h
}

// Item is one holder of a plan with its verdict.
type Item struct {
	Type     qrs.AccessType
	Holder   Holder
	Decision policy.Decision
	// Note says what else a person should know, e.g. that the user also holds an
	// allocation of the other type.
	Note string
	// Email is the user's address: read for a type that gives notice, or known by the
	// source with the user.
	Email string
	// NoticedAt and ReleasableFrom: for a type that gives notice, when the notice was
	// accepted (zero before) and from when the holder may be released (for a notice
	// still to send: the date it will give).
	NoticedAt      time.Time
	ReleasableFrom time.Time
}

// AddNote appends to the item's note.
func (it *Item) AddNote(note string) {
	if it.Note == "" {
		it.Note = note
		return
	}
	it.Note += "; " + note
}

// Outcome is the item's outcome at time at, in run runID of site.
func (it *Item) Outcome(at time.Time, site, runID string, r audit.Result, reason, detail string) audit.Outcome {
	return audit.Outcome{
		Time: at.UTC(), Site: site, RunID: runID, Type: it.Type, AllocationID: it.Holder.ID, User: it.Holder.Name,
		DaysSinceLastUse: it.Decision.Inactivity.Hours() / 24, NeverUsed: it.Decision.NeverUsed,
		Result: r, Reason: reason, Detail: detail, DryRun: r == audit.DryRun,
	}
}

// Totals counts a plan's verdicts for one type.
type Totals struct {
	Type       qrs.AccessType        `json:"type"`
	Considered int                   `json:"considered"`
	Release    int                   `json:"release"`
	Deferred   int                   `json:"deferred"`
	Keep       int                   `json:"keep"`
	Kept       map[policy.Reason]int `json:"kept"`
	// Notice and Waiting: candidates whose user is to be noticed now, and noticed ones
	// waiting out their notice period (types with notice_days).
	Notice  int `json:"notice"`
	Waiting int `json:"waiting"`
}

// Plan is what a run would do now: every allocation of the enabled types with its verdict
// and reason, releases first (most inactive first), then deferred, then kept.
type Plan struct {
	Site              string
	Now               time.Time
	DryRun            bool
	MaxReleasesPerRun int
	Items             []Item
	Totals            []Totals
	// Errors: lists or user records that could not be read; their types are not planned.
	Errors []error
	// Notes: what else a person should know of the whole plan (a tenant's auto-assign).
	Notes []string
	// Complete: the types whose holders were all read and decided (set by the source): a
	// notice record of such a type whose holder is no candidate may be dropped.
	Complete map[qrs.AccessType]bool
	// Staged: the types that give notice whose candidates were all staged (set by the
	// notices' Stage); their notice records may be pruned when the notices are sent.
	Staged map[qrs.AccessType]bool
}

// Releases returns the items to release, in order.
func (p *Plan) Releases() []Item {
	var out []Item
	for _, it := range p.Items {
		if it.Decision.Verdict == policy.Release {
			out = append(out, it)
		}
	}
	return out
}

// Contact is what a notice needs of a holder's user: the address and the display name.
type Contact struct{ Email, Name string }

// Lookup reads the users of the given ids (Holder.User) for their notices, in as few
// requests as the source allows; a user absent from the answer has no record any more.
type Lookup func(ctx context.Context, userIDs []string) (map[string]Contact, error)

// Stager stages the candidates of types that give notice, before the plan is ordered:
// release/notices sets their verdicts (notice, waiting, release) from the notice state.
// lookup, given by the source, reads the address of a candidate still to be told whose
// item has none; nil when the source read its users' addresses with the plan (the items
// carry every address there is).
type Stager func(ctx context.Context, p *Plan, lookup Lookup) error

// finish stages the candidates (with stage, when the policy gives notice), orders the
// items and counts the types.
func (p *Plan) finish(ctx context.Context, pol *policy.Policy, types []qrs.AccessType, stage Stager, lookup Lookup) error {
	if stage != nil && pol.Notices() {
		if err := stage(ctx, p, lookup); err != nil {
			return err
		}
	}
	p.order()
	p.count(types)
	return nil
}

// Make reads the site and decides every allocation of the types the policy enables; with
// stage (may be nil), the candidates of types that give notice get their stage.
func Make(ctx context.Context, c *qrs.Client, pol *policy.Policy, site string, now time.Time, stage Stager) (*Plan, error) {
	var enabled []qrs.AccessType
	for _, t := range qrs.AccessTypes {
		if _, on := pol.Enabled(t); on {
			enabled = append(enabled, t)
		}
	}
	// Professional and analyzer are both read when either is planned, to tell when a user
	// holds both.
	read := slices.Clone(enabled)
	for _, pair := range [][2]qrs.AccessType{{qrs.Professional, qrs.Analyzer}, {qrs.Analyzer, qrs.Professional}} {
		if slices.Contains(enabled, pair[0]) && !slices.Contains(read, pair[1]) {
			read = append(read, pair[1])
		}
	}
	holders := map[qrs.AccessType]map[string]bool{qrs.Professional: {}, qrs.Analyzer: {}}
	res, err := evaluate.Site(ctx, c, evaluate.Options{
		Types: read, Policy: pol, Now: now, KeepItems: true,
		Observe: func(t qrs.AccessType, a *qrs.Allocation) {
			if h := holders[t]; h != nil && a.User != nil && !a.Quarantined {
				h[a.User.ID] = true
			}
		},
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{Site: site, Now: now, DryRun: pol.DryRun, MaxReleasesPerRun: pol.MaxReleasesPerRun, Complete: map[qrs.AccessType]bool{}}
	for _, t := range read {
		r := res.ByType[t]
		if r.Err != nil {
			p.Errors = append(p.Errors, fmt.Errorf("reading %s allocations: %w", t, r.Err))
		}
		p.Complete[t] = r.Err == nil && res.UsersErr == nil
	}
	if res.UsersErr != nil {
		p.Errors = append(p.Errors, res.UsersErr)
	}
	for _, t := range enabled {
		for _, it := range res.ByType[t].Items {
			item := Item{Type: it.Type, Holder: HolderOf(it.Allocation, it.User), Decision: it.Decision}
			if other := otherType(t); other != "" && it.Allocation.User != nil && holders[other][it.Allocation.User.ID] {
				item.Note = "also holds an " + string(other) + " allocation"
				if other == qrs.Professional {
					item.Note = "also holds a professional allocation"
				}
			}
			p.Items = append(p.Items, item)
		}
	}
	if err := p.finish(ctx, pol, enabled, stage, qrsLookup(c)); err != nil {
		return nil, err
	}
	return p, nil
}

// qrsLookup reads users' records for their notice addresses (qrs.Client.LookupUsers: in
// batches when few, the whole list when many).
func qrsLookup(c *qrs.Client) Lookup {
	return func(ctx context.Context, ids []string) (map[string]Contact, error) {
		users, err := c.LookupUsers(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]Contact, len(users))
		for id, u := range users {
			if u != nil {
				out[id] = Contact{Email: u.Email(), Name: u.Name}
			}
		}
		return out, nil
	}
}

// Assemble makes the plan of a source other than QRS from its decided items (every holder
// of the enabled types, with the addresses of their users the source read) and the errors
// of what could not be read (any error: no type is complete): with stage (may be nil), the
// candidates of types that give notice get their stage; then releases first, most
// inactive first, those beyond the cap deferred, totals per type.
func Assemble(ctx context.Context, site string, now time.Time, pol *policy.Policy, types []qrs.AccessType, items []Item, errs []error, stage Stager) (*Plan, error) {
	p := &Plan{Site: site, Now: now, DryRun: pol.DryRun, MaxReleasesPerRun: pol.MaxReleasesPerRun, Items: items, Errors: errs,
		Complete: map[qrs.AccessType]bool{}}
	for _, t := range types {
		p.Complete[t] = len(errs) == 0
	}
	if err := p.finish(ctx, pol, types, stage, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func otherType(t qrs.AccessType) qrs.AccessType {
	switch t {
	case qrs.Professional:
		return qrs.Analyzer
	case qrs.Analyzer:
		return qrs.Professional
	}
	return ""
}

var verdictRank = map[policy.Verdict]int{policy.Release: 0, policy.Deferred: 1, policy.Notice: 2, policy.Waiting: 3, policy.Keep: 4}

// order sorts the most inactive releases first and defers those beyond the cap.
func (p *Plan) order() {
	slices.SortStableFunc(p.Items, func(a, b Item) int {
		return cmp.Or(
			cmp.Compare(verdictRank[a.Decision.Verdict], verdictRank[b.Decision.Verdict]),
			cmp.Compare(b.Decision.Inactivity, a.Decision.Inactivity),
			cmp.Compare(a.Type, b.Type),
			strings.Compare(a.Holder.ID, b.Holder.ID),
		)
	})
	n := 0
	for i := range p.Items {
		d := &p.Items[i].Decision
		if d.Verdict != policy.Release {
			continue
		}
		n++
		if n > p.MaxReleasesPerRun {
			d.Verdict = policy.Deferred
			d.Detail = fmt.Sprintf("%s; beyond max_releases_per_run = %d", d.Detail, p.MaxReleasesPerRun)
		}
	}
}

func (p *Plan) count(types []qrs.AccessType) {
	for _, t := range types {
		tt := Totals{Type: t, Kept: map[policy.Reason]int{}}
		for _, it := range p.Items {
			if it.Type != t {
				continue
			}
			tt.Considered++
			switch it.Decision.Verdict {
			case policy.Release:
				tt.Release++
			case policy.Deferred:
				tt.Deferred++
			case policy.Notice:
				tt.Notice++
			case policy.Waiting:
				tt.Waiting++
			default:
				tt.Keep++
				tt.Kept[it.Decision.Reason]++
			}
		}
		p.Totals = append(p.Totals, tt)
	}
}
