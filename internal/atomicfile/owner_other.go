//go:build !unix

package atomicfile

import "os"

// keepOwner does nothing where files have no Unix owner (Windows: the new file takes the
// folder's inherited ACL; an ACL set on the replaced file itself is not carried over).
func keepOwner(string, os.FileInfo) {}
