package e2e_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Telegraf the end-to-end test builds is the version the project's go.mod pins.
func TestPinnedVersionsAgree(t *testing.T) {
	re := regexp.MustCompile(`github.com/influxdata/telegraf (v[0-9.]+)`)
	version := func(path string) string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		m := re.FindSubmatch(b)
		require.NotNil(t, m, path)
		return string(m[1])
	}
	pinned := version("../go.mod")
	require.Equal(t, pinned, version("../tools/telegraf/go.mod"))
	mk, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	require.Contains(t, string(mk), "TELEGRAF_VERSION := "+pinned)
}
