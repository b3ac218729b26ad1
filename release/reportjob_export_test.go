package release

import "errors"

// FailReportState makes the job's writes of its state file fail (a full or read-only
// disk), or succeed again with fail false.
func FailReportState(j *ReportJob, fail bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.writeState = nil
	if fail {
		j.writeState = func(string, reportState) error { return errors.New("no space left on device") }
	}
}
