package filelock_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/filelock"
)

func TestMain(m *testing.M) {
	if path := os.Getenv("FILELOCK_TEST_HOLD"); path != "" {
		l, err := filelock.Acquire(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold until told or killed
		_ = l.Unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// One holder at a time, across processes; a killed holder frees the lock.
func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "production.lock")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "FILELOCK_TEST_HOLD="+path)
	stdin, err := child.StdinPipe()
	require.NoError(t, err)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = filelock.Acquire(path)
	require.ErrorIs(t, err, filelock.ErrHeld)
	require.ErrorContains(t, err, "held by pid "+strconv.Itoa(child.Process.Pid))

	require.NoError(t, child.Process.Kill()) // SIGKILL: no chance to unlock
	_ = child.Wait()
	l, err := filelock.Acquire(path)
	require.NoError(t, err, "the operating system released the dead holder's lock")
	require.NoError(t, l.Unlock())
}
