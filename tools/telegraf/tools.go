//go:build tools

// Package tools pins the Telegraf command this module builds (see the Makefile's
// bin/telegraf target).
package tools

import _ "github.com/influxdata/telegraf/cmd/telegraf"
