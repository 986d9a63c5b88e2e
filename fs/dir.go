package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirNode is a mailbox directory; the root is the dirNode of name "".
type dirNode struct {
	gofs.Inode
	acct *account
	name string // full mailbox name on the server

	status func() string // root only: the .mailfs/status text
}

var (
	_ = (gofs.NodeLookuper)((*dirNode)(nil))
	_ = (gofs.NodeReaddirer)((*dirNode)(nil))
	_ = (gofs.NodeGetattrer)((*dirNode)(nil))
	_ = (gofs.NodeStatfser)((*dirNode)(nil))
)

func (d *dirNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fillAttr(&out.Attr)
	out.SetTimeout(d.acct.ttl)
	return 0
}

func (d *dirNode) fillAttr(a *fuse.Attr) {
	a.Mode = syscall.S_IFDIR | 0o700
	a.Nlink = 2
	a.Ino = d.StableAttr().Ino
	a.Owner = fuse.Owner{Uid: d.acct.uid, Gid: d.acct.gid}
	t := d.acct.started
	a.SetTimes(&t, &t, &t)
}

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if d.name == "" && name == StatusDir && d.status != nil {
		n := &statusDirNode{acct: d.acct, status: d.status}
		out.Mode = syscall.S_IFDIR | 0o500
		return d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	f, err := d.acct.tree.get(ctx, d.name)
	if err != nil {
		return nil, toErrno(d.acct.log, "lookup "+name, err)
	}
	if child, ok := f.children[name]; ok {
		return d.childDir(ctx, child, out), 0
	}
	if !f.selectable {
		return nil, syscall.ENOENT
	}
	mb := d.acct.mailbox(d.name)
	mb.setDir(d.EmbeddedInode())
	if n := mb.localFile(name); n != nil {
		return d.localEntry(ctx, n, out), 0
	}
	e, ok, err := mb.lookup(ctx, name)
	if err != nil {
		return nil, toErrno(d.acct.log, "lookup "+name, err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	n := &msgNode{acct: d.acct, mb: mb, uidValidity: e.uidValidity, uid: e.UID, last: e}
	ino := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: d.acct.msgIno(d.name, e.uidValidity, e.UID)})
	fillMessageAttr(d.acct, e, ino.StableAttr().Ino, &out.Attr)
	if live, ok := ino.Operations().(*msgNode); ok {
		live.told(e.Size)
	}
	out.SetEntryTimeout(d.acct.ttl)
	out.SetAttrTimeout(messageAttrTimeout(d.acct, e))
	return ino, 0
}

func (d *dirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	f, err := d.acct.tree.get(ctx, d.name)
	if err != nil {
		return nil, toErrno(d.acct.log, "readdir", err)
	}
	var list []fuse.DirEntry
	for _, n := range f.childNames() {
		list = append(list, fuse.DirEntry{Name: n, Mode: syscall.S_IFDIR, Ino: d.acct.dirIno(f.children[n])})
	}
	if f.selectable {
		mb := d.acct.mailbox(d.name)
		mb.setDir(d.EmbeddedInode())
		entries, err := mb.entries(ctx)
		if err != nil {
			return nil, toErrno(d.acct.log, "readdir", err)
		}
		for _, e := range entries {
			list = append(list, fuse.DirEntry{Name: e.name, Mode: syscall.S_IFREG, Ino: d.acct.msgIno(d.name, e.uidValidity, e.UID)})
		}
		for _, name := range mb.localNames() {
			list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG})
		}
	}
	return gofs.NewListDirStream(list), 0
}

// childDir makes the inode of child mailbox full and fills out.
func (d *dirNode) childDir(ctx context.Context, full string, out *fuse.EntryOut) *gofs.Inode {
	n := &dirNode{acct: d.acct, name: full}
	ino := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: d.acct.dirIno(full)})
	n.fillAttr(&out.Attr)
	out.SetEntryTimeout(d.acct.ttl)
	out.SetAttrTimeout(d.acct.ttl)
	return ino
}

// readAt serves a read of data at off into a reply.
func readAt(data []byte, dest []byte, off int64) fuse.ReadResult {
	return fuse.ReadResultData(span(data, dest, off))
}

// readAtCopy is readAt for a buffer that may change after the reply is
// built (it is sent after the handler returns).
func readAtCopy(data []byte, dest []byte, off int64) fuse.ReadResult {
	return fuse.ReadResultData(append([]byte(nil), span(data, dest, off)...))
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
