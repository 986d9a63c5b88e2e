package fs

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// folder is one directory of the tree: a mailbox, a \Noselect parent, or a
// parent the server did not list at all (shown as \Noselect).
type folder struct {
	name       string            // full mailbox name on the server; "" is the root
	selectable bool              // holds messages
	children   map[string]string // file name -> child's full mailbox name
}

// tree is the account's mailbox hierarchy, refreshed from LIST at most
// once per TTL.
type tree struct {
	backend Backend
	ttl     time.Duration

	load sync.Mutex // serialises refreshes

	mu      sync.Mutex // protects the following
	folders map[string]*folder
	fetched time.Time
	delim   rune // the server's hierarchy delimiter ('/' until known)
}

// get returns the folder for a full mailbox name ("" = root).
func (t *tree) get(ctx context.Context, name string) (*folder, error) {
	if err := t.refresh(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.folders[name]
	if !ok {
		return nil, ErrNotFound
	}
	return f, nil
}

// refresh re-lists when the TTL has passed. If the server cannot be
// reached but an older tree exists, the older tree is kept and served.
func (t *tree) refresh(ctx context.Context) error {
	if t.fresh() {
		return nil
	}
	t.load.Lock()
	defer t.load.Unlock()
	if t.fresh() {
		return nil
	}
	list, err := t.backend.Mailboxes(ctx)
	if err != nil {
		t.mu.Lock()
		have := t.folders != nil
		t.mu.Unlock()
		if have && !isInterrupt(err) {
			return nil // serve the last known tree while offline
		}
		return err
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
	t.folders, t.fetched, t.delim = folders, time.Now(), delim
	t.mu.Unlock()
	return nil
}

// invalidate makes the next access list again.
func (t *tree) invalidate() {
	t.mu.Lock()
	t.fetched = time.Time{}
	t.mu.Unlock()
}

// delimiter is the server's hierarchy delimiter.
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

// buildTree nests mailboxes by their delimiter. Parents that the server did
// not list become non-selectable folders, so no child is ever unreachable.
func buildTree(list []Mailbox) map[string]*folder {
	folders := map[string]*folder{"": {children: map[string]string{}}}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var ensure func(name string, delim rune) *folder
	ensure = func(name string, delim rune) *folder {
		if f, ok := folders[name]; ok {
			return f
		}
		f := &folder{name: name, children: map[string]string{}}
		folders[name] = f
		parent, leaf := "", name
		if delim != 0 {
			if i := strings.LastIndex(name, string(delim)); i >= 0 {
				parent, leaf = name[:i], name[i+len(string(delim)):]
			}
		}
		ensure(parent, delim).children[EscapeMailboxPart(leaf)] = name
		return f
	}
	for _, mb := range list {
		f := ensure(mb.Name, mb.Delim)
		f.selectable = !mb.NoSelect
	}
	return folders
}

// childNames returns a folder's child file names in order.
func (f *folder) childNames() []string {
	names := make([]string, 0, len(f.children))
	for n := range f.children {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
