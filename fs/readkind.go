package fs

import (
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// readKind tells a read(2) on a direct-I/O file from the kernel filling
// its page cache (splice, copy_file_range, mmap use the page cache even
// for direct-I/O files). Only the first may be answered short, ending
// at a message's header: the kernel takes a short page-cache read for
// the end of the file. The kernel marks reads made for a process's
// read(2) with FUSE_READ_LOCKOWNER (fuse_direct_io); go-fuse does not
// hand read flags to nodes, so this wrapper notes them by the request's
// cancel channel, which the node sees in its context.
type readKind struct {
	fuse.RawFileSystem
	direct sync.Map // <-chan struct{} → true while such a READ runs
}

func (r *readKind) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	if in.ReadFlags&fuse.READ_LOCKOWNER == 0 {
		return r.RawFileSystem.Read(cancel, in, buf)
	}
	r.direct.Store(cancel, true)
	defer r.direct.Delete(cancel)
	return r.RawFileSystem.Read(cancel, in, buf)
}

// isDirectRead reports whether the READ being served (its context) is a
// process's read(2) on a direct-I/O file.
func (r *readKind) isDirectRead(ctx any) bool {
	c, ok := ctx.(*fuse.Context)
	if !ok || r == nil {
		return false
	}
	_, direct := r.direct.Load(c.Cancel)
	return direct
}
