package atomicfile_test

import (
	"os"
	"path/filepath"
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
