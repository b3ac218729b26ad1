package evaluate_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// startSite serves a generated site and returns the TLS settings of its client certificate.
func startSite(t *testing.T, seed uint64, users int) (*emulator.Server, *tls.Config) {
	t.Helper()
	srv := testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: seed, Users: users, Now: testkit.Now}))
	tlsCfg, err := testkit.ClientFiles(srv).TLSConfig()
	require.NoError(t, err)
	return srv, tlsCfg
}

// reasons evaluates without errors and returns each allocation's reason.
func reasons(t *testing.T, c *qrs.Client, o evaluate.Options) map[string]policy.Reason {
	t.Helper()
	res, err := evaluate.Site(t.Context(), c, o)
	require.NoError(t, err)
	require.NoError(t, res.UsersErr)
	out := map[string]policy.Reason{}
	for _, r := range res.ByType {
		require.NoError(t, r.Err)
		for _, it := range r.Items {
			out[it.Allocation.ID] = it.Decision.Reason
		}
	}
	return out
}

// The two ways of reading users — the filtered interesting users, and (when that filter
// would not fit in a URL) the candidates' records by id — give the same decisions.
func TestUserLookupStrategiesAgree(t *testing.T) {
	srv, tlsCfg := startSite(t, 71, 300)
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
		p, err := policy.Compile(&cfg)
		require.NoError(t, err)
		srv.Log.Reset()
		out := reasons(t, c, evaluate.Options{Types: []qrs.AccessType{qrs.Professional, qrs.Analyzer}, Policy: p, Now: testkit.Now, KeepItems: true})
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

// gatedUsers holds every /qrs/user request until open is closed.
type gatedUsers struct {
	base http.RoundTripper
	open chan struct{}
}

func (g gatedUsers) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/qrs/user") {
		select {
		case <-g.open:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}

// While the interesting users are still being read, the lists keep streaming: the
// allocations that need a user record are held, then decided once the users are in, with
// the decisions they would have had anyway (also when the hold is full and reading waits).
func TestListsStreamWhileUsersAreRead(t *testing.T) {
	srv, tlsCfg := startSite(t, 72, 400)
	site := srv.Site
	types := []qrs.AccessType{qrs.Professional, qrs.Analyzer}
	total := len(site.Allocations(emulator.KindProfessional)) + len(site.Allocations(emulator.KindAnalyzer))
	p, err := policy.Compile(&policy.Config{
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Analyzer:     policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Protect:      policy.ProtectConfig{Tags: []string{"License do not release"}, CustomProperties: []string{"LicenseManage=do-not-release"}},
	})
	require.NoError(t, err)

	// gate holds the users until the lists are read, or until wait has passed.
	decide := func(maxHeld int, gate bool, wait time.Duration) (map[string]policy.Reason, bool) {
		open := make(chan struct{})
		if !gate {
			close(open)
		}
		c, err := qrs.New(qrs.Config{Server: srv.URL, Transport: gatedUsers{base: &http.Transport{TLSClientConfig: tlsCfg}, open: open}})
		require.NoError(t, err)
		var (
			mu       sync.Mutex
			seen     int
			streamed bool
		)
		fallback := time.AfterFunc(wait, func() { // lists that wait for the users never read everything
			mu.Lock()
			defer mu.Unlock()
			if gate && seen < total {
				close(open)
				gate = false
			}
		})
		defer fallback.Stop()
		o := evaluate.Options{Types: types, Policy: p, Now: testkit.Now, KeepItems: true, Observe: func(qrs.AccessType, *qrs.Allocation) {
			mu.Lock()
			defer mu.Unlock()
			if seen++; seen == total && gate {
				streamed = true
				close(open)
			}
		}}
		out := reasons(t, c, evaluate.WithMaxHeld(o, maxHeld))
		require.Len(t, out, total)
		return out, streamed
	}
	want, _ := decide(0, false, 0)
	got, streamed := decide(0, true, 10*time.Second)
	require.True(t, streamed, "every allocation was read before the users arrived")
	require.Equal(t, want, got)
	bounded, streamed := decide(1, true, 100*time.Millisecond)
	require.False(t, streamed, "with a hold of 1, reading waited for the users")
	require.Equal(t, want, bounded)
	needUser := 0
	for _, r := range want {
		if r != policy.ReasonRecentlyUsed && r != policy.ReasonQuarantined && r != policy.ReasonDeletedUser {
			needUser++
		}
	}
	require.Greater(t, needUser, 10, "the site has allocations whose decision needs a user record")
}
