package cloudsource_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
)

// A whole delete call answered 429 is the rate limiter's refusal before the service saw
// it: failed (a read showing the assignment proves it not done), retryable, after at least
// its Retry-After, and unsent (it cannot land late); any other whole-call 4xx stays a refusal, never sent again. Only an
// answer with Qlik's error body is the tenant's own: a proxy's 4xx is read back.
func TestClassifyWholeCall429IsRetryableFailed(t *testing.T) {
	keys := []qcloud.Key{{Type: qcloud.Analyzer, Subject: "a"}, {Type: qcloud.Professional, Subject: "b"}}
	err := fmt.Errorf("wrapped: %w", &qcloud.APIError{Call: "deleting license assignments", Status: http.StatusTooManyRequests, Code: "HTTP-429", RetryAfter: 42 * time.Second})
	for _, a := range cloudsource.Classify(keys, nil, err) {
		require.Equal(t, audit.AnswerFailed, a.Class)
		require.True(t, a.Retryable)
		require.Equal(t, http.StatusTooManyRequests, a.Status)
		require.Equal(t, 42*time.Second, a.RetryAfter)
		require.True(t, a.Unsent, "the tenant never saw the call: it cannot land late")
		require.False(t, a.Final)
		require.Error(t, a.Err)
	}
	err = &qcloud.APIError{Call: "deleting license assignments", Status: http.StatusForbidden, Code: "HTTP-403"}
	for _, a := range cloudsource.Classify(keys, nil, err) {
		require.Equal(t, audit.AnswerRefused, a.Class)
		require.False(t, a.Retryable)
		require.True(t, errors.Is(a.Err, err))
	}

	// Without Qlik's error body (a proxy's 429 or 403): ambiguous, read back after the grace.
	for status, retryable := range map[int]bool{http.StatusTooManyRequests: true, http.StatusForbidden: false} {
		err = &qcloud.APIError{Call: "deleting license assignments", Status: status, RetryAfter: 7 * time.Second}
		for _, a := range cloudsource.Classify(keys, nil, err) {
			require.Equal(t, audit.AnswerAmbiguous, a.Class, status)
			require.Equal(t, retryable, a.Retryable, status)
			require.Equal(t, status, a.Status)
			require.False(t, a.Unsent, "a proxy's answer says nothing of whether the tenant saw the call")
		}
	}
}

// A delete call that never went out — its connection could not be opened, or its OAuth
// token could not be had — cannot land late: unsent, so a call sent again and answered
// LICENSES-016 was not the tool's (audit.ResentGoneIsOurs). A call that went out and whose
// answer was lost (a reset, a 504) or left an item out is never unsent.
func TestClassifyACallThatNeverWentOutIsUnsent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	keys := []qcloud.Key{{Type: qcloud.Analyzer, Subject: "a"}}
	for name, cfg := range map[string]qcloud.Config{
		"api key": {Tenant: "https://" + addr, APIKey: "key"},
		"oauth":   {Tenant: "https://" + addr, OAuthClientID: "id", OAuthClientSecret: "secret"},
	} {
		cfg.Retries, cfg.TLS = -1, &tls.Config{MinVersion: tls.VersionTLS12}
		c, err := qcloud.New(cfg)
		require.NoError(t, err)
		results, err := c.DeleteAssignments(context.Background(), keys)
		c.Close()
		for _, a := range cloudsource.Classify(keys, results, err) {
			require.Error(t, a.Err, name)
			require.NotEqual(t, audit.AnswerRefused, a.Class, "%s: %v", name, a.Err)
			require.True(t, a.Retryable, "%s: %v", name, a.Err)
			require.True(t, a.Unsent, "%s: %v: the call never went out", name, a.Err)
		}
	}

	for _, err := range []error{
		&qcloud.AmbiguousError{Call: "deleting", Keys: keys, Status: http.StatusGatewayTimeout},
		&qcloud.AmbiguousError{Call: "deleting", Keys: keys, Err: errors.New("connection reset by peer")},
	} {
		for _, a := range cloudsource.Classify(keys, nil, err) {
			require.False(t, a.Unsent, "%v", err)
		}
	}
	for _, a := range cloudsource.Classify(keys, []qcloud.ItemResult{}, nil) { // a 207 that left the item out
		require.False(t, a.Unsent)
	}
}

// A key a delete call carried twice has one result per item, in order: the first item's
// 200 stays done, not hidden by the second's 404.
func TestClassifyRepeatedKeyKeepsEachResult(t *testing.T) {
	k := qcloud.Key{Type: qcloud.Professional, Subject: "a"}
	res := []qcloud.ItemResult{{Key: k, Outcome: qcloud.Done, Status: 200}, {Key: k, Outcome: qcloud.NotFound, Status: 404, Code: "LICENSES-016"}}
	out := cloudsource.Classify([]qcloud.Key{k, k}, res, nil)
	require.Equal(t, audit.AnswerDone, out[0].Class)
	require.True(t, out[0].Final)
	require.Equal(t, audit.AnswerRefused, out[1].Class)
	require.True(t, out[1].Gone)
}
