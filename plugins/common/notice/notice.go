// Package notice is the rule of notice before release, shared by the release sidecar
// (which sends notices and releases) and the plugin (which counts allocations waiting out
// their notice): the stage of a release candidate, and the record of the notices sent,
// kept in the sidecar's state_dir across runs and restarts.
//
// A candidate of a type with notice_days is first noticed (its user is told by email); it
// is released only at a run at least notice_days after a notice the mail server accepted,
// and only while it stays a candidate in the same inactivity episode. The episode is the
// holder's last use (its creation when never used): a use in between starts a new one,
// which needs a new notice (an episode seen to start earlier is the same one: see Of). A
// holder is a QRS allocation or a Qlik Cloud assignment.
package notice

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Stage is where a release candidate stands.
type Stage string

// The stages.
const (
	// Notice: no accepted notice in this episode: the user is told now.
	Notice Stage = "notice"
	// Waiting: noticed; releasable from the record's ReleasableFrom.
	Waiting Stage = "waiting"
	// Release: no notice period, or the notice period is over.
	Release Stage = "release"
)

// Record is the notice of one holder.
type Record struct {
	// AllocationID is the holder's id: a QRS allocation's id, a Qlik Cloud assignment's
	// subject.
	AllocationID string         `json:"allocation_id"`
	Type         qrs.AccessType `json:"type"`
	User         string         `json:"user"`
	Email        string         `json:"email"`
	// Episode is the start of the inactivity the notice is about (see EpisodeOf).
	Episode time.Time `json:"episode"`
	// NoticedAt is when the mail server accepted the notice; zero while none was.
	NoticedAt time.Time `json:"noticed_at,omitzero"`
	// ReleasableFrom is the date the notice gave: NoticedAt + notice_days.
	ReleasableFrom time.Time `json:"releasable_from,omitzero"`
	// Failures counts notices the mail server refused in this episode, retried each run.
	Failures    int    `json:"failures,omitempty"`
	LastFailure string `json:"last_failure,omitempty"`
}

// Accepted reports whether a notice of this record was accepted by the mail server.
func (r *Record) Accepted() bool { return !r.NoticedAt.IsZero() }

// Episode is the start of a holder's current inactivity: its last use, or its creation
// when it was never used (lastUsed zero).
func Episode(lastUsed, created time.Time) time.Time {
	if !lastUsed.IsZero() {
		return lastUsed.UTC()
	}
	return created.UTC()
}

// Key is what a record is about: one holder of a type (a QRS allocation's id, a Qlik
// Cloud assignment's subject) in one inactivity episode.
type Key struct {
	Type    qrs.AccessType
	ID      string
	Episode time.Time
	// NoUseSince: a Qlik Cloud holder with no use in the consumption read, on an older
	// assignment (policy.Assignment.UseUnread), the start of that read; zero when the uses
	// read cover the holder's whole life (a QRS allocation). A use before it is not seen.
	NoUseSince time.Time
}

// KeyOf is the key of the holder id of type t, last used at lastUsed (zero: never) and
// created at created.
func KeyOf(t qrs.AccessType, id string, lastUsed, created time.Time) Key {
	return Key{Type: t, ID: id, Episode: Episode(lastUsed, created)}
}

// AllocationKey is the key of a QRS allocation of type t.
func AllocationKey(t qrs.AccessType, a *qrs.Allocation) Key {
	return KeyOf(t, a.ID, a.LastUsed.Time, a.CreatedDate.Time)
}

// State is the notices of one site or tenant, by holder id (a QRS allocation's id, a Qlik
// Cloud assignment's subject: a subject holds one assignment at most).
type State struct {
	Records map[string]*Record `json:"records"`
}

// New returns an empty state.
func New() *State { return &State{Records: map[string]*Record{}} }

// Of returns the record of k's holder, when it is about k's type and inactivity: k's
// episode starts no later than the record's. A later start is a use since (a new episode,
// which needs a new notice); an earlier one is the same inactivity seen with less (a Qlik
// Cloud user's last use older than the consumption window read, e.g. by a plugin started
// since or a use book rebuilt, counts from the assignment's creation) — as long as the read
// reaches back to the notice: when it starts after an accepted notice (k.NoUseSince later
// than NoticedAt: a use book rebuilt long after), a use since the notice would not be seen,
// and the notice no longer holds (a new one is sent, never a release on the old one).
func (s *State) Of(k Key) *Record {
	r := s.Records[k.ID]
	if r == nil || r.Type != k.Type || k.Episode.After(r.Episode) {
		return nil
	}
	if r.Accepted() && k.NoUseSince.After(r.NoticedAt) {
		return nil
	}
	return r
}

// StageOf is the stage of a candidate k with noticeDays (0: no notice) at now,
// and the date from which it may be released (zero for Notice; now's or earlier for
// Release). A notice's date is kept even if notice_days was lowered since: a user is
// never released before the date their notice gave.
func (s *State) StageOf(k Key, noticeDays int, now time.Time) (Stage, time.Time) {
	if noticeDays <= 0 {
		return Release, time.Time{}
	}
	r := s.Of(k)
	if r == nil || !r.Accepted() {
		return Notice, time.Time{}
	}
	from := r.NoticedAt.Add(time.Duration(noticeDays) * 24 * time.Hour)
	if r.ReleasableFrom.After(from) {
		from = r.ReleasableFrom
	}
	if now.Before(from) {
		return Waiting, from
	}
	return Release, from
}

// Load reads the state file; a missing file is an empty state.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the notice state: %w", err)
	}
	s := New()
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("reading the notice state %s: %w", path, err)
	}
	if s.Records == nil {
		s.Records = map[string]*Record{}
	}
	for id, r := range s.Records {
		if r == nil || r.AllocationID != id {
			return nil, fmt.Errorf("reading the notice state %s: record %q does not name its allocation", path, id)
		}
	}
	return s, nil
}

// Save writes the state file atomically: a crash leaves the old file or the new one. Its
// times are in UTC, like every state file and audit line.
func (s *State) Save(path string) error {
	for _, r := range s.Records {
		r.Episode, r.NoticedAt, r.ReleasableFrom = r.Episode.UTC(), r.NoticedAt.UTC(), r.ReleasableFrom.UTC()
	}
	if err := atomicfile.WriteJSON(path, s); err != nil {
		return fmt.Errorf("saving the notice state: %w", err)
	}
	return nil
}
