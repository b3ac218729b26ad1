// Package atomicfile writes a state file so that a crash leaves the old file or the new
// one, never a mix or an empty file: a temporary file with a unique name in the same
// folder, synced, renamed over the file, then the folder synced so that the rename itself
// survives a power loss. Every state file of the sidecar is written this way: the
// in-flight journal when a run closes, the notice state, the moves in progress and the
// spool's delivery offset.
package atomicfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// newFileMode is the mode of a file Write creates; a file that exists keeps its own.
const newFileMode os.FileMode = 0o640

// Write writes b to path atomically, with mode 0640 for a new file. A file that exists
// keeps its permission bits, so a stricter (or looser) mode an admin set survives every
// write, and its owner and group where the writer may set them (root; the group for a
// member of it), so a run by hand as root leaves the service account's file its own.
func Write(path string, b []byte) error {
	dir := filepath.Dir(path)
	mode := newFileMode
	fi, err := os.Stat(path)
	if err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if fi != nil {
		keepOwner(tmp.Name(), fi)
	}
	_ = os.Chmod(tmp.Name(), mode)
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return syncDir(dir)
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return Write(path, append(b, '\n'))
}

// syncDir makes a rename in dir durable. Windows has no folder sync (NTFS journals the
// rename itself), so it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	return errors.Join(serr, d.Close())
}
