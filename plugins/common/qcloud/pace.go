package qcloud

import (
	"context"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
)

// pacer spaces requests to stay below a rate per minute: a token bucket holding ten
// seconds' worth of requests (Qlik evaluates its limits over a rolling window that absorbs
// short bursts), refilled at the rate.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration // 0: no pacing
	burst    float64
	tokens   float64
	last     time.Time
}

func newPacer(perMinute int) *pacer {
	if perMinute <= 0 {
		return &pacer{}
	}
	burst := max(float64(perMinute)/6, 1)
	return &pacer{interval: time.Minute / time.Duration(perMinute), burst: burst, tokens: burst}
}

// wait takes a token, sleeping until one is there or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.interval == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := p.reserve(time.Now())
	if err := ctxsleep.Sleep(ctx, d); err != nil {
		p.giveBack()
		return err
	}
	return nil
}

// giveBack returns the token of a reservation whose request is never sent (its context
// ended while it waited), so later callers do not wait for it.
func (p *pacer) giveBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens = min(p.burst, p.tokens+1)
}

// reserve takes a token at now and returns how long to wait before using it.
func (p *pacer) reserve(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		p.tokens = min(p.burst, p.tokens+float64(now.Sub(p.last))/float64(p.interval))
	}
	p.last = now
	p.tokens--
	if p.tokens < 0 {
		return time.Duration(-p.tokens * float64(p.interval))
	}
	return 0
}
