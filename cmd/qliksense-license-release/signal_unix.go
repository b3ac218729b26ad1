//go:build !windows

package main

import (
	"os"
	"os/signal"
	"syscall"
)

func notifyHUP(ch chan os.Signal) { signal.Notify(ch, syscall.SIGHUP) }
