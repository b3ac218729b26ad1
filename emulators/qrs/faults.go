package emulator

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
)

// FaultKind is a failure the emulator can inject into a response.
type FaultKind string

// The injectable faults.
const (
	FaultNone        FaultKind = ""
	FaultServerError FaultKind = "500"       // 500 with a text body
	FaultUnavailable FaultKind = "503"       // 503 with a text body
	FaultTooMany     FaultKind = "429"       // 429 with Retry-After
	FaultReset       FaultKind = "reset"     // connection closed before any answer
	FaultTruncate    FaultKind = "truncate"  // status and headers, then half the body, then the connection closes
	FaultMalformed   FaultKind = "malformed" // 200 with an HTML page instead of JSON
	// FaultLoseAnswer carries the request out (a DELETE releases) and then closes the
	// connection without answering: the client cannot know what happened.
	FaultLoseAnswer FaultKind = "lose-answer"
	// FaultBadGatewayAfter and FaultGatewayTimeoutAfter carry the request out (a DELETE
	// releases, a POST creates) and then answer 502 or 504, as a virtual proxy or load
	// balancer does that gave up waiting while QRS finished the request anyway.
	FaultBadGatewayAfter     FaultKind = "502-after"
	FaultGatewayTimeoutAfter FaultKind = "504-after"
	// FaultGatewayTimeoutLate answers 504 at once, as a gateway that gives up early does,
	// and carries the request out LateEffect later (a DELETE releases, a POST creates),
	// while the client reads back the old state.
	FaultGatewayTimeoutLate FaultKind = "504-late"
	// FaultSlow carries the request out LateEffect after it arrived whether or not the
	// client still waits (a client that times out meanwhile does not stop QRS), and
	// answers it then if the client is still there.
	FaultSlow FaultKind = "slow"
	// FaultForbidden answers 403 with QRS's own refusal and changes nothing, as QRS does
	// for an account lacking a right on that entity type (say, delete on
	// professionalaccesstype while create on analyzeraccesstype works).
	FaultForbidden FaultKind = "403"
)

// FaultConfig sets random faults and delays. Rates are fractions of matching requests.
type FaultConfig struct {
	Latency time.Duration // added before every matching request is carried out
	// AnswerLatency is added after a matching request is carried out, before its answer:
	// a DELETE has taken effect while its answer is on the way, as when a loaded QRS
	// commits and then answers late. A client that gives up meanwhile undoes nothing.
	AnswerLatency  time.Duration
	SlowBody       time.Duration // pause after every 4 KiB of body
	ErrorRate      float64       // 500s
	TooManyRate    float64       // 429s
	RetryAfter     time.Duration // Retry-After of the 429s (default 1s)
	ResetRate      float64
	TruncateRate   float64
	MalformedRate  float64
	LoseAnswerRate float64 // carried out, then the connection closes without an answer
	// BadGatewayAfterRate and GatewayTimeoutAfterRate: carried out, then answered 502 / 504.
	BadGatewayAfterRate     float64
	GatewayTimeoutAfterRate float64
	// GatewayTimeoutLateRate: answered 504 at once, carried out LateEffect later (default
	// 1.5s). ForbiddenRate: refused with QRS's own 403.
	GatewayTimeoutLateRate float64
	LateEffect             time.Duration
	ForbiddenRate          float64
	// EveryNth, when above 0, answers every n-th matching request with QRS's own 500
	// (ServerError), counted from the first, before the random rates.
	EveryNth int
	// PathContains limits the faults to request paths containing it (case-insensitive).
	PathContains string
	// Method limits the faults to requests with this method (any when "").
	Method string
	// Seed makes the random choices repeatable.
	Seed uint64
}

// Faults decides, per request, whether and how to misbehave. Queued faults (Inject) are
// used first and exactly; random ones follow the FaultConfig rates.
type Faults struct {
	mu    sync.Mutex
	cfg   FaultConfig
	rng   *rand.Rand
	queue emukit.Queue[FaultKind]
	// matched counts the requests matching the random faults' filter (EveryNth).
	matched int
	// onArrive: see OnArrive.
	onArrive func(method, path string)
}

// OnArrive sets a function called as each request arrives, before its fault is decided
// (nil: none): a test can queue a fault for what follows a request (say, the read-back of
// a DELETE) without racing it. fn must not call OnArrive.
func (f *Faults) OnArrive(fn func(method, path string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onArrive = fn
}

func (f *Faults) arrived(method, path string) {
	f.mu.Lock()
	fn := f.onArrive
	f.mu.Unlock()
	if fn != nil {
		fn(method, path)
	}
}

// NewFaults returns a fault injector that injects nothing.
func NewFaults() *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(1, 2))}
}

// Configure replaces the random fault settings.
func (f *Faults) Configure(cfg FaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	f.cfg, f.matched = cfg, 0
	f.rng = emukit.NewRand(cfg.Seed)
}

// Inject queues a fault for the next n requests with that method (any when "") whose
// path or decoded query contains pathContains (any when ""): an id matches a request by id
// and a filtered list naming it alike.
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

// defaultLateEffect is FaultConfig.LateEffect's default.
const defaultLateEffect = 1500 * time.Millisecond

type faultDecision struct {
	kind       FaultKind
	lateEffect time.Duration
	latency    time.Duration
	answerLag  time.Duration
	slowBody   time.Duration
	retryAfter time.Duration
}

func (f *Faults) decide(method, path, query string) faultDecision {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := faultDecision{retryAfter: f.cfg.RetryAfter, lateEffect: f.cfg.LateEffect}
	if d.retryAfter <= 0 {
		d.retryAfter = time.Second
	}
	if d.lateEffect <= 0 {
		d.lateEffect = defaultLateEffect
	}
	if kind, ok := f.queue.Take(method, path, query); ok {
		d.kind = kind
		return d
	}
	c := f.cfg
	if !emukit.InScope(method, path, c.Method, c.PathContains) {
		return d
	}
	d.latency, d.answerLag, d.slowBody = c.Latency, c.AnswerLatency, c.SlowBody
	if c.EveryNth > 0 {
		f.matched++
		if f.matched%c.EveryNth == 0 {
			d.kind = FaultServerError
			return d
		}
	}
	d.kind, _ = emukit.Pick(f.rng.Float64(), []emukit.Rate[FaultKind]{
		{Rate: c.ErrorRate, Kind: FaultServerError},
		{Rate: c.TooManyRate, Kind: FaultTooMany},
		{Rate: c.ResetRate, Kind: FaultReset},
		{Rate: c.TruncateRate, Kind: FaultTruncate},
		{Rate: c.MalformedRate, Kind: FaultMalformed},
		{Rate: c.LoseAnswerRate, Kind: FaultLoseAnswer},
		{Rate: c.BadGatewayAfterRate, Kind: FaultBadGatewayAfter},
		{Rate: c.GatewayTimeoutAfterRate, Kind: FaultGatewayTimeoutAfter},
		{Rate: c.GatewayTimeoutLateRate, Kind: FaultGatewayTimeoutLate},
		{Rate: c.ForbiddenRate, Kind: FaultForbidden},
	})
	return d
}

// LoggedRequest is one request the emulator answered.
type LoggedRequest struct {
	Time     time.Time // the site's clock
	Wall     time.Time // the real clock, when the request arrived
	Method   string
	Path     string // as sent, without the query
	Query    string // without the xrfkey
	User     string // the acting user, DIR\id
	Status   int
	Bytes    int64
	Duration time.Duration
	Fault    FaultKind
}

// RequestLog records every request, for tests and benchmarks that assert how many calls a
// client made: Entries, Count and Reset (which also forgets the arrivals).
type RequestLog struct {
	emukit.Log[LoggedRequest]
	arrivals emukit.Log[LoggedRequest] // as they arrive, before any answer
}

// MethodPath is the request's method and path, which RequestLog.Count matches.
func (e LoggedRequest) MethodPath() (method, path string) { return e.Method, e.Path }

func (l *RequestLog) arrive(e LoggedRequest) { l.arrivals.Add(e) }

// Arrived is the number of requests with that method (any when "") whose path contains
// pathContains that have arrived, answered or not: a test can tell a DELETE is in flight.
func (l *RequestLog) Arrived(method, pathContains string) int {
	return l.arrivals.Count(method, pathContains)
}

func (l *RequestLog) add(e LoggedRequest) { l.Add(e) }

// Bytes is the total body bytes sent.
func (l *RequestLog) Bytes() int64 {
	var n int64
	for _, e := range l.Entries() {
		n += e.Bytes
	}
	return n
}

// Reset empties the log.
func (l *RequestLog) Reset() {
	l.Log.Reset()
	l.arrivals.Reset()
}
