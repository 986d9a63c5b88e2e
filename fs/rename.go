package fs

import (
	"context"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

const (
	renameNoReplace = 1 // RENAME_NOREPLACE
	renameExchange  = 2 // RENAME_EXCHANGE
)

// Rename is, by what is renamed:
//   - a mailbox: RENAME, children follow;
//   - a message to another mailbox: UID MOVE (its name there comes from the
//     message);
//   - a message to a scratch name in its mailbox (an editor's backup
//     rename): only this mount sees it under that name; removing that name
//     removes the message, renaming it back restores it;
//   - a scratch file over a message (sed -i, editors): a save — the new
//     bytes are appended with the message's flags and date, then the old
//     message is removed;
//   - a scratch file to a message name: the file is appended now.
func (d *dirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if d.acct.readOnly {
		return syscall.EROFS
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	dst, ok := newParent.(*dirNode)
	if !ok {
		return syscall.EXDEV
	}
	f, err := d.acct.tree.get(ctx, d.name)
	if err != nil {
		return toErrno(d.acct.log, "rename "+name, err)
	}
	if child, ok := f.children[name]; ok {
		return d.renameMailbox(ctx, child, dst, newName, flags)
	}
	if flags&renameNoReplace != 0 && dst.exists(ctx, newName) {
		return syscall.EEXIST
	}
	mb := d.acct.mailbox(d.name)
	if n := mb.localFile(name); n != nil {
		return d.renameLocal(ctx, n, name, dst, newName)
	}
	e, ok, err := mb.lookup(ctx, name)
	if err != nil {
		return toErrno(d.acct.log, "rename "+name, err)
	}
	if !ok {
		return syscall.ENOENT
	}
	if dst.name != d.name {
		return d.moveMessage(ctx, mb, e, dst)
	}
	if newName == MessageName(d.acct.style, e.InternalDate, e.Subject, e.UID) {
		mb.unhide(e.UID)
		return 0
	}
	if isMessageName(newName) {
		d.acct.log.Warn("a message's file name comes from the message and cannot be chosen", "from", name, "to", newName)
		return syscall.EPERM
	}
	if old := mb.localFile(newName); old != nil {
		d.acct.dropLocal(mb, newName, old)
	}
	mb.hide(e.UID, newName)
	return 0
}

// exists reports whether name is anything in d.
func (d *dirNode) exists(ctx context.Context, name string) bool {
	if f, err := d.acct.tree.get(ctx, d.name); err == nil {
		if _, ok := f.children[name]; ok {
			return true
		}
	}
	mb := d.acct.mailbox(d.name)
	if mb.localFile(name) != nil {
		return true
	}
	_, ok, _ := mb.lookup(ctx, name)
	return ok
}

func (d *dirNode) renameMailbox(ctx context.Context, from string, dst *dirNode, newName string, flags uint32) syscall.Errno {
	if strings.EqualFold(from, "INBOX") {
		d.acct.log.Warn("INBOX cannot be renamed")
		return syscall.EPERM
	}
	to, errno := dst.childMailbox(newName)
	if errno != 0 {
		return errno
	}
	if to == from {
		return 0
	}
	if err := d.acct.backend.RenameMailbox(ctx, from, to); err != nil {
		return toErrno(d.acct.log, "rename "+from, err)
	}
	d.acct.log.Info("renamed mailbox", "from", from, "to", to)
	d.acct.rebase(d.EmbeddedInode(), from, to)
	d.acct.tree.invalidate()
	return 0
}

// rebase points the nodes under a renamed mailbox at their new names.
func (a *account) rebase(parent *gofs.Inode, from, to string) {
	delim := string(a.tree.delimiter())
	rename := func(name string) string {
		if name == from {
			return to
		}
		if strings.HasPrefix(name, from+delim) {
			return to + name[len(from):]
		}
		return name
	}
	var walk func(in *gofs.Inode)
	walk = func(in *gofs.Inode) {
		for _, child := range in.Children() {
			switch n := child.Operations().(type) {
			case *dirNode:
				if nn := rename(n.name); nn != n.name {
					n.name = nn
					walk(child)
				}
			case *msgNode:
				if nn := rename(n.mb.name); nn != n.mb.name {
					n.mb = a.mailbox(nn)
				}
			case *localNode:
				if nn := rename(n.mb.name); nn != n.mb.name {
					n.mb = a.mailbox(nn)
				}
			}
		}
	}
	// Scratch files move with their mailbox.
	a.mu.Lock()
	moved := map[string]*mailbox{}
	for name, mb := range a.mailboxes {
		if nn := rename(name); nn != name {
			moved[nn] = mb
			delete(a.mailboxes, name)
		}
	}
	for nn, old := range moved {
		fresh := newMailbox(nn, a.backend, a.style, a.ttl, a.log)
		old.mu.Lock()
		fresh.local = old.local
		old.mu.Unlock()
		a.mailboxes[nn] = fresh
	}
	a.mu.Unlock()
	walk(parent)
}

func (d *dirNode) moveMessage(ctx context.Context, mb *mailbox, e entry, dst *dirNode) syscall.Errno {
	f, err := dst.acct.tree.get(ctx, dst.name)
	if err != nil {
		return toErrno(d.acct.log, "move", err)
	}
	if !f.selectable {
		return syscall.EPERM
	}
	p, err := d.acct.backend.Move(ctx, d.name, e.uidValidity, e.UID, dst.name)
	if err != nil {
		return toErrno(d.acct.log, "move "+e.name, err)
	}
	d.acct.log.Info("moved message", "from", d.name, "to", dst.name, "uid", e.UID, "new uid", p.UID)
	mb.removed(e.uidValidity, e.UID)
	dstMb := d.acct.mailbox(dst.name)
	msg := e.Message
	newName := dstMb.added(p, msg)
	notifyEntries(dst.EmbeddedInode(), newName)
	return 0
}

func (d *dirNode) renameLocal(ctx context.Context, n *localNode, name string, dst *dirNode, newName string) syscall.Errno {
	dstF, err := dst.acct.tree.get(ctx, dst.name)
	if err != nil {
		return toErrno(d.acct.log, "rename", err)
	}
	if !dstF.selectable {
		return syscall.EPERM
	}
	src, dstMb := d.acct.mailbox(d.name), d.acct.mailbox(dst.name)
	// Over an existing message: a save.
	if e, ok, err := dstMb.lookup(ctx, newName); err != nil {
		return toErrno(d.acct.log, "rename", err)
	} else if ok && dstMb.localFile(newName) == nil {
		n.mu.Lock()
		data := append([]byte(nil), n.data...)
		flags, date := e.Flags, e.InternalDate
		if n.flagsSet {
			flags = n.flags
		}
		n.mu.Unlock()
		if err := d.acct.replace(ctx, dstMb, e, data, flags, date); err != nil {
			if isInvalid(err) {
				d.acct.log.Warn("not a message; the original is unchanged", "file", name, "err", err)
				return syscall.EINVAL
			}
			return toErrno(d.acct.log, "save "+newName, err)
		}
		d.acct.log.Info("saved new version", "mailbox", dst.name, "file", newName)
		d.acct.dropLocal(src, name, n)
		n.mu.Lock()
		n.name = ""
		n.mu.Unlock()
		notifyEntries(dst.EmbeddedInode(), newName)
		return 0
	}
	// Otherwise the scratch file takes the new name (replacing a scratch
	// file there), and a message name is stored at once.
	src.mu.Lock()
	delete(src.local, name)
	src.mu.Unlock()
	dstMb.mu.Lock()
	dstMb.local[newName] = n
	dstMb.mu.Unlock()
	n.mu.Lock()
	n.mb, n.name, n.dirty = dstMb, newName, len(n.data) > 0
	n.mu.Unlock()
	if isMessageName(newName) {
		if _, errno := n.commit(ctx); errno != 0 {
			// Put it back: nothing changed.
			dstMb.mu.Lock()
			if dstMb.local[newName] == n {
				delete(dstMb.local, newName)
			}
			dstMb.mu.Unlock()
			src.mu.Lock()
			src.local[name] = n
			src.mu.Unlock()
			n.mu.Lock()
			n.mb, n.name = src, name
			n.mu.Unlock()
			return errno
		}
		notifyEntries(dst.EmbeddedInode(), newName)
	}
	return 0
}
