//go:build !windows

package siteconfig

import "os"

// programData is %ProgramData% where a Windows build runs; elsewhere the environment's, if
// any (unused: DefaultStateDir asks it on Windows only).
func programData() string { return os.Getenv("ProgramData") }
