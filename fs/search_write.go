package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// Writing in a search result's mailbox directory: editors and sed -i
// work on a result's message as in its mailbox. Files created there are
// the mailbox's (scratch files stay in this mount; a save over a result's
// message is a save of that message); messages themselves are not
// removed or renamed from a result (EPERM).

// mailbox is the mailbox a result directory shows hits of (nil at the
// query's root).
func (n *searchNode) mailbox() *mail.Mailbox {
	if n.name == "" {
		return nil
	}
	return n.v.acct.Mailbox(n.name)
}

// fileHere finds a file of this mount under name in the result's
// mailbox.
func (n *searchNode) fileHere(ctx context.Context, name string) (*mail.Mailbox, files.Item, bool) {
	mb := n.mailbox()
	if mb == nil {
		return nil, files.Item{}, false
	}
	it, ok, err := n.v.files.Lookup(ctx, mb, name)
	if err != nil || !ok || it.File == nil {
		return nil, files.Item{}, false
	}
	return mb, it, true
}

func (n *searchNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	mb := n.mailbox()
	if mb == nil || n.v.readOnly || files.IsMessageName(name) && !n.v.files.Replacing(mb, name) {
		// Scratch files only, and an editor's new version of a message
		// it renamed to a backup name: new mail does not go into a
		// search result.
		return n.refusing.Create(ctx, name, flags, mode, out)
	}
	h, err := n.v.files.Create(mb, name)
	if err != nil {
		return nil, nil, 0, n.v.errno("create "+name, err)
	}
	n.v.wrote()
	return n.v.fileInode(ctx, n.EmbeddedInode(), h.File(), out), &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *searchNode) Unlink(ctx context.Context, name string) syscall.Errno {
	mb := n.mailbox()
	if _, it, ok := n.fileHere(ctx, name); !ok || it.Message || n.v.readOnly {
		// Messages stay, also while a file of this mount is a new
		// version of one.
		return n.refusing.Unlink(ctx, name)
	}
	if err := n.v.files.Unlink(ctx, mb, name); err != nil {
		return n.v.errno("unlink "+name, err)
	}
	return 0
}

// Rename within one result directory: a file of this mount over a
// message (sed -i's save) or to another name; a message to a scratch
// name (an editor's backup). Anything else is refused.
func (n *searchNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	mb := n.mailbox()
	dst, ok := newParent.(*searchNode)
	if mb == nil || !ok || dst.res != n.res || dst.name != n.name || n.v.readOnly || flags&renameExchange != 0 {
		return n.refusing.Rename(ctx, name, newParent, newName, flags)
	}
	if _, err := n.v.files.Rename(ctx, mb, name, mb, newName, flags&renameNoReplace != 0); err != nil {
		if isInvalid(err) {
			return syscall.EINVAL
		}
		return n.v.errno("rename "+name, err)
	}
	n.res.changed(n.name)
	return 0
}
