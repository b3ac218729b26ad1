// Package rightsize finds professional holders who only consume: users with professional
// access who authored no app and no sheet within the lookback window, hold no admin role
// and are not protected by the release policy. Analyzer access consumes sheets and apps
// made by others and can make stories, bookmarks and snapshots, but cannot create, edit or
// publish sheets or apps (Qlik Sense Enterprise on Windows, "User access"), so such a user
// loses nothing with it. The plugin's qlik_sense_license_rightsizing measurement and the
// sidecar's rightsize command and action all come from Evaluate.
package rightsize

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Reason is a holder's verdict: a candidate, or why professional access is kept.
type Reason string

// The reasons, in the order the rules apply.
const (
	// KeptProtected: a protection of the release policy covers the user.
	KeptProtected Reason = "protected"
	// KeptUserUnknown: the user record could not be read: kept, as the release policy
	// keeps user_unknown.
	KeptUserUnknown Reason = "user_unknown"
	// KeptIdle: the allocation is unused for the whole window, or the release policy
	// would release it: releasing it is the release policy's business.
	KeptIdle Reason = "idle"
	// KeptAdminRole: the user holds an admin role (any entry in the user's roles).
	KeptAdminRole Reason = "admin_role"
	// KeptAuthoredApp: the user created, or edited, an app they own within the window.
	KeptAuthoredApp Reason = "authored_app"
	// KeptAuthoredSheet: the user created or edited a sheet they own within the window.
	KeptAuthoredSheet Reason = "authored_sheet"
	// Candidate: analyzer access would do.
	Candidate Reason = "analyzer_candidate"
)

// KeptReasons lists the reasons professional access is kept, in rule order.
var KeptReasons = []Reason{KeptProtected, KeptUserUnknown, KeptIdle, KeptAdminRole, KeptAuthoredApp, KeptAuthoredSheet}

// Evidence is what a verdict rests on.
type Evidence struct {
	// LastAuthored is the latest creation or edit by the user of an app or sheet they own
	// within the window (zero: none), and LastAuthoredWhat what it was.
	LastAuthored     time.Time
	LastAuthoredWhat string
	// AppsOwned counts the apps the user owns, of any age; AuthoredApps and
	// AuthoredSheets those apps and sheets created or edited by the user in the window.
	AppsOwned, AuthoredApps, AuthoredSheets int
	// LastApp and LastSheet: the latest of each kind, as LastAuthoredWhat says it.
	LastApp, LastSheet         string
	LastAppTime, LastSheetTime time.Time
	Roles                      []string
	// LastUsed of the professional allocation (zero: never used).
	LastUsed time.Time
}

// Holder is one professional allocation with its verdict.
type Holder struct {
	Allocation *qrs.Allocation
	// User is the user's id, name and roles (nil when QRS did not return the record).
	User     *qrs.User
	Reason   Reason
	Detail   string
	Evidence Evidence
}

// Result is one right-sizing pass.
type Result struct {
	Now   time.Time
	Since time.Time // the window's start
	// Holders are the professional allocations that are neither quarantined nor of a
	// deleted user, candidates first, then by user.
	Holders []Holder
	Counts  map[Reason]int
	// Requests is how many QRS requests the pass took.
	Requests int64
}

// Candidates returns the analyzer candidates.
func (r *Result) Candidates() []Holder {
	var out []Holder
	for _, h := range r.Holders {
		if h.Reason == Candidate {
			out = append(out, h)
		}
	}
	return out
}

// Totals are a pass's counts under the names the plugin's qlik_sense_license_rightsizing
// fields and the rightsize command's report share: professional_holders,
// analyzer_candidates and kept_<reason>.
func (r *Result) Totals() map[string]int {
	t := map[string]int{"professional_holders": len(r.Holders), "analyzer_candidates": r.Counts[Candidate]}
	for _, k := range KeptReasons {
		t["kept_"+string(k)] = r.Counts[k]
	}
	return t
}

// Options say how to evaluate.
type Options struct {
	Now          time.Time
	LookbackDays int
	// Policy gives the protections and, when it releases professional allocations, which
	// are idle; nil: no protections.
	Policy *policy.Policy
}

// Evaluate reads the site and gives every professional holder a verdict, in few requests
// whatever the site's size: the professional allocations (one), their users (by id in up
// to two batches, or the user list once), every app (one: the apps a user owns are
// evidence, and apps are few), and the sheets created or modified since the window began
// (one, filtered on type and date). Lists are streamed; only evidence about professional
// holders is kept.
func Evaluate(ctx context.Context, c *qrs.Client, o Options) (*Result, error) {
	before := c.Stats().Requests
	since := o.Now.Add(-time.Duration(o.LookbackDays) * 24 * time.Hour)
	res := &Result{Now: o.Now, Since: since, Counts: map[Reason]int{}}
	holders := map[string]*Holder{} // lower-case user id → holder
	var order []*Holder
	err := c.Allocations(ctx, qrs.Professional, "", func(a *qrs.Allocation) error {
		if a.Quarantined || a.User == nil {
			return nil
		}
		h := &Holder{Allocation: a, Evidence: Evidence{LastUsed: a.LastUsed.Time}}
		holders[strings.ToLower(a.User.ID)] = h
		order = append(order, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading professional allocations: %w", err)
	}
	if len(order) == 0 {
		res.Requests = c.Stats().Requests - before
		return res, nil
	}
	ids := make([]string, 0, len(order))
	for _, h := range order {
		ids = append(ids, h.Allocation.User.ID)
	}
	users, err := c.LookupUsers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the professional holders' users: %w", err)
	}
	// The rules that need the user record apply now; then only the name and roles are
	// kept, so the records are not held while the apps and sheets stream by.
	for _, h := range order {
		u := users[h.Allocation.User.ID]
		if u != nil {
			h.Evidence.Roles = u.Roles
		}
		h.Reason, h.Detail = decideByUser(h, u, o, since)
		if u != nil {
			h.User = &qrs.User{ID: u.ID, UserID: u.UserID, UserDirectory: u.UserDirectory, Name: u.Name, Roles: u.Roles}
		}
	}
	users = nil
	holderOf := func(owner *qrs.UserCondensed) *Holder {
		if owner == nil {
			return nil
		}
		return holders[strings.ToLower(owner.ID)]
	}
	note := func(h *Holder, at time.Time, what string) {
		if at.After(h.Evidence.LastAuthored) {
			h.Evidence.LastAuthored, h.Evidence.LastAuthoredWhat = at, what
		}
	}
	err = c.Apps(ctx, "", func(a *qrs.App) error {
		h := holderOf(a.Owner)
		if h == nil {
			return nil
		}
		h.Evidence.AppsOwned++
		if at, ok := authored(h, a.CreatedDate, a.ModifiedDate, a.ModifiedByUserName, since); ok {
			h.Evidence.AuthoredApps++
			what := fmt.Sprintf("app %q", a.Name)
			note(h, at, what)
			if at.After(h.Evidence.LastAppTime) {
				h.Evidence.LastApp, h.Evidence.LastAppTime = what, at
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading apps: %w", err)
	}
	sheets := qrs.And(qrs.Eq("objectType", "sheet"), qrs.Since("modifiedDate", since))
	err = c.AppObjects(ctx, sheets, func(o *qrs.AppObject) error {
		h := holderOf(o.Owner)
		if h == nil {
			return nil
		}
		if at, ok := authored(h, o.CreatedDate, o.ModifiedDate, o.ModifiedByUserName, since); ok {
			h.Evidence.AuthoredSheets++
			app := ""
			if o.App != nil {
				app = fmt.Sprintf(" in app %q", o.App.Name)
			}
			what := fmt.Sprintf("sheet %q%s", o.Name, app)
			note(h, at, what)
			if at.After(h.Evidence.LastSheetTime) {
				h.Evidence.LastSheet, h.Evidence.LastSheetTime = what, at
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading sheets: %w", err)
	}
	for _, h := range order {
		if h.Reason == "" {
			h.Reason, h.Detail = decideByAuthoring(h, o)
		}
		res.Counts[h.Reason]++
		res.Holders = append(res.Holders, *h)
	}
	slices.SortStableFunc(res.Holders, func(a, b Holder) int {
		return cmp.Or(
			cmp.Compare(rank(a.Reason), rank(b.Reason)),
			strings.Compare(strings.ToLower(a.Allocation.HolderName()), strings.ToLower(b.Allocation.HolderName())),
		)
	})
	res.Requests = c.Stats().Requests - before
	return res, nil
}

func rank(r Reason) int {
	if r == Candidate {
		return -1
	}
	return slices.Index(KeptReasons, r)
}

// authored reports whether the holder authored an object within the window: created it
// then, or modified it then themselves (a reload by the scheduler is no authoring).
func authored(h *Holder, created, modified qrs.Time, modifiedBy string, since time.Time) (time.Time, bool) {
	if created.Valid() && !created.Before(since) {
		return created.Time, true
	}
	u := h.Allocation.User
	if modified.Valid() && !modified.Before(since) && strings.EqualFold(modifiedBy, u.UserDirectory+`\`+u.UserID) {
		return modified.Time, true
	}
	return time.Time{}, false
}

// decideByUser applies the rules that need the user record u, in order: protected, idle,
// admin role. It returns "" when none decides.
func decideByUser(h *Holder, u *qrs.User, o Options, since time.Time) (Reason, string) {
	a := h.Allocation
	if o.Policy != nil {
		if r, detail, ok := o.Policy.Protection(a, u); ok {
			return KeptProtected, detail + " (" + string(r) + ")"
		}
	}
	if u == nil {
		return KeptUserUnknown, "the user record could not be read: kept, as the release policy keeps user_unknown"
	}
	if o.Policy != nil {
		if _, on := o.Policy.Enabled(qrs.Professional); on {
			if d := o.Policy.Evaluate(qrs.Professional, a, u, o.Now); d.Verdict == policy.Release {
				return KeptIdle, "the release policy releases it: " + d.Detail
			}
		}
	}
	if !a.LastUsed.Valid() || a.LastUsed.Before(since) {
		what := "never used"
		if a.LastUsed.Valid() {
			what = "last used " + a.LastUsed.UTC().Format("2006-01-02")
		}
		return KeptIdle, fmt.Sprintf("%s: unused in the %d-day window; idle allocations are the release policy's business", what, o.LookbackDays)
	}
	if len(u.Roles) > 0 {
		return KeptAdminRole, "admin role " + strings.Join(u.Roles, ", ")
	}
	return "", ""
}

// decideByAuthoring applies the last rules: authored an app, authored a sheet; otherwise
// a candidate.
func decideByAuthoring(h *Holder, o Options) (Reason, string) {
	ev := h.Evidence
	if ev.AuthoredApps > 0 {
		return KeptAuthoredApp, fmt.Sprintf("authored %d app(s) in the window; last: %s on %s", ev.AuthoredApps, ev.LastApp, ev.LastAppTime.UTC().Format("2006-01-02"))
	}
	if ev.AuthoredSheets > 0 {
		return KeptAuthoredSheet, fmt.Sprintf("authored %d sheet(s) in the window; last: %s on %s", ev.AuthoredSheets, ev.LastSheet, ev.LastSheetTime.UTC().Format("2006-01-02"))
	}
	return Candidate, fmt.Sprintf("used Qlik Sense in the last %d days, authored no app or sheet, no admin role", o.LookbackDays)
}

// QuarantineNote says what QRS will do with a candidate's professional allocation used
// within the quarantine period (7 days): quarantine it rather than free its seat at once.
// Empty otherwise.
func QuarantineNote(a *qrs.Allocation, now time.Time) string {
	if a.LastUsed.Valid() && now.Sub(a.LastUsed.Time) < 7*24*time.Hour {
		return "; QRS will quarantine the professional allocation (used within 7 days): its seat frees when the quarantine ends"
	}
	return ""
}
