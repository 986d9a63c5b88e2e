package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// StatusDir is the hidden directory at the mount root that holds the
// status file: `cat MOUNTPOINT/.mailfs/status` (what `mailfs status`
// prints). It is not listed, so grep -r and find never wander into it.
const StatusDir = ".mailfs"

// statusDirNode is MOUNTPOINT/.mailfs.
type statusDirNode struct {
	gofs.Inode
	owner  fuse.Owner
	status func() string
	settle func() // waits until every write was released
}

var (
	_ = (gofs.NodeLookuper)((*statusDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*statusDirNode)(nil))
	_ = (gofs.NodeGetattrer)((*statusDirNode)(nil))
)

func (d *statusDirNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = d.owner
	return 0
}

func (d *statusDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if name == SettleFile {
		f := &statusFile{owner: d.owner, status: func() string { return "" }, settle: d.settle}
		out.Mode = syscall.S_IFREG | 0o400
		out.Owner = d.owner
		return d.NewInode(ctx, f, gofs.StableAttr{Mode: syscall.S_IFREG}), 0
	}
	if name != "status" {
		return nil, syscall.ENOENT
	}
	f := &statusFile{owner: d.owner, status: d.status}
	out.Mode = syscall.S_IFREG | 0o400
	out.Owner = d.owner
	return d.NewInode(ctx, f, gofs.StableAttr{Mode: syscall.S_IFREG}), 0
}

func (d *statusDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	return gofs.NewListDirStream(append(dots(d.EmbeddedInode()), fuse.DirEntry{Name: "status", Mode: syscall.S_IFREG})), 0
}

// statusFile is generated when opened; reads serve that snapshot.
type statusFile struct {
	gofs.Inode
	owner  fuse.Owner
	status func() string
	settle func() // set: opening it waits until every write was released
}

// SettleFile is MOUNTPOINT/.mailfs/settle: opening it returns once every
// descriptor opened for writing has been released, so that an unmount
// from outside (mailfs umount) loses nothing closed just before.
const SettleFile = "settle"

var (
	_ = (gofs.NodeOpener)((*statusFile)(nil))
	_ = (gofs.NodeGetattrer)((*statusFile)(nil))
)

type statusHandle struct{ data []byte }

var _ = (gofs.FileReader)((*statusHandle)(nil))

func (f *statusFile) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o400
	out.Size = uint64(len(f.status()))
	out.Owner = f.owner
	out.SetTimeout(0)
	return 0
}

func (f *statusFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0 {
		return nil, 0, syscall.EACCES
	}
	if f.settle != nil {
		f.settle()
	}
	return &statusHandle{data: []byte(f.status())}, fuse.FOPEN_DIRECT_IO, 0
}

func (h *statusHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return readAt(h.data, dest, off), 0
}
