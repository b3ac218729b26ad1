package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-version"}, &out, &errOut))
	require.Equal(t, "qrs-emulator dev\n", out.String())

	out.Reset()
	require.Equal(t, 2, run([]string{"-now", "yesterday"}, &out, &errOut))
	require.Contains(t, errOut.String(), `qrs-emulator: -now "yesterday": expected RFC 3339 such as 2026-05-04T10:00:00Z`)

	errOut.Reset()
	require.Equal(t, 2, run([]string{"-users", "many"}, &out, &errOut))
	require.Contains(t, errOut.String(), `invalid value "many" for flag -users`)
}
