// Package notice is the rule of notice before release, shared by the release sidecar
// (which sends notices and releases) and the plugin (which counts allocations waiting out
// their notice): the stage of a release candidate, and the record of the notices sent,
// kept in the sidecar's state_dir across runs and restarts.
//
// A candidate of a type with notice_days is first noticed (its user is told by email); it
// is released only at a run at least notice_days after a notice the mail server accepted,
// and only while it stays a candidate in the same inactivity episode. The episode is the
// allocation's last use (its creation when never used): a use in between starts a new one,
// which needs a new notice.
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

// Record is the notice of one allocation.
type Record struct {
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

// EpisodeOf is the start of an allocation's current inactivity: its last use, or its
// creation when it was never used (the 1753 sentinel).
func EpisodeOf(a *qrs.Allocation) time.Time {
	if a.LastUsed.Valid() {
		return a.LastUsed.UTC()
	}
	return a.CreatedDate.UTC()
}

// State is the notices of one site, by allocation id.
type State struct {
	Records map[string]*Record `json:"records"`
}

// New returns an empty state.
func New() *State { return &State{Records: map[string]*Record{}} }

// Of returns the record of a, when it is about a's current episode and type.
func (s *State) Of(t qrs.AccessType, a *qrs.Allocation) *Record {
	r := s.Records[a.ID]
	if r == nil || r.Type != t || !r.Episode.Equal(EpisodeOf(a)) {
		return nil
	}
	return r
}

// StageOf is the stage of a candidate of type t with noticeDays (0: no notice) at now,
// and the date from which it may be released (zero for Notice; now's or earlier for
// Release). A notice's date is kept even if notice_days was lowered since: a user is
// never released before the date their notice gave.
func (s *State) StageOf(t qrs.AccessType, a *qrs.Allocation, noticeDays int, now time.Time) (Stage, time.Time) {
	if noticeDays <= 0 {
		return Release, time.Time{}
	}
	r := s.Of(t, a)
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
