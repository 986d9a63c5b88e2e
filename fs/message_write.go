package fs

import (
	"context"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var (
	_ = (gofs.NodeWriter)((*msgNode)(nil))
	_ = (gofs.NodeSetattrer)((*msgNode)(nil))
	_ = (gofs.NodeFlusher)((*msgNode)(nil))
	_ = (gofs.NodeFsyncer)((*msgNode)(nil))
	_ = (gofs.NodeSetxattrer)((*msgNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*msgNode)(nil))
)

// editHandle is a message opened for writing (an editor saving in place).
// The new bytes collect here; on close they replace the message: APPEND
// with the same flags and INTERNALDATE first, and only once that
// succeeded, the old message is removed.
type editHandle struct {
	mu    sync.Mutex // protects the following
	data  []byte
	dirty bool
	done  bool // replaced: further writes would make a second message
}

func (n *msgNode) openForEdit(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.acct.readOnly {
		return nil, 0, syscall.EROFS
	}
	h := &editHandle{}
	if flags&syscall.O_TRUNC == 0 {
		body, err := n.body(ctx)
		if err != nil {
			return nil, 0, toErrno(n.acct.log, "open for writing", err)
		}
		h.data = append([]byte(nil), body...)
	} else {
		h.dirty = true
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

func (n *msgNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*editHandle)
	if !ok {
		return 0, syscall.EBADF
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	end := off + int64(len(data))
	if end > maxMessageBytes {
		return 0, syscall.EFBIG
	}
	if end > int64(len(h.data)) {
		h.data = resize(h.data, int(end))
	}
	copy(h.data[off:], data)
	h.dirty = true
	return uint32(len(data)), 0
}

// Setattr: truncation works through a handle opened for writing; times,
// mode and owner cannot change on the server and are accepted and ignored
// (so cp -p, touch and rsync do not fail).
func (n *msgNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		h, isEdit := fh.(*editHandle)
		if !isEdit {
			if n.acct.readOnly {
				return syscall.EROFS
			}
			return syscall.EPERM
		}
		if size > maxMessageBytes {
			return syscall.EFBIG
		}
		h.mu.Lock()
		h.data, h.dirty = resize(h.data, int(size)), true
		h.mu.Unlock()
	}
	return n.Getattr(ctx, fh, out)
}

func (n *msgNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if h, ok := fh.(*editHandle); ok {
		return n.saveEdit(ctx, h)
	}
	return 0
}

func (n *msgNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, fh)
}

func (n *msgNode) saveEdit(ctx context.Context, h *editHandle) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.dirty || h.done {
		return 0
	}
	e := n.state()
	if err := n.acct.replace(ctx, n.mb, e, h.data, e.Flags, e.InternalDate); err != nil {
		if isInvalid(err) {
			n.acct.log.Warn("edited file is not a message; the original is unchanged", "mailbox", n.mb.name, "file", e.name, "err", err)
			return syscall.EINVAL
		}
		return toErrno(n.acct.log, "save "+e.name, err)
	}
	h.dirty, h.done = false, true
	// The kernel must look the name up again to find the new version
	// (which has a new UID). Synchronous is safe here: in FLUSH and FSYNC
	// the kernel holds no lock on the directory.
	if _, parent := n.Parent(); parent != nil {
		parent.NotifyEntry(e.name)
	}
	return 0
}

func (n *msgNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr != flagsXattr {
		return syscall.ENOTSUP
	}
	if n.acct.readOnly {
		return syscall.EROFS
	}
	parsed, err := ParseFlags(string(data))
	if err != nil {
		n.acct.log.Warn("invalid flags", "value", string(data), "err", err)
		return syscall.EINVAL
	}
	return n.storeFlags(ctx, parsed)
}

func (n *msgNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if attr != flagsXattr {
		return gofs.ENOATTR
	}
	if n.acct.readOnly {
		return syscall.EROFS
	}
	return n.storeFlags(ctx, nil)
}

func (n *msgNode) storeFlags(ctx context.Context, flags []string) syscall.Errno {
	if err := n.acct.backend.SetFlags(ctx, n.mb.name, n.uidValidity, n.uid, flags); err != nil {
		return toErrno(n.acct.log, "set flags", err)
	}
	n.mb.setFlags(n.uidValidity, n.uid, flags)
	n.mu.Lock()
	n.last.Flags = flags
	n.mu.Unlock()
	return 0
}
