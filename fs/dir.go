package fs

import (
	"context"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// dirNode is a mailbox directory; the root is the dirNode of the mailbox
// "" (which holds no messages). It holds the model's Mailbox object, which
// follows a rename: the node and its inode number stay with the mailbox,
// and a new mailbox made under the old name is a new object with a new
// number.
type dirNode struct {
	gofs.Inode
	v  *view
	mb *mail.Mailbox

	status func() string // root only: the .mailfs/status text
}

var (
	_ = (gofs.NodeLookuper)((*dirNode)(nil))
	_ = (gofs.NodeReaddirer)((*dirNode)(nil))
	_ = (gofs.NodeSetattrer)((*dirNode)(nil))
	_ = (gofs.NodeSetxattrer)((*dirNode)(nil))
	_ = (gofs.NodeGetxattrer)((*dirNode)(nil))
	_ = (gofs.NodeGetattrer)((*dirNode)(nil))
	_ = (gofs.NodeStatfser)((*dirNode)(nil))
)

func (d *dirNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fillAttr(&out.Attr)
	out.SetTimeout(d.v.ttl)
	return 0
}

func (d *dirNode) fillAttr(a *fuse.Attr) {
	a.Mode = syscall.S_IFDIR | 0o700
	a.Nlink = 2
	a.Ino = d.StableAttr().Ino
	a.Owner = fuse.Owner{Uid: d.v.uid, Gid: d.v.gid}
	t := d.v.changedAt(d.mb)
	a.SetTimes(&t, &t, &t)
}

// changedAt is a mailbox directory's mtime: the last change the mount saw
// in it (mail arrived or went, flags changed) or in the mailbox tree, or
// the mount's start. Tools that keep an index (notmuch, mutt's new-mail
// check, find -newer) rescan by it.
func (v *view) changedAt(mb *mail.Mailbox) time.Time {
	t := v.started
	for _, c := range []time.Time{mb.ChangedAt(), v.files.ChangedAt(mb), v.acct.TreeChangedAt()} {
		if c.After(t) {
			t = c
		}
	}
	return t
}

// child finds the sub-mailbox a file name stands for.
func childOf(f mail.Folder, name string) (string, bool) {
	leaf := UnescapeMailboxPart(name)
	full, ok := f.Children[leaf]
	return full, ok && escapeLeaf(f.Name == "", leaf) == name
}

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d.v.dirInode(d.mb, d.EmbeddedInode())
	if d.mb.Name() == "" {
		if in, ok := d.v.lookupDecoded(ctx, d.EmbeddedInode(), name, accountSource{d.v}, out); ok {
			return in, 0
		}
	}
	if d.mb.Name() == "" && name == MaildirDir {
		n := &maildirBox{v: d.v, mb: d.mb}
		d.v.maildirAttr(d.mb, &out.Attr)
		out.SetAttrTimeout(0)
		return d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: d.v.maildirIno(d.mb, "")}), 0
	}
	if d.mb.Name() == "" && name == SearchDir {
		out.Mode = syscall.S_IFDIR | 0o500
		out.Owner = d.v.owner()
		return d.NewInode(ctx, &searchRootNode{v: d.v}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	if d.status != nil && name == StatusDir {
		n := &statusDirNode{owner: d.v.owner(), status: d.status, settle: func() { d.v.settle(settleLimit) }}
		out.Mode = syscall.S_IFDIR | 0o500
		return d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	f, err := d.v.acct.Folder(ctx, d.mb.Name())
	if err != nil {
		return nil, d.v.errno("lookup "+name, err)
	}
	if full, ok := childOf(f, name); ok {
		return d.childDir(ctx, full, out), 0
	}
	if !f.Selectable {
		return nil, syscall.ENOENT
	}
	d.v.dirInode(d.mb, d.EmbeddedInode())
	if in, ok := d.localChild(ctx, name, out); ok {
		return in, 0
	}
	it, ok, err := d.v.files.Lookup(ctx, d.mb, name)
	if err != nil {
		return nil, d.v.errno("lookup "+name, err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	return d.v.itemInode(ctx, d.EmbeddedInode(), d.mb, it, out)
}

// itemInode answers a lookup of what a name opens and fills out: a
// message's node (also when a file of this mount stands for it), which
// is msgNodes', not go-fuse's (errMessage), or a file's not stored yet.
func (v *view) itemInode(ctx context.Context, parent *gofs.Inode, mb *mail.Mailbox, it files.Item, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if it.Message {
		v.msgEntry(mb, it.Entry, out)
		return nil, errMessage
	}
	return v.fileInode(ctx, parent, it.File, out), 0
}

// msgEntry makes (or finds) the node of message e of mb and fills the
// kernel's answer to a lookup of it with it: one node per message,
// whichever directory reaches it (its mailbox, a search result, the
// .maildir view), since its number comes from its identity. A node that
// still names where the message was before this mount moved it (a move
// made elsewhere than by rename of this node: .maildir, rm to Trash) is
// pointed at where it is.
func (v *view) msgEntry(mb *mail.Mailbox, e mail.Entry, out *fuse.EntryOut) *msgNode {
	n := v.nodes.lookedUp(v, mb, e)
	if was, r := n.where(); (was != mb || r != e.Ref()) && v.acct.MovedAway(was, r) && !v.acct.MovedAway(mb, e.Ref()) {
		n.moved(mb, e)
	}
	n.fillEntry(e, out)
	out.NodeId = n.ino | msgBit
	out.Generation = 0
	return n
}

// followMove points the node the kernel holds for a message this mount
// just moved (if it holds one) at where it is now, e: the node keeps its
// number, as a file keeps its inode through rename(2).
func (v *view) followMove(mb *mail.Mailbox, e mail.Entry) {
	if n := v.nodes.find(v.msgIno(mb, e.Ref())); n != nil {
		n.moved(mb, e)
	}
}

func (d *dirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	st := &itemStream{d: d}
	if errno := st.start(ctx); errno != 0 {
		return nil, errno
	}
	return st, 0
}

// itemStream is a mailbox directory as the kernel reads it: the
// directories first, then the files and messages a part at a time, so
// that a directory of a million messages is never one list in memory.
type itemStream struct {
	d     *dirNode
	head  []fuse.DirEntry // what is listed before the items, then a part of them
	s     *files.Stream   // nil: no more items
	pos   uint64          // entries read since the start (the offset of the next)
	items []files.Item    // reused for each part
	buf   []fuse.DirEntry // reused for each part
}

// streamPart is how many items are named at a time.
const streamPart = 256

var _ = (gofs.FileSeekdirer)((*itemStream)(nil))

// start (re)starts reading the directory from its first entry.
func (st *itemStream) start(ctx context.Context) syscall.Errno {
	d := st.d
	d.v.dirInode(d.mb, d.EmbeddedInode())
	f, err := d.v.acct.Folder(ctx, d.mb.Name())
	if err != nil {
		return d.v.errno("readdir", err)
	}
	list := dots(d.EmbeddedInode())
	for _, leaf := range f.ChildLeaves() {
		ino := d.v.acct.Mailbox(f.Children[leaf]).ID()
		list = append(list, fuse.DirEntry{Name: escapeLeaf(d.mb.Name() == "", leaf), Mode: syscall.S_IFDIR, Ino: ino})
	}
	st.head, st.s, st.pos = list, nil, 0
	if !f.Selectable {
		return 0
	}
	for _, e := range d.v.files.LocalList(d.mb, "") {
		st.head = append(st.head, fuse.DirEntry{Name: e.Name, Mode: syscall.S_IFDIR, Ino: d.v.localDirIno(d.mb, e.Name)})
	}
	s, err := d.v.files.Stream(ctx, d.mb)
	if err != nil {
		return d.v.errno("readdir", err)
	}
	st.s = s
	return 0
}

func (st *itemStream) HasNext() bool {
	if len(st.head) == 0 && st.s != nil {
		st.items = st.s.Next(st.items[:0], streamPart)
		st.buf = st.d.v.appendItems(st.buf[:0], st.d.mb, st.items)
		st.head = st.buf
		if len(st.head) == 0 {
			st.s = nil
		}
	}
	return len(st.head) > 0
}

func (st *itemStream) Next() (fuse.DirEntry, syscall.Errno) {
	e := st.head[0]
	st.head = st.head[1:]
	st.pos++
	e.Off = st.pos
	return e, 0
}

// Seekdir goes to the entry at offset off: from the start again
// (rewinddir, or an offset already read), then forward.
func (st *itemStream) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if off < st.pos {
		if errno := st.start(ctx); errno != 0 {
			return errno
		}
	}
	for st.pos < off {
		if !st.HasNext() {
			return syscall.EINVAL
		}
		st.Next()
	}
	return 0
}

func (st *itemStream) Close() {}

// appendItems lists the names of a mailbox's directory (messages, with
// their inode numbers, and files of this mount).
func (v *view) appendItems(list []fuse.DirEntry, mb *mail.Mailbox, items []files.Item) []fuse.DirEntry {
	for _, it := range items {
		ino := uint64(0)
		switch {
		case it.Message:
			ino = v.msgIno(mb, it.Entry.Ref())
		case it.File != nil:
			ino = v.fileIno(it.File)
		}
		list = append(list, fuse.DirEntry{Name: it.Name, Mode: syscall.S_IFREG, Ino: ino})
	}
	return list
}

// dots are the "." and ".." every directory lists (ls -a); the kernel
// does not add them for a FUSE file system.
func dots(in *gofs.Inode) []fuse.DirEntry {
	up := in.StableAttr().Ino
	if _, parent := in.Parent(); parent != nil {
		up = parent.StableAttr().Ino
	}
	return []fuse.DirEntry{
		{Name: ".", Mode: syscall.S_IFDIR, Ino: in.StableAttr().Ino},
		{Name: "..", Mode: syscall.S_IFDIR, Ino: up},
	}
}

// Setattr on a directory: times, mode and owner cannot be kept on the
// server; they are accepted and ignored, as for messages, so touch,
// cp -a and rsync -a do not fail.
func (d *dirNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return d.Getattr(ctx, fh, out)
}

// childDir makes the inode of child mailbox full and fills out.
func (d *dirNode) childDir(ctx context.Context, full string, out *fuse.EntryOut) *gofs.Inode {
	mb := d.v.acct.Mailbox(full)
	n := &dirNode{v: d.v, mb: mb}
	ino := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: mb.ID()})
	n.fillAttr(&out.Attr)
	out.Attr.Ino = mb.ID()
	out.SetEntryTimeout(d.v.ttl)
	out.SetAttrTimeout(d.v.ttl)
	return ino
}

// readAt serves a read of data at off into a reply.
func readAt(data []byte, dest []byte, off int64) fuse.ReadResult {
	return fuse.ReadResultData(span(data, dest, off))
}

func span(data []byte, dest []byte, off int64) []byte {
	if off >= int64(len(data)) {
		return nil
	}
	return data[off:min(off+int64(len(dest)), int64(len(data)))]
}

// Statfs answers df and file managers; IMAP has no meaningful figures.
func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize = 4096
	out.NameLen = 255
	out.Frsize = 4096
	return 0
}

// Directories have no extended attributes: reading one is ENODATA,
// setting one ENOTSUP, so cp -a and rsync -aX learn that ACLs are not
// supported and fall back to the mode (which is accepted and ignored).
func (d *dirNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, gofs.ENOATTR
}

func (d *dirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

func (d *dirNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return gofs.ENOATTR
}

func (d *dirNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}
