package fs

import (
	"context"
	"maps"
	"slices"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/mail"
)

// The multi-account root has a .search of its own: .search/QUERY/ holds
// one directory per account with hits, each the tree that account's
// ACCOUNT/.search/QUERY/ shows (with its own directory inodes: a
// directory has one parent). Its listing is the mount-wide named
// searches.

// allScope tells the multi-account root's results from an account root's.
const allScope = "all"

// accountsSearchNode is MOUNTPOINT/.search.
type accountsSearchNode struct {
	gofs.Inode
	r *accountsNode
}

var (
	_ = (gofs.NodeLookuper)((*accountsSearchNode)(nil))
	_ = (gofs.NodeReaddirer)((*accountsSearchNode)(nil))
	_ = (gofs.NodeGetattrer)((*accountsSearchNode)(nil))
)

func (n *accountsSearchNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = n.r.owner
	return 0
}

func (n *accountsSearchNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list := dots(n.EmbeddedInode())
	for _, name := range slices.Sorted(maps.Keys(n.r.searches)) {
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: searchIno("", allScope, name, "")})
	}
	return gofs.NewListDirStream(list), 0
}

func (n *accountsSearchNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	text, ok := n.r.searches[name]
	if !ok {
		text = name
	}
	if _, err := mail.ParseQuery(text, n.r.started); err != nil {
		// Parsed once here for the log line; each account parses its own.
		n.r.log().Warn("not a query", "err", err)
		return nil, syscall.EINVAL
	}
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = n.r.owner
	child := &accountsResultNode{r: n.r, name: name}
	return n.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: searchIno("", allScope, name, "")}), 0
}

// accountsResultNode is MOUNTPOINT/.search/QUERY: the accounts with hits.
type accountsResultNode struct {
	gofs.Inode
	r    *accountsNode
	name string
}

var (
	_ = (gofs.NodeLookuper)((*accountsResultNode)(nil))
	_ = (gofs.NodeReaddirer)((*accountsResultNode)(nil))
	_ = (gofs.NodeGetattrer)((*accountsResultNode)(nil))
)

func (n *accountsResultNode) Getattr(ctx context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o500
	out.Nlink = 2
	out.Owner = n.r.owner
	t := n.r.started
	out.SetTimes(&t, &t, &t)
	return 0
}

// results runs the query in every account at once; an account that
// fails is logged and left out, so one server down does not hide the
// others' hits.
func (n *accountsResultNode) results(ctx context.Context) map[string]*searchResult {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]*searchResult{}
	for acct, v := range n.r.views {
		res, errno := v.result(allScope, n.name, n.r.searches)
		if errno != 0 {
			continue
		}
		wg.Add(1)
		v.goSafe("search "+acct, func() {
			defer wg.Done()
			hits, err := res.get(ctx)
			if err != nil {
				v.log.Warn("search failed in this account; its hits are left out", "query", res.q.Text, "err", err)
				return
			}
			if len(hits) > 0 {
				mu.Lock()
				out[acct] = res
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

func (n *accountsResultNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list := dots(n.EmbeddedInode())
	for acct, res := range n.results(ctx) {
		list = append(list, fuse.DirEntry{Name: acct, Mode: syscall.S_IFDIR, Ino: res.dirIno("")})
	}
	return gofs.NewListDirStream(list), 0
}

func (n *accountsResultNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	v, ok := n.r.views[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	res, errno := v.result(allScope, n.name, n.r.searches)
	if errno != 0 {
		return nil, errno
	}
	hits, err := res.get(ctx)
	if err != nil {
		return nil, v.errno("search", err)
	}
	if len(hits) == 0 {
		return nil, syscall.ENOENT
	}
	out.Mode = syscall.S_IFDIR | 0o500
	out.Owner = n.r.owner
	out.SetEntryTimeout(v.ttl)
	child := newSearchNode(res, "")
	return n.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: res.dirIno("")}), 0
}
