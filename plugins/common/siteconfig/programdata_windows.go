//go:build windows

package siteconfig

import (
	"os"

	"golang.org/x/sys/windows"
)

// programData is %ProgramData% as Windows knows it (the known folder, which a service's
// environment may not carry: Wine's service manager sets another), else the environment.
func programData() string {
	if p, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil && p != "" {
		return p
	}
	return os.Getenv("ProgramData")
}
