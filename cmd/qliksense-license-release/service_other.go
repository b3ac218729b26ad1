//go:build !windows

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/qliksense-license/qliksense-license/release"
)

// serviceSupported: the service commands and -service exist on Windows only.
const serviceSupported = false

func isWindowsService() bool { return false }

func defaultServiceLog() string { return "" }

func serviceFailed(code int, _ string) int { return code }

func runAsService(context.Context, []string, []*release.Site, io.Writer, *slog.Logger) int { return 1 }

// serviceCommand: the service commands exist on Windows only; elsewhere use systemd (see
// packaging/systemd).
func serviceCommand(cmd string, _ []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: Windows services only; on Linux use the systemd unit in packaging/systemd\n", cmd)
	return 2
}
