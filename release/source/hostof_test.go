package source_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/release/source"
)

// The same server written another way is the same source: case and the scheme's default
// port make no difference; another port does.
func TestHostOf(t *testing.T) {
	for raw, want := range map[string]string{
		"https://QRS.corp":              "qrs.corp",
		"https://qrs.corp:443/":         "qrs.corp",
		"https://qrs.corp:4242":         "qrs.corp:4242",
		"http://influx:80":              "influx",
		"https://[::1]:443":             "[::1]",
		"https://Acme.EU.qlikcloud.com": "acme.eu.qlikcloud.com",
		"not a url":                     "not a url",
	} {
		require.Equal(t, want, source.HostOf(raw), raw)
	}
}
