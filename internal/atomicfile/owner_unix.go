//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// keepOwner gives tmp the owner and group of fi, the file it replaces, as far as the
// writer may (root may both; the owner may set a group it belongs to); best effort, like
// the mode.
func keepOwner(tmp string, fi os.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	uid, gid := int(st.Uid), int(st.Gid)
	if uid == os.Geteuid() && gid == os.Getegid() {
		return
	}
	if os.Chown(tmp, uid, gid) != nil {
		_ = os.Chown(tmp, -1, gid)
	}
}
