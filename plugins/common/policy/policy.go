package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Verdict is what the policy says about one allocation.
type Verdict string

// The verdicts. Deferred is given by a planner, not by Evaluate: a release beyond the cap.
const (
	Keep     Verdict = "keep"
	Release  Verdict = "release"
	Deferred Verdict = "deferred"
	// Notice and Waiting are given by the sidecar's planner to a release candidate whose
	// type gives notice (plugins/common/notice): its user is to be told now, or was told
	// and the notice period is not over.
	Notice  Verdict = "notice"
	Waiting Verdict = "waiting"
)

// Reason says why. Each keep reason is one rule, so counts per reason say how many
// allocations each rule protects.
type Reason string

// The reasons, in the order rules are applied.
const (
	ReasonTypeDisabled            Reason = "type_disabled"
	ReasonQuarantined             Reason = "quarantined"
	ReasonDeletedUser             Reason = "deleted_user"
	ReasonProtectedUser           Reason = "protected_user"
	ReasonProtectedDirectory      Reason = "protected_directory"
	ReasonUserUnknown             Reason = "user_unknown"
	ReasonProtectedTag            Reason = "protected_tag"
	ReasonProtectedCustomProperty Reason = "protected_custom_property"
	ReasonProtectedInactive       Reason = "protected_inactive_user"
	ReasonProtectedActive         Reason = "protected_active_user"
	ReasonProtectedBlocked        Reason = "protected_blocked_user"
	ReasonProtectedUnblocked      Reason = "protected_unblocked_user"
	ReasonProtectedRemoved        Reason = "protected_removed_externally_user"
	ReasonProtectedPresent        Reason = "protected_present_user"
	ReasonUserRemovedExternally   Reason = "user_removed_externally"
	ReasonUserInactive            Reason = "user_inactive"
	ReasonInactive                Reason = "inactive"
	ReasonRecentlyUsed            Reason = "recently_used"
	// ReasonNoEmail keeps a candidate whose type gives notice and whose user has no email
	// attribute (release.notice.without_email = "keep"); given by the sidecar's planner.
	ReasonNoEmail Reason = "no_email"
)

// KeepReasons lists every reason Evaluate gives with Keep, in rule order.
var KeepReasons = []Reason{
	ReasonTypeDisabled, ReasonQuarantined, ReasonDeletedUser, ReasonProtectedUser, ReasonProtectedDirectory,
	ReasonUserUnknown, ReasonProtectedTag, ReasonProtectedCustomProperty, ReasonProtectedInactive, ReasonProtectedActive,
	ReasonProtectedBlocked, ReasonProtectedUnblocked, ReasonProtectedRemoved, ReasonProtectedPresent, ReasonRecentlyUsed,
}

// Decision is the verdict on one allocation with its reason, for people (Detail) and machines.
type Decision struct {
	Verdict Verdict
	Reason  Reason
	Detail  string
	// Inactivity is now − lastUsed, or now − createdDate for a never-used allocation.
	Inactivity time.Duration
	NeverUsed  bool
}

// Inactivity is the project's one definition of how long an allocation has been unused:
// now − lastUsed in UTC, exact; an allocation never used (the 1753 sentinel or no lastUsed)
// counts from its createdDate. A date in the future counts as zero.
func Inactivity(a *qrs.Allocation, now time.Time) (d time.Duration, neverUsed bool) {
	var lastUsed, created time.Time
	if a.LastUsed.Valid() {
		lastUsed = a.LastUsed.Time
	}
	if a.CreatedDate.Valid() {
		created = a.CreatedDate.Time
	}
	return InactivitySince(lastUsed, created, now)
}

// InactivitySince is that one definition for any source (a QRS allocation, a Qlik Cloud
// assignment): now − lastUsed, exact; with no last use (the zero time) now − created;
// with neither, zero and never used. A date in the future counts as zero.
func InactivitySince(lastUsed, created, now time.Time) (d time.Duration, neverUsed bool) {
	from := lastUsed
	if lastUsed.IsZero() {
		neverUsed = true
		from = created
		if created.IsZero() {
			return 0, true
		}
	}
	return max(0, now.Sub(from)), neverUsed
}

// Days writes a duration as days with one decimal, for reasons people read.
func Days(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + "d"
}

// NoticeDays is the notice period of an enabled type: its users are told this many days
// before a release (0: released without notice).
func (p *Policy) NoticeDays(t qrs.AccessType) int { return p.noticeDays[t] }

// Notices reports whether any enabled type gives notice.
func (p *Policy) Notices() bool { return len(p.noticeDays) > 0 }

// Precheck decides what can be decided from the allocation alone (type, quarantine,
// listed users and directories, and the threshold when no rule can release a recently
// used allocation). final is false when the full user record is needed: call Evaluate
// with it.
func (p *Policy) Precheck(t qrs.AccessType, a *qrs.Allocation, now time.Time) (d Decision, final bool) {
	d, decided := p.allocationRules(t, a, now)
	if decided {
		return d, true
	}
	if !p.NeedsUserRecord() {
		return p.threshold(t, d), true
	}
	if d.Inactivity < p.types[t] && !p.releaseRemoved && !p.releaseInactive {
		return p.threshold(t, d), true // nothing could release it, whatever the user record says
	}
	return d, false
}

// Evaluate applies every rule. u is the allocation's user record; it may be nil when
// NeedsUserRecord is false, and a nil u when it is needed keeps the allocation (user_unknown).
func (p *Policy) Evaluate(t qrs.AccessType, a *qrs.Allocation, u *qrs.User, now time.Time) Decision {
	d, decided := p.allocationRules(t, a, now)
	if decided {
		return d
	}
	if p.NeedsUserRecord() {
		if u == nil {
			return keep(d, ReasonUserUnknown, "the user record could not be read")
		}
		if r, detail, protected := p.userRules(u); protected {
			return keep(d, r, detail)
		}
		if p.releaseRemoved && u.RemovedExternally {
			return release(d, ReasonUserRemovedExternally, "user removed externally, inactive "+Days(d.Inactivity))
		}
		if p.releaseInactive && u.Inactive {
			return release(d, ReasonUserInactive, "user marked inactive, inactive "+Days(d.Inactivity))
		}
	}
	return p.threshold(t, d)
}

// Protection reports whether one of the policy's protections covers the user of an
// allocation — protect.users, protect.user_directories, and, with the user's record u,
// tags, custom properties and user states — whatever the type and the threshold.
// Right-sizing never touches a user the release policy protects.
func (p *Policy) Protection(a *qrs.Allocation, u *qrs.User) (Reason, string, bool) {
	if a.User == nil {
		return "", "", false
	}
	if r, detail, ok := p.listed(a); ok {
		return r, detail, true
	}
	if u != nil {
		return p.userRules(u)
	}
	return "", "", false
}

// listed applies protect.users and protect.user_directories; a.User is set.
func (p *Policy) listed(a *qrs.Allocation) (Reason, string, bool) {
	var key [128]byte
	if len(p.users) > 0 && p.users[string(appendUserKey(key[:0], a.User.UserDirectory, a.User.UserID))] {
		return ReasonProtectedUser, "user " + a.User.UserDirectory + `\` + a.User.UserID + " is protected", true
	}
	if len(p.directories) > 0 && p.directories[string(appendLower(key[:0], a.User.UserDirectory))] {
		return ReasonProtectedDirectory, "user directory " + a.User.UserDirectory + " is protected", true
	}
	return "", "", false
}

func keep(d Decision, r Reason, detail string) Decision {
	d.Verdict, d.Reason, d.Detail = Keep, r, detail
	return d
}

func release(d Decision, r Reason, detail string) Decision {
	d.Verdict, d.Reason, d.Detail = Release, r, detail
	return d
}

func (p *Policy) allocationRules(t qrs.AccessType, a *qrs.Allocation, now time.Time) (Decision, bool) {
	var d Decision
	d.Inactivity, d.NeverUsed = Inactivity(a, now)
	if _, ok := p.types[t]; !ok {
		return keep(d, ReasonTypeDisabled, "release of "+t.Name()+" allocations is not enabled"), true
	}
	if a.Quarantined {
		end := "no end date"
		if a.QuarantineEnd.Valid() {
			end = "until " + a.QuarantineEnd.UTC().Format(time.RFC3339)
		}
		return keep(d, ReasonQuarantined, "quarantined "+end), true
	}
	if a.User == nil {
		return keep(d, ReasonDeletedUser, "the allocation has no user"), true
	}
	if r, detail, ok := p.listed(a); ok {
		return keep(d, r, detail), true
	}
	return d, false
}

func (p *Policy) userRules(u *qrs.User) (Reason, string, bool) {
	for _, t := range u.Tags {
		if p.tags[strings.ToLower(t.Name)] {
			return ReasonProtectedTag, "tagged " + t.Name, true
		}
	}
	for _, cp := range u.CustomProperties {
		if values := p.customProperties[strings.ToLower(cp.Definition.Name)]; values[strings.ToLower(cp.Value)] {
			return ReasonProtectedCustomProperty, "custom property " + cp.Definition.Name + "=" + cp.Value, true
		}
	}
	s := p.states
	switch {
	case s.InactiveUsers && u.Inactive:
		return ReasonProtectedInactive, "user is inactive and inactive users are protected", true
	case s.ActiveUsers && !u.Inactive:
		return ReasonProtectedActive, "user is active and active users are protected", true
	case s.BlockedUsers && u.Blacklisted:
		return ReasonProtectedBlocked, "user is blocked and blocked users are protected", true
	case s.UnblockedUsers && !u.Blacklisted:
		return ReasonProtectedUnblocked, "user is not blocked and unblocked users are protected", true
	case s.RemovedExternallyUsers && u.RemovedExternally:
		return ReasonProtectedRemoved, "user is removed externally and such users are protected", true
	case s.PresentUsers && !u.RemovedExternally:
		return ReasonProtectedPresent, "user is present in its directory and such users are protected", true
	}
	return "", "", false
}

func (p *Policy) threshold(t qrs.AccessType, d Decision) Decision {
	limit := p.types[t]
	what := "last used"
	if d.NeverUsed {
		what = "never used, allocated"
	}
	// One allocation: this runs for every allocation of every gather.
	var buf [80]byte
	b := append(append(buf[:0], what...), ' ')
	b = strconv.AppendFloat(b, d.Inactivity.Hours()/24, 'f', 1, 64) // as Days writes it
	b = strconv.AppendInt(append(b, "d ago, threshold "...), int64(p.thresholdDays[t]), 10)
	detail := string(append(b, 'd'))
	if d.Inactivity >= limit {
		return release(d, ReasonInactive, detail)
	}
	return keep(d, ReasonRecentlyUsed, detail)
}

// Reclaimable is how many of an evaluation's allocations the policy would release now, by
// their reasons: inactive, or of a user marked inactive or removed externally (an
// always_release rule); for a tenant also orphans and disabled or deleted users.
func Reclaimable(counts map[Reason]int) int {
	return counts[ReasonInactive] + counts[ReasonUserInactive] + counts[ReasonUserRemovedExternally] +
		counts[ReasonOrphan] + counts[ReasonUserDisabled]
}
