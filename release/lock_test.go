package release_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
)

func TestMain(m *testing.M) {
	if path := os.Getenv("RELEASE_TEST_HOLD_LOCK"); path != "" {
		l, err := release.AcquireLock(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold until told or killed
		_ = l.Unlock()
		os.Exit(0)
	}
	if spec := os.Getenv("RELEASE_TEST_SPOOL_CHILD"); spec != "" {
		os.Exit(spoolChild(spec))
	}
	code := m.Run()
	testkit.RemoveSharedCerts()
	os.Exit(code)
}

// One run at a time per site, across processes; a killed holder frees the lock.
func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "production.lock")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "RELEASE_TEST_HOLD_LOCK="+path)
	stdin, err := child.StdinPipe()
	require.NoError(t, err)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = release.AcquireLock(path)
	require.ErrorIs(t, err, release.ErrLocked)
	require.ErrorContains(t, err, "held by pid "+strconv.Itoa(child.Process.Pid))

	require.NoError(t, child.Process.Kill()) // SIGKILL: no chance to unlock
	_ = child.Wait()
	l, err := release.AcquireLock(path)
	require.NoError(t, err, "the operating system released the dead holder's lock")
	require.NoError(t, l.Unlock())
}
