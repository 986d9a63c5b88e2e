package fs

import (
	"context"
	"log/slog"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// refusing, embedded in a directory node that holds no mail of its own
// (a search result, a decoded view), answers every change made in it
// with errno and a log line saying why.
type refusing struct {
	log   *slog.Logger
	errno syscall.Errno
	why   string // "a search result is not a place mail lives"
	attrs []any  // logged with it
}

func (r refusing) refuse(what, name string) syscall.Errno {
	r.log.Warn(r.why+"; "+what+" refused", append([]any{"name", name}, r.attrs...)...)
	return r.errno
}

func (r refusing) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, r.refuse("mkdir", name)
}

func (r refusing) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, r.refuse("create", name)
}

func (r refusing) Unlink(ctx context.Context, name string) syscall.Errno {
	return r.refuse("rm", name)
}

func (r refusing) Rmdir(ctx context.Context, name string) syscall.Errno {
	return r.refuse("rmdir", name)
}

func (r refusing) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return r.refuse("rename", name)
}

// readOnlyView is how the decoded views refuse.
func (v *view) readOnlyView() refusing {
	return refusing{log: v.log, errno: syscall.EROFS, why: "the decoded views are read-only"}
}

// dirAttr is the attributes of a directory mailfs makes up (a search
// result's, a decoded view's): read-only, the mount's time.
func (v *view) dirAttr(out *fuse.AttrOut) {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Nlink = 2
	out.Owner = v.owner()
	t := v.started
	out.SetTimes(&t, &t, &t)
	out.SetTimeout(v.ttl)
}
