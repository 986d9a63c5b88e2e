package fs

import (
	"context"
	"maps"
	"slices"
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

// searchRootNode is ACCOUNT/.search: its listing is the named searches
// (Options.Searches), every other name is a query.
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
	list := dots(r.EmbeddedInode())
	for _, name := range slices.Sorted(maps.Keys(r.v.searches)) {
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: searchIno(r.v.acct.ID(), "", name, "")})
	}
	return gofs.NewListDirStream(list), 0
}

// Lookup parses the name as a query (or takes a named search's); one
// that does not parse is EINVAL with a log line saying where.
func (r *searchRootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	res, errno := r.v.result("", name, r.v.searches)
	if errno != 0 {
		return nil, errno
	}
	n := newSearchNode(res, "")
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = r.v.owner()
	out.SetEntryTimeout(r.v.ttl)
	return r.NewInode(ctx, n, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: res.dirIno("")}), 0
}

// result is the search a name under a .search stands for (a named search
// or the name itself as a query), shared by every lookup of that name in
// that scope so that it is run once per TTL and freshened by server
// notices. scope tells the account root's .search ("") from the
// multi-account root's: a directory has one parent, so they are distinct
// directories with their own inodes.
func (v *view) result(scope, name string, named map[string]string) (*searchResult, syscall.Errno) {
	key := scope + "\x00" + name
	if res, ok := v.results.Get(key); ok {
		return res, 0
	}
	text, ok := named[name]
	if !ok {
		text = QueryFromName(name)
	}
	q, err := mail.ParseQuery(text, time.Now())
	if err != nil {
		v.log.Warn("not a query", "err", err)
		return nil, syscall.EINVAL
	}
	res := &searchResult{v: v, scope: scope, name: name, q: q, quiet: scope != ""}
	if prev, ok, _ := v.results.PeekOrAdd(key, res); ok {
		return prev, 0
	}
	return res, 0
}

// QueryName is the directory name under .search that runs query: a file
// name cannot hold a "/", so each is written %2F (in:Work%2FProjects).
func QueryName(query string) string {
	return strings.ReplaceAll(query, "/", "%2F")
}

// QueryFromName is the query a directory name under .search runs: %2F
// (or %2f) stands for "/".
func QueryFromName(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "%2F", "/"), "%2f", "/")
}

// searchChanged marks stale every result that searched mailbox, after
// the model saw it change (a server notice, a refresh, our own write).
func (v *view) searchChanged(mailbox string) {
	for _, res := range v.results.Values() {
		res.changed(mailbox)
	}
}

// resolveBoxes turns in: paths, written as the mount shows them
// (Work/Projects, escaped parts as in file names), into mailbox names.
// A path that names no mailbox gives no results (logged unless quiet).
func (v *view) resolveBoxes(ctx context.Context, paths []string, quiet bool) ([]string, error) {
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
				if !quiet {
					v.log.Warn("search: no such mailbox; it gives no results", "in", p)
				}
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
// mailbox's listing, and until a searched mailbox changes.
type searchResult struct {
	v     *view
	scope string
	name  string // under .search
	q     *mail.Query
	quiet bool // no log line for an in: that names nothing here

	run sync.Mutex // one search at a time; the others wait for its answer

	mu      sync.Mutex // protects the following
	boxes   []string   // the in: mailboxes, as last resolved; nil: all
	hits    map[string]mail.Hit
	fetched time.Time
	gen     uint64 // changes seen
	gotGen  uint64 // gen when hits were asked for
}

func (s *searchResult) get(ctx context.Context) (map[string]mail.Hit, error) {
	s.run.Lock()
	defer s.run.Unlock()
	s.mu.Lock()
	if s.hits != nil && s.gotGen == s.gen && time.Since(s.fetched) < s.v.ttl {
		h := s.hits
		s.mu.Unlock()
		return h, nil
	}
	gen := s.gen
	s.mu.Unlock()
	boxes, err := s.v.resolveBoxes(ctx, s.q.Boxes, s.quiet)
	if err != nil {
		return nil, err
	}
	hits, err := s.v.acct.Search(ctx, s.q, boxes)
	if err != nil {
		return nil, err
	}
	m := make(map[string]mail.Hit, len(hits))
	for _, h := range hits {
		m[h.Mailbox.Name()] = h
	}
	s.mu.Lock()
	s.boxes, s.hits, s.fetched, s.gotGen = boxes, m, time.Now(), gen
	s.mu.Unlock()
	return m, nil
}

// changed marks the result stale if it searched mailbox.
func (s *searchResult) changed(mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	covers := len(s.q.Boxes) == 0
	delim := string(s.v.acct.Delimiter())
	for _, b := range s.boxes {
		covers = covers || b == mailbox || strings.HasPrefix(mailbox, b+delim) ||
			(strings.EqualFold(b, "INBOX") && strings.EqualFold(mailbox, "INBOX"))
	}
	if covers {
		s.gen++
	}
}

// searchIno numbers a directory of a result tree.
func searchIno(acct, scope, name, mailbox string) uint64 {
	return mail.Hash("search", acct, scope, name, mailbox)
}

// dirIno numbers the result tree's directories: their own, since a
// directory cannot have two parents (messages share the mailbox view's).
func (s *searchResult) dirIno(mailbox string) uint64 {
	return searchIno(s.v.acct.ID(), s.scope, s.name, mailbox)
}

// searchNode is a directory of a result tree: the root ("") or a mailbox.
type searchNode struct {
	gofs.Inode
	refusing
	v    *view
	res  *searchResult
	name string // mailbox; "" is the query's root
}

func newSearchNode(res *searchResult, mailbox string) *searchNode {
	return &searchNode{v: res.v, res: res, name: mailbox, refusing: refusing{log: res.v.log, errno: syscall.EPERM,
		why: "a search result is not a place mail lives", attrs: []any{"query", res.q.Text}}}
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
	n.v.dirAttr(out)
	return 0
}

// children returns the child mailboxes (leaf -> full name) that hold hits
// themselves or below them.
func (s *searchResult) children(ctx context.Context, mailbox string, hits map[string]mail.Hit) (map[string]string, error) {
	f, err := s.v.acct.Folder(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	delim := string(s.v.acct.Delimiter())
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
	kids, err := n.res.children(ctx, n.name, hits)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	list := dots(n.EmbeddedInode())
	for leaf, full := range kids {
		list = append(list, fuse.DirEntry{Name: escapeLeaf(n.name == "", leaf), Mode: syscall.S_IFDIR, Ino: n.res.dirIno(full)})
	}
	if h, ok := hits[n.name]; ok && n.name != "" {
		for _, e := range h.Entries {
			list = append(list, fuse.DirEntry{Name: n.v.files.NameOf(h.Mailbox, e), Mode: syscall.S_IFREG, Ino: n.v.msgIno(h.Mailbox, e.Ref())})
		}
	}
	return gofs.NewListDirStream(list), 0
}

func (n *searchNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if mb, it, ok := n.fileHere(ctx, name); ok {
		return n.v.itemInode(ctx, n.EmbeddedInode(), mb, it, out)
	}
	if n.name == "" {
		if in, ok := n.v.lookupDecoded(ctx, n.EmbeddedInode(), name, resultSource{n.res}, out); ok {
			return in, 0
		}
	}
	hits, err := n.res.get(ctx)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	kids, err := n.res.children(ctx, n.name, hits)
	if err != nil {
		return nil, n.v.errno("search", err)
	}
	for leaf, full := range kids {
		if escapeLeaf(n.name == "", leaf) == name {
			child := newSearchNode(n.res, full)
			out.Mode = syscall.S_IFDIR | 0o500
			out.Owner = n.v.owner()
			out.SetEntryTimeout(n.v.ttl)
			return n.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: n.res.dirIno(full)}), 0
		}
	}
	if h, ok := hits[n.name]; ok && n.name != "" {
		if e, ok := n.v.hitNamed(h.Mailbox, h.Entries, name); ok {
			n.v.msgEntry(h.Mailbox, e, out).remember(e) // its mailbox may be unlisted
			return nil, errMessage
		}
	}
	return nil, syscall.ENOENT
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

// hitNamed finds the search hit of mb called name. A hit is named as its
// mailbox names it (NameOf): mostly its own name, found by its UID; a
// name this mount kept for it (cp x Work/mine.eml) by a look at each.
func (v *view) hitNamed(mb *mail.Mailbox, hits []mail.Entry, name string) (mail.Entry, bool) {
	uid, byUID := ParseMessageUID(name)
	for _, pass := range []bool{true, false} {
		if pass && !byUID {
			continue
		}
		for _, e := range hits {
			if (!pass || e.UID == uid) && v.files.NameOf(mb, e) == name {
				return e, true
			}
		}
	}
	return mail.Entry{}, false
}
