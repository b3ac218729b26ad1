package release_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

// The users' last use kept in state_dir is a tenant's: after the table's tenant changes
// (a trial tenant replaced by the production one, a URL corrected) under the same site
// name, the book the other tenant left — its watermark an hour ago, none of these users —
// must not stand for this tenant's consumption: a user who used this tenant within the
// threshold, but before that watermark, would look inactive and lose the assignment.
func TestTenantUsesOfAnotherTenantAreNotTrusted(t *testing.T) {
	trial := qcloudemu.NewTenant(qcloudemu.KnownAnswerAPIKey)
	trial.SetClock(func() time.Time { return knownNow })
	trial.AddEvent(qcloudemu.Event{ID: "e1", UserID: "trial-user", AppID: "app-1", SessionID: "s1", AllotmentID: qcloudemu.Professional,
		LicenseUsage: "assignment", EndTime: knownNow.Add(-time.Hour), Duration: time.Minute})
	e := newTenantEnv(t, trial, "", nil)
	_, err := e.runner.Plan(t.Context())
	require.NoError(t, err)

	prod, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(knownNow), CertDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { _ = prod.Close() }()
	conf := prod.PluginConfig("cloud", qcloudemu.KnownAnswerAPIKey, fmt.Sprintf("  [inputs.qliksense_license.release]\n    state_dir = %q\n%s\n", e.state, testkit.TenantPolicyTables))
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	s, err := release.LoadSite(path, slogDiscard())
	require.NoError(t, err)
	defer s.Source.Close()
	r := &release.Runner{Site: s, Log: slogDiscard(), Now: func() time.Time { return knownNow }}
	p, err := r.Plan(t.Context())
	require.NoError(t, err)
	var got []string
	for _, it := range p.Releases() {
		got = append(got, string(it.Type)+" "+it.Holder.ID)
	}
	slices.Sort(got)
	require.Equal(t, expectedReleases(), got, "the plan of the tenant's own consumption")
}
