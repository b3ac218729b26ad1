package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// 504 at once, the DELETE carried out later; QRS's own 403 on one entity type while the
// others work; every n-th request a 500.
func TestLateAndRefusingFaults(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: 20, Now: testkit.Now})
	srv := start(t, site)
	c := rawClient(t, srv)
	pros := site.Allocations(emulator.KindProfessional)
	require.GreaterOrEqual(t, len(pros), 3)

	srv.Faults.Configure(emulator.FaultConfig{LateEffect: 200 * time.Millisecond})
	srv.Faults.Inject(emulator.FaultGatewayTimeoutLate, http.MethodDelete, "", 1)
	status, _ := send(t, c, http.MethodDelete, srv.URL+"/qrs/license/professionalaccesstype/"+pros[0].ID)
	require.Equal(t, http.StatusGatewayTimeout, status)
	changed := func(id string) bool {
		a, ok := site.Allocation(emulator.KindProfessional, id)
		return !ok || a.Quarantined
	}
	require.False(t, changed(pros[0].ID), "answered before the effect")
	require.Eventually(t, func() bool { return changed(pros[0].ID) }, 5*time.Second, 10*time.Millisecond, "carried out later")

	srv.Faults.Configure(emulator.FaultConfig{ForbiddenRate: 1, Method: http.MethodDelete, PathContains: "/professionalaccesstype/"})
	status, body := send(t, c, http.MethodDelete, srv.URL+"/qrs/license/professionalaccesstype/"+pros[1].ID)
	require.Equal(t, http.StatusForbidden, status, body)
	require.False(t, changed(pros[1].ID), "refused: nothing changed")
	status, _ = get(t, c, srv.URL+"/qrs/license/professionalaccesstype/full")
	require.Equal(t, http.StatusOK, status, "only the DELETEs of that type are refused")

	srv.Faults.Configure(emulator.FaultConfig{EveryNth: 3})
	var statuses []int
	for range 6 {
		s, _ := get(t, c, srv.URL+"/qrs/about")
		statuses = append(statuses, s)
	}
	require.Equal(t, []int{200, 200, 500, 200, 200, 500}, statuses)
}
