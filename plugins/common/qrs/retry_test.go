package qrs_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

func TestGetIsRetriedOnServerErrorsAndResets(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	c := certClient(t, srv)
	srv.Faults.Inject(emulator.FaultServerError, "GET", "", 1)
	srv.Faults.Inject(emulator.FaultReset, "GET", "", 1)
	srv.Faults.Inject(emulator.FaultUnavailable, "GET", "", 1)
	_, err := c.About(t.Context())
	require.NoError(t, err)
	// Each fault was met once; the reset may be retried by the HTTP transport itself
	// (an idempotent request on a reused connection) or by the client.
	require.Equal(t, 4, srv.Log.Count(http.MethodGet, "/qrs/about"))
	st := c.Stats()
	require.GreaterOrEqual(t, st.Retries, int64(2))
	require.Equal(t, int64(0), st.Errors)
}

func TestRetriesAreBounded(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	c := newClient(t, qrs.Config{Server: srv.URL, MaxRetries: 2}, testkit.ClientFiles(srv))
	srv.Faults.Inject(emulator.FaultServerError, "GET", "", 10)
	_, err := c.AccessTypeOverview(t.Context())
	require.EqualError(t, err, "GET /qrs/license/accesstypeoverview: 500 Internal Server Error: Internal Server Error")
	require.Equal(t, 3, srv.Log.Count(http.MethodGet, "accesstypeoverview"))
	require.Equal(t, int64(1), c.Stats().Errors)
}

func TestDeleteIsNeverRetried(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 40})
	c := certClient(t, srv)
	id := srv.Site.Allocations(emulator.KindProfessional)[0].ID
	for _, f := range []emulator.FaultKind{emulator.FaultServerError, emulator.FaultReset, emulator.FaultTooMany} {
		srv.Log.Reset()
		srv.Faults.Inject(f, "DELETE", "", 1)
		err := c.DeleteAllocation(t.Context(), qrs.Professional, id)
		require.Error(t, err, string(f))
		require.Contains(t, err.Error(), "DELETE /qrs/license/professionalaccesstype/"+id+": ")
		require.Equal(t, 1, srv.Log.Count(http.MethodDelete, ""), string(f))
	}
	_, still := srv.Site.Allocation(emulator.KindProfessional, id)
	require.True(t, still, "no fault may have released it")

	require.NoError(t, c.DeleteAllocation(t.Context(), qrs.Professional, id))
	require.Equal(t, http.StatusNoContent, srv.Log.Entries()[len(srv.Log.Entries())-1].Status)
}
