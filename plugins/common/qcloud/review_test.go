package qcloud_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

// A 429 on an action is the rate limiter's refusal before any effect: the client does not
// wait it out nor send it again (a stop must not be held up, nor a call sent after it),
// it returns at once a definitive 429 carrying the Retry-After; sent again by the caller,
// the action is carried out once.
func TestThrottledActionReturnsAtOnceNotDone(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(now)
	srv, c := start(t, tenant, qcloud.Config{})
	key := qcloud.Key{Type: "analyzer", Subject: `CORP\anna`}
	srv.Faults.Inject(qcloudemu.FaultTooMany, "POST", "/actions/delete", 1)
	res, err := c.DeleteAssignments(t.Context(), []qcloud.Key{key})
	require.Empty(t, res)
	require.False(t, qcloud.IsAmbiguous(err), "%v", err)
	require.Equal(t, 429, qcloud.StatusCode(err))
	var ae *qcloud.APIError
	require.ErrorAs(t, err, &ae)
	require.Positive(t, ae.RetryAfter, "the Retry-After (capped by the test's MaxRetryAfter) is the caller's to honour")
	require.Equal(t, 1, srv.Log.Count("POST", "/actions/delete"), "not sent again by the client")
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: key.Type, Subject: key.Subject}), "not done")
	require.Equal(t, int64(1), c.Stats().Throttled)

	res, err = c.DeleteAssignments(t.Context(), []qcloud.Key{key})
	require.NoError(t, err)
	require.Equal(t, []qcloud.ItemResult{{Key: key, Outcome: qcloud.Done, Status: 200}}, res)
	require.Equal(t, 2, srv.Log.Count("POST", "/actions/delete"))
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: key.Type, Subject: key.Subject}))
}
