package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// SearchDir is the hidden directory at an account root whose every name
// is a query: ACCOUNT/.search/QUERY/ holds the account's tree pruned to
// the mailboxes with hits, holding exactly the matching messages under
// their usual names — the message files themselves (same inode, bytes,
// cache, flags). Never listed, like .mailfs. Nothing can be created,
// removed or renamed in a result tree (EPERM): it is not a place mail
// lives.
const SearchDir = ".search"

// searchRootNode is ACCOUNT/.search.
type searchRootNode struct {
	gofs.Inode
	v *view
}

var (
	_ = (gofs.NodeLookuper)((*searchRootNode)(nil))
	_ = (gofs.NodeReaddirer)((*searchRootNode)(nil))
	_ = (gofs.NodeGetattrer)((*searchRootNode)(nil))
)

func (r *searchRootNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = r.v.owner()
	return 0
}

func (r *searchRootNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	return gofs.NewListDirStream(dots(r.EmbeddedInode())), 0
}

// Lookup parses the name as a query; one that does not parse is EINVAL
// with a log line saying where.
func (r *searchRootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	q, err := mail.ParseQuery(name, time.Now())
	if err != nil {
		r.v.log.Warn("not a query", "err", err)
		return nil, syscall.EINVAL
	}
	boxes, err := r.v.resolveBoxes(ctx, q.Boxes)
	if err != nil {
		return nil, r.v.errno("search "+name, err)
	}
	res := &searchResult{v: r.v, q: q, boxes: boxes}
	n := &searchNode{v: r.v, res: res, name: ""}
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = r.v.owner()
	out.SetEntryTimeout(r.v.ttl)
	return r.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: res.dirIno("")}), 0
}

// resolveBoxes turns in: paths, written as the mount shows them
// (Work/Projects, escaped parts as in file names), into mailbox names.
func (v *view) resolveBoxes(ctx context.Context, paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		full := ""
		for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
			f, err := v.acct.Folder(ctx, full)
			if err != nil {
				return nil, err
			}
			child, ok := childOf(f, part)
			if !ok {
				// Case-insensitive INBOX, as servers treat it.
				if full == "" && strings.EqualFold(part, "INBOX") {
					child, ok = "INBOX", true
				}
			}
			if !ok {
				v.log.Warn("search: no such mailbox; it gives no results", "in", p)
				full = ""
				break
			}
			full = child
		}
		if full != "" {
			out = append(out, full)
		} else {
			out = append(out, "\x00none") // named, but not there: nothing
		}
	}
	return out, nil
}

// searchResult is a query's hits, kept for the listing TTL like a
// mailbox's listing.
type searchResult struct {
	v     *view
	q     *mail.Query
	boxes []string

	mu      sync.Mutex // protects the following
	hits    map[string]mail.Hit
	fetched time.Time
}

func (s *searchResult) get(ctx context.Context) (map[string]mail.Hit, error) {
	s.mu.Lock()
	if s.hits != nil && time.Since(s.fetched) < s.v.ttl {
		h := s.hits
		s.mu.Unlock()
		return h, nil
	}
	s.mu.Unlock()
	hits, err := s.v.acct.Search(ctx, s.q, s.boxes)
	if err != nil {
		return nil, err
	}
	m := make(map[string]mail.Hit, len(hits))
	for _, h := range hits {
		m[h.Mailbox.Name()] = h
	}
	s.mu.Lock()
	s.hits, s.fetched = m, time.Now()
	s.mu.Unlock()
	return m, nil
}

// dirIno numbers the result tree's directories: their own, since a
// directory cannot have two parents (messages share the mailbox view's).
func (s *searchResult) dirIno(mailbox string) uint64 {
	return mail.Hash("search", s.v.acct.ID(), s.q.Text, mailbox)
}

// searchNode is a directory of a result tree: the root ("") or a mailbox.
type searchNode struct {
	gofs.Inode
	v    *view
	res  *searchResult
	name string // mailbox; "" is the query's root
}

var (
	_ = (gofs.NodeLookuper)((*searchNode)(nil))
	_ = (gofs.NodeReaddirer)((*searchNode)(nil))
	_ = (gofs.NodeGetattrer)((*searchNode)(nil))
	_ = (gofs.NodeMkdirer)((*searchNode)(nil))
	_ = (gofs.NodeCreater)((*searchNode)(nil))
	_ = (gofs.NodeUnlinker)((*searchNode)(nil))
	_ = (gofs.NodeRmdirer)((*searchNode)(nil))
	_ = (gofs.NodeRenamer)((*searchNode)(nil))
)

func (n *searchNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Nlink = 2
	out.Owner = n.v.owner()
	t := n.v.started
	out.SetTimes(&t, &t, &t)
	out.SetTimeout(n.v.ttl)
	return 0
}

// children returns the child mailboxes (leaf -> full name) that hold hits
// themselves or below them.
func (n *searchNode) children(ctx context.Context, hits map[string]mail.Hit) (map[string]string, error) {
	f, err := n.v.acct.Folder(ctx, n.name)
	if err != nil {
		return nil, err
	}
	delim := string(n.v.acct.Delimiter())
	out := map[string]string{}
	for leaf, full := range f.Children {
		for h := range hits {
			if h == full || strings.HasPrefix(h, full+delim) {
				out[leaf] = full
				break
			}
		}
	}
	return out, nil
}

func (n *searchNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	hits, err := n.res.get(ctx)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	kids, err := n.children(ctx, hits)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	list := dots(n.EmbeddedInode())
	for leaf, full := range kids {
		list = append(list, fuse.DirEntry{Name: escapeLeaf(n.name == "", leaf), Mode: syscall.S_IFDIR, Ino: n.res.dirIno(full)})
	}
	if h, ok := hits[n.name]; ok && n.name != "" {
		for _, e := range h.Entries {
			list = append(list, fuse.DirEntry{Name: n.v.name(e), Mode: syscall.S_IFREG, Ino: n.v.msgIno(h.Mailbox, e.Ref())})
		}
	}
	return gofs.NewListDirStream(list), 0
}

func (n *searchNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	hits, err := n.res.get(ctx)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	kids, err := n.children(ctx, hits)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	for leaf, full := range kids {
		if escapeLeaf(n.name == "", leaf) == name {
			child := &searchNode{v: n.v, res: n.res, name: full}
			out.Mode = syscall.S_IFDIR | 0o500
			out.Owner = n.v.owner()
			out.SetEntryTimeout(n.v.ttl)
			return n.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: n.res.dirIno(full)}), 0
		}
	}
	if h, ok := hits[n.name]; ok && n.name != "" {
		if uid, ok := ParseMessageUID(name); ok {
			for _, e := range h.Entries {
				if e.UID == uid && n.v.name(e) == name {
					return n.v.msgInode(ctx, n.EmbeddedInode(), h.Mailbox, e, out), 0
				}
			}
		}
	}
	return nil, syscall.ENOENT
}

// refuse answers every change of a result tree.
func (n *searchNode) refuse(what, name string) syscall.Errno {
	n.v.log.Warn("a search result is not a place mail lives; "+what+" refused", "name", name, "query", n.res.q.Text)
	return syscall.EPERM
}

func (n *searchNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, n.refuse("mkdir", name)
}

func (n *searchNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, n.refuse("create", name)
}

func (n *searchNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.refuse("rm", name)
}

func (n *searchNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.refuse("rmdir", name)
}

func (n *searchNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return n.refuse("rename", name)
}

// escapeLeaf is a mailbox's directory name: at an account's root a
// leading dot is escaped too (%2E), so a mailbox never shadows .search,
// .mailfs and the other dot directories, nor hides from ls.
func escapeLeaf(root bool, leaf string) string {
	e := EscapeMailboxPart(leaf)
	if root && strings.HasPrefix(e, ".") {
		return "%2E" + e[1:]
	}
	return e
}
