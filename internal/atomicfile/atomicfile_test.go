package atomicfile_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
)

// A write replaces the file whole and leaves no temporary file behind; JSON is indented
// and ends with a newline.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, atomicfile.Write(path, []byte("old content, longer than the new\n")))
	require.NoError(t, atomicfile.WriteJSON(path, map[string]int{"offset": 42}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{\n  \"offset\": 42\n}\n", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	require.Error(t, atomicfile.Write(filepath.Join(dir, "missing", "x"), nil), "a missing folder is an error, not a silent loss")
}

// A new file gets 0640; a file that exists keeps the mode an admin set, stricter or
// looser, through every write.
func TestWriteKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no permission bits beyond read-only")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, atomicfile.Write(path, []byte("1")))
	requireMode(t, path, 0o640)

	for _, mode := range []os.FileMode{0o600, 0o400, 0o644} {
		require.NoError(t, os.Chmod(path, mode))
		require.NoError(t, atomicfile.Write(path, []byte("2")))
		requireMode(t, path, mode)
		require.NoError(t, atomicfile.WriteJSON(path, 3))
		requireMode(t, path, mode)
	}
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, fi.Mode().Perm(), "mode of %s", path)
}

// A file that exists keeps its owner and group too, where the writer may set them (root):
// a run started by hand as root (sudo … once) must not leave the service account's state
// owned by root, 0640, which the service can no longer read.
func TestWriteKeepsOwner(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		t.Skip("only root gives a file away (CI runs as root)")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, atomicfile.Write(path, []byte("1")))
	require.NoError(t, os.Chown(path, 65534, 65533))
	require.NoError(t, atomicfile.Write(path, []byte("2")))
	uid, gid := owner(t, path)
	require.Equal(t, []int{65534, 65533}, []int{uid, gid})
}
