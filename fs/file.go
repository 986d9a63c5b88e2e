package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// fileNode is a file of this mount that the server holds no version of
// yet: one created here (a message once stored, or a scratch file). Its
// state is the file model's; once stored, its name opens the message.
type fileNode struct {
	gofs.Inode
	v *view
	f *files.File
}

var (
	_ = (gofs.NodeGetattrer)((*fileNode)(nil))
	_ = (gofs.NodeSetattrer)((*fileNode)(nil))
	_ = (gofs.NodeOpener)((*fileNode)(nil))
	_ = (gofs.NodeReader)((*fileNode)(nil))
	_ = (gofs.NodeWriter)((*fileNode)(nil))
	_ = (gofs.NodeFlusher)((*fileNode)(nil))
	_ = (gofs.NodeFsyncer)((*fileNode)(nil))
	_ = (gofs.NodeReleaser)((*fileNode)(nil))
	_ = (gofs.NodeGetxattrer)((*fileNode)(nil))
	_ = (gofs.NodeSetxattrer)((*fileNode)(nil))
	_ = (gofs.NodeListxattrer)((*fileNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*fileNode)(nil))
)

// writeHandle is a descriptor opened for writing: the file model's
// handle of the file it writes.
type writeHandle struct{ h *files.Handle }

// fileInode makes (or finds) the inode of file f under parent and fills
// out; its attributes change with every write, so the kernel keeps none.
func (v *view) fileInode(ctx context.Context, parent *gofs.Inode, f *files.File, out *fuse.EntryOut) *gofs.Inode {
	n := &fileNode{v: v, f: f}
	ino := parent.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: v.fileIno(f)})
	v.fileAttr(f, &out.Attr)
	out.Attr.Ino = v.fileIno(f)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return ino
}

func (v *view) fileAttr(f *files.File, a *fuse.Attr) {
	at := f.Attr()
	a.Mode = syscall.S_IFREG | 0o600
	a.Nlink = 1
	a.Size = uint64(at.Size)
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.Owner = v.owner()
	a.SetTimes(&at.Mtime, &at.Mtime, &at.Mtime)
}

func (n *fileNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.v.fileAttr(n.f, &out.Attr)
	out.Ino = n.StableAttr().Ino
	out.SetTimeout(0) // changes under writes; never cached
	return 0
}

func (n *fileNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.v.setattr(ctx, n.f, in); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, fh, out)
}

// setattr applies a truncate and a chosen time to a file being written.
func (v *view) setattr(ctx context.Context, f *files.File, in *fuse.SetAttrIn) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if err := f.Truncate(ctx, int64(size)); err != nil {
			return v.errno("truncate", err)
		}
	}
	if mtime, ok := in.GetMTime(); ok {
		f.SetMtime(mtime) // cp -p, touch -d: becomes INTERNALDATE
	}
	return 0
}

func (n *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) == 0 {
		return nil, fuse.FOPEN_DIRECT_IO, 0
	}
	h, err := n.v.files.Open(n.f, flags&syscall.O_TRUNC != 0)
	if err != nil {
		return nil, 0, n.v.errno("open for writing", err)
	}
	n.v.wrote()
	return &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *fileNode) Read(ctx context.Context, _ gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	b, err := n.f.Read(ctx, dest, off)
	if err != nil {
		return nil, n.v.errno("read", err)
	}
	return fuse.ReadResultData(b), 0
}

func (n *fileNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	return n.v.write(ctx, fh, data, off)
}

// write writes through a descriptor opened for writing.
func (v *view) write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0, syscall.EBADF
	}
	if err := h.h.File().Write(ctx, data, off); err != nil {
		return 0, v.errno("write", err)
	}
	return uint32(len(data)), 0
}

// Flush (every close(2)) and Fsync store nothing; bytes that cannot be a
// message get EINVAL here (see files.File.Check).
func (n *fileNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	return n.v.flush(fh)
}

func (v *view) flush(fh gofs.FileHandle) syscall.Errno {
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0
	}
	if err := h.h.File().Check(); err != nil {
		if isInvalid(err) {
			v.log.Warn("the file is not a message; it will not be stored (a message it was written over is unchanged)", "file", h.h.File().Name(), "err", err)
			return syscall.EINVAL
		}
		return v.errno("close", err)
	}
	return 0
}

func (n *fileNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.v.flush(fh)
}

// Release of the last descriptor that could write lets the file's bytes
// go to the server.
func (n *fileNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	return n.v.release(fh)
}

func (v *view) release(fh gofs.FileHandle) syscall.Errno {
	h, ok := fh.(*writeHandle)
	if !ok {
		return 0
	}
	h.h.Release()
	v.released()
	return 0
}

func (n *fileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != flagsXattr {
		return 0, gofs.ENOATTR
	}
	return xattrValue(n.f.Flags(), dest)
}

func (n *fileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr != flagsXattr {
		return syscall.ENOTSUP
	}
	parsed, err := mail.ParseFlags(string(data))
	if err != nil {
		n.v.log.Warn("invalid flags", "value", string(data), "err", err)
		return syscall.EINVAL
	}
	n.f.SetFlags(parsed)
	return 0
}

func (n *fileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if attr != flagsXattr {
		return gofs.ENOATTR
	}
	n.f.SetFlags(nil)
	return 0
}

func (n *fileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listFlagsXattr(dest)
}
