package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// reasonMailRefused is the reason of a notice_failed outcome.
const reasonMailRefused = "mail_refused"

// Run is what sending a live run's notices needs: the staged plan and the notice state it
// was staged with, the policy (thresholds, notice days), where outcomes go, and the run's
// releases for the digest.
type Run struct {
	Plan     *plan.Plan
	State    *notice.State
	Policy   *policy.Policy
	Site     string
	RunID    string
	Now      func() time.Time
	Log      *slog.Logger
	Record   func(audit.Outcome)
	Released []audit.Outcome
}

// Send sends the notices of a live run, after its releases, and returns the errors the
// run reports: each accepted notice is saved in the notice state, then its outcome
// recorded. A crash after the mail server accepted a notice and before the save sends it
// again at the next run (a second mail, never a release without one); a crash after the
// save and before the outcome leaves the notice in force without its noticed line. A
// refused one is counted and retried at the next run. A stop sends no further notice; the
// message on the wire finishes. Records of allocations that are no longer candidates
// (released, used, protected since) are dropped. Then the administrators' digest, when
// asked for.
func (n *Notifier) Send(ctx context.Context, stop <-chan struct{}, r Run) []string {
	s := &sending{n: n, r: r, log: r.Log.With("run_id", r.RunID), horizon: r.Plan.Now.Add(7 * 24 * time.Hour)}
	s.prune()
	wctx, cancel := stopping.Context(ctx, stop)
	defer cancel()
	s.notices(ctx, wctx, stop)
	if len(n.Settings.DigestTo) > 0 && !stopping.Requested(stop) {
		s.digest(wctx)
	}
	return s.errs
}

// sending is one run's sending of notices: what it saw, for the digest.
type sending struct {
	n                       *Notifier
	r                       Run
	log                     *slog.Logger
	horizon                 time.Time // the digest's "coming" reaches this far
	noticed, failed, coming []digestLine
	errs                    []string
}

func (s *sending) save() {
	if err := s.r.State.Save(s.n.StatePath); err != nil {
		s.log.Error("saving the notice state failed", "err", err)
		s.errs = append(s.errs, err.Error())
	}
}

func (s *sending) line(it *plan.Item, at time.Time) digestLine {
	return digestLine{User: it.Holder.Name, Access: accessName(it.Type), Date: s.n.formatDate(at)}
}

// prune drops the records of allocations that are no longer candidates, for the types
// whose candidates were all staged.
func (s *sending) prune() {
	candidate := map[string]bool{}
	for _, it := range s.r.Plan.Items {
		switch it.Decision.Verdict {
		case policy.Release, policy.Deferred, policy.Notice, policy.Waiting:
			candidate[it.Holder.ID] = true
		}
	}
	pruned := 0
	for id, rec := range s.r.State.Records {
		if s.r.Plan.Staged[rec.Type] && !candidate[id] {
			delete(s.r.State.Records, id)
			pruned++
		}
	}
	if pruned > 0 {
		s.save()
	}
}

// notices sends each notice of the plan, until a stop.
func (s *sending) notices(ctx, wctx context.Context, stop <-chan struct{}) {
	p := s.r.Plan
	for i := range p.Items {
		it := &p.Items[i]
		if it.Decision.Verdict == policy.Waiting && !it.ReleasableFrom.After(s.horizon) {
			s.coming = append(s.coming, s.line(it, it.ReleasableFrom))
		}
		if it.Decision.Verdict != policy.Notice {
			continue
		}
		if stopping.Requested(stop) || ctx.Err() != nil || !s.notice(wctx, it) {
			s.log.Info("stopping: the remaining notices go out at the next run")
			return
		}
	}
}

// notice sends one notice and records what the mail server said; false when it was not
// sent at all (a stop).
func (s *sending) notice(wctx context.Context, it *plan.Item) bool {
	n, r := s.n, s.r
	threshold, _ := r.Policy.Enabled(it.Type)
	msg, err := n.Render(n.noticeData(r.Site, it, threshold, r.Policy.NoticeDays(it.Type), it.ReleasableFrom))
	if err == nil {
		err = n.Mailer.Send(wctx, msg)
	}
	if errors.Is(err, ErrNotSent) {
		return false
	}
	k := keyOf(it)
	rec := r.State.Of(k)
	if rec == nil {
		rec = &notice.Record{AllocationID: k.ID, Type: k.Type, Episode: k.Episode}
	}
	rec.User, rec.Email = it.Holder.Name, it.Email
	r.State.Records[rec.AllocationID] = rec
	if err != nil {
		rec.Failures++
		rec.LastFailure = err.Error()
		s.save()
		detail := fmt.Sprintf("the notice was not accepted (attempt %d; retried at the next run): %v", rec.Failures, err)
		r.Record(it.Outcome(r.Now(), r.Site, r.RunID, audit.NoticeFailed, reasonMailRefused, detail))
		s.failed = append(s.failed, s.line(it, it.ReleasableFrom))
		return true
	}
	rec.NoticedAt, rec.ReleasableFrom, rec.LastFailure = r.Now().UTC(), it.ReleasableFrom.UTC(), ""
	s.save()
	detail := "notice accepted by the mail server; releasable from " + n.formatDate(it.ReleasableFrom)
	r.Record(it.Outcome(r.Now(), r.Site, r.RunID, audit.Noticed, string(it.Decision.Reason), detail))
	s.noticed = append(s.noticed, s.line(it, it.ReleasableFrom))
	if !it.ReleasableFrom.After(s.horizon) {
		s.coming = append(s.coming, s.line(it, it.ReleasableFrom))
	}
	return true
}

// digest sends the administrators' digest of the run, when there is anything to say.
func (s *sending) digest(wctx context.Context) {
	var gone []digestLine
	for _, o := range s.r.Released {
		gone = append(gone, digestLine{User: o.User, Access: accessName(o.Type), Date: s.n.formatDate(o.Time)})
	}
	if len(s.noticed)+len(gone)+len(s.coming)+len(s.failed) == 0 {
		return
	}
	msg, err := s.n.renderDigest(digestData{
		Site: s.r.Site, RunID: s.r.RunID, Time: s.n.formatDate(s.r.Plan.Now),
		Noticed: s.noticed, Released: gone, Coming: s.coming, NoticeFailed: s.failed,
	})
	if err == nil {
		err = s.n.Mailer.Send(wctx, msg)
	}
	if err != nil {
		s.log.Error("sending the digest failed", "err", err)
		s.errs = append(s.errs, "sending the digest: "+err.Error())
	}
}
