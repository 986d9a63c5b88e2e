package fs

import (
	"context"
	"errors"
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
//   - a message or a file being written: the file model's Rename (a move
//     to another mailbox, an editor's backup name, a save over a
//     message);
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
	if e, ok := d.v.files.LocalLookup(d.mb, "", name); ok && e.Dir && d.mb.Name() != "" {
		if dst.mb != d.mb {
			return syscall.EXDEV
		}
		if err := d.v.files.LocalRename(ctx, d.mb, "", name, "", newName); err != nil {
			return d.v.errno("rename "+name, err)
		}
		return 0
	}
	if flags&renameNoReplace != 0 && dst.exists(ctx, newName) {
		return syscall.EEXIST
	}
	if dst.mb != d.mb {
		tf, err := d.v.acct.Folder(ctx, dst.mb.Name())
		if err != nil {
			return d.v.errno("rename "+name, err)
		}
		if _, sub := childOf(tf, newName); sub || !tf.Selectable {
			return syscall.EPERM
		}
	}
	moved, err := d.v.files.Rename(ctx, d.mb, name, dst.mb, newName, false)
	if err != nil {
		if isInvalid(err) {
			return syscall.EINVAL
		}
		return d.v.errno("rename "+name, err)
	}
	if moved.UID != 0 {
		// The kernel keeps the node it had for the name: it follows the
		// message.
		d.v.followMove(dst.mb, moved)
	}
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
	_, ok, _ := d.v.files.Lookup(ctx, d.mb, name)
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
		if !errors.Is(err, mail.ErrExists) {
			// As for mkdir: the user needs the server's reason.
			d.v.warnRefused("rename the mailbox", err, "mailbox", from, "to", to)
		}
		return d.v.errno("rename "+from, err)
	}
	return 0
}
