package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
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
// memory; if it has a message name, closing it APPENDs it to the mailbox
// and it then shows under the message's own name.
type localNode struct {
	gofs.Inode
	acct *account
	mb   *mailbox

	mu       sync.Mutex // protects the following
	name     string     // current name in mb.local; "" once committed or removed
	data     []byte
	mtime    time.Time
	mtimeSet bool // set explicitly (cp -p, touch -d): becomes INTERNALDATE
	flags    []string
	flagsSet bool
	dirty    bool   // written since the last commit attempt
	replaces uint32 // UID of a message renamed away whose name this file took
}

var (
	_ = (gofs.NodeGetattrer)((*localNode)(nil))
	_ = (gofs.NodeSetattrer)((*localNode)(nil))
	_ = (gofs.NodeOpener)((*localNode)(nil))
	_ = (gofs.NodeReader)((*localNode)(nil))
	_ = (gofs.NodeWriter)((*localNode)(nil))
	_ = (gofs.NodeFlusher)((*localNode)(nil))
	_ = (gofs.NodeFsyncer)((*localNode)(nil))
	_ = (gofs.NodeGetxattrer)((*localNode)(nil))
	_ = (gofs.NodeSetxattrer)((*localNode)(nil))
	_ = (gofs.NodeListxattrer)((*localNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*localNode)(nil))
)

// localEntry makes (or finds) the inode of a scratch file in d and fills
// out; its attributes change with every write, so the kernel keeps none.
func (d *dirNode) localEntry(ctx context.Context, n *localNode, out *fuse.EntryOut) *gofs.Inode {
	ino := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG})
	n.mu.Lock()
	n._fill(&out.Attr)
	n.mu.Unlock()
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return ino
}

func (n *localNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	n._fill(&out.Attr)
	out.SetTimeout(0) // changes under writes; never cached
	return 0
}

func (n *localNode) _fill(a *fuse.Attr) {
	a.Mode = syscall.S_IFREG | 0o600
	a.Nlink = 1
	a.Ino = n.StableAttr().Ino
	a.Size = uint64(len(n.data))
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.Owner = fuse.Owner{Uid: n.acct.uid, Gid: n.acct.gid}
	a.SetTimes(&n.mtime, &n.mtime, &n.mtime)
}

func (n *localNode) Setattr(ctx context.Context, _ gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	if size, ok := in.GetSize(); ok {
		if size > maxMessageBytes {
			return syscall.EFBIG
		}
		n.data = resize(n.data, int(size))
		n.dirty = true
	}
	if mtime, ok := in.GetMTime(); ok {
		n.mtime, n.mtimeSet = mtime, true
	}
	n._fill(&out.Attr)
	return 0
}

func resize(b []byte, size int) []byte {
	if size <= len(b) {
		return b[:size]
	}
	return append(b, make([]byte, size-len(b))...)
}

func (n *localNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		n.mu.Lock()
		n.data, n.dirty = n.data[:0], true
		n.mu.Unlock()
	}
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (n *localNode) Read(ctx context.Context, _ gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return readAtCopy(n.data, dest, off), 0
}

func (n *localNode) Write(ctx context.Context, _ gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	end := off + int64(len(data))
	if end > maxMessageBytes {
		return 0, syscall.EFBIG
	}
	if end > int64(len(n.data)) {
		n.data = resize(n.data, int(end))
	}
	copy(n.data[off:], data)
	n.dirty = true
	if !n.mtimeSet {
		n.mtime = time.Now()
	}
	return uint32(len(data)), 0
}

// Flush runs on every close(2): a message-named file that was written is
// appended now, so that an APPEND failure is close's error.
func (n *localNode) Flush(ctx context.Context, _ gofs.FileHandle) syscall.Errno {
	return n.commitAndNotify(ctx)
}

func (n *localNode) Fsync(ctx context.Context, _ gofs.FileHandle, flags uint32) syscall.Errno {
	return n.commitAndNotify(ctx)
}

// commitAndNotify commits and then, synchronously, makes the kernel look
// the name up again, so that it finds the stored message. This is safe in
// FLUSH and FSYNC, where the kernel holds no lock on the directory.
func (n *localNode) commitAndNotify(ctx context.Context) syscall.Errno {
	name, errno := n.commit(ctx)
	if errno == 0 && name != "" {
		if _, parent := n.Parent(); parent != nil {
			parent.NotifyEntry(name)
		}
	}
	return errno
}

// commit appends the file if it is a written message file, and returns
// the name it had ("" when nothing was stored). Afterwards that name
// resolves to the stored message. A file that is not a message is dropped
// (it can never become one) and close fails with EINVAL; on a server
// failure it stays, so a later fsync or close retries.
func (n *localNode) commit(ctx context.Context) (string, syscall.Errno) {
	n.mu.Lock()
	if !n.dirty || n.name == "" || !isMessageName(n.name) {
		n.mu.Unlock()
		return "", 0
	}
	name := n.name
	data := append([]byte(nil), n.data...)
	flags, date := n._appendFlagsDate()
	n.mu.Unlock()

	p, _, err := n.acct.storeNamed(ctx, n.mb, data, flags, date)
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case err == nil:
		n.dirty = false
		n.mb.forgetLocal(name, n)
		n.mb.replacedBy(name, p)
		n.name = ""
		return name, 0
	case isInvalid(err):
		n.acct.log.Warn("file is not a message; not stored", "mailbox", n.mb.name, "file", name, "err", err)
		n.mb.forgetLocal(name, n)
		n.name = ""
		return "", syscall.EINVAL
	default:
		return "", toErrno(n.acct.log, "append "+name, err)
	}
}

// _appendFlagsDate chooses the flags and INTERNALDATE of the APPEND: set
// ones first, then those of the message this file replaces; n.mu held.
func (n *localNode) _appendFlagsDate() ([]string, time.Time) {
	flags, date := n.flags, time.Time{}
	if n.mtimeSet {
		date = n.mtime
	}
	if n.replaces != 0 {
		if e, ok := n.mb.currentAny(n.replaces); ok {
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

func (n *localNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != flagsXattr {
		return 0, gofs.ENOATTR
	}
	n.mu.Lock()
	v := strings.Join(n.flags, " ")
	n.mu.Unlock()
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *localNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr != flagsXattr {
		return syscall.ENOTSUP
	}
	parsed, err := ParseFlags(string(data))
	if err != nil {
		n.acct.log.Warn("invalid flags", "value", string(data), "err", err)
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
	v := flagsXattr + "\x00"
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
