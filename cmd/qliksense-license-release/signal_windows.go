//go:build windows

package main

import "os"

// Windows has no SIGHUP: restart the service to reload.
func notifyHUP(chan os.Signal) {}
