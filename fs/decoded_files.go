package fs

import (
	"context"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/decode"
)

// writeFlags are the open flags that would change a file.
const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_TRUNC | syscall.O_APPEND

// where is where the message of a decoded view's node (made for mb's
// message e) is now: a node is found again by the message's first
// identity (its inode number), so after this mount moves the message to
// another mailbox the node made where it was stands for it there too.
func (v *view) where(mb *mail.Mailbox, e mail.Entry) (*mail.Mailbox, mail.Entry) {
	now, r, moved := v.acct.Latest(mb, e.Ref())
	if !moved {
		return mb, e
	}
	if cur, ok := now.Current(r); ok {
		return now, cur
	}
	e.UIDValidity, e.UID = r.UIDValidity, r.UID
	return now, e
}

// textNode is NAME.txt in .text. Its size is exact once its text has been
// made (the first open, or read-ahead during a scan); before that it
// shows the message's size, with no attribute timeout, so the kernel
// asks again rather than trust it: a read past that size makes it ask
// (and get the exact one), a read that ends short of it sets the file's
// end. No reader stops short or reads past the end, and nothing has to
// be invalidated when the text is made.
type textNode struct {
	gofs.Inode
	v  *view
	mb *mail.Mailbox
	e  mail.Entry

	mu       sync.Mutex
	reported int64 // the st_size the kernel was last given
}

var (
	_ = (gofs.NodeGetattrer)((*textNode)(nil))
	_ = (gofs.NodeOpener)((*textNode)(nil))
	_ = (gofs.NodeReader)((*textNode)(nil))
	_ = (gofs.NodeSetattrer)((*textNode)(nil))
)

func (n *textNode) size() (int64, bool) {
	mb, e := n.v.where(n.mb, n.e)
	if s, ok := mb.TextSize(e.Ref()); ok {
		return s, true
	}
	return e.Size, false
}

// fillAttr fills out and returns how long the kernel may keep it.
func (n *textNode) fillAttr(out *fuse.Attr, ino uint64) time.Duration {
	_, e := n.v.where(n.mb, n.e)
	size, exact := n.size()
	out.Mode = syscall.S_IFREG | 0o400
	out.Nlink = 1
	out.Ino = ino
	out.Size = uint64(size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.Owner = n.v.owner()
	t := e.InternalDate
	out.SetTimes(&t, &t, &t)
	n.mu.Lock()
	n.reported = int64(out.Size)
	n.mu.Unlock()
	if !exact {
		return 0
	}
	return n.v.ttl
}

// present checks that the message a decoded view's node stands for has
// not gone as far as the model knows (expunged or moved elsewhere): a
// view answers ENOENT then, as the message's own file does, even with
// its text or body still cached. It asks nothing of the server.
func (v *view) present(mb *mail.Mailbox, e mail.Entry) syscall.Errno {
	if mb.Gone(e.Ref()) {
		return syscall.ENOENT
	}
	return 0
}

func (n *textNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	mb, e := n.v.where(n.mb, n.e)
	if fh == nil {
		if errno := n.v.present(mb, e); errno != 0 {
			return errno
		}
	}
	out.SetTimeout(n.fillAttr(&out.Attr, n.StableAttr().Ino))
	return 0
}

func (n *textNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	_, e := n.v.where(n.mb, n.e)
	return n.v.readOnlyView().refuse("setattr", n.v.name(e))
}

// Open makes the text (fetching the body if it is not cached), so that
// its exact size is known before any read.
func (n *textNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	mb, e := n.v.where(n.mb, n.e)
	if flags&writeFlags != 0 {
		return nil, 0, n.v.readOnlyView().refuse("open for writing", n.v.name(e))
	}
	if errno := n.v.present(mb, e); errno != 0 {
		return nil, 0, errno
	}
	mb.Opened(e.UID) // read-ahead sees a scan of .text as one of the mailbox
	if _, err := mb.Text(ctx, e.Ref()); err != nil {
		return nil, 0, n.v.errno("open text of "+n.v.name(e), err)
	}
	return nil, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
}

func (n *textNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	mb, e := n.v.where(n.mb, n.e)
	text, err := mb.Text(ctx, e.Ref())
	if err != nil {
		return nil, n.v.errno("read text of "+n.v.name(e), err)
	}
	return readAt(text, dest, off), 0
}

// partsDir is NAME/ in .parts: the message's parts, listed from its body.
type partsDir struct {
	gofs.Inode
	refusing
	v     *view
	mb    *mail.Mailbox
	e     mail.Entry
	scope string
}

var (
	_ = (gofs.NodeLookuper)((*partsDir)(nil))
	_ = (gofs.NodeReaddirer)((*partsDir)(nil))
	_ = (gofs.NodeGetattrer)((*partsDir)(nil))
	_ = (gofs.NodeCreater)((*partsDir)(nil))
	_ = (gofs.NodeMkdirer)((*partsDir)(nil))
	_ = (gofs.NodeUnlinker)((*partsDir)(nil))
	_ = (gofs.NodeRenamer)((*partsDir)(nil))
)

func (d *partsDir) fillAttr(out *fuse.Attr, ino uint64) {
	_, e := d.v.where(d.mb, d.e)
	out.Mode = syscall.S_IFDIR | 0o500
	out.Nlink = 2
	out.Ino = ino
	out.Owner = d.v.owner()
	t := e.InternalDate
	out.SetTimes(&t, &t, &t)
}

func (d *partsDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if fh == nil {
		mb, e := d.v.where(d.mb, d.e)
		if errno := d.v.present(mb, e); errno != 0 {
			return errno
		}
	}
	d.fillAttr(&out.Attr, d.StableAttr().Ino)
	out.SetTimeout(d.v.ttl)
	return 0
}

func (d *partsDir) parts(ctx context.Context) ([]decode.Part, syscall.Errno) {
	mb, e := d.v.where(d.mb, d.e)
	if errno := d.v.present(mb, e); errno != 0 {
		return nil, errno
	}
	parts, err := mb.Parts(ctx, e.Ref())
	if err != nil {
		return nil, d.v.errno("parts of "+d.v.name(e), err)
	}
	return parts, 0
}

func (d *partsDir) partIno(p decode.Part) uint64 {
	return mail.Hash("part", d.scope, strconv.FormatUint(d.StableAttr().Ino, 16), strconv.Itoa(p.Index))
}

func (d *partsDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	parts, errno := d.parts(ctx)
	if errno != 0 {
		return nil, errno
	}
	list := dots(d.EmbeddedInode())
	for _, p := range parts {
		list = append(list, fuse.DirEntry{Name: p.Name, Mode: syscall.S_IFREG, Ino: d.partIno(p)})
	}
	return gofs.NewListDirStream(list), 0
}

func (d *partsDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	mb, e := d.v.where(d.mb, d.e)
	parts, errno := d.parts(ctx)
	if errno != 0 {
		return nil, errno
	}
	for _, p := range parts {
		if p.Name != name {
			continue
		}
		n := &partNode{v: d.v, mb: mb, e: e, p: p}
		ino := d.partIno(p)
		n.fillAttr(&out.Attr, ino)
		out.SetEntryTimeout(d.v.ttl)
		out.SetAttrTimeout(d.v.ttl)
		return d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino}), 0
	}
	return nil, syscall.ENOENT
}

// partNode is one decoded part. Its size is exact from the listing; its
// bytes are streamed from the body, never kept decoded.
type partNode struct {
	gofs.Inode
	v  *view
	mb *mail.Mailbox
	e  mail.Entry
	p  decode.Part
}

var (
	_ = (gofs.NodeGetattrer)((*partNode)(nil))
	_ = (gofs.NodeOpener)((*partNode)(nil))
	_ = (gofs.NodeReader)((*partNode)(nil))
	_ = (gofs.NodeSetattrer)((*partNode)(nil))
)

func (n *partNode) fillAttr(out *fuse.Attr, ino uint64) {
	_, e := n.v.where(n.mb, n.e)
	out.Mode = syscall.S_IFREG | 0o400
	out.Nlink = 1
	out.Ino = ino
	out.Size = uint64(n.p.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.Owner = n.v.owner()
	t := e.InternalDate
	out.SetTimes(&t, &t, &t)
}

func (n *partNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fillAttr(&out.Attr, n.StableAttr().Ino)
	out.SetTimeout(n.v.ttl)
	return 0
}

func (n *partNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.v.readOnlyView().refuse("setattr", n.p.Name)
}

// partHandle is an open part: a decoder positioned where the last read
// ended, so sequential reads (cp, a viewer) decode each byte once.
type partHandle struct {
	mu   sync.Mutex
	body []byte
	r    io.Reader
	pos  int64
}

func (n *partNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	mb, e := n.v.where(n.mb, n.e)
	if flags&writeFlags != 0 {
		return nil, 0, n.v.readOnlyView().refuse("open for writing", n.p.Name)
	}
	if errno := n.v.present(mb, e); errno != 0 {
		return nil, 0, errno
	}
	body, _, err := mb.Body(ctx, e.Ref())
	if err != nil {
		return nil, 0, n.v.errno("open part "+n.p.Name, err)
	}
	return &partHandle{body: body, r: decode.Open(body, n.p)}, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
}

func (n *partNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := fh.(*partHandle)
	if !ok {
		return nil, syscall.EBADF
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if off < h.pos {
		h.r, h.pos = decode.Open(h.body, n.p), 0 // backwards: decode again from the start
	}
	if off > h.pos {
		skipped, _ := io.CopyN(io.Discard, h.r, off-h.pos)
		h.pos += skipped
		if h.pos < off {
			return fuse.ReadResultData(nil), 0
		}
	}
	k, err := io.ReadFull(h.r, dest)
	h.pos += int64(k)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, n.v.errno("read part "+n.p.Name, err)
	}
	return fuse.ReadResultData(dest[:k]), 0
}
