package qcloud_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

// A 429 on an action is the rate limiter's refusal before any effect: the action is sent
// again after Retry-After and carried out once, with a definitive item status.
func TestThrottledActionIsSentAgainAndDoneOnce(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	srv, c := start(t, tenant, qcloud.Config{})
	key := qcloud.Key{Type: "analyzer", Subject: `CORP\anna`}
	srv.Faults.Inject(qcloudemu.FaultTooMany, "POST", "/actions/delete", 1)
	res, err := c.DeleteAssignments(t.Context(), []qcloud.Key{key})
	require.NoError(t, err)
	require.Equal(t, []qcloud.ItemResult{{Key: key, Outcome: qcloud.Done, Status: 200}}, res)
	require.Equal(t, 2, srv.Log.Count("POST", "/actions/delete"))
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: key.Type, Subject: key.Subject}))
	require.Equal(t, int64(1), c.Stats().Throttled)
}
