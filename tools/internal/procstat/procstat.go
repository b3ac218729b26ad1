// Package procstat reads what the benchmarks measure of a running process from /proc
// (Linux): its peak resident set size.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PollHWM polls a process's VmHWM every 2 ms until the returned function is called (once
// the process has exited), which returns the peak in KiB.
func PollHWM(pid int) func() int64 {
	var hwm atomic.Int64
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			if kb := vmHWM(pid); kb > hwm.Load() {
				hwm.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-polled
		return hwm.Load()
	}
}

// vmHWM reads the peak resident set size, in KiB, of a running process (Linux).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
