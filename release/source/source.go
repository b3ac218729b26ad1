// Package source is what the release engine stands on: a license source. The engine
// (release) plans, re-checks, batches, paces, records and settles by the truth rule once;
// a source answers what it needs of one product — the holders of the licenses with their
// decisions, a re-check of a part right before the change, the change itself for a
// batch, and a read-back — and classifies each answer for the truth rule
// (audit.Settle). Two sources sit side by side, as restic's backends do: qrssource (a
// Qlik Sense site's QRS) and cloudsource (a Qlik Cloud tenant). The engine has no other
// knowledge of either.
//
// A holder is identified by its type and an id: a QRS allocation's id, or a Qlik Cloud
// assignment's subject (an assignment is its type and its user's subject). The audit
// log's allocation_id is that id.
package source

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// Source is a license source. Its methods are safe for concurrent use. Every method that
// reads or changes takes a context and ends with it; Release and ReadBack are given
// contexts detached from a stop (a change once sent is never cut).
type Source interface {
	// Words names the source's things in outcomes and logs.
	Words() Words
	// ID identifies the source, stable across runs and free of secrets ("qrs:host:port",
	// "tenant:host"): the in-flight journal notes it with each intent, so a site repointed
	// to another source never settles an intent against the wrong one.
	ID() string
	// Plan reads every holder of the types pol enables and decides each with pol at now
	// (stage, which may be nil, stages the candidates of types that give notice, given the
	// source's lookup of users' addresses: nil when the plan's items carry them). A list
	// that cannot be read is in the plan's Errors, its type unplanned; an error means
	// nothing could be planned.
	Plan(ctx context.Context, pol *policy.Policy, site string, now time.Time, stage plan.Stager) (*plan.Plan, error)
	// PartSize is how many of items one re-check and one read-back request hold, at most
	// limit (at least 1).
	PartSize(items []plan.Item, limit int) int
	// MixedParts reports whether one part may hold holders of several types (its re-check
	// and its change take them together: Qlik Cloud); otherwise parts hold one type each.
	MixedParts() bool
	// Recheck re-reads items (all of type t; of any type when t is "", for a source with
	// MixedParts), right before their change, and decides each again at now: one Checked
	// per item, in order; a Checked that is not Skip carries the fresh decision. An error
	// means the re-read failed: nothing of items may be changed (its text says what was
	// being read).
	Recheck(ctx context.Context, pol *policy.Policy, t qrs.AccessType, items []plan.Item, now time.Time) ([]Checked, error)
	// BatchSize is how many items one Release call carries: 1 when the source changes one
	// holder per request (QRS: one DELETE per allocation, paced by the engine).
	BatchSize() int
	// Release sends the change of items (at most BatchSize, of one part) and returns
	// one Answer per item, in order, as the source answered it. It never retries a change
	// whose answer was ambiguous: the engine reads it back first.
	Release(ctx context.Context, items []plan.Item) []Answer
	// ReadBack reads the holders of keys as they are now. A key absent from the result is
	// gone (the change is done); a present one is as before, or quarantined (Back). An
	// error settles nothing.
	ReadBack(ctx context.Context, keys []Key) (map[Key]Back, error)
	// Timeout is a request's deadline (the default settle grace: how long after an
	// ambiguous answer a read showing the old state proves nothing).
	Timeout() time.Duration
	// RetryBudget is how many times a change proved not done may be sent again, waiting
	// Backoff(attempt) before each.
	RetryBudget() int
	Backoff(attempt int) time.Duration
	// Close releases idle connections.
	Close()
}

// Answer is how the source answered the change of one item, classified for the truth
// rule (audit.Settle):
//
//   - done (audit.AnswerDone): the source said it made the change. Final: the answer
//     says all there is (a Qlik Cloud item 200); otherwise the engine reads it back
//     (QRS: released or quarantined).
//   - refused (audit.AnswerRefused): the source itself refused it; nothing changed. Gone:
//     it refused because the holder does not exist (recorded skipped, reason gone — or,
//     for a change sent again after a read proved it not done, released when the earlier
//     send may have landed late: audit.ResentGoneIsOurs); otherwise recorded failed.
//   - failed (audit.AnswerFailed): the source itself said it failed (or its rate limiter
//     refused the whole call: a Qlik Cloud 429, Retryable); a read showing the old state
//     proves it not done.
//   - unknown (audit.AnswerAmbiguous): the answer says nothing of what the source did (a
//     gateway's 5xx, a timeout, a lost answer); read back, and "not changed yet" right
//     after proves nothing until the settle grace has passed.
type Answer struct {
	Err   error // nil when done
	Class audit.Answer
	Final bool
	Gone  bool
	// Retryable: once a read proved it not done, the change may be sent again (a 5xx, a
	// 429 or a connection failure; never a refusal).
	Retryable bool
	// Unsent: the service certainly never saw the change (a Qlik Cloud rate limiter's
	// 429 refused the whole call before it; its connection could not be opened,
	// audit.NotSent; a tenant's OAuth token could not be had): it cannot land late, so a
	// change sent again and then answered gone was freed by someone else
	// (audit.ResentGoneIsOurs).
	Unsent bool
	// Status is the HTTP status of the answer (0: none came), for outcomes' details.
	Status int
	// RetryAfter is the least wait before the change is sent again (a 429's Retry-After;
	// 0: the source's Backoff alone).
	RetryAfter time.Duration
}

// Key names a holder: its type and its id (a QRS allocation id, a Qlik Cloud subject).
type Key struct {
	Type qrs.AccessType
	ID   string
}

// KeyOf is the key of a plan item.
func KeyOf(it *plan.Item) Key { return Key{Type: it.Type, ID: it.Holder.ID} }

// Back is a holder read back: still there, or quarantined (QRS frees the seat when its
// quarantine ends; the change counts as done).
type Back struct {
	Quarantined bool
	Detail      string // what the read shows of a quarantine, for the outcome
}

// Checked is one item of a re-check: ready, with its fresh decision, or skipped with the
// reason and detail to record.
type Checked struct {
	Item   plan.Item
	Skip   bool
	Reason string
	Detail string
}

// Words name a source's things in outcomes and logs.
type Words struct {
	Service string // who answers: "QRS", "the tenant"
	Change  string // one change request: "DELETE", "delete call"
	Holder  string // what is released: "allocation", "assignment"
	// Gone is the detail of a change refused because the holder does not exist.
	Gone string
	// Done is how the source says a change is made, e.g. "QRS answered 204".
	Done string
}

// Reasons of skipped outcomes a re-check gives (released ones carry the policy's reason).
const (
	ReasonGone          = "gone"
	ReasonUsedSincePlan = "used_since_plan"
	ReasonRecheckFailed = "recheck_failed"
	// ReasonUserUnknown: an assignment the users read found no user for, which the
	// tenant's own orphan view does not list either — an orphan unconfirmed is kept.
	ReasonUserUnknown = "user_unknown"
)

// HostOf is the host (and port) of a base URL, for ID: no scheme, path or user info (the
// URL itself when it has no host), in lower case and without the scheme's default port,
// so that writing the same server another way does not make it another source.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (p == "443" && strings.EqualFold(u.Scheme, "https")) || (p == "80" && strings.EqualFold(u.Scheme, "http")) {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	return host
}
