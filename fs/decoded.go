package fs

import (
	"context"
	"strconv"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// The decoded views, hidden like .mailfs and reached by name:
//
//	ACCOUNT/.text/MAILBOX/NAME.txt     the message as a reader sees it, UTF-8
//	ACCOUNT/.parts/MAILBOX/NAME/N-…    its MIME parts, decoded
//
// NAME is the message's file name without ".eml". A search result has
// them too, mirroring the result tree: .search/QUERY/.text/…. Both are
// read-only (EROFS) and made from the body the cache holds: reading a
// .txt fetches the message once, as reading its .eml does.
const (
	TextDir  = ".text"
	PartsDir = ".parts"
)

// decodedKind tells the two views apart.
type decodedKind int

const (
	textView decodedKind = iota
	partsView
)

func (k decodedKind) String() string {
	if k == textView {
		return "text"
	}
	return "parts"
}

// source is the tree a decoded view mirrors: an account's mailboxes, or a
// search result's.
type source interface {
	// children are the mailboxes under mailbox, by shown name.
	children(ctx context.Context, mailbox string) (map[string]string, error)
	// messages are mailbox's own messages (none for \Noselect).
	messages(ctx context.Context, mailbox string) (*mail.Mailbox, []mail.Entry, error)
	// message finds the message shown as name (its .eml name) in mailbox.
	message(ctx context.Context, mailbox, name string) (*mail.Mailbox, mail.Entry, bool, error)
	// scope tells the sources' inode numbers apart.
	scope() string
}

// accountSource is the account's own tree.
type accountSource struct{ v *view }

func (s accountSource) scope() string { return "" }

func (s accountSource) children(ctx context.Context, mailbox string) (map[string]string, error) {
	f, err := s.v.acct.Folder(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(f.Children))
	for leaf, full := range f.Children {
		out[escapeLeaf(mailbox == "", leaf)] = full
	}
	return out, nil
}

func (s accountSource) messages(ctx context.Context, mailbox string) (*mail.Mailbox, []mail.Entry, error) {
	if mailbox == "" {
		return nil, nil, nil
	}
	f, err := s.v.acct.Folder(ctx, mailbox)
	if err != nil || !f.Selectable {
		return nil, nil, err
	}
	mb := s.v.acct.Mailbox(mailbox)
	entries, err := mb.Entries(ctx)
	return mb, entries, err
}

func (s accountSource) message(ctx context.Context, mailbox, name string) (*mail.Mailbox, mail.Entry, bool, error) {
	if mailbox == "" {
		return nil, mail.Entry{}, false, nil
	}
	mb := s.v.acct.Mailbox(mailbox)
	it, found, err := s.v.files.Lookup(ctx, mb, name) // the name the mailbox has for it
	if err != nil || !found || !it.Message {
		return nil, mail.Entry{}, false, err
	}
	return mb, it.Entry, true, nil
}

// resultSource is a search result's tree.
type resultSource struct{ res *searchResult }

func (s resultSource) scope() string { return "search\x00" + s.res.scope + "\x00" + s.res.name }

func (s resultSource) children(ctx context.Context, mailbox string) (map[string]string, error) {
	hits, err := s.res.get(ctx)
	if err != nil {
		return nil, err
	}
	kids, err := s.res.children(ctx, mailbox, hits)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kids))
	for leaf, full := range kids {
		out[escapeLeaf(mailbox == "", leaf)] = full
	}
	return out, nil
}

func (s resultSource) messages(ctx context.Context, mailbox string) (*mail.Mailbox, []mail.Entry, error) {
	hits, err := s.res.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	h, ok := hits[mailbox]
	if !ok || mailbox == "" {
		return nil, nil, nil
	}
	return h.Mailbox, h.Entries, nil
}

func (s resultSource) message(ctx context.Context, mailbox, name string) (*mail.Mailbox, mail.Entry, bool, error) {
	mb, entries, err := s.messages(ctx, mailbox)
	if err != nil || mb == nil {
		return nil, mail.Entry{}, false, err
	}
	if e, ok := s.res.v.hitNamed(mb, entries, name); ok {
		return mb, e, true, nil
	}
	return nil, mail.Entry{}, false, nil
}

// decodedRoot makes the inode of a view's top directory under parent.
func (v *view) decodedRoot(ctx context.Context, parent *gofs.Inode, kind decodedKind, src source, out *fuse.EntryOut) *gofs.Inode {
	n := &decodedDir{v: v, kind: kind, src: src, refusing: v.readOnlyView()}
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = v.owner()
	out.SetEntryTimeout(v.ttl)
	return parent.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: n.ino()})
}

// lookupDecoded answers a lookup of .text or .parts at a tree's root.
func (v *view) lookupDecoded(ctx context.Context, parent *gofs.Inode, name string, src source, out *fuse.EntryOut) (*gofs.Inode, bool) {
	switch name {
	case TextDir:
		return v.decodedRoot(ctx, parent, textView, src, out), true
	case PartsDir:
		return v.decodedRoot(ctx, parent, partsView, src, out), true
	}
	return nil, false
}

// decodedDir is a mailbox directory of a view (or its root, mailbox "").
type decodedDir struct {
	gofs.Inode
	refusing
	v       *view
	kind    decodedKind
	src     source
	mailbox string
}

var (
	_ = (gofs.NodeLookuper)((*decodedDir)(nil))
	_ = (gofs.NodeReaddirer)((*decodedDir)(nil))
	_ = (gofs.NodeGetattrer)((*decodedDir)(nil))
	_ = (gofs.NodeMkdirer)((*decodedDir)(nil))
	_ = (gofs.NodeCreater)((*decodedDir)(nil))
	_ = (gofs.NodeUnlinker)((*decodedDir)(nil))
	_ = (gofs.NodeRmdirer)((*decodedDir)(nil))
	_ = (gofs.NodeRenamer)((*decodedDir)(nil))
)

func (d *decodedDir) ino() uint64 {
	return mail.Hash(d.kind.String()+"-dir", d.v.acct.ID(), d.src.scope(), d.mailbox)
}

func (d *decodedDir) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.v.dirAttr(out)
	return 0
}

// fileName is what a message is called in this view.
func (d *decodedDir) fileName(mb *mail.Mailbox, e mail.Entry) string {
	base := strings.TrimSuffix(d.v.files.NameOf(mb, e), ".eml")
	if d.kind == textView {
		return base + ".txt"
	}
	return base
}

// emlName is the message name a view's name stands for.
func (d *decodedDir) emlName(name string) (string, bool) {
	if d.kind == textView {
		base, ok := strings.CutSuffix(name, ".txt")
		return base + ".eml", ok
	}
	return name + ".eml", true
}

func (d *decodedDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	kids, err := d.src.children(ctx, d.mailbox)
	if err != nil {
		return nil, d.v.errno("readdir "+d.kind.String(), err)
	}
	list := dots(d.EmbeddedInode())
	for name, full := range kids {
		child := &decodedDir{v: d.v, kind: d.kind, src: d.src, mailbox: full}
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: child.ino()})
	}
	mb, entries, err := d.src.messages(ctx, d.mailbox)
	if err != nil {
		return nil, d.v.errno("readdir "+d.kind.String(), err)
	}
	mode := uint32(syscall.S_IFREG)
	if d.kind == partsView {
		mode = syscall.S_IFDIR
	}
	for _, e := range entries {
		list = append(list, fuse.DirEntry{Name: d.fileName(mb, e), Mode: mode, Ino: d.v.decodedIno(d.kind, d.src, mb, e.Ref())})
	}
	return gofs.NewListDirStream(list), 0
}

func (d *decodedDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	kids, err := d.src.children(ctx, d.mailbox)
	if err != nil {
		return nil, d.v.errno("lookup "+d.kind.String(), err)
	}
	if full, ok := kids[name]; ok {
		child := &decodedDir{v: d.v, kind: d.kind, src: d.src, mailbox: full, refusing: d.refusing}
		out.Mode = syscall.S_IFDIR | 0o500
		out.Owner = d.v.owner()
		out.SetEntryTimeout(d.v.ttl)
		return d.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: child.ino()}), 0
	}
	eml, ok := d.emlName(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	mb, e, found, err := d.src.message(ctx, d.mailbox, eml)
	if err != nil {
		return nil, d.v.errno("lookup "+d.kind.String(), err)
	}
	if !found {
		return nil, syscall.ENOENT
	}
	ino := d.v.decodedIno(d.kind, d.src, mb, e.Ref())
	out.SetEntryTimeout(d.v.ttl)
	out.SetAttrTimeout(d.v.ttl)
	if d.kind == partsView {
		n := &partsDir{v: d.v, mb: mb, e: e, scope: d.src.scope(), refusing: d.refusing}
		n.fillAttr(&out.Attr, ino)
		return d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
	}
	n := &textNode{v: d.v, mb: mb, e: e}
	in := d.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	if live, ok := in.Operations().(*textNode); ok {
		n = live
	}
	out.SetAttrTimeout(n.fillAttr(&out.Attr, ino))
	return in, 0
}

// decodedIno numbers a message's file (or parts directory) in a view.
func (v *view) decodedIno(kind decodedKind, src source, mb *mail.Mailbox, r mail.Ref) uint64 {
	return mail.Hash(kind.String(), src.scope(), strconv.FormatUint(v.msgIno(mb, r), 16))
}
