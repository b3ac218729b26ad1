// Package evaluate evaluates a site against a release policy: it streams each allocation list
// from QRS once, decides every allocation with the policy, and reads user records only
// when the policy needs them. The plugin's reclaimable metrics and the sidecar's plan both
// come from here, so they cannot disagree.
package evaluate

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Options say what to evaluate.
type Options struct {
	// Types are the allocation lists to read.
	Types []qrs.AccessType
	// Policy decides; nil reads and observes only.
	Policy *policy.Policy
	// Now is the evaluation time.
	Now time.Time
	// Observe, when set, sees every allocation as it is decoded (the plugin's inactivity
	// buckets and per-allocation points). Lists are read concurrently: Observe is called
	// from one goroutine per type and must be safe for that.
	Observe func(qrs.AccessType, *qrs.Allocation)
	// KeepItems keeps every decided allocation in the result (the sidecar's plan).
	KeepItems bool
	// Decided, when set, sees every decision (the plugin counts allocations waiting out
	// a notice). Like Observe, it is called from several goroutines.
	Decided func(qrs.AccessType, *qrs.Allocation, policy.Decision)
	// Users, when set, is the read of the users the policy needs, started earlier with
	// PrefetchUsers and the same policy; otherwise Site starts it with the lists.
	Users *Users

	gate    *usersGate // the interesting users, read while the lists start
	maxHeld int        // tests lower the bound on held allocations (0: maxHeld)
}

// usersGate holds the interesting users once read; ready is closed then.
type usersGate struct {
	ready chan struct{}
	users map[string]*qrs.User
	err   error
}

// Item is one decided allocation.
type Item struct {
	Type       qrs.AccessType
	Allocation *qrs.Allocation
	User       *qrs.User // nil when the policy did not need it
	Decision   policy.Decision
}

// TypeResult is the outcome for one allocation type.
type TypeResult struct {
	// Err: the list could not be read; nothing else is set.
	Err error
	// Allocations read.
	Allocations int
	// Reasons counts decisions by reason; nil when the policy does not cover the type or
	// when the user records it needed could not be read (UsersErr).
	Reasons map[policy.Reason]int
	Items   []Item
}

// Result of an evaluation.
type Result struct {
	ByType map[qrs.AccessType]*TypeResult
	// UsersErr: user records could not be read; types that needed them have no decisions.
	UsersErr error
}

// Users is a read of the users whose record can change a decision, started ahead of
// Site by PrefetchUsers.
type Users struct{ g *usersGate }

func (u *Users) gate() *usersGate {
	if u == nil {
		return nil
	}
	return u.g
}

// PrefetchUsers starts reading, in the background, the users whose record can change a
// decision of p (Policy.UserFilter), so that the request overlaps whatever the caller reads
// before calling Site with the result as Options.Users. It returns nil, and reads
// nothing, when p (which may be nil) releases nothing or needs no user record, or when its
// filter would not fit in a URL (Site then reads the candidates' users by id). The read
// ends when ctx does.
func PrefetchUsers(ctx context.Context, c *qrs.Client, p *policy.Policy) *Users {
	if p == nil || !p.NeedsUserRecord() || !decides(Options{Types: qrs.AccessTypes, Policy: p}) {
		return nil
	}
	filter := p.UserFilter()
	if len(url.QueryEscape(filter)) > qrs.DefaultMaxFilterBytes {
		return nil
	}
	g := &usersGate{ready: make(chan struct{})}
	go func() {
		defer close(g.ready)
		users := map[string]*qrs.User{}
		g.err = c.Users(ctx, filter, func(u *qrs.User) error {
			users[u.ID] = u
			return nil
		})
		g.users = users
	}()
	return &Users{g: g}
}

// Site reads and decides. It returns an error only for a cancelled context; failures of
// single lists or of the user lookup are in the Result.
func Site(ctx context.Context, c *qrs.Client, o Options) (*Result, error) {
	res := &Result{ByType: map[qrs.AccessType]*TypeResult{}}
	// When the policy reads user records, the few users whose record can change a decision
	// (Policy.UserFilter) are read while the lists start (or earlier: Options.Users): each
	// allocation is decided as it streams by, once they are in, and nothing waits for a
	// second pass.
	gate := o.Users.gate()
	if gate == nil && decides(o) {
		gate = PrefetchUsers(ctx, c, o.Policy).gate()
	}
	if g := gate; g != nil {
		defer func() { <-g.ready }() // a prefetch nobody needed still ends with Site
		if !decides(o) {
			gate = nil
		}
	}
	o.gate = gate
	// The lists are read at the same time: their round trips overlap and their decoding
	// shares the cores. Observe is therefore called from several goroutines, one per type.
	perType := make([][]pending, len(o.Types))
	results := make([]*TypeResult, len(o.Types))
	var wg sync.WaitGroup
	for i, t := range o.Types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], perType[i] = evaluateType(ctx, c, o, t)
		}()
	}
	wg.Wait()
	if gate != nil {
		<-gate.ready
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if gate != nil && gate.err != nil {
		// The lists were read for Observe; nothing could be decided.
		res.UsersErr = fmt.Errorf("reading users for the release policy: %w", gate.err)
		for i := range results {
			if results[i].Err == nil {
				results[i].Reasons, results[i].Items = nil, nil
			}
		}
	}
	var waiting []pending
	for i, t := range o.Types {
		res.ByType[t] = results[i]
		waiting = append(waiting, perType[i]...)
	}
	if len(waiting) == 0 {
		return res, nil
	}
	ids := make([]string, 0, len(waiting))
	for _, p := range waiting {
		ids = append(ids, p.a.User.ID)
	}
	users, err := c.LookupUsers(ctx, ids)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.UsersErr = fmt.Errorf("reading users for the release policy: %w", err)
		for _, p := range waiting {
			p.r.Reasons, p.r.Items = nil, nil
		}
		return res, nil
	}
	for _, p := range waiting {
		u := users[p.a.User.ID]
		d := o.Policy.Evaluate(p.t, p.a, u, o.Now)
		p.r.Reasons[d.Reason]++
		o.decided(p.t, p.a, d)
		if p.i >= 0 {
			p.r.Items[p.i].User, p.r.Items[p.i].Decision = u, d
		}
	}
	return res, nil
}

// pending is an allocation whose decision waits for its user record.
type pending struct {
	r *TypeResult
	i int // index in r.Items, or -1
	t qrs.AccessType
	a *qrs.Allocation
}

// maxHeld bounds the allocations held, per list, while the interesting users are read.
const maxHeld = 20_000

// evaluateType streams one list, deciding what it can without user records.
func evaluateType(ctx context.Context, c *qrs.Client, o Options, t qrs.AccessType) (*TypeResult, []pending) {
	r := &TypeResult{}
	decide := false
	if o.Policy != nil {
		if _, on := o.Policy.Enabled(t); on {
			decide = true
			r.Reasons = map[policy.Reason]int{}
		}
	}
	var waiting []pending
	// Allocations that need a user record are held while the interesting users are still
	// being read, so the list keeps streaming meanwhile; past maxHeld rows the reading
	// waits for them (and TCP holds QRS back), which bounds the memory this takes.
	var held []pending
	settle := func() {
		<-o.gate.ready
		if o.gate.err == nil { // otherwise nothing is decided: Site drops the results
			for _, p := range held {
				u := o.userOf(p.a)
				d := o.Policy.Evaluate(t, p.a, u, o.Now)
				r.Reasons[d.Reason]++
				o.decided(t, p.a, d)
				if p.i >= 0 {
					r.Items[p.i].User, r.Items[p.i].Decision = u, d
				}
			}
		}
		held = held[:0]
	}
	err := c.Allocations(ctx, t, "", func(a *qrs.Allocation) error {
		r.Allocations++
		if o.Observe != nil {
			o.Observe(t, a)
		}
		if !decide {
			return nil
		}
		d, final := o.Policy.Precheck(t, a, o.Now)
		idx := -1
		if o.KeepItems {
			idx = len(r.Items)
			r.Items = append(r.Items, Item{Type: t, Allocation: a, Decision: d})
		}
		switch {
		case final:
			r.Reasons[d.Reason]++
			o.decided(t, a, d)
		case o.gate == nil:
			waiting = append(waiting, pending{r: r, i: idx, t: t, a: a})
		default:
			held = append(held, pending{r: r, i: idx, t: t, a: a})
			select {
			case <-o.gate.ready:
				settle()
			default:
				if len(held) >= cmp.Or(o.maxHeld, maxHeld) {
					settle()
				}
			}
		}
		return nil
	})
	if err == nil && len(held) > 0 {
		settle()
	}
	if err != nil {
		return &TypeResult{Err: err}, nil
	}
	return r, waiting
}

func (o *Options) decided(t qrs.AccessType, a *qrs.Allocation, d policy.Decision) {
	if o.Decided != nil {
		o.Decided(t, a, d)
	}
}

// decides reports whether the policy covers one of the types to read.
func decides(o Options) bool {
	if o.Policy == nil {
		return false
	}
	for _, t := range o.Types {
		if _, on := o.Policy.Enabled(t); on {
			return true
		}
	}
	return false
}

// userOf is the user record for an allocation when the interesting users were read up
// front: the record if the user is among them, otherwise one with no tags, no custom
// properties and no state flags — which is what every other user has as far as the
// policy can tell.
func (o *Options) userOf(a *qrs.Allocation) *qrs.User {
	if u := o.gate.users[a.User.ID]; u != nil {
		return u
	}
	return &qrs.User{ID: a.User.ID, UserID: a.User.UserID, UserDirectory: a.User.UserDirectory}
}
