package release

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// Releases go in parts: the holders of one type (of every type, for a source with
// MixedParts: Qlik Cloud) that one re-check of the source holds (source.PartSize). Just before a part's changes, the source re-checks it (QRS: one
// filtered GET of its allocations and, when the policy needs them, one more of its users;
// Qlik Cloud: one filtered read each of the assignments, the users and the consumption
// since the plan), and each holder is decided again on that fresh read. The changes go
// in batches of the source's BatchSize (QRS: one DELETE per allocation; Qlik Cloud: one
// actions/delete call per part). After them the source reads the part back when an
// answer needs it (QRS: always, to tell released from quarantined — and, for a DELETE
// whose answer was lost, what happened at all; Qlik Cloud: only after an ambiguous
// answer). On QRS, N releases take N + 3⌈N/k⌉ requests for parts of k.
//
// Freshness: a re-check may be at most MaxRecheckAge old when its DELETE starts. Parts are
// sized from the pace DELETEs actually go at (pacing, latency, concurrency) so that they
// start in time; a DELETE whose re-check has grown older anyway (a slow QRS) re-checks
// itself and what is left of its part first.

// DefaultMaxRecheckAge bounds the age of a re-check when its DELETE starts.
const DefaultMaxRecheckAge = 10 * time.Second

// maxPart caps a part; the source's bound of one filter (QRS: about 40 ids; Qlik Cloud:
// 50 subjects) usually comes first.
const maxPart = 50

// part is a re-checked group of releases of one type (of any, typ "", for a source with
// MixedParts), ready for their changes.
type part struct {
	typ     qrs.AccessType
	mu      sync.Mutex
	items   []plan.Item // re-checked and still to release, in order
	next    int         // the first item not started
	checked time.Time
}

// take returns the next n items to change (fewer at the part's end), re-checking them
// (and the rest of the part) first when the part's re-check is older than maxAge. It
// returns nil when nothing is left.
func (p *part) take(e *Executor, ctx context.Context, runID string, record func(audit.Outcome), n int) []plan.Item {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next < len(p.items) && time.Since(p.checked) > e.maxRecheckAge() {
		rest := p.items[p.next:]
		p.items = append(p.items[:p.next:p.next], e.recheck(ctx, runID, p.typ, rest, record)...)
		p.checked = time.Now()
	}
	if p.next >= len(p.items) {
		return nil
	}
	end := min(p.next+max(n, 1), len(p.items))
	its := p.items[p.next:end:end]
	p.next = end
	return its
}

func (e *Executor) maxRecheckAge() time.Duration {
	if e.MaxRecheckAge > 0 {
		return e.MaxRecheckAge
	}
	return DefaultMaxRecheckAge
}

// groupByType orders releases type by type (types in order of first appearance, items in
// plan order within a type), so that parts hold one type each.
func groupByType(items []plan.Item) map[qrs.AccessType][]plan.Item {
	out := map[qrs.AccessType][]plan.Item{}
	for _, it := range items {
		out[it.Type] = append(out[it.Type], it)
	}
	return out
}

// partSize is how many of items (all of one type) the next part takes: as many as one
// re-check of the source holds, at most maxPart and BatchSize, and no more than can start
// within half the freshness bound at the pace changes have been going (half: a part is
// re-checked while the previous one is still being changed).
func (e *Executor) partSize(items []plan.Item, interval time.Duration) int {
	limit := min(len(items), maxPart)
	if e.BatchSize > 0 {
		limit = min(limit, e.BatchSize)
	}
	if interval > 0 {
		limit = min(limit, max(1, int(e.maxRecheckAge()/2/interval))*max(1, e.Source.BatchSize()))
	}
	return max(1, e.Source.PartSize(items, limit))
}

// release executes the releases in parts, three stages at a time: the next part is
// re-checked while this one's DELETEs go and the finished ones are read back. Workers
// take DELETEs one at a time from a dispatcher, across part boundaries, so none idles
// while a part's last DELETEs finish; each item is taken (and, when its re-check has grown
// too old, re-checked) only when a worker is ready to send it. Closing stop starts no more
// DELETEs; those sent finish and are read back.
func (e *Executor) release(ctx context.Context, stop <-chan struct{}, items []plan.Item, runID string, record func(audit.Outcome), mu *sync.Mutex, sum *audit.Summary) {
	sleep := e.sleep
	if sleep == nil {
		sleep = ctxsleep.Sleep
	}
	r := &releasing{
		e: e, ctx: ctx, stop: stop, runID: runID, record: record, workers: max(1, e.Concurrency),
		pace:       &pacer{every: e.Pacing, wait: func(d time.Duration) error { return sleepOrStop(ctx, stop, sleep, d) }},
		parts:      make(chan *part, 1),
		ready:      make(chan chan job),
		dispatched: make(chan struct{}),
	}
	go r.recheckAhead(items)
	go r.dispatch()
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work()
		}()
	}
	wg.Wait()
	close(r.ready)
	<-r.dispatched
	r.readBack.Wait()
	r.settleOpen()
	if n := r.notStarted.Load(); n > 0 {
		mu.Lock()
		sum.Deferred += int(n)
		sum.Interrupted = true
		mu.Unlock()
	}
}

// releasing is one run's releases in flight: the three stages (recheckAhead, dispatch,
// work) and what they share.
type releasing struct {
	e       *Executor
	ctx     context.Context
	stop    <-chan struct{}
	runID   string
	record  func(audit.Outcome)
	workers int
	pace    *pacer

	parts      chan *part     // re-checked parts, one ahead of the DELETEs
	ready      chan chan job  // a worker asks for its next job
	dispatched chan struct{}  // closed when the dispatcher is done
	readBack   sync.WaitGroup // parts being read back
	interval   atomic.Int64   // nanoseconds between DELETE starts, as measured
	notStarted atomic.Int64   // releases that will not start (stop, cancel)

	openMu sync.Mutex
	open   []deletion // sent, not settled yet: read again before the run ends
}

// job is one change request (a batch of the source's BatchSize) handed to a ready worker,
// with its part's bookkeeping; last says there is nothing more.
type job struct {
	items []plan.Item
	done  func([]deletion) // the items sent
	last  bool
}

func (r *releasing) halted() bool { return stopping.Requested(r.stop) || r.ctx.Err() != nil }

// recheckAhead re-checks the releases part by part, type by type (unless the source takes
// parts of several types), one part ahead of the changes.
func (r *releasing) recheckAhead(items []plan.Item) {
	defer close(r.parts)
	byType, types := groupByType(items), qrs.AccessTypes
	if r.e.Source.MixedParts() { // one part may hold every type: plan order
		byType, types = map[qrs.AccessType][]plan.Item{"": items}, []qrs.AccessType{""}
	}
	for _, t := range types {
		rest := byType[t]
		for len(rest) > 0 {
			if r.halted() {
				r.notStarted.Add(int64(len(rest)))
				break
			}
			n := r.e.partSize(rest, time.Duration(r.interval.Load()))
			p := &part{typ: t, items: r.e.recheck(r.ctx, r.runID, t, rest[:n], r.record), checked: time.Now()}
			rest = rest[n:]
			r.parts <- p
		}
	}
}

// dispatch hands the parts' items, in order, to the workers as they ask, and has each
// part read back once its DELETEs are answered.
func (r *releasing) dispatch() {
	defer close(r.dispatched)
	var waiting chan job // a worker that asked when a part ran out
	workersGone := false
	for p := range r.parts {
		if workersGone {
			r.notStarted.Add(int64(len(p.items)))
			continue
		}
		var (
			dmu  sync.Mutex
			dels []deletion
			sent sync.WaitGroup
		)
		for {
			reply := waiting
			waiting = nil
			if reply == nil {
				var open bool
				if reply, open = <-r.ready; !open { // the workers have stopped
					workersGone = true
					p.mu.Lock()
					r.notStarted.Add(int64(len(p.items) - p.next))
					p.mu.Unlock()
					break
				}
			}
			its := p.take(r.e, r.ctx, r.runID, r.record, r.e.Source.BatchSize())
			if len(its) == 0 {
				waiting = reply // its job comes from the next part
				break
			}
			sent.Add(1)
			reply <- job{items: its, done: func(d []deletion) {
				dmu.Lock()
				dels = append(dels, d...)
				dmu.Unlock()
				sent.Done()
			}}
		}
		r.readBack.Add(1)
		go func() { // read the part back once its DELETEs are answered
			defer r.readBack.Done()
			sent.Wait()
			if len(dels) > 0 {
				r.keepOpen(r.settle(dels, false))
			}
		}()
	}
	if waiting != nil {
		waiting <- job{last: true}
	}
}

// work is one worker: it takes DELETEs one at a time, at the pace, and sends each after
// its intent is recorded.
func (r *releasing) work() {
	reply := make(chan job)
	for {
		if r.pace.next() != nil || r.halted() {
			return
		}
		select {
		case r.ready <- reply:
		case <-r.dispatched: // nothing left
			return
		}
		j := <-reply
		if j.last {
			return
		}
		if r.halted() { // stopped while it waited for its job: not sent
			r.notStarted.Add(int64(len(j.items)))
			j.done(nil)
			return
		}
		j.done(r.delete(j.items))
	}
}

// delete records the intent of each release of a batch and sends the batch's change,
// under its own request deadline (the source's timeout), never cut by the run's context.
// It returns the items sent.
func (r *releasing) delete(items []plan.Item) []deletion {
	e := r.e
	send := make([]plan.Item, 0, len(items))
	for _, it := range items {
		if err := e.Recorder.Intent(it.Outcome(e.Now(), e.Site, r.runID, "", string(it.Decision.Reason), it.Decision.Detail)); err != nil {
			r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Skipped, ReasonJournalFailed, "not released: the intent could not be recorded: "+err.Error()))
			continue
		}
		send = append(send, it)
	}
	if len(send) == 0 {
		return nil
	}
	start := time.Now()
	answers := e.Source.Release(context.WithoutCancel(r.ctx), send)
	r.interval.Store(int64(max(time.Since(start)/time.Duration(r.workers), e.Pacing)))
	answered := time.Now() // the grace runs from the answer
	out := make([]deletion, len(send))
	for i, it := range send {
		out[i] = deletion{it: it}
		out[i].answered(answers[i], answered)
	}
	return out
}

// recheck has the source re-read items (all of type t) and decide each again. It records
// the outcome of each item that must not be released any more and returns the others,
// with their fresh decisions, in order.
func (e *Executor) recheck(ctx context.Context, runID string, t qrs.AccessType, items []plan.Item, record func(audit.Outcome)) []plan.Item {
	checked, err := e.Source.Recheck(ctx, e.Policy, t, items, e.Now())
	if err != nil {
		for _, it := range items {
			record(it.Outcome(e.Now(), e.Site, runID, audit.Skipped, ReasonRecheckFailed, err.Error()))
		}
		return nil
	}
	var ready []plan.Item
	for _, c := range checked {
		if c.Skip {
			record(c.Item.Outcome(e.Now(), e.Site, runID, audit.Skipped, c.Reason, c.Detail))
			continue
		}
		ready = append(ready, c.Item)
	}
	return ready
}
