// Package policy decides which license allocations may be released: a pure function of an
// allocation, its user, the policy and the current time. The Telegraf plugin (reclaimable
// metrics) and the release sidecar (plan and run) both use it, so they cannot disagree.
package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Defaults.
const (
	DefaultMaxReleasesPerRun = 50
	maxInactiveDays          = 3650
	maxNoticeDays            = 365
)

// Policy is a validated Config, ready to evaluate.
type Policy struct {
	DryRun            bool
	MaxReleasesPerRun int
	types             map[qrs.AccessType]time.Duration // enabled types → threshold
	thresholdDays     map[qrs.AccessType]int
	noticeDays        map[qrs.AccessType]int
	users             map[string]bool // lower-case DIR\id
	directories       map[string]bool
	tags              map[string]bool
	customProperties  map[string]map[string]bool // lower name → lower values
	states            ProtectConfig
	releaseRemoved    bool
	releaseInactive   bool
	tenant            *tenantRules // a Qlik Cloud tenant's policy (CompileTenant); nil for a site
}

// Compile validates a site's release policy; errors name the key (relative to the
// plugin's table) and what is allowed.
func Compile(c *Config) (*Policy, error) {
	p := &Policy{
		DryRun:            true,
		MaxReleasesPerRun: DefaultMaxReleasesPerRun,
		types:             map[qrs.AccessType]time.Duration{},
		thresholdDays:     map[qrs.AccessType]int{},
		noticeDays:        map[qrs.AccessType]int{},
		users:             map[string]bool{},
		directories:       map[string]bool{},
		tags:              map[string]bool{},
		customProperties:  map[string]map[string]bool{},
		states:            c.Protect,
		releaseRemoved:    c.AlwaysReleaseRemovedExternally,
		releaseInactive:   c.AlwaysReleaseInactive,
	}
	for _, k := range []struct {
		key string
		set bool
	}{
		{"protect.groups", len(c.Protect.Groups) > 0},
		{"protect.roles", len(c.Protect.Roles) > 0},
		{"always_release_disabled", c.AlwaysReleaseDisabled},
	} {
		if k.set {
			return nil, fmt.Errorf("release.%s applies to a Qlik Cloud tenant only (tenant = \"https://…\"); a site protects with users, user_directories, tags and custom_properties", k.key)
		}
	}
	if err := p.compileCommon(c, qrs.AccessTypes); err != nil {
		return nil, err
	}
	return p.compileSite(c)
}

// compileCommon compiles what a site and a tenant share: dry run, cap and the types'
// thresholds and notices.
func (p *Policy) compileCommon(c *Config, types []qrs.AccessType) error {
	if c.DryRun != nil {
		p.DryRun = *c.DryRun
	}
	if c.MaxReleasesPerRun != nil {
		if *c.MaxReleasesPerRun < 1 || *c.MaxReleasesPerRun > 100000 {
			return fmt.Errorf("release.max_releases_per_run = %d: expected 1 to 100000", *c.MaxReleasesPerRun)
		}
		p.MaxReleasesPerRun = *c.MaxReleasesPerRun
	}
	for _, t := range types {
		tc := struct {
			key string
			t   qrs.AccessType
			cfg TypeConfig
		}{t.Name(), t, c.Type(t)}
		if n := tc.cfg.NoticeDays; n < 0 || n > maxNoticeDays {
			return fmt.Errorf("release.%s.notice_days = %d: expected 0 (no notice) to %d", tc.key, n, maxNoticeDays)
		}
		if !tc.cfg.Enabled {
			if tc.cfg.InactiveDays < 0 || tc.cfg.InactiveDays > maxInactiveDays {
				return fmt.Errorf("release.%s.inactive_days = %d: expected 1 to %d", tc.key, tc.cfg.InactiveDays, maxInactiveDays)
			}
			continue
		}
		if tc.cfg.InactiveDays < 1 || tc.cfg.InactiveDays > maxInactiveDays {
			return fmt.Errorf("release.%s.inactive_days = %d: expected 1 to %d when release.%s.enabled is true", tc.key, tc.cfg.InactiveDays, maxInactiveDays, tc.key)
		}
		p.types[tc.t] = time.Duration(tc.cfg.InactiveDays) * 24 * time.Hour
		p.thresholdDays[tc.t] = tc.cfg.InactiveDays
		if tc.cfg.NoticeDays > 0 {
			p.noticeDays[tc.t] = tc.cfg.NoticeDays
		}
	}
	return nil
}

// compileSite compiles a site's protections.
func (p *Policy) compileSite(c *Config) (*Policy, error) {
	for i, u := range c.Protect.Users {
		dir, id, ok := strings.Cut(u, `\`)
		if !ok || strings.TrimSpace(dir) == "" || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf(`release.protect.users[%d] = %q: expected DIRECTORY\userid`, i, u)
		}
		p.users[userKey(strings.TrimSpace(dir), strings.TrimSpace(id))] = true
	}
	for i, d := range c.Protect.UserDirectories {
		if strings.TrimSpace(d) == "" {
			return nil, fmt.Errorf("release.protect.user_directories[%d] is empty", i)
		}
		p.directories[strings.ToLower(strings.TrimSpace(d))] = true
	}
	for i, t := range c.Protect.Tags {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("release.protect.tags[%d] is empty", i)
		}
		p.tags[strings.ToLower(strings.TrimSpace(t))] = true
	}
	for i, cp := range c.Protect.CustomProperties {
		name, value, ok := strings.Cut(cp, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("release.protect.custom_properties[%d] = %q: expected name=value", i, cp)
		}
		n := strings.ToLower(strings.TrimSpace(name))
		if p.customProperties[n] == nil {
			p.customProperties[n] = map[string]bool{}
		}
		p.customProperties[n][strings.ToLower(strings.TrimSpace(value))] = true
	}
	for _, pair := range []struct {
		a, b     bool
		keyA, kB string
	}{
		{c.Protect.InactiveUsers, c.Protect.ActiveUsers, "inactive_users", "active_users"},
		{c.Protect.BlockedUsers, c.Protect.UnblockedUsers, "blocked_users", "unblocked_users"},
		{c.Protect.RemovedExternallyUsers, c.Protect.PresentUsers, "removed_externally_users", "present_users"},
	} {
		if pair.a && pair.b {
			return nil, fmt.Errorf("release.protect.%s and release.protect.%s are both true: that protects every user; set one", pair.keyA, pair.kB)
		}
	}
	if c.AlwaysReleaseInactive && c.Protect.InactiveUsers {
		return nil, errors.New("release.always_release_inactive contradicts release.protect.inactive_users")
	}
	if c.AlwaysReleaseRemovedExternally && c.Protect.RemovedExternallyUsers {
		return nil, errors.New("release.always_release_removed_externally contradicts release.protect.removed_externally_users")
	}
	return p, nil
}

func userKey(dir, id string) string { return string(appendUserKey(nil, dir, id)) }

// appendUserKey appends the key of the users set, DIRECTORY\id in lower case. Deciding an
// allocation builds it in a buffer on the stack: a map index by string(bytes) copies nothing.
func appendUserKey(b []byte, dir, id string) []byte {
	return appendLower(append(appendLower(b, dir), '\\'), id)
}

// appendLower appends strings.ToLower(s), without allocating when s is ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// Enabled reports whether release of type t is on, and its threshold in days.
func (p *Policy) Enabled(t qrs.AccessType) (days int, ok bool) {
	days, ok = p.thresholdDays[t]
	return days, ok
}

// UserFilter is a QRS filter selecting every user whose record can change a decision:
// users with a protected tag or custom property value, and users marked inactive,
// blocked or removed externally when a rule looks at that state. Any other user has none
// of these, so the policy can decide its allocations from the allocation alone. The
// filter may select more users than needed (a custom property value under another name);
// never fewer. Empty when no rule reads the user record.
func (p *Policy) UserFilter() string {
	var terms []string
	for _, t := range slices.Sorted(maps.Keys(p.tags)) {
		terms = append(terms, qrs.Eq("tags.name", t))
	}
	var values []string
	for _, vs := range p.customProperties {
		values = append(values, slices.Sorted(maps.Keys(vs))...)
	}
	slices.Sort(values)
	for _, v := range slices.Compact(values) {
		terms = append(terms, qrs.Eq("customProperties.value", v))
	}
	s := p.states
	if s.InactiveUsers || s.ActiveUsers || p.releaseInactive {
		terms = append(terms, "inactive eq true")
	}
	if s.BlockedUsers || s.UnblockedUsers {
		terms = append(terms, "blacklisted eq true")
	}
	if s.RemovedExternallyUsers || s.PresentUsers || p.releaseRemoved {
		terms = append(terms, "removedExternally eq true")
	}
	return qrs.Or(terms...)
}

// NeedsUserRecord reports whether some rule reads the full user record (tags, custom
// properties, states); user and directory rules read the allocation's own user reference.
func (p *Policy) NeedsUserRecord() bool {
	s := p.states
	return len(p.tags) > 0 || len(p.customProperties) > 0 || s.InactiveUsers || s.ActiveUsers || s.BlockedUsers ||
		s.UnblockedUsers || s.RemovedExternallyUsers || s.PresentUsers || p.releaseRemoved || p.releaseInactive
}
