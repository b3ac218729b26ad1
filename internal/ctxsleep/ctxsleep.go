// Package ctxsleep waits for a duration or until a context ends, whichever is first: the
// one waiting primitive of the QRS client's retries and the sidecar's pacing, delivery
// retries and recovery grace.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits for d, or returns ctx.Err() as soon as ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
