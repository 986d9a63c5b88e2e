package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// flagsXattr is the extended attribute holding a message's IMAP flags.
const flagsXattr = "user.mail.flags"

// msgNode is one message file. Its identity (mailbox, UIDVALIDITY, UID)
// changes only when this mount moves it; its attributes come from the
// model's latest listing.
//
// It is not a go-fuse node: msgNodes keeps it and routes the kernel's
// requests to it (see msgnodes.go).
type msgNode struct {
	v       *view
	ino     uint64 // its inode number; its node id is ino|msgBit
	lookups uint64 // the kernel's lookups not forgotten; guarded by msgNodes.mu

	mu       sync.Mutex    // protects the following
	modes    *openModes    // opens by I/O mode and last state (see iomode.go); nil until the first open
	mb       *mail.Mailbox // where the message is
	ref      mail.Ref
	reported int64 // the st_size the kernel was last given
}

// where returns the message's mailbox and identity now.
func (n *msgNode) where() (*mail.Mailbox, mail.Ref) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mb, n.ref
}

// current returns the freshest metadata of the message: the model's,
// else the last kept; ok is false when neither has it (it went, and the
// node was never opened).
func (n *msgNode) current() (e mail.Entry, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.mb.Current(n.ref); ok {
		if n.modes != nil && n.modes.kept {
			n.modes.last = e
		}
		return e, true
	}
	if n.modes != nil && n.modes.kept {
		return n.modes.last, true
	}
	return mail.Entry{Message: mail.Message{UID: n.ref.UID}, UIDValidity: n.ref.UIDValidity}, false
}

// state is current's entry.
func (n *msgNode) state() mail.Entry {
	e, _ := n.current()
	return e
}

// found is current, asking the model when it knows nothing without
// asking (Mailbox.Find): ok is false when the message is gone.
func (n *msgNode) found(ctx context.Context) (mail.Entry, bool, error) {
	if e, ok := n.current(); ok {
		return e, true, nil
	}
	mb, ref := n.where()
	return mb.Find(ctx, ref)
}

// keep starts keeping the message's state (see openModes.last).
func (n *msgNode) keep(ctx context.Context) {
	if e, ok, _ := n.found(ctx); ok {
		n.remember(e)
	}
}

// remember keeps e as the message's state (see openModes.last) unless
// one is kept.
func (n *msgNode) remember(e mail.Entry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if m := n.modesLocked(); !m.kept {
		m.last, m.kept = e, true
	}
}

// moved points the node at where this mount moved its message.
func (n *msgNode) moved(mb *mail.Mailbox, e mail.Entry) {
	n.mu.Lock()
	n.mb, n.ref = mb, e.Ref()
	m := n.modesLocked()
	m.last, m.kept = e, true
	n.mu.Unlock()
}

// follow points the node at where this mount moved its message on
// from where the node last saw it, by a path the node was not told of:
// rm to Trash, a move in .maildir. A descriptor still open on it then
// reads and sets its flags there.
func (n *msgNode) follow(ctx context.Context) {
	mb, ref := n.where()
	to, r, ok := n.v.acct.Latest(mb, ref)
	if !ok {
		return
	}
	if e, ok, err := to.Find(ctx, r); err == nil && ok {
		n.moved(to, e)
	}
}

func (n *msgNode) fillAttr(e mail.Entry, out *fuse.Attr) {
	out.Mode = syscall.S_IFREG | 0o600
	out.Nlink = 1
	out.Ino = n.ino
	out.Size = uint64(e.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.Owner = fuse.Owner{Uid: n.v.uid, Gid: n.v.gid}
	t := e.InternalDate
	out.SetTimes(&t, &t, &t)
}

// fillEntry answers a LOOKUP. Attributes change only when a wrong
// RFC822.SIZE is corrected, which Open tells the kernel explicitly, so
// the kernel may keep them for the TTL.
func (n *msgNode) fillEntry(e mail.Entry, out *fuse.EntryOut) {
	n.fillAttr(e, &out.Attr)
	n.mu.Lock()
	n.reported = e.Size
	n.mu.Unlock()
	out.SetEntryTimeout(n.v.ttl)
	out.SetAttrTimeout(n.v.ttl)
	if f := n.editing(); f != nil {
		out.Attr.Size = uint64(f.Attr().Size)
		out.SetAttrTimeout(0)
	}
}

func (n *msgNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, ok, err := n.found(ctx)
	if err != nil {
		return n.v.errno("getattr", err)
	}
	if !ok && fh == nil && n.editing() == nil {
		return syscall.ENOENT // it went, and nothing holds it open
	}
	n.fillAttr(e, &out.Attr)
	out.SetTimeout(n.v.ttl)
	n.mu.Lock()
	n.reported = e.Size
	n.mu.Unlock()
	f := n.editing()
	if h, ok := fh.(*modeHandle); ok && h.writing != nil {
		f = h.writing // what this descriptor reads (see File.ReadAt)
	}
	if f != nil {
		out.Size = uint64(f.Attr().Size)
		out.SetTimeout(0)
	}
	return 0
}

// Open keeps the kernel's page cache across opens (a message's bytes never
// change under its identity) and asks for no FLUSH on close.
//
// The first open of a message whose size only the server reported (as
// RFC822.SIZE, which some servers get wrong) measures it, by loading the
// body that the reader is about to read anyway. If it differs, the kernel
// is told before Open returns, so no reader can stop at a wrong end. (The
// kernel holds no lock of a file being opened for reading; from READ the
// notification would deadlock.)
//
// Every open follows the I/O mode the kernel holds for the file while it
// is open (see iomode.go); opens of one message are answered one at a time.
func (n *msgNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	mu := n.openLock()
	mu.Lock()
	defer mu.Unlock()
	n.keep(ctx)
	write := flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0
	if !write {
		if f := n.editing(); f != nil && f.Loaded() {
			if errno := n.awaitNoPassthrough(ctx); errno != 0 {
				return nil, 0, errno
			}
			n.opened(ioDirect)
			return &modeHandle{mode: ioDirect, writing: f}, fuse.FOPEN_DIRECT_IO, 0 // the bytes being written
		}
		if h, ok := n.openOnDisk(); ok {
			n.opened(modeOfHandle(h))
			return h, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
		}
		if h := n.v.nodes.sharedDiskFile(n); h != nil {
			n.opened(ioPassthrough)
			return h, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
		}
	}
	if errno := n.awaitNoPassthrough(ctx); errno != 0 {
		return nil, 0, errno
	}
	var (
		h     gofs.FileHandle
		fl    uint32
		errno syscall.Errno
	)
	if write {
		h, fl, errno = n.openForEdit(ctx, flags)
	} else {
		h, fl, errno = n.openToRead(ctx)
	}
	if errno == 0 {
		n.opened(modeOfHandle(h))
	}
	return h, fl, errno
}

// openOnDisk opens a message whose body is in the disk cache on its
// file: passthrough where the kernel allows it, unless the message is
// open in another mode now (then mailfs reads the file).
func (n *msgNode) openOnDisk() (*diskHandle, bool) {
	h, size, ok := n.openFromDisk()
	if !ok {
		return nil, false
	}
	if !n.mayPassthrough() {
		h.viaMailfs = true
	}
	mb, ref := n.where()
	mb.Opened(ref.UID)
	n.mu.Lock()
	stale := n.reported != size
	n.mu.Unlock()
	if stale {
		n.v.nodes.notifyContent(n)
	}
	return h, true
}

// openToRead opens a message whose body is not in the disk cache.
func (n *msgNode) openToRead(ctx context.Context) (gofs.FileHandle, uint32, syscall.Errno) {
	mb, ref := n.where()
	e := n.state()
	if !mb.HasBody(ref) && mb.PreferHead() {
		// Maybe only the head will be read (a mail client opening a
		// mailbox): direct I/O, so a short read can end at the header
		// (and the end of the file is where the bytes end, whatever
		// size the server reported). A large body is read in ranges.
		mb.OpenedForHead(ref.UID)
		h := &headHandle{}
		if n.wantsRanged(mb, e) {
			h.ranged = &rangedHandle{}
		}
		return h, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
	}
	if n.wantsRanged(mb, e) {
		mb.Opened(ref.UID)
		return &rangedHandle{}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
	}
	mb.Opened(ref.UID)
	if !e.SizeKnown {
		body, _, err := mb.Body(ctx, ref)
		if err != nil {
			return nil, 0, n.v.errno("open "+n.v.name(e), err)
		}
		e.Size = int64(len(body))
	}
	n.mu.Lock()
	stale := n.reported != e.Size
	n.mu.Unlock()
	if stale {
		n.v.nodes.notifyContent(n)
	}
	return &modeHandle{mode: ioCached}, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
}

// Read serves from the body cache, fetching the whole body once on a miss.
//
// direct: the read is a process's read(2) on a direct-I/O open, which
// alone may be answered short (see readHeadFirst).
func (n *msgNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64, direct bool) (fuse.ReadResult, syscall.Errno) {
	if h, ok := fh.(*modeHandle); ok && h.writing != nil {
		b, err := h.writing.ReadAt(ctx, dest, off)
		if err != nil {
			return nil, n.v.errno("read", err)
		}
		return fuse.ReadResultData(b), 0
	}
	if f := n.editing(); f != nil && f.Loaded() {
		b, err := f.Read(ctx, dest, off)
		if err != nil {
			return nil, n.v.errno("read", err)
		}
		return fuse.ReadResultData(b), 0
	}
	if h, ok := fh.(*rangedHandle); ok {
		return n.readRanged(ctx, h, dest, off)
	}
	if h, ok := fh.(*diskHandle); ok {
		return h.Read(ctx, dest, off)
	}
	if h, ok := fh.(*headHandle); ok {
		return n.readHeadFirst(ctx, h, dest, off, direct)
	}
	mb, ref := n.where()
	body, _, err := mb.Body(ctx, ref)
	if err != nil {
		return nil, n.v.errno("read "+mb.Name(), err)
	}
	return readAt(body, dest, off), 0
}

func (n *msgNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != flagsXattr {
		return 0, gofs.ENOATTR
	}
	n.follow(ctx)
	if f := n.editing(); f != nil && f.Pending() {
		// A new version is being written or stored: the flags it will
		// have (what setxattr set meanwhile).
		return xattrValue(mail.SettableFlags(f.Flags()), dest)
	}
	return xattrValue(mail.SettableFlags(n.state().Flags), dest)
}

func (n *msgNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listFlagsXattr(dest)
}

// xattrValue answers getxattr with flags: what it shows, setxattr takes.
func xattrValue(flags []string, dest []byte) (uint32, syscall.Errno) {
	v := strings.Join(flags, " ")
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func listFlagsXattr(dest []byte) (uint32, syscall.Errno) {
	v := flagsXattr + "\x00"
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
