package fs

import (
	"context"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var (
	_ = (gofs.NodeMkdirer)((*dirNode)(nil))
	_ = (gofs.NodeRmdirer)((*dirNode)(nil))
	_ = (gofs.NodeCreater)((*dirNode)(nil))
	_ = (gofs.NodeUnlinker)((*dirNode)(nil))
	_ = (gofs.NodeRenamer)((*dirNode)(nil))
)

// childMailbox is the full mailbox name of child file name in d, or an
// error when the name cannot be a mailbox on this server.
func (d *dirNode) childMailbox(name string) (string, syscall.Errno) {
	leaf := UnescapeMailboxPart(name)
	delim := d.acct.tree.delimiter()
	if leaf == "" || strings.ContainsRune(leaf, delim) || strings.ContainsAny(leaf, "*%") {
		d.acct.log.Warn("not a valid mailbox name on this server", "name", name, "delimiter", string(delim))
		return "", syscall.EINVAL
	}
	if d.name == "" {
		return leaf, 0
	}
	return d.name + string(delim) + leaf, 0
}

// Mkdir creates a mailbox (CREATE + SUBSCRIBE).
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if d.acct.readOnly {
		return nil, syscall.EROFS
	}
	full, errno := d.childMailbox(name)
	if errno != 0 {
		return nil, errno
	}
	if err := d.acct.backend.CreateMailbox(ctx, full); err != nil {
		return nil, toErrno(d.acct.log, "mkdir "+name, err)
	}
	d.acct.log.Info("created mailbox", "mailbox", full)
	d.acct.tree.invalidate()
	f, err := d.acct.tree.get(ctx, d.name)
	if err == nil {
		if real, ok := f.children[name]; ok {
			full = real
		}
	}
	return d.childDir(ctx, full, out), 0
}

// Rmdir deletes a mailbox, only when it holds no messages and no children
// (ENOTEMPTY otherwise). INBOX is never deleted (EBUSY).
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if d.acct.readOnly {
		return syscall.EROFS
	}
	f, err := d.acct.tree.get(ctx, d.name)
	if err != nil {
		return toErrno(d.acct.log, "rmdir "+name, err)
	}
	full, ok := f.children[name]
	if !ok {
		return syscall.ENOENT
	}
	if strings.EqualFold(full, "INBOX") {
		return syscall.EBUSY
	}
	if len(d.acct.mailbox(full).localNames()) > 0 {
		return syscall.ENOTEMPTY
	}
	if err := d.acct.backend.DeleteMailbox(ctx, full); err != nil {
		return toErrno(d.acct.log, "rmdir "+name, err)
	}
	d.acct.log.Info("deleted mailbox", "mailbox", full)
	d.acct.forgetMailbox(full)
	d.acct.tree.invalidate()
	return 0
}

// Create makes a file in a mailbox directory: a message once it is
// closed, if it has a message name (see isMessageName), or a scratch file.
func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if d.acct.readOnly {
		return nil, nil, 0, syscall.EROFS
	}
	f, err := d.acct.tree.get(ctx, d.name)
	if err != nil {
		return nil, nil, 0, toErrno(d.acct.log, "create "+name, err)
	}
	if !f.selectable {
		// The root and \Noselect folders hold no messages.
		return nil, nil, 0, syscall.EPERM
	}
	mb := d.acct.mailbox(d.name)
	n := &localNode{acct: d.acct, mb: mb, name: name, mtime: time.Now()}
	n.replaces = mb.hiddenUIDByName(name)
	mb.mu.Lock()
	if _, exists := mb.local[name]; exists {
		mb.mu.Unlock()
		return nil, nil, 0, syscall.EEXIST
	}
	mb.local[name] = n
	mb.mu.Unlock()
	return d.localEntry(ctx, n, out), nil, fuse.FOPEN_DIRECT_IO, 0
}

// Unlink removes a scratch file from memory, or a message from the server
// (to Trash, or expunged: --delete).
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.acct.readOnly {
		return syscall.EROFS
	}
	mb := d.acct.mailbox(d.name)
	mb.mu.Lock()
	if n, ok := mb.local[name]; ok {
		delete(mb.local, name)
		mb.mu.Unlock()
		n.mu.Lock()
		n.name = ""
		n.mu.Unlock()
		return 0
	}
	mb.mu.Unlock()
	e, ok, err := mb.lookup(ctx, name)
	if err != nil {
		return toErrno(d.acct.log, "unlink "+name, err)
	}
	if !ok {
		return syscall.ENOENT
	}
	if err := d.acct.backend.Remove(ctx, d.name, e.uidValidity, e.UID); err != nil {
		return toErrno(d.acct.log, "unlink "+name, err)
	}
	d.acct.log.Info("removed message", "mailbox", d.name, "uid", e.UID)
	mb.removed(e.uidValidity, e.UID)
	return 0
}

// forgetMailbox drops the state of a deleted or renamed mailbox and its
// children.
func (a *account) forgetMailbox(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delim := string(a.tree.delimiter())
	for n := range a.mailboxes {
		if n == name || strings.HasPrefix(n, name+delim) {
			delete(a.mailboxes, n)
		}
	}
}
