package policy

import "github.com/qliksense-license/qliksense-license/plugins/common/qrs"

// Config is the release policy of one site as written: the keys of the
// [inputs.qliksense_license.release] table that decide what may be released, read by the
// plugin (reclaimable metrics) and the sidecar alike (siteconfig embeds it in that table).
// Compile validates it.
type Config struct {
	// DryRun: evaluate and report, change nothing. Default true; deleting needs false.
	DryRun *bool `toml:"dry_run"`
	// MaxReleasesPerRun caps the releases of one run; the most inactive go first and the
	// rest are deferred. Default 50.
	MaxReleasesPerRun *int `toml:"max_releases_per_run"`

	Professional TypeConfig `toml:"professional"`
	Analyzer     TypeConfig `toml:"analyzer"`
	UserPass     TypeConfig `toml:"user_pass"`

	Protect ProtectConfig `toml:"protect"`

	// AlwaysReleaseRemovedExternally releases, whatever the threshold, allocations of users
	// the user directory connector no longer finds (QMC "Removed externally").
	AlwaysReleaseRemovedExternally bool `toml:"always_release_removed_externally"`
	// AlwaysReleaseInactive releases, whatever the threshold, allocations of users marked
	// inactive in the QMC.
	AlwaysReleaseInactive bool `toml:"always_release_inactive"`
	// AlwaysReleaseDisabled (Qlik Cloud) releases, whatever their last use, assignments of
	// users whose status is disabled or deleted — once the assignment is older than the
	// type's threshold.
	AlwaysReleaseDisabled bool `toml:"always_release_disabled"`
}

// TypeConfig enables release of one allocation type with an inactivity threshold.
type TypeConfig struct {
	Enabled bool `toml:"enabled"`
	// InactiveDays: an allocation unused for at least this many days (exactly, in UTC) is
	// released. Required when enabled; 1 to 3650.
	InactiveDays int `toml:"inactive_days"`
	// NoticeDays: with a value above 0, an allocation the policy would release is first
	// noticed (its user gets an email, see [release.notice]) and released only at a run at
	// least this many days after a notice the mail server accepted. 0 (default): no notice.
	// 0 to 365.
	NoticeDays int `toml:"notice_days"`
}

// ProtectConfig lists what is never released. Matching is case-insensitive, as in Qlik.
type ProtectConfig struct {
	// Users as DIRECTORY\userid; for a Qlik Cloud tenant a user's subject or email.
	Users []string `toml:"users"`
	// Groups (Qlik Cloud): members of any of these groups, by name.
	Groups []string `toml:"groups"`
	// Roles (Qlik Cloud): users holding any of these roles, directly or through a group,
	// e.g. "TenantAdmin".
	Roles []string `toml:"roles"`
	// UserDirectories whose users are never released.
	UserDirectories []string `toml:"user_directories"`
	// Tags: users with any of these tags.
	Tags []string `toml:"tags"`
	// CustomProperties as "name=value": users with that custom property value.
	CustomProperties []string `toml:"custom_properties"`

	// User states. Butler's neverRelease.inactive/blocked/removedExternally map as:
	// "yes" → the first setting of the pair, "no" → the second, "ignore" → neither.
	InactiveUsers          bool `toml:"inactive_users"`           // marked inactive
	ActiveUsers            bool `toml:"active_users"`             // not marked inactive
	BlockedUsers           bool `toml:"blocked_users"`            // blocked (blacklisted)
	UnblockedUsers         bool `toml:"unblocked_users"`          // not blocked
	RemovedExternallyUsers bool `toml:"removed_externally_users"` // removed externally
	PresentUsers           bool `toml:"present_users"`            // not removed externally
}

// Type returns the table of an allocation type.
func (c *Config) Type(t qrs.AccessType) TypeConfig {
	switch t {
	case qrs.Professional:
		return c.Professional
	case qrs.Analyzer:
		return c.Analyzer
	case qrs.UserPass:
		return c.UserPass
	}
	return TypeConfig{}
}
