package mail

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Folder is one node of the mailbox tree: a mailbox, a \Noselect parent,
// or a parent the server did not list at all (shown as \Noselect).
type Folder struct {
	Name       string            // full mailbox name; "" is the root
	Selectable bool              // holds messages
	Children   map[string]string // leaf name (raw, UTF-8) -> full name
}

// ChildLeaves returns the folder's child leaf names in order.
func (f Folder) ChildLeaves() []string {
	names := make([]string, 0, len(f.Children))
	for n := range f.Children {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// tree is the account's mailbox hierarchy, listed again at most once per
// TTL.
type tree struct {
	backend Backend
	ttl     time.Duration
	load    gate // serialises refreshes; taken before mu

	mu      sync.Mutex // protects the following
	folders map[string]*Folder
	fetched time.Time
	delim   rune   // the server's hierarchy delimiter ('/' until known)
	trash   string // where rm moves mail ("" none)

	// keep and kept, when set (a disk cache), save each listing of the
	// tree and give the last one back while the server cannot be reached.
	keep func([]MailboxInfo)
	kept func() ([]MailboxInfo, bool)

	changedAt atomic.Int64 // when the mount last saw a mailbox made, removed or renamed (Unix ns)
	observe   func(gone, added []string)
}

func newTree(b Backend, ttl time.Duration) *tree {
	return &tree{backend: b, ttl: ttl, load: newGate()}
}

// get returns a copy of the folder of a full mailbox name ("" = root).
func (t *tree) get(ctx context.Context, name string) (Folder, error) {
	if err := t.refresh(ctx); err != nil {
		return Folder{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.folders[name]
	if !ok {
		return Folder{}, fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
	}
	c := *f
	c.Children = make(map[string]string, len(f.Children))
	for k, v := range f.Children {
		c.Children[k] = v
	}
	return c, nil
}

// refresh lists again when the TTL has passed. If the server cannot be
// reached but an older tree exists, the older one is kept and served.
func (t *tree) refresh(ctx context.Context) error {
	if t.fresh() {
		return nil
	}
	if err := t.load.lock(ctx); err != nil {
		return err
	}
	defer t.load.unlock()
	if t.fresh() {
		return nil
	}
	list, err := t.backend.Mailboxes(ctx)
	fetched := time.Now()
	if err != nil {
		t.mu.Lock()
		have := t.folders != nil
		t.mu.Unlock()
		if have && !IsInterrupt(err) {
			return nil // serve the last known tree while offline
		}
		old, ok := []MailboxInfo(nil), false
		if t.kept != nil && !IsInterrupt(err) {
			old, ok = t.kept()
		}
		if !ok {
			return err
		}
		list, fetched = old, time.Time{} // from the disk cache; ask again next time
	} else if t.keep != nil {
		t.keep(list)
	}
	folders := buildTree(list)
	delim := '/'
	for _, mb := range list {
		if mb.Delim != 0 {
			delim = mb.Delim
			break
		}
	}
	t.mu.Lock()
	var gone, added []string
	if t.folders != nil && !sameFolders(t.folders, folders) {
		t.changedAt.Store(time.Now().UnixNano())
		for name := range t.folders {
			if _, ok := folders[name]; !ok {
				gone = append(gone, name)
			}
		}
		for name := range folders {
			if _, ok := t.folders[name]; !ok {
				added = append(added, name)
			}
		}
	}
	t.folders, t.fetched, t.delim, t.trash = folders, fetched, delim, findTrash(list)
	t.mu.Unlock()
	if t.observe != nil && len(gone)+len(added) > 0 {
		t.observe(gone, added)
	}
	return nil
}

// sameFolders reports whether two trees hold the same mailboxes.
func sameFolders(a, b map[string]*Folder) bool {
	if len(a) != len(b) {
		return false
	}
	for name, f := range a {
		g, ok := b[name]
		if !ok || f.Selectable != g.Selectable || len(f.Children) != len(g.Children) {
			return false
		}
	}
	return true
}

func (t *tree) invalidate() {
	t.mu.Lock()
	t.fetched = time.Time{}
	t.mu.Unlock()
}

// changed records a change this mount made to the tree.
func (t *tree) changed() { t.changedAt.Store(time.Now().UnixNano()) }

func (t *tree) trashName() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.trash
}

func (t *tree) delimiter() rune {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.delim == 0 {
		return '/'
	}
	return t.delim
}

func (t *tree) fresh() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.folders != nil && time.Since(t.fetched) < t.ttl
}

// buildTree nests mailboxes by their delimiter. Parents the server did not
// list become non-selectable folders, so no child is ever unreachable.
func buildTree(list []MailboxInfo) map[string]*Folder {
	folders := map[string]*Folder{"": {Children: map[string]string{}}}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var ensure func(name string, delim rune) *Folder
	ensure = func(name string, delim rune) *Folder {
		if f, ok := folders[name]; ok {
			return f
		}
		f := &Folder{Name: name, Children: map[string]string{}}
		folders[name] = f
		parent, leaf := "", name
		if delim != 0 {
			if i := strings.LastIndex(name, string(delim)); i >= 0 {
				parent, leaf = name[:i], name[i+len(string(delim)):]
			}
		}
		ensure(parent, delim).Children[leaf] = name
		return f
	}
	for _, mb := range list {
		f := ensure(mb.Name, mb.Delim)
		f.Selectable = !mb.NoSelect
	}
	return folders
}
