package fs

import (
	"context"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"mailfs/mail"
)

const (
	renameNoReplace = 1 // RENAME_NOREPLACE
	renameExchange  = 2 // RENAME_EXCHANGE
)

// Rename is, by what is renamed:
//   - a mailbox: RENAME, children follow; the directory keeps its inode,
//     and a mailbox made later under the old name gets a new one;
//   - a message to another mailbox: UID MOVE. The target name must be
//     free there (EEXIST otherwise: a move never replaces, shows or
//     removes another message); it then opens the moved message, which
//     also shows under its own new name;
//   - a message to a scratch name in its mailbox (an editor's backup
//     rename): only this mount sees it under that name; removing that name
//     removes the message, renaming it back restores it;
//   - a scratch file over a message (sed -i, editors): a save — the new
//     bytes are appended with the message's flags and date, then the old
//     message is removed;
//   - a scratch file to a message name: the file is stored now (or, while
//     it is still open for writing, when its last descriptor closes);
//   - anything into another account's tree: EXDEV, so mv copies (APPEND
//     there) and then removes (as rm does here).
func (d *dirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if d.v.readOnly {
		return syscall.EROFS
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	dst, ok := newParent.(*dirNode)
	if !ok || dst.v != d.v {
		// Another account (or mailfs's own directories): no IMAP command
		// moves mail between servers, so mv copies and removes by itself.
		return syscall.EXDEV
	}
	f, err := d.v.acct.Folder(ctx, d.mb.Name())
	if err != nil {
		return d.v.errno("rename "+name, err)
	}
	if child, ok := childOf(f, name); ok {
		return d.renameMailbox(ctx, child, dst, newName)
	}
	if flags&renameNoReplace != 0 && dst.exists(ctx, newName) {
		return syscall.EEXIST
	}
	ds := d.v.dir(d.mb)
	if n := ds.localFile(name); n != nil {
		return d.renameLocal(ctx, n, name, dst, newName)
	}
	e, ok, err := d.v.resolve(ctx, d.mb, ds, name)
	if err != nil {
		return d.v.errno("rename "+name, err)
	}
	if !ok {
		return syscall.ENOENT
	}
	if dst.mb != d.mb {
		return d.moveMessage(ctx, e, name, dst, newName)
	}
	if newName == d.v.name(e) {
		ds.unhide(e.UID)
		return 0
	}
	if isMessageName(newName) {
		d.v.log.Warn("a message's file name comes from the message and cannot be chosen", "from", name, "to", newName)
		return syscall.EPERM
	}
	if old := ds.localFile(newName); old != nil {
		ds.forgetLocal(newName, old)
		old.d.free()
	}
	ds.hide(e.Ref(), newName)
	return 0
}

// exists reports whether name is anything in d.
func (d *dirNode) exists(ctx context.Context, name string) bool {
	if f, err := d.v.acct.Folder(ctx, d.mb.Name()); err == nil {
		if _, ok := childOf(f, name); ok {
			return true
		}
		if !f.Selectable {
			return false
		}
	}
	ds := d.v.dir(d.mb)
	if ds.localFile(name) != nil {
		return true
	}
	_, ok, _ := d.v.resolve(ctx, d.mb, ds, name)
	return ok
}

func (d *dirNode) renameMailbox(ctx context.Context, from string, dst *dirNode, newName string) syscall.Errno {
	to, errno := dst.childMailbox(newName)
	if errno != 0 {
		return errno
	}
	if to == from {
		return 0
	}
	if strings.EqualFold(from, "INBOX") {
		d.v.log.Warn("INBOX cannot be renamed")
		return syscall.EPERM
	}
	if err := d.v.acct.RenameMailbox(ctx, from, to); err != nil {
		return d.v.errno("rename "+from, err)
	}
	return 0
}

func (d *dirNode) moveMessage(ctx context.Context, e mail.Entry, name string, dst *dirNode, newName string) syscall.Errno {
	f, err := d.v.acct.Folder(ctx, dst.mb.Name())
	if err != nil {
		return d.v.errno("move", err)
	}
	if !f.Selectable {
		return syscall.EPERM
	}
	if dst.exists(ctx, newName) {
		d.v.log.Warn("a message cannot be moved onto another file; nothing was moved", "to", dst.mb.Name()+"/"+newName)
		return syscall.EEXIST
	}
	if ed := d.v.dir(d.mb).editOf(e.Ref()); ed != nil && ed.d.busy() {
		// Its new version would be stored where it was, beside the moved
		// original.
		d.v.log.Warn("a new version of this message is still being written or stored; nothing was moved", "file", name)
		return syscall.EBUSY
	}
	moved, err := d.mb.Move(ctx, e, dst.mb)
	if err != nil {
		return d.v.errno("move "+name, err)
	}
	d.v.dir(d.mb).unhide(e.UID)
	if child := d.GetChild(name); child != nil {
		if n, ok := child.Operations().(*msgNode); ok && moved.UID != 0 {
			n.moved(dst.mb, moved)
		}
	}
	dds := d.v.dir(dst.mb)
	if moved.UID != 0 {
		dds.rename(newName, moved.Ref())
		d.v.notify(dst.EmbeddedInode(), d.v.name(moved))
	}
	return 0
}

func (d *dirNode) renameLocal(ctx context.Context, n *localNode, name string, dst *dirNode, newName string) syscall.Errno {
	f, err := d.v.acct.Folder(ctx, dst.mb.Name())
	if err != nil {
		return d.v.errno("rename", err)
	}
	if !f.Selectable {
		return syscall.EPERM
	}
	src, dds := d.v.dir(d.mb), d.v.dir(dst.mb)
	// Over an existing message: a save.
	e, over, err := d.v.resolve(ctx, dst.mb, dds, newName)
	if err != nil {
		return d.v.errno("rename", err)
	}
	if over && dds.localFile(newName) == nil {
		return d.saveOver(ctx, n, name, dst, newName, e)
	}
	// Otherwise the scratch file takes the new name (replacing a scratch
	// file there), and a message name is stored once it is closed.
	moveLocal(n, src, name, dds, dst.mb, newName)
	n.d.mu.Lock()
	n.d.dirty = n.d.dirty || len(n.d.data) > 0
	n.d.mu.Unlock()
	if !isMessageName(newName) {
		return 0
	}
	if err := n.d.check(); err != nil {
		d.v.log.Warn("file is not a message; not stored", "file", newName, "err", err)
		moveLocal(n, dds, newName, src, d.mb, name) // put it back
		return syscall.EINVAL
	}
	n.commitIfDone()
	return 0
}

// saveOver stores scratch file n as the new version of message e (sed -i,
// an editor's write-then-rename). It runs now, so rename(2) gets the
// result; the old version is removed only once the new one is stored.
func (d *dirNode) saveOver(ctx context.Context, n *localNode, name string, dst *dirNode, newName string, e mail.Entry) syscall.Errno {
	if n.d.writing() {
		// Still open for writing: it becomes the new version when closed.
		r := e.Ref()
		moveLocal(n, d.v.dir(d.mb), name, d.v.dir(dst.mb), dst.mb, newName)
		n.mu.Lock()
		n.replaces = &r
		n.mu.Unlock()
		return 0
	}
	n.mu.Lock()
	r := e.Ref()
	c := mail.Commit{Mailbox: dst.mb, Flags: e.Flags, Date: e.InternalDate, Replaces: &r,
		FlagsChosen: n.flagsSet, DateChosen: n.mtimeSet, Label: dst.mb.Name() + "/" + newName}
	if n.flagsSet {
		c.Flags = append([]string{}, n.flags...)
	}
	if n.mtimeSet {
		c.Date = n.mtime
	}
	n.mu.Unlock()
	c.Data = n.d.read(make([]byte, n.d.size()), 0)
	stored, err := dst.mb.Store(ctx, &c)
	if err != nil {
		if isInvalid(err) {
			d.v.log.Warn("not a message; the original is unchanged", "file", name, "err", err)
			return syscall.EINVAL
		}
		return d.v.errno("save "+newName, err)
	}
	d.v.log.Info("saved new version", "mailbox", dst.mb.Name(), "file", newName)
	if d.v.dir(d.mb).forgetLocal(name, n) {
		n.d.free()
	}
	n.mu.Lock()
	n.name = ""
	n.mu.Unlock()
	dds := d.v.dir(dst.mb)
	if !stored.KeptOld {
		dds.unhide(e.UID)
		if stored.UID != 0 {
			dds.rename(newName, stored.Ref())
		}
	}
	d.v.notify(dst.EmbeddedInode(), newName)
	return 0
}

// moveLocal makes scratch file n, called name in from, newName in to
// (mailbox mb), replacing a scratch file of that name there.
func moveLocal(n *localNode, from *dirState, name string, to *dirState, mb *mail.Mailbox, newName string) {
	from.forgetLocal(name, n)
	to.mu.Lock()
	if old := to.local[newName]; old != nil && old != n {
		old.d.free()
	}
	to.local[newName] = n
	to.mu.Unlock()
	n.mu.Lock()
	n.mb, n.name = mb, newName
	n.mu.Unlock()
}
