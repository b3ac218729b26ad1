package notices

import (
	"context"
	"fmt"

	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// Stager returns the plan's Stager for the given policy and notice state: it gives each
// release candidate of a type with notice_days its stage — notice (its user is told at
// this run), waiting (told; the period is not over) or release — from the notice state.
// Only the candidates still to be told need an address: those whose item has none are
// looked up with the source's lookup, in one call (a site's QRS: as few requests as
// qrs.Client.LookupUsers takes; none once every candidate was told; a tenant's users were
// read with the plan, with their email). A candidate whose user has no address is kept
// (no_email) or released without notice, as release.notice.without_email says; so is a
// holder without a user (a Qlik Cloud orphan): there is no one to tell.
func (n *Notifier) Stager(pol *policy.Policy, state *notice.State) plan.Stager {
	return func(ctx context.Context, p *plan.Plan, lookup plan.Lookup) error {
		return n.stage(ctx, lookup, pol, state, p)
	}
}

// needsLookup reports whether a candidate to tell is looked up: it has a user but no
// address, and the source can read one.
func needsLookup(it *plan.Item, lookup plan.Lookup) bool {
	return lookup != nil && it.Email == "" && it.Holder.User != ""
}

func (n *Notifier) stage(ctx context.Context, lookup plan.Lookup, pol *policy.Policy, state *notice.State, p *plan.Plan) error {
	p.Staged = map[qrs.AccessType]bool{}
	for t, complete := range p.Complete {
		if complete && pol.NoticeDays(t) > 0 {
			p.Staged[t] = true
		}
	}
	var toTell []*plan.Item
	var ids []string
	for i := range p.Items {
		it := &p.Items[i]
		days := pol.NoticeDays(it.Type)
		if it.Decision.Verdict != policy.Release || days == 0 {
			continue
		}
		k := keyOf(it)
		stage, from := state.StageOf(k, days, p.Now)
		rec := state.Of(k)
		switch stage {
		case notice.Notice:
			toTell = append(toTell, it)
			if needsLookup(it, lookup) {
				ids = append(ids, it.Holder.User)
			}
		case notice.Waiting:
			it.Decision.Verdict = policy.Waiting
			it.Email, it.NoticedAt, it.ReleasableFrom = rec.Email, rec.NoticedAt, from
			it.Decision.Detail += fmt.Sprintf("; noticed on %s, releasable from %s", n.formatDate(rec.NoticedAt), n.formatDate(from))
		case notice.Release:
			it.Email, it.NoticedAt, it.ReleasableFrom = rec.Email, rec.NoticedAt, from
			it.AddNote("noticed on " + n.formatDate(rec.NoticedAt))
		}
	}
	if len(toTell) == 0 {
		return nil
	}
	var contacts map[string]plan.Contact
	if len(ids) > 0 {
		var err error
		if contacts, err = lookup(ctx, ids); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.Errors = append(p.Errors, fmt.Errorf("reading users for their notice addresses: %w", err))
			for _, it := range toTell {
				if needsLookup(it, lookup) {
					p.Staged[it.Type] = false
					it.Decision.Verdict, it.Decision.Reason = policy.Keep, policy.ReasonUserUnknown
					it.Decision.Detail = "the user record (for the notice address) could not be read"
				}
			}
		}
	}
	for _, it := range toTell {
		if it.Decision.Verdict != policy.Release { // its user could not be read
			continue
		}
		if needsLookup(it, lookup) {
			c, ok := contacts[it.Holder.User]
			if !ok {
				it.Decision.Verdict, it.Decision.Reason, it.Decision.Detail = policy.Keep, policy.ReasonUserUnknown, "the user record (for the notice address) is gone"
				continue
			}
			it.Holder.UserName, it.Email = c.Name, c.Email
		}
		if it.Email == "" { // no address; a holder without a user (an orphan) has no one to tell
			note, why := "no email address", "the user has no email attribute for the notice"
			if it.Holder.User == "" {
				note, why = "no user to tell", "no user to tell (the holder has no user)"
			}
			if n.Settings.ReleaseWithoutEmail {
				it.AddNote(note + ": released without notice")
				continue
			}
			it.Decision.Verdict, it.Decision.Reason = policy.Keep, policy.ReasonNoEmail
			it.Decision.Detail += "; " + why + ` (release.notice.without_email = "keep")`
			continue
		}
		days := pol.NoticeDays(it.Type)
		it.Decision.Verdict = policy.Notice
		it.ReleasableFrom = n.ReleaseDate(p.Now, days)
		it.Decision.Detail += fmt.Sprintf("; notice of %d days: releasable from %s", days, n.formatDate(it.ReleasableFrom))
		if rec := state.Of(keyOf(it)); rec != nil && rec.Failures > 0 {
			it.AddNote(fmt.Sprintf("%d earlier notice(s) refused by the mail server", rec.Failures))
		}
	}
	return nil
}

// keyOf is the notice state's key of a plan item: its holder in its current episode.
func keyOf(it *plan.Item) notice.Key {
	k := notice.KeyOf(it.Type, it.Holder.ID, it.Holder.LastUsed, it.Holder.Created)
	k.NoUseSince = it.Holder.NoUseSince
	return k
}
