// Package cloudsource is the license source of a Qlik Cloud tenant. The plan is
// evaluate.Tenant's (the assignments, the users behind them, their last use from the
// consumption, read incrementally by a UseBook kept beside the audit log); a re-check is
// one filtered read each of the part's assignments and users and one of the consumption
// since the last read; a release is one POST …/assignments/actions/delete per batch,
// whose 207 gives each item's definitive status; a read-back (after an ambiguous answer
// only) is one filtered assignments read.
//
// The answers, classified for the truth rule (audit.Settle): an item answered 200 is done
// (final: no read-back); 404 LICENSES-016 is gone (skipped); any other 4xx item, and a
// whole call answered 4xx, is refused (nothing changed); a qcloud.AmbiguousError (a 5xx,
// a gateway's error, a timeout, a lost answer, a 207 that left items out) is unknown, for
// the items it names.
package cloudsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Options configure a Source.
type Options struct {
	// UsesFile keeps the users' last use between runs, so that a run reads only the
	// consumption newer than the last (missing or unreadable: rebuilt from the window);
	// "" keeps it in memory only.
	UsesFile string
	// Timeout is the client's request timeout; Retries how many times a delete proved not
	// done may be sent again, RetryWait the first wait (doubled each time).
	Timeout   time.Duration
	Retries   int
	RetryWait time.Duration
	// Fresh is how old a read of the consumption may be for a re-check to decide on it
	// instead of reading again (the sidecar's recheck_max_age: a read that young is as
	// fresh as the engine asks a re-check to be); 0 reads at every re-check.
	Fresh time.Duration
	Log   *slog.Logger
}

// Source is a Qlik Cloud tenant as a license source.
type Source struct {
	c   *qcloud.Client
	opt Options

	mu     sync.Mutex // guards book and readAt
	book   evaluate.UseBook
	readAt time.Time // the engine's time of the last read of the consumption
}

var _ source.Source = (*Source)(nil)

// New returns the source of the tenant c reads. It reads the use book of opt.UsesFile.
func New(c *qcloud.Client, opt Options) *Source {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.RetryWait <= 0 {
		opt.RetryWait = time.Second
	}
	s := &Source{c: c, opt: opt}
	if opt.UsesFile != "" {
		b, err := os.ReadFile(opt.UsesFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			opt.Log.Warn("the users' last use is read again from the consumption", "file", opt.UsesFile, "err", err)
		default:
			if err := json.Unmarshal(b, &s.book); err != nil {
				s.book = evaluate.UseBook{}
				opt.Log.Warn("the users' last use is read again from the consumption: the file is unreadable", "file", opt.UsesFile, "err", err)
			}
		}
	}
	return s
}

// Words of a tenant.
func (s *Source) Words() source.Words {
	return source.Words{Service: "the tenant", Change: "delete call", Holder: "assignment",
		Gone: "the tenant answered 404 LICENSES-016: the assignment no longer exists (released elsewhere)", Done: "the tenant answered 200"}
}

// ID is "tenant:" and the tenant's host.
func (s *Source) ID() string { return "tenant:" + source.HostOf(s.c.Tenant()) }

// refresh reads the consumption since the book's watermark (the window on a first read)
// and keeps the book; it returns a copy of the last uses and the start of the consumption
// they were read from (evaluate.UseBook.From). For a re-check (recheck), a read
// an earlier re-check made at most Options.Fresh before now is not made again: each read
// goes back a day (evaluate.LateEvents), pages of a large tenant's events that parts
// released one after the other would re-read for nothing. The plan's read is never
// reused: the first re-check after it reads again.
func (s *Source) refresh(ctx context.Context, pol *policy.Policy, now time.Time, recheck bool) (map[string]time.Time, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if age := now.Sub(s.readAt); !recheck || s.opt.Fresh <= 0 || s.readAt.IsZero() || age < 0 || age > s.opt.Fresh {
		if err := s.book.Refresh(ctx, s.c, now, evaluate.UseWindow(pol)); err != nil {
			return nil, time.Time{}, err
		}
		s.readAt = time.Time{}
		if recheck {
			s.readAt = now
		}
		if s.opt.UsesFile != "" {
			if err := atomicfile.WriteJSON(s.opt.UsesFile, &s.book); err != nil {
				s.opt.Log.Warn("keeping the users' last use failed: the next run reads the consumption window again", "file", s.opt.UsesFile, "err", err)
			}
		}
	}
	uses := make(map[string]time.Time, len(s.book.LastUse))
	for k, v := range s.book.LastUse {
		uses[k] = v
	}
	return uses, s.book.From, nil
}

// Plan reads the tenant (evaluate.Tenant) and decides every assignment of the enabled
// types; with auto-assign on for an enabled type the plan says what that means. With
// stage, the candidates of types that give notice get their stage: the users' addresses
// were read with the assignments (no lookup).
func (s *Source) Plan(ctx context.Context, pol *policy.Policy, site string, now time.Time, stage plan.Stager) (*plan.Plan, error) {
	var enabled []qrs.AccessType
	for _, t := range policy.TenantTypes {
		if _, on := pol.Enabled(t); on {
			enabled = append(enabled, t)
		}
	}
	var items []plan.Item
	var errs []error
	uses, from, err := s.refresh(ctx, pol, now, false)
	if err == nil {
		var res *evaluate.TenantResult
		res, err = evaluate.Tenant(ctx, s.c, evaluate.TenantOptions{Policy: pol, Now: now, Uses: uses, UsesFrom: from, KeepItems: true})
		if err == nil {
			for _, t := range enabled {
				for _, ti := range res.ByType[t].Items {
					items = append(items, item(ti.Assignment, ti.Decision))
				}
			}
		}
	} else {
		err = fmt.Errorf("reading the consumption: %w", err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	p, serr := plan.Assemble(ctx, site, now, pol, enabled, items, errs, stage)
	if serr != nil {
		return nil, serr
	}
	if err == nil && p.Totals != nil {
		if note := s.autoAssign(ctx, pol); note != "" {
			p.Notes = append(p.Notes, note)
		}
	}
	return p, nil
}

// autoAssign reads the tenant's auto-assign settings and says what they mean for the
// enabled types ("" when nothing).
func (s *Source) autoAssign(ctx context.Context, pol *policy.Policy) string {
	st, err := s.c.Settings(ctx)
	if err != nil {
		return "the auto-assign settings could not be read (" + err.Error() + "): with auto-assign on, a released user gets an assignment back at the next login"
	}
	var on []string
	for _, x := range []struct {
		t  qrs.AccessType
		on bool
	}{{qrs.Professional, st.AutoAssignProfessional}, {qrs.Analyzer, st.AutoAssignAnalyzer}} {
		if _, enabled := pol.Enabled(x.t); enabled && x.on {
			on = append(on, string(x.t))
		}
	}
	switch len(on) {
	case 0:
		return ""
	case 1:
		article := "a "
		if on[0] == string(qrs.Analyzer) {
			article = "an "
		}
		return "auto-assign is on for " + on[0] + " in the tenant's license settings: a released user gets " + article + on[0] + " assignment back at the next login"
	}
	return "auto-assign is on for professional and analyzer in the tenant's license settings: a released user gets an assignment back at the next login"
}

// item is a decided assignment as a plan item: the subject is its id and its holder.
func item(a policy.Assignment, d policy.Decision) plan.Item {
	h := plan.Holder{ID: a.Subject, Name: a.Subject, UserID: a.Subject, Created: a.Created, LastUsed: a.LastUsed}
	if a.UseUnread() {
		h.NoUseSince = a.UsesFrom
	}
	it := plan.Item{Type: a.Type, Holder: h, Decision: d}
	if a.User != nil {
		it.Holder.User, it.Holder.UserName = a.User.ID, a.User.Name
		it.Email = a.User.Email
	}
	return it
}

// PartSize is as many subjects as one filtered read holds.
func (s *Source) PartSize(items []plan.Item, limit int) int {
	n := min(limit, len(items), qcloud.SubjectBatch)
	subjects := make([]string, n)
	for i, it := range items[:n] {
		subjects[i] = it.Holder.ID
	}
	for n > 1 && len(qcloud.SubjectFilters(subjects[:n])) > 1 {
		n--
	}
	return max(1, n)
}

// MixedParts is true: a subject filter and an actions call take every type at once.
func (s *Source) MixedParts() bool { return true }

// BatchSize is the most items one actions call carries.
func (s *Source) BatchSize() int { return qcloud.ActionBatch }

func key(t qrs.AccessType, subject string) qcloud.Key {
	return qcloud.Key{Type: string(t), Subject: subject}
}

// Recheck re-reads the part's assignments and users (one filtered read each) and the
// consumption since the last read, and decides each assignment again. A part may hold
// both types (t is then "").
func (s *Source) Recheck(ctx context.Context, pol *policy.Policy, _ qrs.AccessType, items []plan.Item, now time.Time) ([]source.Checked, error) {
	keys := make([]qcloud.Key, len(items))
	var subjects []string
	seen := map[string]bool{}
	for i, it := range items {
		keys[i] = key(it.Type, it.Holder.ID)
		if !seen[it.Holder.ID] {
			seen[it.Holder.ID] = true
			subjects = append(subjects, it.Holder.ID)
		}
	}
	fresh, err := s.c.AssignmentsOf(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("re-reading the assignments: %w", err)
	}
	users, err := s.c.UsersBySubject(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("re-reading the users: %w", err)
	}
	uses, from, err := s.refresh(ctx, pol, now, true)
	if err != nil {
		return nil, fmt.Errorf("re-reading the consumption: %w", err)
	}
	present := map[qcloud.Key]qcloud.Assignment{}
	for _, a := range fresh {
		present[a.Key()] = a
	}
	bySubject := map[string]*policy.CloudUser{}
	for _, u := range users {
		bySubject[u.Subject] = evaluate.CloudUser(u) // exact, whatever the API compared
	}
	out := make([]source.Checked, 0, len(items))
	var unconfirmed []int // the released for want of a user: orphans to confirm
	for _, it := range items {
		a, ok := present[key(it.Type, it.Holder.ID)]
		if !ok {
			out = append(out, source.Checked{Item: it, Skip: true, Reason: source.ReasonGone, Detail: "the assignment no longer exists"})
			continue
		}
		pa := policy.Assignment{Type: it.Type, Subject: a.Subject, Created: a.Created}
		if u := bySubject[a.Subject]; u != nil {
			pa.User, pa.LastUsed, pa.UsesFrom = u, uses[u.ID], from
		}
		d := pol.EvaluateAssignment(&pa, now)
		if d.Verdict != policy.Release {
			reason := string(d.Reason)
			if pa.LastUsed.After(it.Holder.LastUsed) {
				reason = source.ReasonUsedSincePlan
			}
			out = append(out, source.Checked{Item: it, Skip: true, Reason: reason, Detail: "re-check: " + d.Detail})
			continue
		}
		if pa.User == nil {
			unconfirmed = append(unconfirmed, len(out))
		}
		fresh := item(pa, d)
		fresh.Note = it.Note
		out = append(out, source.Checked{Item: fresh})
	}
	if len(unconfirmed) == 0 {
		return out, nil
	}
	orphans, err := s.orphans(ctx, out, unconfirmed)
	if err != nil {
		return nil, fmt.Errorf("confirming the orphans: %w", err)
	}
	for _, i := range unconfirmed {
		if c := &out[i]; !orphans[key(c.Item.Type, c.Item.Holder.ID)] {
			*c = source.Checked{Item: items[i], Skip: true, Reason: source.ReasonUserUnknown,
				Detail: "re-check: the users read did not return the subject, but the tenant does not list its assignment as an orphan"}
		}
	}
	return out, nil
}

// orphans reads the tenant's own orphan view (GET …/assignments?orphans=true), filtered
// to the subjects of the checked items at unconfirmed (one read per filter: one for a
// part), and returns the keys it lists. The users read alone cannot tell an orphan from a
// user it missed (a subject's quoting or normalisation, a status the list leaves out, a
// page lost): only an orphan the tenant lists too is released.
func (s *Source) orphans(ctx context.Context, checked []source.Checked, unconfirmed []int) (map[qcloud.Key]bool, error) {
	want := map[qcloud.Key]bool{}
	var subjects []string
	seen := map[string]bool{}
	for _, i := range unconfirmed {
		it := checked[i].Item
		want[key(it.Type, it.Holder.ID)] = true
		if !seen[it.Holder.ID] {
			seen[it.Holder.ID] = true
			subjects = append(subjects, it.Holder.ID)
		}
	}
	listed := map[qcloud.Key]bool{}
	for _, f := range qcloud.SubjectFilters(subjects) {
		err := s.c.Assignments(ctx, qcloud.AssignmentQuery{Filter: f, Orphans: true}, func(a qcloud.Assignment) error {
			if want[a.Key()] { // exact: whatever the API compared
				listed[a.Key()] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return listed, nil
}

// ItemError is an item a 207 answered with a definitive error status.
type ItemError struct{ qcloud.ItemResult }

func (e *ItemError) Error() string {
	s := fmt.Sprintf("the tenant answered %d %s for assignment %s", e.Status, http.StatusText(e.Status), e.Key)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Title != "" {
		s += " " + e.Title
	}
	return s
}

// Release deletes the items' assignments in one actions call and classifies each item's
// answer.
func (s *Source) Release(ctx context.Context, items []plan.Item) []source.Answer {
	keys := make([]qcloud.Key, len(items))
	for i, it := range items {
		keys[i] = key(it.Type, it.Holder.ID)
	}
	results, err := s.c.DeleteAssignments(ctx, keys)
	return Classify(keys, results, err)
}

// Classify gives each key its answer from a delete call's item results and error.
func Classify(keys []qcloud.Key, results []qcloud.ItemResult, err error) []source.Answer {
	// A key asked twice has a result per item, in order: each item takes the next (never
	// the last for all, where a second item's "not found" would hide the first's 200).
	byKey := map[qcloud.Key][]qcloud.ItemResult{}
	for _, r := range results {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	var amb *qcloud.AmbiguousError
	inDoubt := map[qcloud.Key]bool{}
	if errors.As(err, &amb) {
		for _, k := range amb.Keys {
			inDoubt[k] = true
		}
	}
	out := make([]source.Answer, len(keys))
	for i, k := range keys {
		var r qcloud.ItemResult
		rs := byKey[k]
		answered := len(rs) > 0
		if answered {
			r, byKey[k] = rs[0], rs[1:]
		}
		switch {
		case answered && !inDoubt[k]:
			switch r.Outcome {
			case qcloud.Done:
				out[i] = source.Answer{Class: audit.AnswerDone, Final: true, Status: r.Status}
			case qcloud.NotFound:
				out[i] = source.Answer{Err: &ItemError{r}, Class: audit.AnswerRefused, Gone: true, Status: r.Status}
			default:
				out[i] = source.Answer{Err: &ItemError{r}, Class: audit.AnswerRefused, Status: r.Status}
			}
		case amb != nil:
			out[i] = source.Answer{Err: amb, Class: audit.AnswerAmbiguous, Status: amb.Status,
				Retryable: amb.Status == 0 || amb.Status == http.StatusTooManyRequests || amb.Status >= 500,
				Unsent:    audit.NotSent(amb)} // its connection could not be opened
			if amb.Status == http.StatusMultiStatus { // a 207 that left the item out
				out[i].Status, out[i].Retryable = 0, true
			}
		case qcloud.StatusCode(err) >= 400 && qcloud.StatusCode(err) < 500 && !fromTenant(err):
			// A 4xx without Qlik's error body (a proxy's): it says nothing of what the
			// tenant did. Read back; a 429 may be sent again, at least its Retry-After later.
			ae := apiErr(err)
			out[i] = source.Answer{Err: err, Class: audit.AnswerAmbiguous, Status: ae.Status,
				Retryable: ae.Status == http.StatusTooManyRequests, RetryAfter: ae.RetryAfter}
		case qcloud.StatusCode(err) == http.StatusTooManyRequests:
			// The whole call refused by the tenant's rate limiter before the service saw
			// it: not done, and may be sent again once a read shows the old state (the
			// engine's backoff, at least the Retry-After).
			out[i] = source.Answer{Err: err, Class: audit.AnswerFailed, Retryable: true, Unsent: true,
				Status: http.StatusTooManyRequests, RetryAfter: apiErr(err).RetryAfter}
		case qcloud.StatusCode(err) >= 400 && qcloud.StatusCode(err) < 500:
			// The whole call refused by the tenant itself (401, 403, 400 …): nothing changed.
			out[i] = source.Answer{Err: err, Class: audit.AnswerRefused, Status: qcloud.StatusCode(err)}
		default:
			// No answer that says anything (the call may not have gone out, or went out and
			// its answer is unknown): read back. An error without a status that is not the
			// client's AmbiguousError (which every failure of the call's own request is)
			// came before the call went out (its OAuth token, its pacing): unsent.
			unsent := err != nil && qcloud.StatusCode(err) == 0
			if err == nil {
				err = errors.New("the tenant's 207 named no status for the assignment")
			}
			out[i] = source.Answer{Err: err, Class: audit.AnswerAmbiguous, Retryable: true, Unsent: unsent}
		}
	}
	return out
}

// ReadBack reads the assignments back, filtered by subject (one read per 50).
func (s *Source) ReadBack(ctx context.Context, keys []source.Key) (map[source.Key]source.Back, error) {
	qk := make([]qcloud.Key, len(keys))
	for i, k := range keys {
		qk[i] = key(k.Type, k.ID)
	}
	found, err := s.c.AssignmentsOf(ctx, qk)
	if err != nil {
		return nil, err
	}
	out := map[source.Key]source.Back{}
	for _, a := range found {
		if t, ok := evaluate.TenantTypeOf(a.Type); ok {
			out[source.Key{Type: t, ID: a.Subject}] = source.Back{}
		}
	}
	return out, nil
}

// Timeout is the client's request timeout.
func (s *Source) Timeout() time.Duration { return s.opt.Timeout }

// RetryBudget is how many times a delete proved not done is sent again.
func (s *Source) RetryBudget() int { return s.opt.Retries }

// Backoff waits RetryWait, doubled at each attempt.
func (s *Source) Backoff(attempt int) time.Duration {
	return s.opt.RetryWait << min(max(attempt, 1)-1, 6)
}

// Close closes the tenant's idle connections.
func (s *Source) Close() { s.c.Close() }

// apiErr is the APIError in err's chain (StatusCode found one).
func apiErr(err error) *qcloud.APIError {
	var ae *qcloud.APIError
	errors.As(err, &ae)
	return ae
}

// fromTenant reports whether a whole call's 4xx is the tenant's own: Qlik's error body
// with its code. Only that answer is definitive (a proxy's 4xx says nothing of the tenant).
func fromTenant(err error) bool { return apiErr(err).Code != "" }
