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
	full, errno := d.childMailbox(name)
	if errno != 0 {
		return nil, errno
	}
	if err := d.v.acct.CreateMailbox(ctx, full); err != nil {
		if !errors.Is(err, mail.ErrExists) {
			// Whatever the errno, the user needs the server's reason (a
			// personal namespace prefix, a forbidden name, a quota).
			d.v.log.Warn("the server refused to create the mailbox", "mailbox", full, "err", err)
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
	if len(d.v.dir(d.v.acct.Mailbox(full)).localNames()) > 0 {
		return syscall.ENOTEMPTY
	}
	if err := d.v.acct.DeleteMailbox(ctx, full); err != nil {
		return d.v.errno("rmdir "+name, err)
	}
	return 0
}

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
	ds := d.v.dir(d.mb)
	ds.setInode(d.EmbeddedInode())
	dr, _ := newDraft(d.v.budget, nil)
	n := &localNode{v: d.v, d: dr, mb: d.mb, name: name, mtime: time.Now()}
	if r, ok := d.v.hiddenByOwnName(d.mb, ds, name); ok {
		n.replaces = &r
	}
	ds.mu.Lock()
	if _, exists := ds.local[name]; exists {
		ds.mu.Unlock()
		return nil, nil, 0, syscall.EEXIST
	}
	ds.local[name] = n
	ds.mu.Unlock()
	dr.opened()
	d.v.wrote()
	return d.localEntry(ctx, n, out), &writeHandle{}, fuse.FOPEN_DIRECT_IO, 0
}

// Unlink removes a scratch file from memory, or a message from the server
// (to Trash, or expunged: --delete).
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.v.readOnly {
		return syscall.EROFS
	}
	ds := d.v.dir(d.mb)
	ds.mu.Lock()
	if n, ok := ds.local[name]; ok {
		delete(ds.local, name)
		ds.mu.Unlock()
		n.mu.Lock()
		n.name = ""
		n.mu.Unlock()
		d.v.acct.Dismiss(d.mb.Name() + "/" + name)
		if !n.d.busy() {
			n.d.free()
		}
		return 0
	}
	alias, aliased := ds.aliases[name]
	ds.mu.Unlock()
	if aliased && d.v.replacing(ds, alias) {
		// An editor removing its backup while the new version is still
		// on its way: that version removes the old one once stored.
		ds.unhide(alias.UID)
		return 0
	}
	e, ok, err := d.v.resolve(ctx, d.mb, ds, name)
	if err != nil {
		return d.v.errno("unlink "+name, err)
	}
	if !ok {
		return syscall.ENOENT
	}
	if ed := ds.editOf(e.Ref()); ed != nil && ed.d.busy() {
		d.v.log.Warn("a new version of this message is still being written or stored", "file", name)
		return syscall.EBUSY
	}
	if err := d.mb.Remove(ctx, e.Ref()); err != nil && !errors.Is(err, mail.ErrNotFound) {
		return d.v.errno("unlink "+name, err)
	}
	ds.unhide(e.UID)
	return 0
}

// replacing reports whether a scratch file of ds is a pending new version
// of message r.
func (v *view) replacing(ds *dirState, r mail.Ref) bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for _, n := range ds.local {
		n.mu.Lock()
		rep := n.replaces
		n.mu.Unlock()
		if rep != nil && *rep == r && n.d.busy() {
			return true
		}
	}
	return false
}
