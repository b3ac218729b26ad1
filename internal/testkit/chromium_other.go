//go:build !unix

package testkit

import "os/exec"

// ownGroup: no process groups here; cancelling kills the browser's own process.
func ownGroup(*exec.Cmd) {}

func killGroup(*exec.Cmd) {}
