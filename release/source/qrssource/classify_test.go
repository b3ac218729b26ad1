package qrssource_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/source/qrssource"
)

// closedAddr is an address nothing listens on (a listener opened and closed).
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// A DELETE whose connection could not be opened never reached QRS: ambiguous as any
// answer that is not QRS's own (read back, sent again once proved not done), but unsent:
// it cannot land late, so a DELETE sent again and answered 404 was not the tool's
// (audit.ResentGoneIsOurs). An answer from QRS is never unsent.
func TestClassifyAFailedConnectIsUnsent(t *testing.T) {
	c, err := qrs.New(qrs.Config{Server: "https://" + closedAddr(t), MaxRetries: -1})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	a := qrssource.Classify(c.DeleteAllocation(context.Background(), qrs.Professional, "00000000-0000-0000-0000-000000000001"))
	require.Error(t, a.Err)
	require.Equal(t, audit.AnswerAmbiguous, a.Class, "%v", a.Err)
	require.True(t, a.Retryable)
	require.True(t, a.Unsent, "%v: the connection never opened", a.Err)

	for _, err := range []error{&qrs.Error{Status: 500, Body: "QRS failed"}, &qrs.Error{Status: 504}, &qrs.Error{Status: 404}} {
		require.False(t, qrssource.Classify(err).Unsent, "%v", err)
	}
}
