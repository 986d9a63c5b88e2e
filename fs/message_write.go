package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

var (
	_ = (gofs.NodeWriter)((*msgNode)(nil))
	_ = (gofs.NodeSetattrer)((*msgNode)(nil))
	_ = (gofs.NodeFlusher)((*msgNode)(nil))
	_ = (gofs.NodeFsyncer)((*msgNode)(nil))
	_ = (gofs.NodeReleaser)((*msgNode)(nil))
	_ = (gofs.NodeSetxattrer)((*msgNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*msgNode)(nil))
)

// writeHandle is a descriptor opened for writing. Over a message it holds
// the edit it joined at open, whichever version that edit has reached
// since; a scratch file's has none (the file is its one draft).
type writeHandle struct{ ed *edit }

// openForEdit starts (or joins) writing over a message: an editor saving
// in place, `>>`, `dd conv=notrunc`, `cp` over it. With O_TRUNC nothing
// of the old body is needed, so it works with the server down; otherwise
// the old bytes are fetched first. Every handle shares one edit; when
// the last one is released its bytes are stored as the new version (same
// flags and date), and only then is the old version removed.
//
// A message that is no longer there (this mount replaced it by a version
// whose store has finished, or another client removed it) answers ESTALE:
// the kernel looks the name up again, and opens the version that took its
// place, instead of starting an edit of old bytes that would undo the
// last write.
func (n *msgNode) openForEdit(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.v.readOnly {
		return nil, 0, syscall.EROFS
	}
	trunc := flags&syscall.O_TRUNC != 0
	mb, ref := n.where()
	ds := n.v.dir(mb)
	ed := ds.joinEdit(ref, nil)
	if ed == nil {
		if _, ok := mb.Current(ref); !ok {
			n.v.log.Debug("open for writing of a message that is gone; the name is looked up again", "mailbox", mb.Name(), "uid", ref.UID)
			return nil, 0, syscall.ESTALE
		}
		var body []byte
		if !trunc {
			b, _, err := mb.Body(ctx, ref)
			if err != nil {
				return nil, 0, n.v.errno("open for writing", err)
			}
			body = append([]byte(nil), b...)
		}
		d, err := newDraft(n.v.budget, body)
		if err != nil {
			return nil, 0, n.v.errno("open for writing", err)
		}
		ed = ds.joinEdit(ref, &edit{d: d, mb: mb, versions: []mail.Ref{ref}, last: n.state()})
	}
	n.v.wrote()
	h := &writeHandle{ed: ed}
	if trunc {
		if err := ed.d.truncate(0); err != nil {
			n.Release(ctx, h)
			return nil, 0, n.v.errno("truncate", err)
		}
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

// editing returns the edit of this message's file, nil when it is not
// being written.
func (n *msgNode) editing() *edit {
	if n.v.liveEdits.Load() == 0 {
		return nil // the common case, on every read: no lock taken
	}
	mb, ref := n.where()
	return n.v.dir(mb).editOf(ref)
}

func (n *msgNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0, syscall.EBADF
	}
	if err := h.ed.d.write(data, off); err != nil {
		return 0, n.v.errno("write", err)
	}
	return uint32(len(data)), 0
}

// Setattr: truncation works through a handle opened for writing; times,
// mode and owner cannot change on the server and are accepted and ignored
// (so cp -p, touch and rsync do not fail).
func (n *msgNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	ed := n.editing()
	if h, ok := fh.(*writeHandle); ok {
		ed = h.ed // ftruncate, futimens: the edit this descriptor writes
	}
	if mtime, ok := in.GetMTime(); ok && ed != nil && ed.d.busy() {
		ds := n.v.dir(ed.mb)
		ds.mu.Lock()
		ed.mtime, ed.dateSet = mtime, true // cp -a, touch -d while writing
		ds.mu.Unlock()
	}
	if size, ok := in.GetSize(); ok {
		if ed == nil {
			if n.v.readOnly {
				return syscall.EROFS
			}
			return syscall.EPERM
		}
		if err := ed.d.truncate(int64(size)); err != nil {
			return n.v.errno("truncate", err)
		}
	}
	return n.Getattr(ctx, fh, out)
}

// Flush is every close(2) of a descriptor; Fsync asks for durability.
// Neither stores anything (a later write would make the stored version an
// intermediate one); both say EINVAL early when the bytes so far are not a
// message.
func (n *msgNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0
	}
	if err := h.ed.d.check(); err != nil {
		n.v.log.Warn("the file is not a message; it will not be stored and the original is unchanged", "mailbox", h.ed.mb.Name(), "err", err)
		return syscall.EINVAL
	}
	return 0
}

func (n *msgNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, fh)
}

// Release of the last descriptor that could write hands the final bytes
// over to be stored.
func (n *msgNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if h, ok := fh.(*diskHandle); ok {
		return h.Release(ctx)
	}
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0
	}
	defer n.v.released()
	if data, ok := h.ed.d.released(); ok {
		n.v.commitEdit(h.ed, data)
	}
	return 0
}

func (n *msgNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr != flagsXattr {
		return syscall.ENOTSUP
	}
	if n.v.readOnly {
		return syscall.EROFS
	}
	parsed, err := mail.ParseFlags(string(data))
	if err != nil {
		n.v.log.Warn("invalid flags", "value", string(data), "err", err)
		return syscall.EINVAL
	}
	return n.storeFlags(ctx, parsed)
}

func (n *msgNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if attr != flagsXattr {
		return gofs.ENOATTR
	}
	if n.v.readOnly {
		return syscall.EROFS
	}
	return n.storeFlags(ctx, nil)
}

func (n *msgNode) storeFlags(ctx context.Context, flags []string) syscall.Errno {
	if ed := n.editing(); ed != nil && ed.d.busy() {
		// A write is open: the flags go with what it stores, and the
		// message it was written over keeps its own if it turns out to be
		// another message.
		ds := n.v.dir(ed.mb)
		ds.mu.Lock()
		ed.flags, ed.flagsSet = flags, true
		ds.mu.Unlock()
		return 0
	}
	mb, _ := n.where()
	e := n.state()
	if err := mb.SetFlags(ctx, e, flags); err != nil {
		return n.v.errno("set flags", err)
	}
	n.mu.Lock()
	n.last.Flags = flags
	n.mu.Unlock()
	return 0
}
