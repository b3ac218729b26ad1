package qrssource_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/qrssource"
	"github.com/qliksense-license/qliksense-license/release/source/sourcetest"
)

// The license source conformance suite against the QRS emulator.
func TestConformance(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 60, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(srv.PluginConfig("production", "  [inputs.qliksense_license.release]\n"+testkit.PolicyTables)), 0o600))
	c := siteconfig.Defaults()
	require.NoError(t, siteconfig.Load(path, &c))
	require.NoError(t, c.Validate())
	pol, err := c.CompilePolicy()
	require.NoError(t, err)
	client, err := c.NewClient(nil)
	require.NoError(t, err)
	t.Cleanup(client.Close)
	kinds := map[string]emulator.Kind{"professional": emulator.KindProfessional, "analyzer": emulator.KindAnalyzer}
	sourcetest.Run(t, sourcetest.Harness{
		Source: qrssource.New(client), Policy: pol, Now: testkit.Now,
		Present: func(k source.Key) bool {
			a, ok := site.Allocation(kinds[string(k.Type)], k.ID)
			return ok && !a.Quarantined
		},
		Requests: func() int { return len(srv.Log.Entries()) },
		Fail: func(after bool) {
			kind := emulator.FaultReset
			if after {
				kind = emulator.FaultGatewayTimeoutAfter
			}
			srv.Faults.Inject(kind, "DELETE", "", 1)
		},
	})
}
