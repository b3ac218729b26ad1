package release_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// randomPolicy is a policy drawn at random, kept as plain data for the oracle.
type randomPolicy struct {
	days                                            map[emulator.Kind]int // enabled kinds
	users, dirs, tags, cpValues                     []string
	protectInactive, protectBlocked, protectRemoved bool
	alwaysInactive, alwaysRemoved                   bool
	dryRun                                          bool
	max                                             int
}

func (p randomPolicy) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "    dry_run = %t\n    max_releases_per_run = %d\n", p.dryRun, p.max)
	fmt.Fprintf(&b, "    always_release_inactive = %t\n    always_release_removed_externally = %t\n", p.alwaysInactive, p.alwaysRemoved)
	for k, key := range map[emulator.Kind]string{emulator.KindProfessional: "professional", emulator.KindAnalyzer: "analyzer", emulator.KindUser: "user_pass"} {
		if d, ok := p.days[k]; ok {
			fmt.Fprintf(&b, "    [inputs.qliksense_license.release.%s]\n      enabled = true\n      inactive_days = %d\n", key, d)
		}
	}
	q := func(list []string) string {
		var out []string
		for _, s := range list {
			out = append(out, fmt.Sprintf("%q", s))
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	var cps []string
	for _, v := range p.cpValues {
		cps = append(cps, "LicenseManage="+v)
	}
	fmt.Fprintf(&b, "    [inputs.qliksense_license.release.protect]\n      users = %s\n      user_directories = %s\n      tags = %s\n      custom_properties = %s\n",
		q(p.users), q(p.dirs), q(p.tags), q(cps))
	fmt.Fprintf(&b, "      inactive_users = %t\n      blocked_users = %t\n      removed_externally_users = %t\n", p.protectInactive, p.protectBlocked, p.protectRemoved)
	return b.String()
}

func drawPolicy(rng *rand.Rand, site *emulator.Site) randomPolicy {
	p := randomPolicy{days: map[emulator.Kind]int{}, max: 1 + rng.IntN(60), dryRun: rng.IntN(5) == 0}
	for _, k := range emulator.Kinds {
		if rng.IntN(10) < 7 {
			p.days[k] = []int{1, 7, 30, 60, 90, 365}[rng.IntN(6)]
		}
	}
	ids := site.UserIDs()
	for range rng.IntN(6) {
		u, _ := site.User(ids[rng.IntN(len(ids))])
		name := u.UserDirectory + `\` + u.UserID
		if rng.IntN(2) == 0 {
			name = strings.ToUpper(name)
		}
		p.users = append(p.users, name)
	}
	for _, d := range []string{"internal", "LAB", "corp"} {
		if rng.IntN(4) == 0 {
			p.dirs = append(p.dirs, d)
		}
	}
	for _, tg := range []string{"License do not release", "vip"} {
		if rng.IntN(2) == 0 {
			p.tags = append(p.tags, tg)
		}
	}
	if rng.IntN(2) == 0 {
		p.cpValues = []string{"DO-NOT-RELEASE"}
	}
	p.protectInactive, p.protectBlocked, p.protectRemoved = rng.IntN(3) == 0, rng.IntN(3) == 0, rng.IntN(3) == 0
	p.alwaysInactive = !p.protectInactive && rng.IntN(3) == 0
	p.alwaysRemoved = !p.protectRemoved && rng.IntN(3) == 0
	return p
}

// protected is the oracle: written from the rules of docs/releases.md, not from the policy code.
func (p randomPolicy) protected(u emulator.User) bool {
	name := strings.ToLower(u.UserDirectory + `\` + u.UserID)
	for _, x := range p.users {
		if strings.ToLower(x) == name {
			return true
		}
	}
	for _, d := range p.dirs {
		if strings.EqualFold(d, u.UserDirectory) {
			return true
		}
	}
	for _, tg := range u.Tags {
		for _, x := range p.tags {
			if strings.EqualFold(x, tg.Name) {
				return true
			}
		}
	}
	for _, cp := range u.CustomProperties {
		for _, v := range p.cpValues {
			if strings.EqualFold(cp.Name, "LicenseManage") && strings.EqualFold(cp.Value, v) {
				return true
			}
		}
	}
	return (p.protectInactive && u.Inactive) || (p.protectBlocked && u.Blacklisted) || (p.protectRemoved && u.RemovedExternally)
}

// Over many random sites and policies: nothing protected or quarantined is released,
// nothing used within its threshold is released (unless an always_release rule says so),
// what a run releases is exactly what the plan said minus the re-check's skips, each with
// its reason, and a dry run changes nothing.
func TestInvariants(t *testing.T) {
	rounds := 24
	if testing.Short() {
		rounds = 4
	}
	for seed := range rounds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			site := emulator.Generate(emulator.SiteSpec{Seed: uint64(seed), Users: 40 + rng.IntN(260), TokenModel: rng.IntN(4) == 0, Now: testkit.Now})
			pol := drawPolicy(rng, site)
			e := newEnv(t, site, pol.toml())
			before := map[string]emulator.Allocation{}
			for _, k := range emulator.Kinds {
				for _, a := range site.Allocations(k) {
					before[a.ID] = a
				}
			}
			p, err := e.runner.Plan(t.Context())
			require.NoError(t, err)
			require.Empty(t, p.Errors)

			// Life goes on between the plan and the run: some users come back, some get protected.
			touched, tagged := map[string]bool{}, map[string]bool{}
			for _, it := range p.Releases() {
				switch rng.IntN(8) {
				case 0:
					require.NoError(t, site.Touch(emulator.Kind(it.Type), it.Holder.ID, testkit.Now))
					touched[it.Holder.ID] = true
				case 1:
					if len(pol.tags) > 0 {
						require.NoError(t, site.UpdateUser(it.Holder.User, func(u *emulator.User) {
							u.Tags = append(u.Tags, emulator.Tag{ID: "aaaaaaaa-0000-4000-8000-00000000000b", Name: pol.tags[0]})
						}))
						tagged[it.Holder.User] = true
					}
				}
			}
			rec := &memRecorder{}
			ex := &release.Executor{
				Source: e.site.Source, Policy: e.site.Policy, Site: "production",
				Now: func() time.Time { return testkit.Now }, Concurrency: 1 + rng.IntN(3), Recorder: rec, Log: slogDiscard(),
			}
			sum := ex.Run(t.Context(), nil, p)

			changed := map[string]bool{}
			for id, a := range before {
				b, ok := site.Allocation(a.Kind, id)
				if !ok || (b.Quarantined && !a.Quarantined) {
					changed[id] = true
				}
			}
			if pol.dryRun {
				require.Empty(t, changed, "a dry run changes nothing")
				require.Zero(t, e.srv.Log.Count("DELETE", ""))
				require.Equal(t, len(p.Releases()), sum.WouldRelease)
				return
			}
			planned := map[string]plan.Item{}
			for _, it := range p.Releases() {
				planned[it.Holder.ID] = it
			}
			require.LessOrEqual(t, len(planned), pol.max)
			for id := range changed {
				it, ok := planned[id]
				require.True(t, ok, "%s released without being planned", id)
				a := before[id]
				require.False(t, a.Quarantined, "a quarantined allocation was released")
				u, found := site.User(a.UserRef)
				require.True(t, found)
				require.False(t, pol.protected(u), "%s\\%s is protected", u.UserDirectory, u.UserID)
				require.False(t, touched[id], "used since the plan, yet released")
				days, enabled := pol.days[a.Kind]
				require.True(t, enabled)
				from := a.LastUsed
				if from.IsZero() {
					from = a.Created
				}
				if testkit.Now.Sub(from) < time.Duration(days)*24*time.Hour {
					require.True(t, (pol.alwaysInactive && u.Inactive) || (pol.alwaysRemoved && u.RemovedExternally),
						"%s used within its threshold and released by %s", id, it.Decision.Reason)
				}
			}
			results := map[string]audit.Outcome{}
			for _, o := range rec.outcomes {
				_, dup := results[o.AllocationID]
				require.False(t, dup, "one outcome per allocation")
				results[o.AllocationID] = o
			}
			require.Len(t, results, len(planned), "every planned release has an outcome")
			for id := range planned {
				o := results[id]
				switch o.Result {
				case audit.Released, audit.Quarantined:
					require.True(t, changed[id], "%s reported %s but unchanged", id, o.Result)
				case audit.Skipped:
					require.False(t, changed[id])
					require.NotEmpty(t, o.Reason)
					require.True(t, touched[id] || tagged[before[id].UserRef], "skipped %s (%s) without a reason to", id, o.Reason)
				default:
					t.Fatalf("unexpected outcome %s for %s: %s", o.Result, id, o.Detail)
				}
			}
			for id := range touched {
				if _, ok := planned[id]; ok {
					require.Equal(t, audit.Skipped, results[id].Result)
					require.Equal(t, release.ReasonUsedSincePlan, results[id].Reason)
				}
			}
			require.Equal(t, len(changed), sum.Released+sum.Quarantined)
		})
	}
}
