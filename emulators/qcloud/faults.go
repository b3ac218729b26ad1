package qcloudemu

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
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

// Faults decides, per request, whether and how to misbehave: queued faults (Inject)
// first, then the random rates.
type Faults struct {
	mu    sync.Mutex
	cfg   FaultConfig
	rng   *rand.Rand
	queue emukit.Queue[FaultKind]
}

// NewFaults injects nothing.
func NewFaults() *Faults { return &Faults{rng: rand.New(rand.NewPCG(1, 2))} }

// Configure replaces the random fault settings.
func (f *Faults) Configure(cfg FaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.rng = emukit.NewRand(cfg.Seed)
}

// Inject queues a fault for the next n requests with that method (any when "") whose path
// or decoded query contains pathContains (case-insensitive; any when "").
func (f *Faults) Inject(kind FaultKind, method, pathContains string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue.Add(kind, method, pathContains, n)
}

// Clear removes queued and random faults.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue.Clear()
	f.cfg = FaultConfig{}
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
	if kind, ok := f.queue.Take(method, path, query); ok {
		return kind
	}
	c := f.cfg
	if !emukit.InScope(method, path, c.Method, c.PathContains) {
		return FaultNone
	}
	kind, _ := emukit.Pick(f.rng.Float64(), []emukit.Rate[FaultKind]{
		{Rate: c.ErrorRate, Kind: FaultServerError},
		{Rate: c.UnavailableRate, Kind: FaultUnavailable},
		{Rate: c.TooManyRate, Kind: FaultTooMany},
		{Rate: c.ResetRate, Kind: FaultReset},
		{Rate: c.LoseAnswerRate, Kind: FaultLoseAnswer},
		{Rate: c.BadGatewayAfterRate, Kind: FaultBadGatewayAfter},
		{Rate: c.GatewayTimeoutAfterRate, Kind: FaultGatewayTimeoutAfter},
		{Rate: c.LateEffectRate, Kind: FaultLateEffect},
	})
	return kind
}

// LoggedRequest is one request the emulator received.
type LoggedRequest struct {
	Method string
	Path   string
	Query  string
	Status int // 0: no answer (reset, lost)
	Fault  FaultKind
}

// RequestLog records every request, for tests and benchmarks that count calls: Entries,
// Count (method and path, case-insensitive) and Reset.
type RequestLog struct{ emukit.Log[LoggedRequest] }

// MethodPath is the request's method and path, which RequestLog.Count matches.
func (e LoggedRequest) MethodPath() (method, path string) { return e.Method, e.Path }

func (l *RequestLog) add(e LoggedRequest) { l.Add(e) }
