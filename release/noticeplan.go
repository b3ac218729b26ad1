package release

import (
	"context"
	"fmt"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// stageNotices gives each release candidate of a type with notice_days its stage: notice
// (its user is told at this run), waiting (told; the period is not over) or release. The
// users' addresses come from their QRS records. A candidate whose user has no address is
// kept (no_email) or released without notice, as release.notice.without_email says.
// The candidates' user records are read here, in as few requests as evaluate.UsersByID
// takes: the policy's own read holds only the users whose record can change a decision.
func (p *Plan) stageNotices(ctx context.Context, c *qrs.Client, pol *policy.Policy, n *Notifier, state *notice.State, res *evaluate.Result) error {
	var ids []string
	var staged []*Item
	p.noticed = map[qrs.AccessType]bool{}
	for t := range n.Settings.Days {
		if r := res.ByType[t]; r != nil && r.Err == nil && res.UsersErr == nil && pol.NoticeDays(t) > 0 {
			p.noticed[t] = true
		}
	}
	for i := range p.Items {
		it := &p.Items[i]
		if it.Decision.Verdict != policy.Release || pol.NoticeDays(it.Type) == 0 {
			continue
		}
		staged = append(staged, it)
		ids = append(ids, it.Allocation.User.ID)
	}
	if len(staged) == 0 {
		return nil
	}
	users, err := evaluate.UsersByID(ctx, c, ids)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.Errors = append(p.Errors, fmt.Errorf("reading users for their notice addresses: %w", err))
		for _, it := range staged {
			p.noticed[it.Type] = false
			it.Decision.Verdict, it.Decision.Reason = policy.Keep, policy.ReasonUserUnknown
			it.Decision.Detail = "the user record (for the notice address) could not be read"
		}
		return nil
	}
	for _, it := range staged {
		it.User = users[it.Allocation.User.ID]
		if it.User == nil {
			it.Decision.Verdict, it.Decision.Reason, it.Decision.Detail = policy.Keep, policy.ReasonUserUnknown, "the user record (for the notice address) is gone"
			continue
		}
		days := pol.NoticeDays(it.Type)
		it.Email = it.User.Email()
		if it.Email == "" {
			if n.Settings.ReleaseWithoutEmail {
				it.Note = joinNote(it.Note, "no email address: released without notice")
				continue
			}
			it.Decision.Verdict, it.Decision.Reason = policy.Keep, policy.ReasonNoEmail
			it.Decision.Detail += `; the user has no email attribute for the notice (release.notice.without_email = "keep")`
			continue
		}
		stage, from := state.StageOf(it.Type, it.Allocation, days, p.Now)
		rec := state.Of(it.Type, it.Allocation)
		switch stage {
		case notice.Notice:
			it.Decision.Verdict = policy.Notice
			it.ReleasableFrom = n.ReleaseDate(p.Now, days)
			it.Decision.Detail += fmt.Sprintf("; notice of %d days: releasable from %s", days, n.FormatDate(it.ReleasableFrom))
			if rec != nil && rec.Failures > 0 {
				it.Note = joinNote(it.Note, fmt.Sprintf("%d earlier notice(s) refused by the mail server", rec.Failures))
			}
		case notice.Waiting:
			it.Decision.Verdict = policy.Waiting
			it.NoticedAt, it.ReleasableFrom = rec.NoticedAt, from
			it.Decision.Detail += fmt.Sprintf("; noticed on %s, releasable from %s", n.FormatDate(rec.NoticedAt), n.FormatDate(from))
		case notice.Release:
			it.NoticedAt, it.ReleasableFrom = rec.NoticedAt, from
			it.Note = joinNote(it.Note, "noticed on "+n.FormatDate(rec.NoticedAt))
		}
	}
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
