package moves

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// The steps of a move, as its record in the moves file says.
const (
	stepAnalyzerRequested = "analyzer_requested"       // POST sent, effect unknown until read
	stepAnalyzerAdded     = "analyzer_added"           // the user holds analyzer access
	stepProfessionalSent  = "professional_delete_sent" // DELETE of the professional allocation sent
	// stepRefused: QRS refused the professional DELETE; the analyzer access the move gave
	// is being taken back (Refusal says why).
	stepRefused = "professional_delete_refused"
	// stepClosing: the move is settled and Outcome is its outcome, written before it is
	// recorded; a run that finds it records the outcome unless the audit log has it.
	stepClosing = "closing"
)

// moveRecord is a move in progress: written (synced, atomically) to the moves file before
// each request of the move (the analyzer POST, the professional DELETE), removed with the
// move's outcome. A record left by a failure or a stop is settled at the next run:
// completed when the user is still a candidate, undone otherwise.
type moveRecord struct {
	AllocationID string `json:"allocation_id"` // the professional allocation
	UserID       string `json:"user_id"`
	User         string `json:"user"`
	// AnalyzerID is the user's analyzer allocation once known; AnalyzerGiven says this
	// move created it (its id from the POST's 201, or read back after an ambiguous answer
	// when the user held none before). An undo deletes only an allocation the move gave:
	// never one the user held before, and never one of a record without AnalyzerGiven.
	AnalyzerID    string    `json:"analyzer_id,omitempty"`
	AnalyzerGiven bool      `json:"analyzer_given,omitempty"`
	Step          string    `json:"step"`
	RunID         string    `json:"run_id"`
	Time          time.Time `json:"time"`
	// Sent is when the latest request of the move was sent (the real clock): the settle
	// grace runs from it (audit.Settle).
	Sent time.Time `json:"sent,omitzero"`
	// LastUsed is the professional allocation's last use, for the outcome once it is gone.
	LastUsed time.Time `json:"last_used,omitzero"`
	// ServiceFailed: the latest request was answered with QRS's own 500, so a read showing
	// the old state proves it not done (audit.Settle).
	ServiceFailed bool `json:"service_failed,omitempty"`
	// Refusal is QRS's refusal of the professional DELETE (stepRefused).
	Refusal string `json:"refusal,omitempty"`
	// Outcome is the move's outcome (stepClosing).
	Outcome *audit.Outcome `json:"outcome,omitempty"`
}

type movesFile struct {
	path    string
	Records map[string]*moveRecord `json:"records"`
	// Probation is set when QRS refused a move's professional DELETE: a later run tries
	// at most one move first and goes on only if it succeeds (it is then cleared).
	Probation string `json:"probation,omitempty"`
}

func loadMoves(path string) (*movesFile, error) {
	m := &movesFile{path: path, Records: map[string]*moveRecord{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the moves in progress: %w", err)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("reading the moves in progress %s: %w", path, err)
	}
	if m.Records == nil {
		m.Records = map[string]*moveRecord{}
	}
	return m, nil
}

func (m *movesFile) save() error {
	if err := atomicfile.WriteJSON(m.path, m); err != nil {
		return fmt.Errorf("saving the moves in progress: %w", err)
	}
	return nil
}
