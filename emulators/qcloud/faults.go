package qcloudemu

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// FaultKind is a failure the emulator can inject.
type FaultKind string

// The injectable faults, as the QRS emulator's.
const (
	FaultNone        FaultKind = ""
	FaultServerError FaultKind = "500"   // 500 before anything is done
	FaultUnavailable FaultKind = "503"   // 503 before anything is done
	FaultTooMany     FaultKind = "429"   // 429 with Retry-After
	FaultReset       FaultKind = "reset" // the connection closes before any answer; nothing done
	// FaultLoseAnswer carries the call out, then closes the connection without answering.
	FaultLoseAnswer FaultKind = "lose-answer"
	// FaultBadGatewayAfter and FaultGatewayTimeoutAfter carry the call out, then answer 502
	// or 504, as a gateway that gave up waiting while the tenant finished.
	FaultBadGatewayAfter     FaultKind = "502-after"
	FaultGatewayTimeoutAfter FaultKind = "504-after"
	// FaultLateEffect answers 504 at once and carries the call out later, once LateAfter
	// further requests have arrived: a read right after the 504 still shows the old state.
	FaultLateEffect FaultKind = "late-effect"
)

// FaultConfig sets random faults. Rates are fractions of matching requests.
type FaultConfig struct {
	ErrorRate               float64
	UnavailableRate         float64
	TooManyRate             float64
	ResetRate               float64
	LoseAnswerRate          float64
	BadGatewayAfterRate     float64
	GatewayTimeoutAfterRate float64
	LateEffectRate          float64
	// RetryAfter is the Retry-After of injected 429s (default 1s).
	RetryAfter time.Duration
	// LateAfter is how many requests later a late effect lands (default 2).
	LateAfter int
	// PathContains and Method limit the faults (any when "").
	PathContains string
	Method       string
	Seed         uint64
}

type queued struct {
	kind         FaultKind
	method, path string
}

// Faults decides, per request, whether and how to misbehave: queued faults (Inject)
// first, then the random rates.
type Faults struct {
	mu    sync.Mutex
	cfg   FaultConfig
	rng   *rand.Rand
	queue []queued
}

// NewFaults injects nothing.
func NewFaults() *Faults { return &Faults{rng: rand.New(rand.NewPCG(1, 2))} }

// Configure replaces the random fault settings.
func (f *Faults) Configure(cfg FaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
}

// Inject queues a fault for the next n requests with that method (any when "") whose path
// or decoded query contains pathContains (case-insensitive; any when "").
func (f *Faults) Inject(kind FaultKind, method, pathContains string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, queued{kind: kind, method: method, path: strings.ToLower(pathContains)})
	}
}

// Clear removes queued and random faults.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.cfg = nil, FaultConfig{}
}

func (f *Faults) settings() (retryAfter time.Duration, lateAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	retryAfter, lateAfter = f.cfg.RetryAfter, f.cfg.LateAfter
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	if lateAfter <= 0 {
		lateAfter = 2
	}
	return retryAfter, lateAfter
}

func (f *Faults) decide(method, path, query string) FaultKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	whole := strings.ToLower(path + "?" + query)
	for i, q := range f.queue {
		if (q.method == "" || strings.EqualFold(q.method, method)) && strings.Contains(whole, q.path) {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			return q.kind
		}
	}
	c := f.cfg
	if c.PathContains != "" && !strings.Contains(strings.ToLower(path), strings.ToLower(c.PathContains)) ||
		c.Method != "" && !strings.EqualFold(c.Method, method) {
		return FaultNone
	}
	r := f.rng.Float64()
	for _, p := range []struct {
		rate float64
		kind FaultKind
	}{
		{c.ErrorRate, FaultServerError}, {c.UnavailableRate, FaultUnavailable}, {c.TooManyRate, FaultTooMany},
		{c.ResetRate, FaultReset}, {c.LoseAnswerRate, FaultLoseAnswer}, {c.BadGatewayAfterRate, FaultBadGatewayAfter},
		{c.GatewayTimeoutAfterRate, FaultGatewayTimeoutAfter}, {c.LateEffectRate, FaultLateEffect},
	} {
		if r < p.rate {
			return p.kind
		}
		r -= p.rate
	}
	return FaultNone
}

// LoggedRequest is one request the emulator received.
type LoggedRequest struct {
	Method string
	Path   string
	Query  string
	Status int // 0: no answer (reset, lost)
	Fault  FaultKind
}

// RequestLog records every request, for tests and benchmarks that count calls.
type RequestLog struct {
	mu      sync.Mutex
	entries []LoggedRequest
}

func (l *RequestLog) add(e LoggedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

// Entries returns a copy of the log.
func (l *RequestLog) Entries() []LoggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LoggedRequest(nil), l.entries...)
}

// Count is the number of requests with that method (any when "") whose path contains
// pathContains.
func (l *RequestLog) Count(method, pathContains string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if (method == "" || e.Method == method) && strings.Contains(e.Path, pathContains) {
			n++
		}
	}
	return n
}

// Reset empties the log.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}
