package emukit

import (
	"math/rand/v2"
	"strings"
)

type queued[K any] struct {
	kind         K
	method, path string
}

// Queue holds faults queued for the next matching requests, used first and exactly. It is
// not locked: the emulator's fault injector holds its own lock around it.
type Queue[K any] struct{ items []queued[K] }

// Add queues kind for the next n requests with that method (any when "") whose path or
// decoded query contains pathContains (case-insensitive; any when ""): an id matches a
// request by id and a filtered list naming it alike.
func (q *Queue[K]) Add(kind K, method, pathContains string, n int) {
	for range n {
		q.items = append(q.items, queued[K]{kind: kind, method: method, path: strings.ToLower(pathContains)})
	}
}

// Take removes and returns the first queued fault matching the request, if any; query is
// the decoded query.
func (q *Queue[K]) Take(method, path, query string) (K, bool) {
	whole := strings.ToLower(path + "?" + query)
	for i, f := range q.items {
		if (f.method == "" || strings.EqualFold(f.method, method)) && strings.Contains(whole, f.path) {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return f.kind, true
		}
	}
	var none K
	return none, false
}

// Clear removes every queued fault.
func (q *Queue[K]) Clear() { q.items = nil }

// InScope reports whether a request falls within the random faults' filter: its path
// contains pathContains (case-insensitive) and its method is method (either any when "").
func InScope(method, path, wantMethod, pathContains string) bool {
	return (pathContains == "" || strings.Contains(strings.ToLower(path), strings.ToLower(pathContains))) &&
		(wantMethod == "" || strings.EqualFold(wantMethod, method))
}

// Rate is the fraction of in-scope requests that get Kind.
type Rate[K any] struct {
	Rate float64
	Kind K
}

// Pick draws one fault from rates, in order, with r uniform in [0, 1): the rates are
// stacked, so each keeps its own fraction while their sum stays at most 1.
func Pick[K any](r float64, rates []Rate[K]) (K, bool) {
	for _, p := range rates {
		if r < p.Rate {
			return p.Kind, true
		}
		r -= p.Rate
	}
	var none K
	return none, false
}

// NewRand is the fault injector's random source for seed: the same seed, the same faults.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
