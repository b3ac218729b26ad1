package testkit

import (
	"testing"

	"go.uber.org/goleak"
)

// NoGoroutineLeaks checks, once every cleanup of the test has run (servers closed
// included), that no goroutine started during the test is left. Call it first in the
// test, so its check is the last cleanup.
func NoGoroutineLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, ignore,
			// memguard (behind Telegraf's config.Secret) starts one key-rotation goroutine
			// per process, at the first secret, on purpose.
			goleak.IgnoreTopFunction("github.com/awnumar/memguard/core.NewCoffer.func1"))
	})
}
