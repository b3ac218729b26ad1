// Package memsource is an in-memory license source for the engine's tests, as restic keeps
// a mem backend: holders in a map, decided by a tenant's policy (the key's id is the
// subject), and each change call answered as a script says — done, refused, or ambiguous
// before or after its effect, or with its effect landing later — so that the truth rule's
// tests run on any batch shape (one change a request, as QRS; one call per batch, as Qlik
// Cloud) without a network.
package memsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Holder is one holder of the source.
type Holder struct {
	Key      source.Key
	Created  time.Time
	LastUsed time.Time // zero: never used
}

// Behaviour is how one change call is answered.
type Behaviour int

// The behaviours of a change call.
const (
	Done       Behaviour = iota // done, answered done
	Refused                     // refused (a 4xx of the service's own): nothing done
	FailBefore                  // ambiguous (the connection reset): nothing done
	FailAfter                   // ambiguous (a gateway's 504): done
	Late                        // ambiguous (a gateway's 504 at once): done LateAfter later
	// Throttled: refused whole by a rate limiter before the service saw it (a tenant's
	// 429): nothing done, retryable, unsent.
	Throttled
	// GoneBefore: the holders were removed just before the call (by someone else, or by an
	// earlier call landing late): answered gone.
	GoneBefore
)

// Source is an in-memory source, safe for concurrent use.
type Source struct {
	// Batch is BatchSize (default 1).
	Batch int
	// Script answers the n-th change call (from 1); nil: Done.
	Script func(n int) Behaviour
	// LateAfter is when a Late effect lands after its call.
	LateAfter time.Duration
	// Grace is Timeout (the default settle grace); Retries the retry budget.
	Grace   time.Duration
	Retries int
	// Name is ID ("memory" when empty): two sources of different names are two sources.
	Name string

	mu       sync.Mutex
	holders  map[source.Key]Holder
	late     []lateEffect
	calls    int
	requests int
}

type lateEffect struct {
	at   time.Time
	keys []source.Key
}

var _ source.Source = (*Source)(nil)

// New holds hs.
func New(hs ...Holder) *Source {
	s := &Source{holders: map[source.Key]Holder{}}
	for _, h := range hs {
		s.holders[h.Key] = h
	}
	return s
}

// Present reports whether the holder exists now (late effects due have landed).
func (s *Source) Present(k source.Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.landLocked()
	_, ok := s.holders[k]
	return ok
}

// Requests is the number of calls the source answered (reads and changes).
func (s *Source) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Settle lands every late effect now.
func (s *Source) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.late {
		for _, k := range l.keys {
			delete(s.holders, k)
		}
	}
	s.late = nil
}

func (s *Source) landLocked() {
	now := time.Now()
	keep := s.late[:0]
	for _, l := range s.late {
		if now.Before(l.at) {
			keep = append(keep, l)
			continue
		}
		for _, k := range l.keys {
			delete(s.holders, k)
		}
	}
	s.late = keep
}

// ID is the source's Name, "memory" by default.
func (s *Source) ID() string {
	if s.Name == "" {
		return "memory"
	}
	return s.Name
}

// Words of the memory.
func (s *Source) Words() source.Words {
	return source.Words{Service: "the memory", Change: "change", Holder: "holder", Gone: "the memory answered gone", Done: "the memory answered done"}
}

func (s *Source) decide(pol *policy.Policy, h Holder, now time.Time) plan.Item {
	a := policy.Assignment{Type: h.Key.Type, Subject: h.Key.ID, Created: h.Created, LastUsed: h.LastUsed,
		User: &policy.CloudUser{ID: h.Key.ID, Subject: h.Key.ID, Status: "active"}}
	ph := plan.Holder{ID: h.Key.ID, Name: h.Key.ID, UserID: h.Key.ID, User: h.Key.ID, Created: h.Created, LastUsed: h.LastUsed}
	return plan.Item{Type: h.Key.Type, Holder: ph, Decision: pol.EvaluateAssignment(&a, now)}
}

// Plan decides every holder of the enabled types (a tenant's policy); its holders have no
// address (a notice keeps them, or releases them without, as without_email says).
func (s *Source) Plan(ctx context.Context, pol *policy.Policy, site string, now time.Time, stage plan.Stager) (*plan.Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.landLocked()
	var types []qrs.AccessType
	for _, t := range policy.TenantTypes {
		if _, on := pol.Enabled(t); on {
			types = append(types, t)
		}
	}
	var items []plan.Item
	for _, h := range s.holders {
		if slices.Contains(types, h.Key.Type) {
			items = append(items, s.decide(pol, h, now))
		}
	}
	return plan.Assemble(ctx, site, now, pol, types, items, nil, stage)
}

// PartSize is up to 50.
func (s *Source) PartSize(items []plan.Item, limit int) int {
	return max(1, min(limit, len(items), 50))
}

// Recheck decides the present holders again.
func (s *Source) Recheck(_ context.Context, pol *policy.Policy, t qrs.AccessType, items []plan.Item, now time.Time) ([]source.Checked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.landLocked()
	out := make([]source.Checked, 0, len(items))
	for _, it := range items {
		h, ok := s.holders[source.KeyOf(&it)]
		if !ok {
			out = append(out, source.Checked{Item: it, Skip: true, Reason: source.ReasonGone, Detail: "gone"})
			continue
		}
		fresh := s.decide(pol, h, now)
		if fresh.Decision.Verdict != policy.Release {
			out = append(out, source.Checked{Item: it, Skip: true, Reason: string(fresh.Decision.Reason), Detail: "re-check: " + fresh.Decision.Detail})
			continue
		}
		out = append(out, source.Checked{Item: fresh})
	}
	return out, nil
}

// MixedParts is true with batches (a call per part, as Qlik Cloud), false without.
func (s *Source) MixedParts() bool { return s.Batch > 1 }

// BatchSize is Batch.
func (s *Source) BatchSize() int { return max(1, s.Batch) }

// Release answers the call as the script says.
func (s *Source) Release(_ context.Context, items []plan.Item) []source.Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.calls++
	s.landLocked()
	b := Done
	if s.Script != nil {
		b = s.Script(s.calls)
	}
	keys := make([]source.Key, len(items))
	for i := range items {
		keys[i] = source.KeyOf(&items[i])
	}
	out := make([]source.Answer, len(items))
	if b == GoneBefore {
		for _, k := range keys {
			delete(s.holders, k)
		}
	}
	switch b {
	case Throttled:
		for i := range out {
			out[i] = source.Answer{Err: errors.New("the call was answered 429 by the rate limiter"), Class: audit.AnswerFailed, Retryable: true, Unsent: true, Status: 429}
		}
		return out
	case Done, Refused, GoneBefore:
		for i, k := range keys {
			_, ok := s.holders[k]
			switch {
			case !ok:
				out[i] = source.Answer{Err: fmt.Errorf("%s: not found", k.ID), Class: audit.AnswerRefused, Gone: true, Status: 404}
			case b == Refused:
				out[i] = source.Answer{Err: fmt.Errorf("%s: refused", k.ID), Class: audit.AnswerRefused, Status: 403}
			default:
				delete(s.holders, k)
				out[i] = source.Answer{Class: audit.AnswerDone, Final: true, Status: 200}
			}
		}
		return out
	case FailAfter:
		for _, k := range keys {
			delete(s.holders, k)
		}
	case Late:
		s.late = append(s.late, lateEffect{at: time.Now().Add(s.LateAfter), keys: keys})
	}
	status, err := 504, errors.New("the call was answered 504")
	if b == FailBefore {
		status, err = 0, errors.New("the connection was reset")
	}
	for i := range out {
		out[i] = source.Answer{Err: err, Class: audit.AnswerAmbiguous, Retryable: true, Status: status}
	}
	return out
}

// ReadBack reads the holders as they are now.
func (s *Source) ReadBack(_ context.Context, keys []source.Key) (map[source.Key]source.Back, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.landLocked()
	out := map[source.Key]source.Back{}
	for _, k := range keys {
		if _, ok := s.holders[k]; ok {
			out[k] = source.Back{}
		}
	}
	return out, nil
}

// Timeout is Grace (default 1s).
func (s *Source) Timeout() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return time.Second
}

// RetryBudget is Retries.
func (s *Source) RetryBudget() int { return s.Retries }

// Backoff is 10ms.
func (s *Source) Backoff(int) time.Duration { return 10 * time.Millisecond }

// Close does nothing.
func (s *Source) Close() {}
