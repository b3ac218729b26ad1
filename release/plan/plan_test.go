package plan_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs/emulator"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/policy"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// The two ways of reading users — the filtered interesting users, and (when that filter
// would not fit in a URL) the candidates' records by id — give the same decisions.
func TestUserLookupStrategiesAgree(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 71, Users: 300, Now: now})
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	d := srv.Certs.Dir
	tlsCfg, err := qrs.TLSFiles{CA: filepath.Join(d, "root.pem"), Cert: filepath.Join(d, "client.pem"), Key: filepath.Join(d, "client_key.pem")}.Config()
	require.NoError(t, err)
	c, err := qrs.New(qrs.Config{Server: srv.URL, TLS: tlsCfg})
	require.NoError(t, err)

	short := policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 60},
		Protect:      policy.ProtectConfig{Tags: []string{"License do not release"}, CustomProperties: []string{"LicenseManage=do-not-release"}, BlockedUsers: true},
	}
	long := short
	long.Protect.Tags = append([]string{"License do not release"}, make([]string, 0, 120)...)
	for i := range 120 {
		long.Protect.Tags = append(long.Protect.Tags, fmt.Sprintf("no such tag %03d", i))
	}
	decide := func(cfg policy.Config) (map[string]policy.Reason, int) {
		p, err := cfg.Compile()
		require.NoError(t, err)
		srv.Log.Reset()
		res, err := plan.Evaluate(t.Context(), c, plan.Options{Types: []qrs.AccessType{qrs.Professional, qrs.Analyzer}, Policy: p, Now: now, KeepItems: true})
		require.NoError(t, err)
		require.NoError(t, res.UsersErr)
		out := map[string]policy.Reason{}
		for _, r := range res.ByType {
			require.NoError(t, r.Err)
			for _, it := range r.Items {
				out[it.Allocation.ID] = it.Decision.Reason
			}
		}
		return out, srv.Log.Count("GET", "/qrs/user")
	}
	a, usersA := decide(short)
	b, usersB := decide(long)
	require.Equal(t, a, b)
	require.Equal(t, 1, usersA, "one filtered request for the interesting users")
	require.GreaterOrEqual(t, usersB, 1)
	protected := 0
	for _, r := range a {
		if r == policy.ReasonProtectedTag || r == policy.ReasonProtectedCustomProperty || r == policy.ReasonProtectedBlocked {
			protected++
		}
	}
	require.Positive(t, protected, "the site has users the user rules protect")
}
