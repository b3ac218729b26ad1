package cloudsource_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

// knownTenant serves the emulator's known-answer tenant at now and returns it with a
// client of it (the known-answer API key).
func knownTenant(t *testing.T, now time.Time) (*qcloudemu.Server, *qcloudemu.Tenant, *qcloud.Client) {
	t.Helper()
	tenant := qcloudemu.KnownAnswer(now)
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	client, err := qcloud.New(qcloud.Config{Tenant: srv.URL, APIKey: qcloudemu.KnownAnswerAPIKey, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	return srv, tenant, client
}
