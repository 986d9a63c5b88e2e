package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// isMessageName reports whether a file of this name becomes a message
// when it is closed: *.eml, not hidden, not an editor's #autosave#. Other
// names (vim's .swp and 4913, backup~ files, sed's sedXXXXXX) are scratch
// files that live only in this mount's memory.
func isMessageName(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), messageExt) &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "#")
}

// localNode is a file created in a mailbox directory. Its bytes live in
// memory; if it has a message name, the release of its last descriptor
// hands them over to be APPENDed, and it then shows under the message's
// own name (the name it was written under keeps opening it).
type localNode struct {
	gofs.Inode
	v *view
	d *draft

	mu       sync.Mutex    // protects the following
	mb       *mail.Mailbox // the directory it is in
	name     string        // its name there; "" once stored or removed
	mtime    time.Time
	mtimeSet bool // set explicitly (cp -p, touch -d): becomes INTERNALDATE
	flags    []string
	flagsSet bool
	// replaces is the message this file is the new version of: one an
	// editor renamed away whose name this file took, or the version this
	// file was stored as before it was written again.
	replaces *mail.Ref
}

var (
	_ = (gofs.NodeGetattrer)((*localNode)(nil))
	_ = (gofs.NodeSetattrer)((*localNode)(nil))
	_ = (gofs.NodeOpener)((*localNode)(nil))
	_ = (gofs.NodeReader)((*localNode)(nil))
	_ = (gofs.NodeWriter)((*localNode)(nil))
	_ = (gofs.NodeFlusher)((*localNode)(nil))
	_ = (gofs.NodeFsyncer)((*localNode)(nil))
	_ = (gofs.NodeReleaser)((*localNode)(nil))
	_ = (gofs.NodeGetxattrer)((*localNode)(nil))
	_ = (gofs.NodeSetxattrer)((*localNode)(nil))
	_ = (gofs.NodeListxattrer)((*localNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*localNode)(nil))
)

// localEntry makes (or finds) the inode of a scratch file in d and fills
// out; its attributes change with every write, so the kernel keeps none.
func (d *dirNode) localEntry(ctx context.Context, n *localNode, out *fuse.EntryOut) *gofs.Inode {
	ino := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG})
	n.fill(&out.Attr)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return ino
}

func (n *localNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fill(&out.Attr)
	out.SetTimeout(0) // changes under writes; never cached
	return 0
}

func (n *localNode) fill(a *fuse.Attr) {
	a.Mode = syscall.S_IFREG | 0o600
	a.Nlink = 1
	a.Ino = n.StableAttr().Ino
	a.Size = uint64(n.d.size())
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.Owner = fuse.Owner{Uid: n.v.uid, Gid: n.v.gid}
	n.mu.Lock()
	t := n.mtime
	n.mu.Unlock()
	a.SetTimes(&t, &t, &t)
}

func (n *localNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if err := n.d.truncate(int64(size)); err != nil {
			return n.v.errno("truncate", err)
		}
	}
	if mtime, ok := in.GetMTime(); ok {
		n.mu.Lock()
		n.mtime, n.mtimeSet = mtime, true
		n.mu.Unlock()
	}
	n.fill(&out.Attr)
	return 0
}

func (n *localNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) == 0 {
		return nil, fuse.FOPEN_DIRECT_IO, 0
	}
	// Counted as a writer under n.mu, so a store finishing meanwhile
	// cannot let the file go (forgetIdle) between the lookup that found it
	// and this open. One that went already answers ESTALE: its name opens
	// the stored message now, and the kernel looks it up again.
	n.mu.Lock()
	gone := n.name == ""
	if !gone {
		n.d.opened()
	}
	n.mu.Unlock()
	if gone {
		return nil, 0, syscall.ESTALE
	}
	n.v.wrote()
	h := &writeHandle{}
	if flags&syscall.O_TRUNC != 0 {
		if err := n.d.truncate(0); err != nil {
			n.Release(ctx, h)
			return nil, 0, n.v.errno("truncate", err)
		}
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

func (n *localNode) Read(ctx context.Context, _ gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return fuse.ReadResultData(n.d.read(dest, off)), 0
}

func (n *localNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if err := n.d.write(data, off); err != nil {
		return 0, n.v.errno("write", err)
	}
	n.mu.Lock()
	if !n.mtimeSet {
		n.mtime = time.Now()
	}
	n.mu.Unlock()
	return uint32(len(data)), 0
}

// Flush (every close(2)) and Fsync store nothing: see draft.go. A file
// with a message name whose bytes are not a message gets EINVAL here.
func (n *localNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if _, ok := fh.(*writeHandle); !ok || !n.isMessage() {
		return 0
	}
	if err := n.d.check(); err != nil {
		n.v.log.Warn("file is not a message; it will not be stored", "file", n.label(), "err", err)
		return syscall.EINVAL
	}
	return 0
}

func (n *localNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, fh)
}

// Release of the last descriptor that could write hands a message-named
// file's final bytes over to be stored.
func (n *localNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if _, ok := fh.(*writeHandle); !ok {
		return 0
	}
	defer n.v.released()
	n.d.mu.Lock()
	n.d.writers--
	n.d.mu.Unlock()
	n.commitIfDone()
	return 0
}

func (n *localNode) isMessage() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name != "" && isMessageName(n.name)
}

func (n *localNode) label() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mb.Name() + "/" + n.name
}

// commitIfDone stores the file when it has a message name, nothing has it
// open for writing and its bytes changed.
func (n *localNode) commitIfDone() {
	if !n.isMessage() {
		return
	}
	n.d.mu.Lock()
	data, ok := n.d._next()
	n.d.mu.Unlock()
	if ok {
		n.commit(data)
	}
}

// appendFlagsDate chooses the flags and INTERNALDATE of the APPEND: set
// ones first, then those of the message this file replaces.
func (n *localNode) appendFlagsDate() ([]string, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	flags, date := n.flags, time.Time{}
	if n.mtimeSet {
		date = n.mtime
	}
	if n.replaces != nil {
		if e, ok := n.mb.Current(*n.replaces); ok {
			if !n.flagsSet {
				flags = e.Flags
			}
			if !n.mtimeSet {
				date = e.InternalDate
			}
		}
	}
	return flags, date
}

// commit hands one snapshot over. Once stored, the file leaves the
// directory's scratch files and its name resolves to the stored message;
// a refused file stays, readable, and is tried again only when it is
// written and closed again.
func (n *localNode) commit(data []byte) {
	flags, date := n.appendFlagsDate()
	n.mu.Lock()
	mb, name, replaces := n.mb, n.name, n.replaces
	flagsChosen, dateChosen := n.flagsSet, n.mtimeSet
	n.mu.Unlock()
	if flagsChosen && flags == nil {
		flags = []string{}
	}
	label := mb.Name() + "/" + name
	n.v.acct.Submit(mail.Commit{Mailbox: mb, Data: data, Flags: flags, Date: date, Replaces: replaces, Label: label,
		FlagsChosen: flagsChosen, DateChosen: dateChosen},
		func(s mail.Stored, err error) {
			if err != nil {
				n.v.log.Error("could not store a file; it stays in this mount only, and is tried again when it is written and closed again", "file", label, "err", err)
			}
			// What the next snapshot replaces is settled before the draft
			// lets one go: a close that comes in between (a second `>>`)
			// hands its snapshot over at once.
			n.mu.Lock()
			if err == nil && s.UID != 0 {
				r := s.Ref()
				n.replaces = &r
			}
			stillHere := n.name == name && n.mb == mb
			n.mu.Unlock()
			next, again := n.d.finished(err)
			ds := n.v.dir(mb)
			if err == nil {
				if s.UID != 0 && stillHere {
					if replaces == nil || s.KeptOld {
						// A new message: listed under the name it was
						// written as for the life of the mount, so cp
						// and rsync find what they wrote, and a later
						// file of theirs never meets its UID name.
						ds.hide(s.Ref(), name)
					} else {
						ds.succeed(*replaces, s.Ref(), name)
					}
				}
				if !again && stillHere && ds.forgetIdle(name, n) {
					n.d.free()
				}
			}
			if again {
				n.commit(next)
				return
			}
			ds.mu.Lock()
			dir := ds.inode
			ds.mu.Unlock()
			n.v.notify(dir, name)
		})
}

func (n *localNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != flagsXattr {
		return 0, gofs.ENOATTR
	}
	n.mu.Lock()
	flags := n.flags
	n.mu.Unlock()
	return xattrValue(flags, dest)
}

func (n *localNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr != flagsXattr {
		return syscall.ENOTSUP
	}
	parsed, err := mail.ParseFlags(string(data))
	if err != nil {
		n.v.log.Warn("invalid flags", "value", string(data), "err", err)
		return syscall.EINVAL
	}
	n.mu.Lock()
	n.flags, n.flagsSet = parsed, true
	n.mu.Unlock()
	return 0
}

func (n *localNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if attr != flagsXattr {
		return gofs.ENOATTR
	}
	n.mu.Lock()
	n.flags, n.flagsSet = nil, true
	n.mu.Unlock()
	return 0
}

func (n *localNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listFlagsXattr(dest)
}
