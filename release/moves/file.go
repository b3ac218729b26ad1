package moves

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
)

// The steps of a move, as its record in the moves file says.
const (
	stepAnalyzerRequested = "analyzer_requested"       // POST sent, effect unknown until read
	stepAnalyzerAdded     = "analyzer_added"           // the user holds analyzer access
	stepProfessionalSent  = "professional_delete_sent" // DELETE of the professional allocation sent
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
}

type movesFile struct {
	path    string
	Records map[string]*moveRecord `json:"records"`
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
