package fs

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

var (
	_ = (gofs.NodeMkdirer)((*dirNode)(nil))
	_ = (gofs.NodeRmdirer)((*dirNode)(nil))
	_ = (gofs.NodeCreater)((*dirNode)(nil))
	_ = (gofs.NodeUnlinker)((*dirNode)(nil))
	_ = (gofs.NodeRenamer)((*dirNode)(nil))
)

// childMailbox is the full mailbox name of child file name in d, or
// EINVAL when the name cannot be a mailbox on this server.
func (d *dirNode) childMailbox(name string) (string, syscall.Errno) {
	if d.mb.Name() == "" && strings.HasPrefix(name, ".") {
		// Dot names at an account's root are mailfs's own (.search,
		// .mailfs); a mailbox whose name starts with a dot is written
		// %2E… here.
		d.v.log.Warn("a mailbox name at the root cannot start with a dot; write it as %2E…", "name", name)
		return "", syscall.EINVAL
	}
	full, err := d.v.acct.ChildName(d.mb.Name(), UnescapeMailboxPart(name))
	if err != nil {
		d.v.log.Warn("not a valid mailbox name on this server", "name", name, "err", err)
		return "", syscall.EINVAL
	}
	return full, 0
}

// Mkdir creates a mailbox (CREATE + SUBSCRIBE).
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if d.v.readOnly {
		return nil, syscall.EROFS
	}
	if files.IsLocalDirName(name) && d.mb.Name() != "" {
		// .git and the like: a directory of this mount only.
		if err := d.v.files.LocalMkdir(d.mb, "", name); err != nil {
			return nil, d.v.errno("mkdir "+name, err)
		}
		return d.v.localDirInode(ctx, d.EmbeddedInode(), d.mb, name, out), 0
	}
	full, errno := d.childMailbox(name)
	if errno != 0 {
		return nil, errno
	}
	if err := d.v.acct.CreateMailbox(ctx, full); err != nil {
		if !errors.Is(err, mail.ErrExists) {
			// Whatever the errno, the user needs the server's reason (a
			// personal namespace prefix, a forbidden name, a quota).
			d.v.warnRefused("create the mailbox", err, "mailbox", full)
		}
		return nil, d.v.errno("mkdir "+name, err)
	}
	if f, err := d.v.acct.Folder(ctx, d.mb.Name()); err == nil {
		if real, ok := childOf(f, name); ok {
			full = real
		}
	}
	return d.childDir(ctx, full, out), 0
}

// Rmdir deletes a mailbox, only when it holds no messages and no children
// (ENOTEMPTY otherwise). INBOX is never deleted (EBUSY).
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if d.v.readOnly {
		return syscall.EROFS
	}
	if e, ok := d.v.files.LocalLookup(d.mb, "", name); ok && e.Dir && d.mb.Name() != "" {
		if err := d.v.files.LocalRmdir(d.mb, "", name); err != nil {
			return d.v.errno("rmdir "+name, err)
		}
		return 0
	}
	f, err := d.v.acct.Folder(ctx, d.mb.Name())
	if err != nil {
		return d.v.errno("rmdir "+name, err)
	}
	full, ok := childOf(f, name)
	if !ok {
		return syscall.ENOENT
	}
	if strings.EqualFold(full, "INBOX") {
		return syscall.EBUSY
	}
	// What this mount is still storing or removing there counts: wait
	// for it (a short while) before asking the server.
	settle, cancel := context.WithTimeout(ctx, settleRmdir)
	d.v.files.Settle(settle)
	cancel()
	if d.v.files.HasFiles(d.v.acct.Mailbox(full)) {
		return syscall.ENOTEMPTY
	}
	if err := d.v.acct.DeleteMailbox(ctx, full); err != nil {
		return d.v.errno("rmdir "+name, err)
	}
	return 0
}

// settleRmdir bounds how long rmdir waits for the mount's own stores and
// removals in flight.
const settleRmdir = 10 * time.Second

// Create makes a file in a mailbox directory: a message once its last
// descriptor is closed, if it has a message name (see isMessageName), or
// a scratch file.
func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if d.v.readOnly {
		return nil, nil, 0, syscall.EROFS
	}
	f, err := d.v.acct.Folder(ctx, d.mb.Name())
	if err != nil {
		return nil, nil, 0, d.v.errno("create "+name, err)
	}
	if !f.Selectable {
		// The root and \Noselect folders hold no messages.
		return nil, nil, 0, syscall.EPERM
	}
	d.v.dirInode(d.mb, d.EmbeddedInode())
	h, err := d.v.files.Create(d.mb, name)
	if err != nil {
		return nil, nil, 0, d.v.errno("create "+name, err)
	}
	d.v.wrote()
	return d.v.fileInode(ctx, d.EmbeddedInode(), h.File(), out), &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

// Unlink removes a file of this mount, or a message from the server (to
// Trash, or expunged: --delete): see files.Model.Unlink.
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.v.readOnly {
		return syscall.EROFS
	}
	if err := d.v.files.Unlink(ctx, d.mb, name); err != nil {
		return d.v.errno("unlink "+name, err)
	}
	return 0
}
