package siteconfig_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// settle_grace defaults to the client's timeout, and is bounded.
func TestSettleGrace(t *testing.T) {
	for _, c := range []struct {
		keys string
		want time.Duration
		err  string
	}{
		{"", 60 * time.Second, ""},
		{"  timeout = \"20s\"\n", 20 * time.Second, ""},
		{"  [inputs.qliksense_license.release]\n    settle_grace = \"5s\"\n", 5 * time.Second, ""},
		{"  [inputs.qliksense_license.release]\n    settle_grace = \"100ms\"\n", 0, `release.settle_grace = "100ms": expected a duration from 1s to 1h`},
	} {
		body := minimal + c.keys
		if c.keys == "" || c.keys[2] != '[' {
			body += "  [inputs.qliksense_license.release]\n"
		}
		cfg, err := load(t, body)
		require.NoError(t, err)
		st, err := cfg.Sidecar()
		if c.err != "" {
			require.EqualError(t, err, c.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, c.want, st.SettleGrace, c.keys)
	}
}
