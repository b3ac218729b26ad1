package qrs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// The client is a library of its own (the plugin and the sidecar validate server before,
// a tool or a future caller may not): a user name or password in the server URL is refused
// without being shown, never sent as basic authentication, and no error of New prints one
// (url.Parse's error quotes the URL as given).
func TestNewShowsNoSecretOfTheServerURL(t *testing.T) {
	for _, server := range []string{
		"https://admin:pa55@qlik.example.com:4242",
		"https://admin:pa55%zz@qlik.example.com:4242", // does not parse
		"https://admin:pa55@qlik.example.com:4242/hdr",
		"ftp://admin:pa55@qlik.example.com",
		"admin:pa55@qlik.example.com:4242",
		"https://qlik.example.com:4242/?xrfkey=pa55",
		"https://qlik.example.com:4242/%zz?token=pa55",
	} {
		_, err := qrs.New(qrs.Config{Server: server})
		require.Error(t, err, server)
		require.Contains(t, err.Error(), "server URL", server)
		require.NotContains(t, err.Error(), "pa55", server)
	}
}
