package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// localDir is a directory of this mount only, made in a mailbox under a
// name starting with a dot (git init's .git): never a mailbox on the
// server, and nothing in it is stored (files.Model's local.go).
type localDir struct {
	gofs.Inode
	v    *view
	mb   *mail.Mailbox
	path string // ".git/objects"
}

var (
	_ = (gofs.NodeLookuper)((*localDir)(nil))
	_ = (gofs.NodeReaddirer)((*localDir)(nil))
	_ = (gofs.NodeGetattrer)((*localDir)(nil))
	_ = (gofs.NodeSetattrer)((*localDir)(nil))
	_ = (gofs.NodeMkdirer)((*localDir)(nil))
	_ = (gofs.NodeRmdirer)((*localDir)(nil))
	_ = (gofs.NodeCreater)((*localDir)(nil))
	_ = (gofs.NodeUnlinker)((*localDir)(nil))
	_ = (gofs.NodeRenamer)((*localDir)(nil))
)

func (v *view) localDirIno(mb *mail.Mailbox, path string) uint64 {
	return mail.Hash("local", v.acct.ID(), mb.Name(), path)
}

// localDirInode makes (or finds) the inode of local directory path.
func (v *view) localDirInode(ctx context.Context, parent *gofs.Inode, mb *mail.Mailbox, path string, out *fuse.EntryOut) *gofs.Inode {
	n := &localDir{v: v, mb: mb, path: path}
	n.fill(&out.Attr)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return parent.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: v.localDirIno(mb, path)})
}

func (n *localDir) fill(a *fuse.Attr) {
	a.Mode = syscall.S_IFDIR | 0o700
	a.Nlink = 2
	a.Owner = n.v.owner()
	t := n.v.changedAt(n.mb)
	a.SetTimes(&t, &t, &t)
}

func (n *localDir) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fill(&out.Attr)
	return 0
}

func (n *localDir) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.Getattr(ctx, fh, out)
}

func (n *localDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	e, ok := n.v.files.LocalLookup(n.mb, n.path, name)
	switch {
	case !ok:
		return nil, syscall.ENOENT
	case e.Dir:
		return n.v.localDirInode(ctx, n.EmbeddedInode(), n.mb, n.path+"/"+name, out), 0
	}
	return n.v.fileInode(ctx, n.EmbeddedInode(), e.File, out), 0
}

func (n *localDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list := dots(n.EmbeddedInode())
	for _, e := range n.v.files.LocalList(n.mb, n.path) {
		if e.Dir {
			list = append(list, fuse.DirEntry{Name: e.Name, Mode: syscall.S_IFDIR, Ino: n.v.localDirIno(n.mb, n.path+"/"+e.Name)})
		} else {
			list = append(list, fuse.DirEntry{Name: e.Name, Mode: syscall.S_IFREG, Ino: n.v.fileIno(e.File)})
		}
	}
	return gofs.NewListDirStream(list), 0
}

func (n *localDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if err := n.v.files.LocalMkdir(n.mb, n.path, name); err != nil {
		return nil, n.v.errno("mkdir "+name, err)
	}
	return n.v.localDirInode(ctx, n.EmbeddedInode(), n.mb, n.path+"/"+name, out), 0
}

func (n *localDir) Rmdir(ctx context.Context, name string) syscall.Errno {
	if err := n.v.files.LocalRmdir(n.mb, n.path, name); err != nil {
		return n.v.errno("rmdir "+name, err)
	}
	return 0
}

func (n *localDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	h, err := n.v.files.LocalCreate(n.mb, n.path, name)
	if err != nil {
		return nil, nil, 0, n.v.errno("create "+name, err)
	}
	n.v.wrote()
	return n.v.fileInode(ctx, n.EmbeddedInode(), h.File(), out), &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *localDir) Unlink(ctx context.Context, name string) syscall.Errno {
	if err := n.v.files.LocalUnlink(ctx, n.mb, n.path, name); err != nil {
		return n.v.errno("unlink "+name, err)
	}
	return 0
}

// Rename within the local directories of the same mailbox.
func (n *localDir) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	var to string
	switch p := newParent.(type) {
	case *localDir:
		if p.mb != n.mb {
			return syscall.EXDEV
		}
		to = p.path
	default:
		return syscall.EXDEV
	}
	if err := n.v.files.LocalRename(ctx, n.mb, n.path, name, to, newName); err != nil {
		return n.v.errno("rename "+name, err)
	}
	return 0
}

// localChild answers a LOOKUP in a mailbox directory of a local
// directory's name (ok false: not one).
func (d *dirNode) localChild(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, bool) {
	if !files.IsLocalDirName(name) || d.mb.Name() == "" {
		return nil, false
	}
	if e, ok := d.v.files.LocalLookup(d.mb, "", name); ok && e.Dir {
		return d.v.localDirInode(ctx, d.EmbeddedInode(), d.mb, name, out), true
	}
	return nil, false
}
