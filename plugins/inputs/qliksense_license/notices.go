package qliksense_license

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// noticeCounter counts, per type with notice_days, the reclaimable allocations (a
// tenant's assignments) waiting out a notice, from the notice state the release sidecar keeps in state_dir (the same rule,
// notice.State.StageOf). Without that file (no sidecar on this host, or none noticed yet)
// it counts nothing and the fields are left out: no count is better than a wrong one.
type noticeCounter struct {
	pol   *policy.Policy
	state *notice.State
	now   time.Time
	mu    sync.Mutex
	n     map[qrs.AccessType]int64
}

func (q *QlikSenseLicense) noticeCounter(acc telegraf.Accumulator, now time.Time) *noticeCounter {
	c := &noticeCounter{pol: q.policy, now: now, n: map[qrs.AccessType]int64{}}
	if q.policy == nil || !q.policy.Notices() {
		return c
	}
	path := q.NoticeFile()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return c
	}
	st, err := notice.Load(path)
	if err != nil {
		acc.AddError(fmt.Errorf("notice_waiting is not reported: %w", err))
		return c
	}
	c.state = st
	return c
}

// hook is evaluate.Options.Decided: nil when there is nothing to count.
func (c *noticeCounter) hook() func(qrs.AccessType, *qrs.Allocation, policy.Decision) {
	if c.state == nil {
		return nil
	}
	return func(t qrs.AccessType, a *qrs.Allocation, d policy.Decision) { c.count(notice.AllocationKey(t, a), d) }
}

// tenantHook is evaluate.TenantOptions.Decided: nil when there is nothing to count. An
// assignment's record is its subject's.
func (c *noticeCounter) tenantHook() func(*policy.Assignment, policy.Decision) {
	if c.state == nil {
		return nil
	}
	return func(a *policy.Assignment, d policy.Decision) {
		// No NoUseSince: this plugin's consumption read (since it started) is not the
		// sidecar's, whose uses file reaches back to its notices.
		c.count(notice.KeyOf(a.Type, a.Subject, a.LastUsed, a.Created), d)
	}
}

// count counts a candidate whose notice period is not over.
func (c *noticeCounter) count(k notice.Key, d policy.Decision) {
	if c.state == nil || d.Verdict != policy.Release {
		return
	}
	if stage, _ := c.state.StageOf(k, c.pol.NoticeDays(k.Type), c.now); stage == notice.Waiting {
		c.mu.Lock()
		c.n[k.Type]++
		c.mu.Unlock()
	}
}

// addFields adds notice_days, and notice_waiting when the notice state was read.
func (c *noticeCounter) addFields(f map[string]any, t qrs.AccessType) {
	days := c.pol.NoticeDays(t)
	if days == 0 {
		return
	}
	f["notice_days"] = int64(days)
	if c.state != nil {
		c.mu.Lock()
		f["notice_waiting"] = c.n[t]
		c.mu.Unlock()
	}
}
