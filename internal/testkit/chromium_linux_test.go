package testkit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gone waits until the process is gone (or a zombie waiting for its reaper).
func gone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d of the browser's group outlived it: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A browser that hangs is killed at the timeout with all its processes; one that exits
// leaving a helper behind (holding its output open) returns at once, and the helper is
// killed too.
func TestRunBrowserLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	pid := filepath.Join(dir, "pid")
	_, _, err := runBrowser("/bin/sh", dir, 300*time.Millisecond, "-c", `sleep 300 & echo $! > `+pid+`; sleep 300`)
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("a hung browser: %v", err)
	}
	gone(t, pid)

	out, _, err := runBrowser("/bin/sh", dir, time.Minute, "-c", `sleep 300 & echo $! > `+pid+`; echo page`)
	if err != nil || string(out) != "page\n" {
		t.Fatalf("a browser leaving a helper: %q, %v", out, err)
	}
	gone(t, pid)
}
