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

// flagsXattr is the extended attribute holding a message's IMAP flags.
const flagsXattr = "user.mail.flags"

// msgNode is one message file. Its identity (mailbox, UIDVALIDITY, UID)
// never changes; its attributes come from the mailbox's latest listing.
type msgNode struct {
	gofs.Inode
	acct        *account
	mb          *mailbox
	uidValidity uint32
	uid         uint32

	mu       sync.Mutex // protects the following
	last     entry      // last known state, kept when the listing drops it
	reported int64      // the st_size the kernel was last given
}

var (
	_ = (gofs.NodeGetattrer)((*msgNode)(nil))
	_ = (gofs.NodeOpener)((*msgNode)(nil))
	_ = (gofs.NodeReader)((*msgNode)(nil))
	_ = (gofs.NodeGetxattrer)((*msgNode)(nil))
	_ = (gofs.NodeListxattrer)((*msgNode)(nil))
)

// state returns the freshest metadata of the message.
func (n *msgNode) state() entry {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.mb.current(n.uidValidity, n.uid); ok {
		n.last = e
	}
	return n.last
}

func fillMessageAttr(a *account, e entry, ino uint64, out *fuse.Attr) {
	out.Mode = syscall.S_IFREG | 0o600
	out.Nlink = 1
	out.Ino = ino
	out.Size = uint64(e.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.Owner = fuse.Owner{Uid: a.uid, Gid: a.gid}
	t := e.InternalDate
	out.SetTimes(&t, &t, &t)
}

// messageAttrTimeout: attributes change only when flags do (not shown in
// attributes) or when a wrong RFC822.SIZE is corrected, which Open does
// explicitly, so the kernel may keep them.
func messageAttrTimeout(a *account, e entry) time.Duration {
	return a.ttl
}

// told records the size given to the kernel.
func (n *msgNode) told(size int64) {
	n.mu.Lock()
	n.reported = size
	n.mu.Unlock()
}

func (n *msgNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e := n.state()
	fillMessageAttr(n.acct, e, n.StableAttr().Ino, &out.Attr)
	n.told(e.Size)
	out.SetTimeout(messageAttrTimeout(n.acct, e))
	if h, ok := fh.(*editHandle); ok {
		h.mu.Lock()
		out.Size = uint64(len(h.data))
		h.mu.Unlock()
		out.SetTimeout(0)
	}
	return 0
}

// Open keeps the kernel's page cache across opens (a message's bytes never
// change under its identity) and asks for no FLUSH on close (nothing to
// flush when reading).
//
// The first open of a message whose size only the server reported (as
// RFC822.SIZE, which some servers get wrong) measures it, by loading the
// body that the reader is about to read anyway. If it differs, the kernel
// is told before Open returns, so no reader can stop at a wrong end. (The
// notification is safe here: the kernel holds no page or inode lock of a
// file being opened for reading; from READ it would deadlock.)
func (n *msgNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return n.openForEdit(ctx, flags)
	}
	n.mb.opened(n.acct, n.uid)
	e := n.state()
	if n.wantsRanged(e) {
		return n.openRanged()
	}
	if !e.sizeKnown {
		body, err := n.body(ctx)
		if err != nil {
			return nil, 0, toErrno(n.acct.log, "open "+e.name, err)
		}
		e.Size = int64(len(body))
	}
	n.mu.Lock()
	stale := n.reported != e.Size
	n.mu.Unlock()
	if stale {
		n.NotifyContent(0, 0)
	}
	return nil, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
}

// Read serves from the body cache, fetching the whole body once on a miss.
func (n *msgNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if h, ok := fh.(*editHandle); ok {
		h.mu.Lock()
		defer h.mu.Unlock()
		return readAtCopy(h.data, dest, off), 0
	}
	if h, ok := fh.(*rangedHandle); ok {
		return n.readRanged(ctx, h, dest, off)
	}
	body, err := n.body(ctx)
	if err != nil {
		return nil, toErrno(n.acct.log, "read "+n.mb.name, err)
	}
	return readAt(body, dest, off), 0
}

func (n *msgNode) body(ctx context.Context) ([]byte, error) {
	key := n.acct.bodyKey(n.mb.name, n.uidValidity, n.uid)
	body, err := n.acct.bodies.GetOrLoad(ctx, key, func(ctx context.Context) ([]byte, error) {
		return n.acct.backend.Body(ctx, n.mb.name, n.uidValidity, n.uid)
	})
	if err != nil {
		return nil, err
	}
	if n.mb.measured(n.uidValidity, n.uid, int64(len(body))) {
		n.acct.log.Debug("server reported a wrong RFC822.SIZE; corrected", "mailbox", n.mb.name, "uid", n.uid, "size", len(body))
	}
	return body, nil
}

func (n *msgNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != flagsXattr {
		return 0, gofs.ENOATTR
	}
	v := strings.Join(n.state().Flags, " ")
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *msgNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	v := flagsXattr + "\x00"
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
