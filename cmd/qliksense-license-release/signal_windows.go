//go:build windows

package main

import "os"

// Windows has no SIGHUP: the service reloads on ParamChange (reload, or sc control …
// paramchange); run in a console reloads on a restart.
func notifyHUP(chan os.Signal) {}
