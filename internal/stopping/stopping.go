// Package stopping answers the questions a stop channel asks: has the stop come (checked
// before each change a run, its notices and its moves start), and a context that ends
// with it (for what waits: pacing, a notice waiting for the mail rate limit).
package stopping

import "context"

// Requested reports whether stop is closed (a nil channel never is).
func Requested(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// Context is ctx, cancelled also when stop closes. Call cancel when done.
func Context(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-sctx.Done():
		}
	}()
	return sctx, cancel
}
