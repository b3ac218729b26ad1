package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/influxdata/telegraf/config"
	"github.com/influxdata/telegraf/plugins/inputs/execd"
	"github.com/stretchr/testify/require"
)

// telegraf.conf.example is read by Telegraf's own loader (unknown keys are errors there),
// and the command it runs uses this binary's flags the way execd needs them.
func TestTelegrafConfExample(t *testing.T) {
	data, err := os.ReadFile("../../telegraf.conf.example")
	require.NoError(t, err)
	c := config.NewConfig()
	require.NoError(t, c.LoadConfigData(data, "telegraf.conf.example"))
	require.Len(t, c.Inputs, 1)
	e, ok := c.Inputs[0].Input.(*execd.Execd)
	require.True(t, ok)
	require.Equal(t, "STDIN", e.Signal, "gather when Telegraf asks")
	require.Contains(t, e.Command, "-poll_interval_disabled", "with signal STDIN the shim must not poll on its own")
	require.True(t, strings.HasSuffix(e.Command[0], "qliksense-license"))

	// The command's arguments are this binary's flags.
	var errOut bytes.Buffer
	fs, o := newFlagSet(&errOut)
	require.NoError(t, fs.Parse(e.Command[1:]))
	require.True(t, o.pollDisabled)
	require.NotEmpty(t, o.configFile)
}
