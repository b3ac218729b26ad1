// Package audit is the sidecar's audit trail: every outcome, run summary and reload as a
// JSON line in the audit log (synced), the intents of changes in flight (so a killed run
// is settled by the next), and delivery of the same lines to InfluxDB through a spool
// that never jams. Nothing here contacts QRS.
package audit

import (
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Result is what happened to one allocation a plan marked for release.
type Result string

// The results.
const (
	Released    Result = "released"    // DELETE answered 204 and the allocation is gone
	Quarantined Result = "quarantined" // DELETE answered 204 and QRS quarantined it (used within 7 days)
	DryRun      Result = "dry_run"     // would be released; dry_run is on
	Skipped     Result = "skipped"     // not released: the re-check found a reason
	Failed      Result = "failed"      // the DELETE failed; never retried blindly
	// Notices (types with notice_days): the mail server accepted the user's notice, or
	// refused it (retried at the next run).
	Noticed      Result = "noticed"
	NoticeFailed Result = "notice_failed"
	// Right-sizing moves (rightsize.move_to_analyzer). Moved: the user got analyzer access
	// and the professional allocation was released (or quarantined: QRS frees its seat when
	// the quarantine ends). MoveFailed: the move did not happen, or was settled without
	// taking back anything the move did not give. MoveUndone: a move left half done whose
	// user is no longer a candidate was undone (the analyzer allocation it gave released
	// again). DryRunMove: a dry run's candidate that a live run would move.
	Moved      Result = "moved"
	MoveFailed Result = "move_failed"
	MoveUndone Result = "move_undone"
	DryRunMove Result = "dry_run_move"
)

// Outcome is one allocation's result: an audit event and a qlik_sense_license_release point.
type Outcome struct {
	Time             time.Time      `json:"time"`
	Site             string         `json:"site"`
	RunID            string         `json:"run_id"`
	Type             qrs.AccessType `json:"type"`
	AllocationID     string         `json:"allocation_id"`
	User             string         `json:"user"`
	DaysSinceLastUse float64        `json:"days_since_last_use"`
	NeverUsed        bool           `json:"never_used"`
	Result           Result         `json:"outcome"`
	Reason           string         `json:"reason"`
	Detail           string         `json:"detail"`
	DryRun           bool           `json:"dry_run"`
}

// QuarantinedDetail says, in an outcome, that QRS quarantined the allocation read back.
func QuarantinedDetail(back *qrs.Allocation) string {
	end := ""
	if back.QuarantineEnd.Valid() {
		end = " until " + back.QuarantineEnd.UTC().Format(time.RFC3339)
	}
	return "used within the quarantine period: quarantined" + end
}

// Summary is one run's totals: a qlik_sense_license_release_run point.
type Summary struct {
	Time         time.Time `json:"time"`
	Site         string    `json:"site"`
	RunID        string    `json:"run_id"`
	Start        time.Time `json:"start"`
	DryRun       bool      `json:"dry_run"`
	Candidates   int       `json:"candidates"`
	Released     int       `json:"released"`
	Quarantined  int       `json:"quarantined"`
	WouldRelease int       `json:"dry_run_releases"`
	Skipped      int       `json:"skipped"`
	Failed       int       `json:"failed"`
	Deferred     int       `json:"deferred"`
	// Noticed and NoticeFailed count notices sent (accepted, refused); Waiting the
	// candidates waiting out their notice; WouldNotice the notices a dry run did not send.
	Noticed      int `json:"noticed"`
	NoticeFailed int `json:"notice_failed"`
	Waiting      int `json:"waiting"`
	WouldNotice  int `json:"dry_run_notices"`
	// Moved, MoveFailed and MoveUndone count right-sizing moves (rightsize.move_to_analyzer);
	// WouldMove the moves a dry run did not make.
	Moved      int `json:"moved"`
	MoveFailed int `json:"move_failed"`
	MoveUndone int `json:"move_undone"`
	WouldMove  int `json:"dry_run_moves"`
	// Unsettled counts DELETEs sent whose effect is not known yet: their intents stay
	// open and a later read records their outcomes (then Recovery is true).
	Unsettled int `json:"unsettled"`
	// SpoolSkipped counts corrupt spool lines that deliveries skipped since the previous
	// run (they cannot be delivered; the audit log keeps them as they are).
	SpoolSkipped int `json:"spool_skipped"`
	// Kept counts the plan's allocations kept, by the policy's reason.
	Kept        map[policy.Reason]int `json:"kept"`
	Errors      []string              `json:"errors"`
	Interrupted bool                  `json:"interrupted"`
	// Recovery marks the summary written when Runner.Recover settles the open intents of
	// an earlier run (same run_id): it counts only the outcomes recorded then.
	Recovery bool `json:"recovery"`
}

// Duration of the run.
func (s *Summary) Duration() time.Duration { return s.Time.Sub(s.Start) }

// Count adds one outcome's result to the totals.
func (s *Summary) Count(r Result) {
	switch r {
	case Released:
		s.Released++
	case Quarantined:
		s.Quarantined++
	case DryRun:
		s.WouldRelease++
	case Skipped:
		s.Skipped++
	case Failed:
		s.Failed++
	case Noticed:
		s.Noticed++
	case NoticeFailed:
		s.NoticeFailed++
	case Moved:
		s.Moved++
	case MoveFailed:
		s.MoveFailed++
	case MoveUndone:
		s.MoveUndone++
	case DryRunMove:
		s.WouldMove++
	}
}

// Recorder keeps outcomes: the audit log and the spool towards InfluxDB.
type Recorder interface {
	// Intent is called just before a DELETE; an error stops that DELETE.
	Intent(Outcome) error
	Outcome(Outcome) error
	Summary(Summary) error
}
