// Package emukit holds the mechanics both emulators share: the request log, the queue and
// the random draw of injected faults, the HTTP server settings and the test certificates'
// issuing. What a request or a fault means stays each emulator's own (its wire model, its
// fault kinds and what they do); this package knows neither QRS nor Qlik Cloud.
package emukit

import (
	"strings"
	"sync"
)

// Request is what the log needs of an emulator's record of a request.
type Request interface {
	// MethodPath is the request's method and path (without the query).
	MethodPath() (method, path string)
}

// Log records requests, for tests and benchmarks that count the calls a client made. Its
// zero value is empty and ready; it is safe for concurrent use.
type Log[E Request] struct {
	mu      sync.Mutex
	entries []E
}

// Add appends a request.
func (l *Log[E]) Add(e E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

// Entries returns a copy of the log.
func (l *Log[E]) Entries() []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]E(nil), l.entries...)
}

// Count is the number of logged requests with that method (any when "") whose path
// contains pathContains (case-insensitive).
func (l *Log[E]) Count(method, pathContains string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := strings.ToLower(pathContains)
	n := 0
	for _, e := range l.entries {
		m, p := e.MethodPath()
		if (method == "" || m == method) && strings.Contains(strings.ToLower(p), want) {
			n++
		}
	}
	return n
}

// Reset empties the log.
func (l *Log[E]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}
