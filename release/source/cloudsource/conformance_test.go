package cloudsource_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
	"github.com/qliksense-license/qliksense-license/release/source/sourcetest"
)

// The license source conformance suite against the Qlik Cloud emulator's known-answer
// tenant.
func TestConformance(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	srv, tenant, client := knownTenant(t, now)
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
