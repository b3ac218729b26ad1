package audit

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// The truth rule: when the outcome of a change request (a DELETE that releases, a POST
// that gives access, a DELETE that undoes) may be recorded. It is stated here once, for
// every change of the sidecar, in terms any license source can answer (how the change
// was answered, what a read shows), so that a source other than QRS keeps it by
// classifying its own answers (see AnswerOfQRS).
//
//   - A definitive answer settles the change as it says: done (2xx), or refused (a 4xx
//     the service itself sent: nothing changed).
//   - Any other answer is ambiguous, and the change is read back. A read that shows the
//     change done settles it at once, as done.
//   - A read that shows the old state settles it as not done only when the answer proves
//     the service did not act (it answered with its own error: a 500 from QRS), or once
//     the settle grace has passed since the answer came (a gateway may answer 504 at once
//     while the service finishes the change later; a client that timed out gave up while
//     the service was still working on it, so the grace cannot run from the request).
//     Until then the change stays
//     open: its intent stays in the in-flight file, the run reads it again before it
//     ends, and the next run's recovery settles what is still open.
//   - A read that fails settles nothing.
//
// A change settled as not done after a retryable answer (a 5xx, a 429, a connection
// error) may be sent again: the read proved that doing so cannot do it twice.
//
// A change sent again whose new send is answered "gone" (the service's own "not found":
// QRS's 404, a tenant's LICENSES-016) was freed between the read and the new send. The
// only known cause is the tool's own earlier send landing late: the grace is the rule's
// bound on a late effect, not a proof that none comes, and a service that answered with
// its own failure may still apply the change. So it is settled as done, by the tool
// (ResentGoneIsOurs), when an earlier send reached the service (not a rate limiter's
// refusal of the whole call, which the service never saw) and the last read that proved
// the change not done came before twice the settle grace had passed since the answer to
// the latest such send: a read that may not have seen a late effect yet. (Sent three
// times, a 504 then a tenant's 429: the 504's send may still land late.) A read later than that showed the holder present
// long after any effect of the earlier send could land: the holder was then removed by
// someone else, and the change is recorded as refused because the holder is gone.

// Answer is how a change request was answered.
type Answer int

const (
	// AnswerDone: the service answered that it made the change (2xx).
	AnswerDone Answer = iota
	// AnswerRefused: the service itself refused it (its own 4xx): nothing changed.
	AnswerRefused
	// AnswerFailed: the service itself answered that it failed (QRS's own 500): the
	// change may or may not be done, but a read showing the old state proves it is not.
	AnswerFailed
	// AnswerAmbiguous: anything else (a gateway's 502/503/504, a proxy's 408/429/499, a
	// timeout, a reset, a lost answer): says nothing of what the service did.
	AnswerAmbiguous
)

// Read is what a read-back of the changed object shows.
type Read int

const (
	ReadFailed  Read = iota // the read failed: nothing known
	ReadChanged             // the change is done
	ReadOld                 // the object is as before the change
)

// Verdict is what the rule says of a change after a read.
type Verdict int

const (
	Pending Verdict = iota // not known yet: the intent stays open
	Done                   // the change is done
	NotDone                // the change is not done, for certain
)

// Settle applies the truth rule to a change answered `answer` at `answered` (when the
// answer, the error or the timeout came: not when the request was sent), whose read-back
// at `now` shows `read`, with the site's settle grace.
func Settle(answer Answer, read Read, answered, now time.Time, grace time.Duration) Verdict {
	switch {
	case answer == AnswerRefused:
		return NotDone
	case read == ReadFailed:
		return Pending
	case read == ReadChanged:
		return Done
	case answer == AnswerDone, answer == AnswerFailed, !now.Before(answered.Add(grace)):
		// (A 2xx whose read shows the old state is not done either: the read wins.)
		return NotDone
	}
	return Pending
}

// AnswerOfQRS classifies a QRS client's answer to a change request (qrs.Definitive):
// nil is done; a 4xx QRS sent is refused; a 500 QRS sent with its own error text is
// failed; everything else is ambiguous.
func AnswerOfQRS(err error) Answer {
	switch {
	case err == nil:
		return AnswerDone
	case qrs.Definitive(err):
		return AnswerRefused
	case qrs.ServiceFailed(err):
		return AnswerFailed
	}
	return AnswerAmbiguous
}

// ResentGoneIsOurs applies the rule above to a change sent again and answered "gone":
// the latest earlier send that reached the service was answered at `answered` (unsent:
// none did, each was a refusal the service never saw), and the last read proved the
// change not done at `proved`. True: the earlier send freed the seat
// (done, by the tool); false: someone else did (refused: gone).
func ResentGoneIsOurs(unsent bool, answered, proved time.Time, grace time.Duration) bool {
	return !unsent && proved.Before(answered.Add(2*grace))
}

// NotSent reports whether err proves that a change request never reached the service:
// its connection could not be opened (refused, unreachable, a name that does not
// resolve). Go's transport writes nothing on a connection it could not open, and replays
// a DELETE or POST on a new connection only when nothing of it was written. (An ambiguous
// answer otherwise: read back; only it cannot land late, see ResentGoneIsOurs.)
func NotSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Retryable reports whether a change whose read proved it not done may be sent again: its
// answer was a 5xx, a 429 or a connection error (never a refusal).
func Retryable(err error) bool {
	if err == nil || qrs.Definitive(err) {
		return false
	}
	s := qrs.StatusCode(err)
	return s == 0 || s == http.StatusTooManyRequests || s >= 500
}
