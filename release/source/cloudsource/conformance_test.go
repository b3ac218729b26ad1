package cloudsource_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
	"github.com/qliksense-license/qliksense-license/release/source/sourcetest"
)

// The license source conformance suite against the Qlik Cloud emulator's known-answer
// tenant.
func TestConformance(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	tenant := qcloudemu.KnownAnswer(now)
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	client, err := qcloud.New(qcloud.Config{Tenant: srv.URL, APIKey: qcloudemu.KnownAnswerAPIKey, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool),
		Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}, Analyzer: policy.TypeConfig{Enabled: true, InactiveDays: 30},
		Protect: policy.ProtectConfig{Roles: []string{"TenantAdmin"}}})
	require.NoError(t, err)
	sourcetest.Run(t, sourcetest.Harness{
		Source: cloudsource.New(client, cloudsource.Options{Timeout: time.Minute, Retries: 3}), Policy: pol, Now: now,
		Present: func(k source.Key) bool {
			return tenant.HasAssignment(qcloudemu.AssignmentKey{Type: string(k.Type), Subject: k.ID})
		},
		Requests: func() int { return len(srv.Log.Entries()) },
		Fail: func(after bool) {
			kind := qcloudemu.FaultReset
			if after {
				kind = qcloudemu.FaultGatewayTimeoutAfter
			}
			srv.Faults.Inject(kind, "POST", "actions/delete", 1)
		},
	})
}
