// Package stopping answers the one question a stop channel asks: has the stop come? The
// sidecar's runs, notices and moves check it before each change they start.
package stopping

// Requested reports whether stop is closed (a nil channel never is).
func Requested(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
