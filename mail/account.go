package mail

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailfs/cache"
)

// Options configure an Account.
type Options struct {
	// ID identifies the account in cache keys and identities
	// (e.g. user@host:993).
	ID      string
	Backend Backend
	Bodies  *cache.Bodies // nil: a 256 MiB cache of its own
	// Disk, when set, keeps bodies and listings across mounts (one
	// directory per mount, shared by its accounts).
	Disk *cache.Disk
	// TTL is how long a listing or the mailbox tree is served before the
	// server is asked again. Default 30 s.
	TTL    time.Duration
	Logger *slog.Logger
	// ReadAhead is how many read-ahead batches may be in flight at once;
	// 0 turns read-ahead off.
	ReadAhead int
	// ReadOnly refuses every change with ErrReadOnly.
	ReadOnly bool
	// Delete is what rm does (--delete): DeleteTrash (default) or
	// DeleteExpunge.
	Delete DeleteMode
	// Dates: names are made from the Date header, which the backend's
	// listings fetch (imapback.Config.Dates): a listing kept on disk by
	// a mount that did not fetch it is listed again, not used, so no
	// name is made without it that a later listing would change.
	Dates bool
}

// Change is what a revalidation found: messages that went away or
// appeared on the server, or (Reset) a new UIDVALIDITY that voids every
// message known before; or (Noticed) that the server said the mailbox
// changed, before anything is known of how (searches of it are stale).
// Views turn it into kernel notifications.
type Change struct {
	Mailbox *Mailbox
	Reset   bool
	Gone    []Entry
	Added   []Entry
	// Flagged are messages whose flags changed (with the new flags).
	Flagged []Entry
	Noticed bool
}

// Account is the mail model of one account: its mailbox tree, a Mailbox
// per mailbox with its listing kept current by deltas, the body cache
// and read-ahead. Files being written are the file model's (mail/files).
type Account struct {
	id         string
	backend    Backend
	bodies     *cache.Bodies
	disk       *cache.Disk // nil: none
	log        *slog.Logger
	ttl        time.Duration
	readOnly   bool
	deleteMode DeleteMode
	dates      bool          // Options.Dates
	prefetch   chan struct{} // read-ahead batches in flight (nil: off)
	headsOff   atomic.Bool   // the server's headers are not its bodies' first bytes
	tree       *tree
	opens      opens // recently opened messages: copy sources
	decoded    decodedState
	moves      moves // the identities of messages this mount moved

	observe func(Change)   // set once by Observe, before use
	bg      sync.WaitGroup // background jobs (goSafe)

	mu        sync.Mutex // protects the following
	mailboxes map[string]*Mailbox
	seen      map[string]int // objects made per name, for unique IDs
	closed    bool           // Close is waiting: no new background jobs
	lastErr   string         // the last failure of any kind, for status
	lastErrAt time.Time
}

// NewAccount makes the model of one account.
func NewAccount(o Options) *Account {
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Bodies == nil {
		o.Bodies = cache.New(256 << 20)
	}
	a := &Account{id: o.ID, backend: o.Backend, bodies: o.Bodies, disk: o.Disk, log: o.Logger, ttl: o.TTL,
		readOnly: o.ReadOnly, deleteMode: o.Delete, dates: o.Dates, tree: newTree(o.Backend, o.TTL),
		mailboxes: map[string]*Mailbox{}, seen: map[string]int{}}
	if o.ReadAhead > 0 {
		a.prefetch = make(chan struct{}, o.ReadAhead)
	}
	a.decoded = newDecodedState()
	a.keepTree()
	return a
}

// Observe sets the function told of every Change. Call it once, before
// the account is used; it is called with no model lock held.
func (a *Account) Observe(f func(Change)) { a.observe = f }

// ObserveTree sets the function told of mailboxes that appeared or went
// away (another client's CREATE, DELETE, RENAME, found by a listing of
// the tree). Call it once, before the account is used; it is called with
// no model lock held.
func (a *Account) ObserveTree(f func(gone, added []string)) {
	a.tree.observe = f
}

// NoteError keeps err as the account's last error (mailfs status).
func (a *Account) NoteError(op string, err error) {
	if err == nil || IsInterrupt(err) {
		return
	}
	a.mu.Lock()
	a.lastErr, a.lastErrAt = op+": "+Describe(err), time.Now()
	a.mu.Unlock()
}

// LastError is the last failure of any kind: a refusal, a timeout, a
// file that is not a message ("" if none).
func (a *Account) LastError() (string, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr, a.lastErrAt
}

// ID is the account's identity.
func (a *Account) ID() string { return a.id }

// TTL is how long listings are served before revalidation.
func (a *Account) TTL() time.Duration { return a.ttl }

// ReadOnly reports whether every change is refused.
func (a *Account) ReadOnly() bool { return a.readOnly }

// Log is the account's logger.
func (a *Account) Log() *slog.Logger { return a.log }

// Bodies is the body cache.
func (a *Account) Bodies() *cache.Bodies { return a.bodies }

// Folder returns the tree node of a full mailbox name ("" = root).
func (a *Account) Folder(ctx context.Context, name string) (Folder, error) {
	return a.tree.get(ctx, name)
}

// Delimiter is the server's hierarchy delimiter.
func (a *Account) Delimiter() rune { return a.tree.delimiter() }

// ChildName is the full name of a new mailbox leaf under parent, or an
// error wrapping ErrInvalid when leaf cannot be a mailbox name here.
func (a *Account) ChildName(parent, leaf string) (string, error) {
	delim := a.tree.delimiter()
	if leaf == "" || strings.ContainsRune(leaf, delim) || strings.ContainsAny(leaf, "*%") {
		return "", fmt.Errorf("%w: %q is not a mailbox name on this server (delimiter %q)", ErrInvalid, leaf, string(delim))
	}
	if parent == "" {
		return leaf, nil
	}
	return parent + string(delim) + leaf, nil
}

// Mailbox returns the model of a full mailbox name ("" is the root, which
// holds no messages). The same name gives the same object until the
// mailbox is renamed or deleted.
func (a *Account) Mailbox(name string) *Mailbox {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a._mailbox(name)
}

func (a *Account) _mailbox(name string) *Mailbox {
	if m, ok := a.mailboxes[name]; ok {
		return m
	}
	// The first object of a name has the same ID on every mount; one made
	// after the name was renamed away or deleted gets a new one, so
	// nothing that held the old one mistakes the new mailbox for it.
	n := a.seen[name]
	a.seen[name] = n + 1
	parts := []string{"mailbox", a.id, name}
	if n > 0 {
		parts = append(parts, strconv.Itoa(n))
	}
	m := newMailbox(a, name, Hash(parts...))
	a.mailboxes[name] = m
	return m
}

// Hash is a 64-bit FNV-1a hash of parts, never 0, 1 or ^0 (the kernel's
// and go-fuse's reserved inode numbers).
func Hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	v := h.Sum64()
	if v <= 1 || v == ^uint64(0) {
		v += 2
	}
	return v
}

// Changed is called when the server reports a change in a mailbox (IDLE),
// or a watcher reconnected and may have missed one: it is revalidated
// now, in the background, and searches of it are stale. flags: flags
// changed.
func (a *Account) Changed(name string, flags bool) {
	m := a.Mailbox(name)
	listed := m.changed(flags)
	a.notify(Change{Mailbox: m, Noticed: true})
	a.revalidate(m, listed)
}

// TreeNoticed is called when the server reports a mailbox made, deleted
// or renamed (NOTIFY): the tree is listed again now, in the background,
// so the kernel hears of it (ObserveTree) at once.
func (a *Account) TreeNoticed() {
	a.tree.invalidate()
	a.goSafe("list the mailbox tree", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := a.tree.refresh(ctx); err != nil {
			a.log.Debug("listing the tree after a server notice failed", "err", err)
		}
	})
}

// Resync is called when changes may have been missed in any mailbox (a
// NOTIFY connection made again, or the server dropped its notices):
// every mailbox looked at so far is revalidated and the tree listed
// again.
func (a *Account) Resync() {
	a.mu.Lock()
	names := slices.Collect(maps.Keys(a.mailboxes))
	a.mu.Unlock()
	for _, name := range names {
		a.Changed(name, false)
	}
	a.TreeNoticed()
}

// Watching is called when a watcher first has mailbox in view: a
// listing made before it is revalidated (it may have missed a change
// since). Searches are not made stale: mailfs mount offers the mount
// only once its watchers are in view (see cmd/mailfs), so none can have
// begun before; making them stale would run every first search of a
// fresh mount twice. (A watcher that took longer than that wait leaves
// its early results to the listing TTL.)
func (a *Account) Watching(name string) {
	m := a.Mailbox(name)
	a.revalidate(m, m.changed(false))
}

func (a *Account) revalidate(m *Mailbox, listed bool) {
	name := m.Name()
	if !listed {
		// Nothing to revalidate: listing a mailbox nobody has looked at
		// (a watcher catching up at mount time) would fetch every
		// message's listing fields for nothing.
		return
	}
	a.goSafe("revalidate "+name, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := m.refresh(ctx); err != nil {
			a.log.Debug("revalidation after a server notice failed", "mailbox", name, "err", err)
		}
	})
}

func (a *Account) notify(c Change) {
	a.moves.forget(c)
	if a.observe != nil && (c.Reset || c.Noticed || len(c.Gone) > 0 || len(c.Added) > 0 || len(c.Flagged) > 0) {
		a.observe(c)
	}
}

// Close waits for the background jobs (read-ahead, disk-cache writes)
// and starts no more. Files still on their way are the file model's to
// finish first (files.Model.Close).
func (a *Account) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.bg.Wait()
}

// TreeChangedAt is when the mount last saw a mailbox made, removed or
// renamed, by this mount or another client (zero: not since it started).
func (a *Account) TreeChangedAt() time.Time {
	if n := a.tree.changedAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}
