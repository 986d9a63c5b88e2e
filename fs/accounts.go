package fs

import (
	"context"
	"log/slog"
	"sort"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// A mount of several accounts has a root of its own: one directory per
// account, each holding the tree a single-account mount shows at its root
// (with its own .mailfs), and a .mailfs for all of them. The root holds
// nothing else: creating, removing or renaming there is EPERM.

// Named is one account of a multi-account mount.
type Named struct {
	Name    string // the directory at the root: a valid file name, no leading dot
	Account *mail.Account
	Files   *files.Model // nil: made with FileModel
	// Status, when set, is the text of NAME/.mailfs/status.
	Status func() string
	// Searches are the account's own named searches (name -> query).
	Searches map[string]string
}

// accountsNode is the root of a multi-account mount.
type accountsNode struct {
	gofs.Inode
	owner   fuse.Owner
	started time.Time
	views   map[string]*view
	status  map[string]func() string
	all     func() string // MOUNTPOINT/.mailfs/status
	settle  func()
	// searches are the mount-wide named searches, listed in
	// MOUNTPOINT/.search.
	searches map[string]string
	logger   *slog.Logger
}

func (r *accountsNode) log() *slog.Logger {
	if r.logger != nil {
		return r.logger
	}
	return slog.Default()
}

var (
	_ = (gofs.NodeLookuper)((*accountsNode)(nil))
	_ = (gofs.NodeReaddirer)((*accountsNode)(nil))
	_ = (gofs.NodeGetattrer)((*accountsNode)(nil))
	_ = (gofs.NodeMkdirer)((*accountsNode)(nil))
	_ = (gofs.NodeCreater)((*accountsNode)(nil))
	_ = (gofs.NodeRmdirer)((*accountsNode)(nil))
	_ = (gofs.NodeUnlinker)((*accountsNode)(nil))
	_ = (gofs.NodeRenamer)((*accountsNode)(nil))
	_ = (gofs.NodeStatfser)((*accountsNode)(nil))
)

func (r *accountsNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o700
	out.Nlink = 2
	out.Owner = r.owner
	t := r.started
	out.SetTimes(&t, &t, &t)
	return 0
}

func (r *accountsNode) names() []string {
	names := make([]string, 0, len(r.views))
	for n := range r.views {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *accountsNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list := dots(r.EmbeddedInode())
	for _, n := range r.names() {
		list = append(list, fuse.DirEntry{Name: n, Mode: syscall.S_IFDIR, Ino: r.views[n].acct.Mailbox("").ID()})
	}
	return gofs.NewListDirStream(list), 0
}

func (r *accountsNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if name == SearchDir {
		out.Mode = syscall.S_IFDIR | 0o500
		out.Owner = r.owner
		return r.NewInode(ctx, &accountsSearchNode{r: r}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	if name == MaildirDir {
		out.Mode = syscall.S_IFDIR | 0o500
		out.Owner = r.owner
		return r.NewInode(ctx, &accountsMaildirNode{r: r}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	if name == StatusDir && r.all != nil {
		out.Mode = syscall.S_IFDIR | 0o500
		out.Owner = r.owner
		n := &statusDirNode{owner: r.owner, status: r.all, settle: r.settle}
		return r.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	v, ok := r.views[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	mb := v.acct.Mailbox("")
	n := &dirNode{v: v, mb: mb, status: r.status[name]}
	n.fillAttr(&out.Attr)
	out.Attr.Ino = mb.ID()
	out.SetEntryTimeout(time.Hour) // the accounts never change while mounted
	out.SetAttrTimeout(time.Hour)
	return r.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: mb.ID()}), 0
}

// The root holds accounts, which come from the configuration.
func (r *accountsNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (r *accountsNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

func (r *accountsNode) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

func (r *accountsNode) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

func (r *accountsNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}

func (r *accountsNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize, out.Frsize, out.NameLen = 4096, 4096, 255
	return 0
}

// accountsMaildirNode is .maildir at a multi-account root: one directory
// per account, each that account's .maildir.
type accountsMaildirNode struct {
	gofs.Inode
	r *accountsNode
}

var (
	_ = (gofs.NodeLookuper)((*accountsMaildirNode)(nil))
	_ = (gofs.NodeReaddirer)((*accountsMaildirNode)(nil))
)

func (n *accountsMaildirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list := dots(n.EmbeddedInode())
	for _, name := range n.r.names() {
		v := n.r.views[name]
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: v.maildirIno(v.acct.Mailbox(""), "")})
	}
	return gofs.NewListDirStream(list), 0
}

func (n *accountsMaildirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	v, ok := n.r.views[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	mb := v.acct.Mailbox("")
	v.maildirAttr(mb, &out.Attr)
	out.SetAttrTimeout(0)
	return n.NewInode(ctx, &maildirBox{v: v, mb: mb}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: v.maildirIno(mb, "")}), 0
}
