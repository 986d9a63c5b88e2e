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

// writeHandle marks a descriptor opened for writing.
type writeHandle struct{}

// openForEdit starts (or joins) writing over a message: an editor saving
// in place, `>>`, `dd conv=notrunc`, `cp` over it. With O_TRUNC nothing
// of the old body is needed, so it works with the server down; otherwise
// the old bytes are fetched first. Every handle shares one draft; when
// the last one is released the draft is stored as the new version (same
// flags and date), and only then is the old version removed.
func (n *msgNode) openForEdit(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.v.readOnly {
		return nil, 0, syscall.EROFS
	}
	trunc := flags&syscall.O_TRUNC != 0
	n.mu.Lock()
	d := n.edit
	n.mu.Unlock()
	if d == nil {
		var body []byte
		if !trunc {
			mb, ref := n.where()
			b, _, err := mb.Body(ctx, ref)
			if err != nil {
				return nil, 0, n.v.errno("open for writing", err)
			}
			body = append([]byte(nil), b...)
		}
		nd, err := newDraft(n.v.budget, body)
		if err != nil {
			return nil, 0, n.v.errno("open for writing", err)
		}
		n.mu.Lock()
		if n.edit == nil {
			n.edit, n.editBase = nd, n.ref
		} else {
			nd.free()
		}
		d = n.edit
		n.mu.Unlock()
	}
	if trunc {
		if err := d.truncate(0); err != nil {
			return nil, 0, n.v.errno("truncate", err)
		}
	}
	d.opened()
	n.v.wrote()
	return &writeHandle{}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *msgNode) draft() *draft {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.edit
}

func (n *msgNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	d := n.draft()
	if _, ok := fh.(*writeHandle); !ok || d == nil {
		return 0, syscall.EBADF
	}
	if err := d.write(data, off); err != nil {
		return 0, n.v.errno("write", err)
	}
	return uint32(len(data)), 0
}

// Setattr: truncation works through a handle opened for writing; times,
// mode and owner cannot change on the server and are accepted and ignored
// (so cp -p, touch and rsync do not fail).
func (n *msgNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if mtime, ok := in.GetMTime(); ok {
		n.mu.Lock()
		if n.edit != nil && n.edit.busy() {
			n.editMtime, n.editDate = mtime, true // cp -a, touch -d while writing
		}
		n.mu.Unlock()
	}
	if size, ok := in.GetSize(); ok {
		d := n.draft()
		if d == nil {
			if n.v.readOnly {
				return syscall.EROFS
			}
			return syscall.EPERM
		}
		if err := d.truncate(int64(size)); err != nil {
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
	if _, ok := fh.(*writeHandle); !ok {
		return 0
	}
	return n.check()
}

func (n *msgNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, fh)
}

func (n *msgNode) check() syscall.Errno {
	if d := n.draft(); d != nil {
		if err := d.check(); err != nil {
			n.v.log.Warn("the file is not a message; it will not be stored and the original is unchanged", "mailbox", n.mb.Name(), "err", err)
			return syscall.EINVAL
		}
	}
	return 0
}

// Release of the last descriptor that could write hands the final bytes
// over to be stored.
func (n *msgNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if h, ok := fh.(*diskHandle); ok {
		return h.Release(ctx)
	}
	if _, ok := fh.(*writeHandle); !ok {
		return 0
	}
	defer n.v.released()
	if d := n.draft(); d != nil {
		if data, ok := d.released(); ok {
			n.commit(d, data)
		}
	}
	return 0
}

// commit stores one snapshot of the draft as the message's new version.
func (n *msgNode) commit(d *draft, data []byte) {
	n.mu.Lock()
	mb, base, last := n.mb, n.editBase, n.last
	c := mail.Commit{Mailbox: mb, Data: data, Flags: last.Flags, Date: last.InternalDate, Replaces: &base,
		FlagsChosen: n.editFlagsSet, DateChosen: n.editDate}
	if n.editFlagsSet {
		c.Flags = append([]string{}, n.editFlags...)
	}
	if n.editDate {
		c.Date = n.editMtime
	}
	n.mu.Unlock()
	c.Label = mb.Name() + "/" + n.v.name(last)
	label := c.Label
	n.v.acct.Submit(c,
		func(e mail.Entry, err error) {
			if err != nil {
				n.v.log.Error("could not store the new version of a message; the original is unchanged", "file", label, "err", err)
			}
			ds := n.v.dir(mb)
			kept := err == nil && keptBeside(mb, base, e)
			shownAs := n.v.name(last)
			if err == nil && e.UID != 0 && !kept {
				// The name keeps opening the stored version: the name the
				// old one was listed under (one it was written as), or
				// its own.
				if alias := ds.hiddenName(base.UID); alias != "" {
					shownAs = alias
					ds.unhide(base.UID)
					ds.hide(e.Ref(), alias)
				} else {
					ds.rename(shownAs, e.Ref())
				}
			}
			n.mu.Lock()
			if err == nil && !kept {
				n.editBase = e.Ref()
			}
			next, again := d.finished(err)
			if !again && d.idle() && n.edit == d {
				n.edit = nil
				n.editFlags, n.editFlagsSet, n.editDate = nil, false, false
				d.free()
			}
			n.mu.Unlock()
			if again {
				n.commit(d, next)
				return
			}
			ds.mu.Lock()
			dir := ds.inode
			ds.mu.Unlock()
			n.v.notify(dir, shownAs, n.v.name(last))
		})
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
	n.mu.Lock()
	if n.edit != nil && n.edit.busy() {
		// A write is open: the flags go with what it stores, and the
		// message it was written over keeps its own if it turns out to be
		// another message.
		n.editFlags, n.editFlagsSet = flags, true
		n.mu.Unlock()
		return 0
	}
	n.mu.Unlock()
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
