package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// A Qlik Cloud tenant is decided by the same Policy (types, thresholds, notices, dry run,
// cap, the one definition of inactivity) with the protections that exist there: users by
// subject or email, groups, roles (held directly or through a group), and the users'
// status.

// The reasons only a tenant's policy gives.
const (
	ReasonProtectedGroup Reason = "protected_group"
	ReasonProtectedRole  Reason = "protected_role"
	// ReasonRecentlyAssigned keeps an assignment created less than the threshold ago,
	// whatever its user's last use or status: a new assignment is never released.
	ReasonRecentlyAssigned Reason = "recently_assigned"
	// ReasonOrphan releases an assignment whose subject matches no user (it has no use).
	ReasonOrphan Reason = "orphan"
	// ReasonUserDisabled releases an assignment of a user whose status is disabled or
	// deleted (release.always_release_disabled).
	ReasonUserDisabled Reason = "user_disabled"
)

// TenantKeepReasons lists every reason EvaluateAssignment gives with Keep, in rule order.
var TenantKeepReasons = []Reason{
	ReasonTypeDisabled, ReasonRecentlyAssigned, ReasonProtectedUser, ReasonProtectedRole, ReasonProtectedGroup, ReasonRecentlyUsed,
}

// SiteReleaseReasons and TenantReleaseReasons list the reasons given with Release.
var (
	SiteReleaseReasons   = []Reason{ReasonInactive, ReasonUserInactive, ReasonUserRemovedExternally}
	TenantReleaseReasons = []Reason{ReasonInactive, ReasonOrphan, ReasonUserDisabled}
)

// KeepReasons are the keep reasons of this policy's source (a site's or a tenant's).
func (p *Policy) KeepReasons() []Reason {
	if p.tenant != nil {
		return TenantKeepReasons
	}
	return KeepReasons
}

// ReleaseReasons are the release reasons of this policy's source.
func (p *Policy) ReleaseReasons() []Reason {
	if p.tenant != nil {
		return TenantReleaseReasons
	}
	return SiteReleaseReasons
}

// TenantTypes are the assignment types of a Qlik Cloud tenant the policy can release.
var TenantTypes = []qrs.AccessType{qrs.Professional, qrs.Analyzer}

// Assignment is what the policy reads of one Qlik Cloud license assignment.
type Assignment struct {
	Type    qrs.AccessType
	Subject string
	Created time.Time
	// LastUsed is the latest endTime of the user's consumption events, of any allotment
	// (an analyzer-capacity session counts too); zero when none was seen.
	LastUsed time.Time
	// User is the user whose subject equals the assignment's exactly (case-sensitive: two
	// users may differ only in case); nil for an orphan.
	User *CloudUser
	// UsesFrom is the start of the consumption LastUsed was read from (zero: all of it).
	// A user with no use in it whose assignment is older may have used it before, unread:
	// not "never used" (see Inactivity).
	UsesFrom time.Time
}

// UseUnread reports whether the assignment's last use lies before the consumption read:
// its user has no use in it and the assignment is older than its start. An orphan has no
// use at all.
func (a *Assignment) UseUnread() bool {
	return a.LastUsed.IsZero() && a.User != nil && !a.UsesFrom.IsZero() && a.Created.Before(a.UsesFrom)
}

// Inactivity is the one inactivity of an assignment at now: since its last use, or since
// its creation when never used (InactivitySince); when its use is unread (UseUnread),
// since the start of the consumption read — a lower bound, and not "never used".
func (a *Assignment) Inactivity(now time.Time) (d time.Duration, neverUsed bool) {
	if a.UseUnread() {
		return max(0, now.Sub(a.UsesFrom)), false
	}
	return InactivitySince(a.LastUsed, a.Created, now)
}

// CloudUser is what the policy reads of a Qlik Cloud user.
type CloudUser struct {
	ID      string
	Subject string
	// Name is the user's display name (for a notice; no rule reads it).
	Name  string
	Email string
	// Status: active, invited, disabled, deleted or provisioned.
	Status string
	// Roles assigned to the user directly, by name (e.g. "TenantAdmin").
	Roles []string
	// Groups the user is a member of, with the roles each gives.
	Groups []CloudGroup
}

// CloudGroup is a group of a Qlik Cloud user and the roles it gives its members.
type CloudGroup struct {
	Name  string
	Roles []string
}

// Disabled reports whether the user's status is disabled or deleted.
func (u *CloudUser) Disabled() bool {
	return strings.EqualFold(u.Status, "disabled") || strings.EqualFold(u.Status, "deleted")
}

type tenantRules struct {
	users           map[string]bool // lower-case subjects and emails
	groups          map[string]bool // lower-case names
	roles           map[string]bool // lower-case names
	releaseDisabled bool
}

// CompileTenant validates a Qlik Cloud tenant's release policy (the same release table as
// a site's). Keys without meaning in Qlik Cloud are an error naming the key.
func CompileTenant(c *Config) (*Policy, error) {
	for _, k := range []struct {
		key string
		set bool
	}{
		{"user_pass", c.UserPass != (TypeConfig{})},
		{"protect.user_directories", len(c.Protect.UserDirectories) > 0},
		{"protect.tags", len(c.Protect.Tags) > 0},
		{"protect.custom_properties", len(c.Protect.CustomProperties) > 0},
		{"protect.inactive_users", c.Protect.InactiveUsers},
		{"protect.active_users", c.Protect.ActiveUsers},
		{"protect.blocked_users", c.Protect.BlockedUsers},
		{"protect.unblocked_users", c.Protect.UnblockedUsers},
		{"protect.removed_externally_users", c.Protect.RemovedExternallyUsers},
		{"protect.present_users", c.Protect.PresentUsers},
		{"always_release_removed_externally", c.AlwaysReleaseRemovedExternally},
		{"always_release_inactive", c.AlwaysReleaseInactive},
	} {
		if k.set {
			return nil, fmt.Errorf("release.%s has no meaning for a Qlik Cloud tenant: remove it (a tenant protects with protect.users, protect.groups and protect.roles, and releases disabled users with always_release_disabled)", k.key)
		}
	}
	r := &tenantRules{users: map[string]bool{}, groups: map[string]bool{}, roles: map[string]bool{}, releaseDisabled: c.AlwaysReleaseDisabled}
	p := &Policy{
		DryRun:            true,
		MaxReleasesPerRun: DefaultMaxReleasesPerRun,
		types:             map[qrs.AccessType]time.Duration{},
		thresholdDays:     map[qrs.AccessType]int{},
		noticeDays:        map[qrs.AccessType]int{},
		tenant:            r,
	}
	if err := p.compileCommon(c, TenantTypes); err != nil {
		return nil, err
	}
	for _, list := range []struct {
		key  string
		vals []string
		into map[string]bool
	}{
		{"users", c.Protect.Users, r.users},
		{"groups", c.Protect.Groups, r.groups},
		{"roles", c.Protect.Roles, r.roles},
	} {
		for i, v := range list.vals {
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("release.protect.%s[%d] is empty", list.key, i)
			}
			list.into[strings.ToLower(strings.TrimSpace(v))] = true
		}
	}
	return p, nil
}

// IsTenant reports whether the policy is a Qlik Cloud tenant's (CompileTenant).
func (p *Policy) IsTenant() bool { return p.tenant != nil }

// EvaluateAssignment decides one Qlik Cloud assignment of a tenant's policy. The rules, in
// order: a type not enabled is kept; an assignment created less than the threshold ago is
// kept, whatever else applies; protect.users (subject or email, case-insensitive),
// protect.roles (held directly or through a group) and protect.groups keep it; with
// always_release_disabled a disabled or deleted user's assignment is released; an orphan
// (no user) has no use and is released; otherwise the threshold decides on the one
// inactivity (now − last use, or now − created when never used). A site's policy
// (Compile), which has none of these protections, keeps every assignment.
func (p *Policy) EvaluateAssignment(a *Assignment, now time.Time) Decision {
	var d Decision
	d.Inactivity, d.NeverUsed = a.Inactivity(now)
	if p.tenant == nil { // a site's policy has none of a tenant's protections
		return keep(d, ReasonTypeDisabled, "a site's policy releases no Qlik Cloud assignment: the tenant's is compiled by CompileTenant")
	}
	limit, on := p.types[a.Type]
	if !on {
		return keep(d, ReasonTypeDisabled, "release of "+a.Type.Name()+" assignments is not enabled")
	}
	age, _ := InactivitySince(time.Time{}, a.Created, now)
	if a.Created.IsZero() || age < limit {
		return keep(d, ReasonRecentlyAssigned, "assigned "+Days(age)+" ago, threshold "+Days(limit))
	}
	if r, detail, ok := p.tenantProtection(a); ok {
		return keep(d, r, detail)
	}
	if a.User == nil {
		return release(d, ReasonOrphan, "no user has subject "+a.Subject+", assigned "+Days(age)+" ago")
	}
	if p.tenant.releaseDisabled && a.User.Disabled() {
		return release(d, ReasonUserDisabled, "user is "+strings.ToLower(a.User.Status)+", inactive "+Days(d.Inactivity)+a.orMore())
	}
	d = p.threshold(a.Type, d)
	if a.UseUnread() {
		d.Detail = "no use in the consumption read since " + a.UsesFrom.UTC().Format(time.DateOnly) + ": last used " + Days(d.Inactivity) +
			" ago or more, threshold " + strconv.Itoa(p.thresholdDays[a.Type]) + "d"
	}
	return d
}

// orMore says that an inactivity is a lower bound (UseUnread).
func (a *Assignment) orMore() string {
	if a.UseUnread() {
		return " or more (no use in the consumption read since " + a.UsesFrom.UTC().Format(time.DateOnly) + ")"
	}
	return ""
}

// AssignmentProtection reports whether one of a tenant policy's protections covers the
// assignment's user, whatever the type and the threshold.
func (p *Policy) AssignmentProtection(a *Assignment) (Reason, string, bool) {
	return p.tenantProtection(a)
}

func (p *Policy) tenantProtection(a *Assignment) (Reason, string, bool) {
	r := p.tenant
	if r == nil {
		return "", "", false
	}
	if len(r.users) > 0 {
		if r.users[strings.ToLower(a.Subject)] {
			return ReasonProtectedUser, "user " + a.Subject + " is protected", true
		}
		if u := a.User; u != nil && u.Email != "" && r.users[strings.ToLower(u.Email)] {
			return ReasonProtectedUser, "user " + u.Email + " is protected", true
		}
	}
	u := a.User
	if u == nil {
		return "", "", false
	}
	if len(r.roles) > 0 {
		if i := slices.IndexFunc(u.Roles, func(s string) bool { return r.roles[strings.ToLower(s)] }); i >= 0 {
			return ReasonProtectedRole, "role " + u.Roles[i] + " is protected", true
		}
		for _, g := range u.Groups {
			if i := slices.IndexFunc(g.Roles, func(s string) bool { return r.roles[strings.ToLower(s)] }); i >= 0 {
				return ReasonProtectedRole, "role " + g.Roles[i] + " (through group " + g.Name + ") is protected", true
			}
		}
	}
	if len(r.groups) > 0 {
		for _, g := range u.Groups {
			if r.groups[strings.ToLower(g.Name)] {
				return ReasonProtectedGroup, "group " + g.Name + " is protected", true
			}
		}
	}
	return "", "", false
}
