package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// openForEdit starts (or joins) writing over a message: an editor saving
// in place, `>>`, `dd conv=notrunc`, `cp` over it. The file model holds
// one file for every descriptor, whichever version's node the kernel
// reached it through, and stores its final bytes as the new version once
// the last one is released. A message no longer there answers ESTALE:
// the kernel looks the name up again.
func (n *msgNode) openForEdit(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.v.readOnly {
		return nil, 0, syscall.EROFS
	}
	mb, ref := n.where()
	h, err := n.v.files.Edit(mb, ref, flags&syscall.O_TRUNC != 0)
	if err != nil {
		return nil, 0, n.v.errno("open for writing", err)
	}
	n.v.wrote()
	return &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

// editing returns the file of this mount that the message is a version
// of, nil when there is none.
func (n *msgNode) editing() *files.File {
	mb, ref := n.where()
	return n.v.files.Editing(mb, ref)
}

func (n *msgNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	return n.v.write(ctx, fh, data, off)
}

// Setattr: truncation works through a file being written; times, mode
// and owner cannot change on the server and are accepted and ignored (so
// cp -p, touch and rsync do not fail).
func (n *msgNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var f *files.File
	if h, ok := fh.(*writeHandle); ok {
		f = h.h.File() // ftruncate, futimens: the file this descriptor writes
	} else if _, ok := in.GetSize(); ok {
		f = n.editing()
	}
	if size, ok := in.GetSize(); ok && f == nil {
		// truncate(2) of a message: a write of its own. To nothing it
		// cannot be a message, and nothing changes.
		if n.v.readOnly {
			return syscall.EROFS
		}
		if size == 0 {
			n.v.log.Warn("a message cannot be empty; nothing changed", "file", n.v.name(n.state()))
			return syscall.EINVAL
		}
		mb, ref := n.where()
		h, err := n.v.files.Edit(mb, ref, false)
		if err != nil {
			return n.v.errno("truncate", err)
		}
		defer h.Release()
		f = h.File()
	}
	if f == nil {
		return n.Getattr(ctx, fh, out)
	}
	if errno := n.v.setattr(ctx, f, in); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, fh, out)
}

// Flush is every close(2) of a descriptor; Fsync asks for durability.
// Neither stores anything (a later write would make the stored version an
// intermediate one); both say EINVAL early when the bytes so far are not a
// message.
func (n *msgNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	return n.v.flush(fh)
}

func (n *msgNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.v.flush(fh)
}

// Release of the last descriptor that could write lets the bytes go to
// the server.
func (n *msgNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	n.closed(modeOfHandle(fh))
	if h, ok := fh.(*diskHandle); ok {
		return h.Release(ctx)
	}
	return n.v.release(fh)
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
	if f := n.editing(); f != nil && f.Pending() {
		// A new version is being written or stored: the flags go with
		// it.
		f.SetFlags(flags)
		return 0
	}
	n.follow(ctx)
	mb, ref := n.where()
	e, ok, err := mb.Find(ctx, ref)
	if err != nil {
		return n.v.errno("set flags", err)
	}
	if !ok {
		return syscall.ENOENT // expunged: no copy is left to flag
	}
	if err := mb.SetFlags(ctx, e, flags); err != nil {
		return n.v.errno("set flags", err)
	}
	n.mu.Lock()
	if n.modes != nil && n.modes.kept {
		n.modes.last.Flags = flags
	}
	n.mu.Unlock()
	return 0
}
