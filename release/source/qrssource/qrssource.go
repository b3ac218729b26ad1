// Package qrssource is the license source of a Qlik Sense site: its QRS. The plan is
// evaluate.Site's (release/plan.Make); a re-check is one filtered read of the part's
// allocations (and one of their users when the policy reads user records); a release is
// one DELETE per allocation (the engine paces them); a read-back is one filtered read per
// type, telling released (gone) from quarantined.
package qrssource

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Source is a site's QRS as a license source.
type Source struct{ c *qrs.Client }

// New returns the source of the site c reads.
func New(c *qrs.Client) *Source { return &Source{c: c} }

var _ source.Source = (*Source)(nil)

// Words of QRS.
func (s *Source) Words() source.Words {
	return source.Words{Service: "QRS", Change: "DELETE", Holder: "allocation",
		Gone: "QRS answered 404: the allocation no longer exists (released elsewhere)", Done: "QRS answered 204"}
}

// ID is "qrs:" and the host (and port) of the QRS server.
func (s *Source) ID() string { return "qrs:" + source.HostOf(s.c.BaseURL()) }

// Plan is plan.Make.
func (s *Source) Plan(ctx context.Context, pol *policy.Policy, site string, now time.Time, stage plan.Stager) (*plan.Plan, error) {
	return plan.Make(ctx, s.c, pol, site, now, stage)
}

// PartSize is as many ids as the client puts in its first filtered request.
func (s *Source) PartSize(items []plan.Item, limit int) int {
	limit = min(limit, len(items))
	ids := make([]string, limit)
	for i, it := range items[:limit] {
		ids[i] = it.Holder.ID
	}
	return max(1, qrs.FirstBatch("id", ids, 0))
}

// MixedParts is false: a filtered read names one allocation type.
func (s *Source) MixedParts() bool { return false }

// BatchSize is 1: one DELETE per allocation.
func (s *Source) BatchSize() int { return 1 }

// Release sends one DELETE per item.
func (s *Source) Release(ctx context.Context, items []plan.Item) []source.Answer {
	out := make([]source.Answer, len(items))
	for i, it := range items {
		out[i] = Classify(s.c.DeleteAllocation(ctx, it.Type, it.Holder.ID))
	}
	return out
}

// Classify classifies a QRS client's answer to a change (audit.AnswerOfQRS): a 404 is a
// refusal because the allocation is gone; a DELETE whose connection could not be opened
// never reached QRS (audit.NotSent).
func Classify(err error) source.Answer {
	return source.Answer{Err: err, Class: audit.AnswerOfQRS(err), Gone: qrs.IsNotFound(err), Retryable: audit.Retryable(err), Status: qrs.StatusCode(err),
		Unsent: audit.NotSent(err)}
}

// ReadBack reads the allocations back, one filtered request per type.
func (s *Source) ReadBack(ctx context.Context, keys []source.Key) (map[source.Key]source.Back, error) {
	ids := map[qrs.AccessType][]string{}
	for _, k := range keys {
		ids[k.Type] = append(ids[k.Type], k.ID)
	}
	back := map[string]*qrs.Allocation{}
	for _, t := range qrs.AccessTypes {
		if len(ids[t]) == 0 {
			continue
		}
		found, err := s.c.AllocationsByID(ctx, t, ids[t])
		if err != nil {
			return nil, err
		}
		maps.Copy(back, found)
	}
	out := map[source.Key]source.Back{}
	for _, k := range keys {
		if a, ok := back[k.ID]; ok {
			b := source.Back{Quarantined: a.Quarantined}
			if a.Quarantined {
				b.Detail = audit.QuarantinedDetail(a)
			}
			out[k] = b
		}
	}
	return out, nil
}

// Timeout is the client's request timeout.
func (s *Source) Timeout() time.Duration { return s.c.Timeout() }

// RetryBudget is the client's.
func (s *Source) RetryBudget() int { return s.c.RetryBudget() }

// Backoff is the client's.
func (s *Source) Backoff(attempt int) time.Duration { return s.c.Backoff(attempt) }

// Close closes QRS's idle connections.
func (s *Source) Close() { s.c.Close() }

// Recheck re-reads items (all of type t) in one filtered request, and their users in
// another when the policy needs them, and decides each again.
func (s *Source) Recheck(ctx context.Context, pol *policy.Policy, t qrs.AccessType, items []plan.Item, now time.Time) ([]source.Checked, error) {
	ids := make([]string, len(items))
	var userIDs []string
	needUsers := pol.NeedsUserRecord()
	for i, it := range items {
		ids[i] = it.Holder.ID
		if needUsers && it.Holder.User != "" {
			userIDs = append(userIDs, it.Holder.User)
		}
	}
	var (
		users   = map[string]*qrs.User{}
		userErr error
		wg      sync.WaitGroup
	)
	if len(userIDs) > 0 { // read with the allocations: one round trip
		wg.Add(1)
		go func() {
			defer wg.Done()
			userErr = s.c.UsersByID(ctx, userIDs, func(u *qrs.User) error {
				users[u.ID] = u
				return nil
			})
		}()
	}
	fresh, err := s.c.AllocationsByID(ctx, t, ids)
	wg.Wait()
	if err != nil {
		return nil, wrap("re-reading the allocations: ", err)
	}
	if userErr != nil {
		return nil, wrap("re-reading the users: ", userErr)
	}
	out := make([]source.Checked, 0, len(items))
	for _, it := range items {
		a, ok := fresh[it.Holder.ID]
		if !ok {
			out = append(out, source.Checked{Item: it, Skip: true, Reason: source.ReasonGone, Detail: "the allocation no longer exists"})
			continue
		}
		var user *qrs.User
		if needUsers && a.User != nil {
			u, ok := users[a.User.ID]
			if !ok && a.User.ID != it.Holder.User {
				// Reassigned since the plan: that user was not in the batch.
				var uerr error
				if u, uerr = s.c.User(ctx, a.User.ID); uerr != nil && !qrs.IsNotFound(uerr) {
					out = append(out, source.Checked{Item: it, Skip: true, Reason: source.ReasonRecheckFailed, Detail: "re-reading the user: " + uerr.Error()})
					continue
				}
			}
			user = u // nil: the user record is gone
		}
		d := pol.Evaluate(t, a, user, now)
		if d.Verdict != policy.Release {
			reason := string(d.Reason)
			if a.LastUsed.After(it.Holder.LastUsed) {
				reason = source.ReasonUsedSincePlan
			}
			out = append(out, source.Checked{Item: it, Skip: true, Reason: reason, Detail: "re-check: " + d.Detail})
			continue
		}
		it.Decision = d
		out = append(out, source.Checked{Item: it})
	}
	return out, nil
}

// prefixed is an error whose text starts with what was being read.
type prefixed struct {
	what string
	err  error
}

func (e *prefixed) Error() string { return e.what + e.err.Error() }
func (e *prefixed) Unwrap() error { return e.err }

func wrap(what string, err error) error { return &prefixed{what: what, err: err} }
