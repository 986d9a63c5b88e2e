package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
	"mailfs/mail/files"
)

// MaildirDir is the hidden directory at an account root that shows every
// mailbox as a Maildir (MAILBOX/{cur,new,tmp}/) for mail clients: the same
// messages (same inodes) as the .eml tree, under Maildir names; see
// files.MaildirName and the file model's maildir.go.
const MaildirDir = ".maildir"

// maildirBox is a mailbox in the .maildir view (the view's root is the
// one of mailbox ""): cur/, new/ and tmp/ when it holds messages, and its
// children.
type maildirBox struct {
	gofs.Inode
	v  *view
	mb *mail.Mailbox
}

// maildirSub is a mailbox's cur/, new/ or tmp/.
type maildirSub struct {
	gofs.Inode
	v   *view
	mb  *mail.Mailbox
	sub string
}

var (
	_ = (gofs.NodeLookuper)((*maildirBox)(nil))
	_ = (gofs.NodeReaddirer)((*maildirBox)(nil))
	_ = (gofs.NodeGetattrer)((*maildirBox)(nil))
	_ = (gofs.NodeLookuper)((*maildirSub)(nil))
	_ = (gofs.NodeReaddirer)((*maildirSub)(nil))
	_ = (gofs.NodeGetattrer)((*maildirSub)(nil))
	_ = (gofs.NodeSetattrer)((*maildirSub)(nil))
	_ = (gofs.NodeCreater)((*maildirSub)(nil))
	_ = (gofs.NodeUnlinker)((*maildirSub)(nil))
	_ = (gofs.NodeRenamer)((*maildirSub)(nil))
)

// maildirIno is the inode number of a directory of the view.
func (v *view) maildirIno(mb *mail.Mailbox, sub string) uint64 {
	return mail.Hash("maildir", v.acct.ID(), mb.Name(), sub)
}

func (v *view) maildirAttr(mb *mail.Mailbox, a *fuse.Attr) {
	a.Mode = syscall.S_IFDIR | 0o700
	a.Nlink = 2
	a.Owner = v.owner()
	t := v.changedAt(mb)
	a.SetTimes(&t, &t, &t)
}

func (b *maildirBox) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	b.v.maildirAttr(b.mb, &out.Attr)
	out.SetTimeout(b.v.ttl)
	return 0
}

func (b *maildirBox) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	f, err := b.v.acct.Folder(ctx, b.mb.Name())
	if err != nil {
		return nil, b.v.errno("lookup "+name, err)
	}
	if f.Selectable && (name == files.MaildirCur || name == files.MaildirNew || name == files.MaildirTmp) {
		n := &maildirSub{v: b.v, mb: b.mb, sub: name}
		b.v.maildirAttr(b.mb, &out.Attr)
		out.SetEntryTimeout(b.v.ttl)
		out.SetAttrTimeout(0) // its mtime follows changes
		return b.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: b.v.maildirIno(b.mb, name)}), 0
	}
	if full, ok := childOf(f, name); ok {
		mb := b.v.acct.Mailbox(full)
		b.v.maildirAttr(mb, &out.Attr)
		out.SetEntryTimeout(b.v.ttl)
		out.SetAttrTimeout(0)
		return b.NewInode(ctx, &maildirBox{v: b.v, mb: mb}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: b.v.maildirIno(mb, "")}), 0
	}
	return nil, syscall.ENOENT
}

func (b *maildirBox) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	f, err := b.v.acct.Folder(ctx, b.mb.Name())
	if err != nil {
		return nil, b.v.errno("readdir", err)
	}
	list := dots(b.EmbeddedInode())
	if f.Selectable {
		for _, sub := range []string{files.MaildirCur, files.MaildirNew, files.MaildirTmp} {
			list = append(list, fuse.DirEntry{Name: sub, Mode: syscall.S_IFDIR, Ino: b.v.maildirIno(b.mb, sub)})
		}
	}
	for _, leaf := range f.ChildLeaves() {
		mb := b.v.acct.Mailbox(f.Children[leaf])
		list = append(list, fuse.DirEntry{Name: escapeLeaf(b.mb.Name() == "", leaf), Mode: syscall.S_IFDIR, Ino: b.v.maildirIno(mb, "")})
	}
	return gofs.NewListDirStream(list), 0
}

func (s *maildirSub) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s.v.maildirAttr(s.mb, &out.Attr)
	out.SetTimeout(0) // its mtime is how clients notice new mail
	return 0
}

// Setattr: times and mode of a Maildir directory are accepted and
// ignored, as for the mail tree.
func (s *maildirSub) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return s.Getattr(ctx, fh, out)
}

func (s *maildirSub) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	s.v.dirInode(s.mb, nil)
	it, ok, err := s.v.files.MaildirLookup(ctx, s.mb, s.sub, name)
	if err != nil {
		return nil, s.v.errno("lookup "+name, err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	in, errno := s.v.itemInode(ctx, s.EmbeddedInode(), s.mb, it, out)
	if it.Message {
		out.SetEntryTimeout(0) // the name changes with the flags
	}
	return in, errno
}

func (s *maildirSub) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	items, err := s.v.files.MaildirList(ctx, s.mb, s.sub)
	if err != nil {
		return nil, s.v.errno("readdir", err)
	}
	return gofs.NewListDirStream(s.v.appendItems(dots(s.EmbeddedInode()), s.mb, items)), 0
}

// Create makes a file in tmp/ (elsewhere EACCES: clients deliver through
// tmp/).
func (s *maildirSub) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if s.v.readOnly {
		return nil, nil, 0, syscall.EROFS
	}
	h, err := s.v.files.MaildirCreate(s.mb, s.sub, name)
	if err != nil {
		return nil, nil, 0, s.v.errno("create "+name, err)
	}
	s.v.wrote()
	return s.v.fileInode(ctx, s.EmbeddedInode(), h.File(), out), &writeHandle{h}, fuse.FOPEN_DIRECT_IO, 0
}

func (s *maildirSub) Unlink(ctx context.Context, name string) syscall.Errno {
	if s.v.readOnly {
		return syscall.EROFS
	}
	if err := s.v.files.MaildirUnlink(ctx, s.mb, s.sub, name); err != nil {
		return s.v.errno("unlink "+name, err)
	}
	return 0
}

// Rename between Maildir directories of the account: a flag change, a
// move between new/ and cur/, a refile to another mailbox, a delivery
// from tmp/ (see files.Model.MaildirRename).
func (s *maildirSub) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if s.v.readOnly {
		return syscall.EROFS
	}
	dst, ok := newParent.(*maildirSub)
	if !ok || dst.v != s.v {
		return syscall.EXDEV
	}
	moved, err := s.v.files.MaildirRename(ctx, s.mb, s.sub, name, dst.mb, dst.sub, newName)
	if err != nil {
		if isInvalid(err) {
			return syscall.EINVAL
		}
		return s.v.errno("rename "+name, err)
	}
	if moved.UID != 0 {
		s.v.followMove(dst.mb, moved)
	}
	return 0
}
