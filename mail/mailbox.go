package mail

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mailbox is the model of one mailbox: its listing, kept current by
// deltas, plus what this mount changed since (so it shows at once), the
// sizes measured from fetched bodies and the read-ahead state. It knows
// messages by UID only; names are a view's business.
type Mailbox struct {
	acct *Account
	id   uint64
	load gate // serialises refreshes; taken before mu

	mu      sync.Mutex // protects the following
	name    string     // full name; changes when the mailbox is renamed
	listing *Listing
	fetched time.Time
	byUID   map[uint32]int   // UID -> index in listing.Messages; nil while they are in UID order (see _at)
	sizes   map[uint32]int64 // sizes measured from fetched bodies
	state   State            // STATUS the listing corresponds to
	// seq counts this mount's changes; gone and ours remember at which
	// seq a removal or an APPEND completed, so that a listing that was
	// already in flight neither brings a removed message back nor drops
	// a stored one.
	seq  uint64
	gone map[uint32]uint64
	ours map[uint32]addedMsg
	// singles are messages looked up by UID before any listing.
	singles map[uint32]single
	// flagsDirty: the server said flags changed; the next revalidation
	// fetches every message's flags when it has no CONDSTORE.
	flagsDirty bool
	// marks counts the server's notices (changed); refreshing is marks
	// when the refresh running began. A notice that comes while it runs
	// may not be in what it fetched: it leaves the listing stale.
	marks, refreshing uint64
	epoch             int // bumped when UIDVALIDITY changes
	// persisting: the listing is being written to the disk cache;
	// persistAgain: it changed meanwhile.
	persisting, persistAgain bool

	ra     readahead    // has its own lock
	heads  headState    // atomics
	textAt atomic.Int64 // when the text view last read it (unix ns)
	// changedAt is when the mount last saw its messages change (mail
	// arrived or went, flags changed), Unix ns; 0: not since it started.
	changedAt atomic.Int64
}

// ChangedAt is when the mount last saw the mailbox's messages change:
// mail arrived or went, flags changed, by this mount or another client
// (zero: not since the mount started). A directory's mtime.
func (m *Mailbox) ChangedAt() time.Time {
	if n := m.changedAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (m *Mailbox) touch() { m.changedAt.Store(time.Now().UnixNano()) }

type addedMsg struct {
	msg Message
	seq uint64
}

// single is a message fetched alone, with when.
type single struct {
	e  Entry
	at time.Time
}

func newMailbox(a *Account, name string, id uint64) *Mailbox {
	return &Mailbox{acct: a, id: id, name: name, load: newGate(),
		sizes: map[uint32]int64{}, gone: map[uint32]uint64{}, ours: map[uint32]addedMsg{},
		singles: map[uint32]single{}, ra: readahead{last: -1}}
}

// ID is the mailbox object's identity: the same on every mount for the
// first object of a name, and never shared by two objects of one account.
// It follows the mailbox through a rename.
func (m *Mailbox) ID() uint64 { return m.id }

// Name is the mailbox's full name now.
func (m *Mailbox) Name() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.name
}

// Account is the account the mailbox belongs to.
func (m *Mailbox) Account() *Account { return m.acct }

// _index prepares finding messages by UID after the listing changed;
// m.mu held. A listing in UID order (as servers send it, and as a
// refresh leaves it) is searched by halves, which costs no memory: a map
// of a million UIDs is about 20 MB. Only another order gets a map.
func (m *Mailbox) _index() {
	m.byUID = nil
	msgs := m.listing.Messages
	for i := 1; i < len(msgs); i++ {
		if msgs[i-1].UID >= msgs[i].UID {
			m.byUID = make(map[uint32]int, len(msgs))
			for i, msg := range msgs {
				m.byUID[msg.UID] = i
			}
			return
		}
	}
}

// _at finds the message uid in the listing (if any); m.mu held.
func (m *Mailbox) _at(uid uint32) (int, bool) {
	if m.byUID != nil {
		i, ok := m.byUID[uid]
		return i, ok
	}
	if m.listing == nil {
		return 0, false
	}
	msgs := m.listing.Messages
	i, ok := slices.BinarySearchFunc(msgs, uid, func(msg Message, uid uint32) int { return cmp.Compare(msg.UID, uid) })
	return i, ok
}

func (m *Mailbox) fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listing != nil && time.Since(m.fetched) < m.acct.ttl
}

// Listed reports whether the mailbox has been listed.
func (m *Mailbox) Listed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listing != nil
}

// Entries lists every message the mailbox holds, after revalidating when
// the listing is older than the TTL.
func (m *Mailbox) Entries(ctx context.Context) ([]Entry, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, 0, len(m.listing.Messages))
	for i, msg := range m.listing.Messages {
		if _, gone := m.gone[msg.UID]; !gone {
			out = append(out, m._entry(i))
		}
	}
	return out, nil
}

// UIDs lists the UID of every message the mailbox holds, ascending,
// with their UIDVALIDITY, after revalidating when the listing is older
// than the TTL: 4 bytes a message, for a directory read a part at a time
// (Current finds each one's state when its part is read).
func (m *Mailbox) UIDs(ctx context.Context) (uint32, []uint32, error) {
	if err := m.refresh(ctx); err != nil {
		return 0, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]uint32, 0, len(m.listing.Messages))
	for _, msg := range m.listing.Messages {
		if _, gone := m.gone[msg.UID]; !gone {
			out = append(out, msg.UID)
		}
	}
	return m.listing.UIDValidity, out, nil
}

// Lookup finds a message by UID. Before the mailbox was ever listed, this
// is one UID FETCH of that UID, not a listing.
func (m *Mailbox) Lookup(ctx context.Context, uid uint32) (Entry, bool, error) {
	if !m.Listed() && !m.listingOnDisk() {
		return m.lookupSingle(ctx, uid)
	}
	if err := m.refresh(ctx); err != nil {
		return Entry{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m._at(uid)
	if _, gone := m.gone[uid]; !ok || gone {
		return Entry{}, false, nil
	}
	return m._entry(i), true, nil
}

func (m *Mailbox) lookupSingle(ctx context.Context, uid uint32) (Entry, bool, error) {
	m.mu.Lock()
	s, ok := m.singles[uid]
	name := m.name
	m.mu.Unlock()
	if ok && time.Since(s.at) < m.acct.ttl {
		return s.e, true, nil
	}
	v, msg, found, err := m.acct.backend.Message(ctx, name, uid)
	if err != nil || !found {
		return Entry{}, false, err
	}
	s = single{e: Entry{Message: msg, UIDValidity: v}, at: time.Now()}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, had := m.singles[uid]; had && old.e.UIDValidity == v && old.e.SizeKnown {
		s.e.Size, s.e.SizeKnown = old.e.Size, true
	}
	m.singles[uid] = s
	return s.e, true, nil
}

// Current returns the latest known state of a message without asking the
// server; ok is false when it is no longer there under that UIDVALIDITY.
func (m *Mailbox) Current(r Ref) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil {
		s, ok := m.singles[r.UID]
		return s.e, ok && s.e.UIDValidity == r.UIDValidity
	}
	if m.listing.UIDValidity != r.UIDValidity {
		return Entry{}, false
	}
	i, ok := m._at(r.UID)
	if _, gone := m.gone[r.UID]; !ok || gone {
		return Entry{}, false
	}
	return m._entry(i), true
}

// Find is Current, asking the server when the model knows nothing
// without asking (a mailbox never listed forgets the messages it looked
// up alone when it changes): ok is false when the message is gone.
func (m *Mailbox) Find(ctx context.Context, r Ref) (Entry, bool, error) {
	if e, ok := m.Current(r); ok {
		return e, true, nil
	}
	e, ok, err := m.Lookup(ctx, r.UID)
	if err != nil || !ok || e.UIDValidity != r.UIDValidity {
		return Entry{}, false, err
	}
	return e, true, nil
}

// Gone reports whether the model knows the message is no longer there:
// the mailbox is listed, and its listing lacks it (or has another
// UIDVALIDITY) though it is older than the listing. Without a listing,
// or for a message newer than it (found by a search), it does not know,
// and says false; nothing is asked of the server.
func (m *Mailbox) Gone(r Ref) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil {
		return false
	}
	if m.listing.UIDValidity != r.UIDValidity {
		return true
	}
	if r.UID >= m.state.UIDNext {
		return false
	}
	_, listed := m._at(r.UID)
	_, gone := m.gone[r.UID]
	return !listed || gone
}

// _entry builds an entry; m.mu held.
func (m *Mailbox) _entry(i int) Entry {
	msg := m.listing.Messages[i]
	e := Entry{Message: msg, UIDValidity: m.listing.UIDValidity}
	if n, ok := m.sizes[msg.UID]; ok {
		e.Size, e.SizeKnown = n, true
	}
	return e
}

// measured records a body's true length. It reports whether the size
// known before was wrong.
func (m *Mailbox) measured(r Ref, n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	wrong := false
	if s, ok := m.singles[r.UID]; ok && s.e.UIDValidity == r.UIDValidity {
		wrong = s.e.Size != n
		s.e.Size, s.e.SizeKnown = n, true
		m.singles[r.UID] = s
	}
	if m.listing == nil || m.listing.UIDValidity != r.UIDValidity {
		return wrong
	}
	i, ok := m._at(r.UID)
	if !ok {
		return wrong
	}
	before := m.listing.Messages[i].Size
	if s, ok := m.sizes[r.UID]; ok {
		before = s
	}
	m.sizes[r.UID] = n
	return before != n
}

// _added shows a message this mount stored or moved here, without listing
// again; m.mu held. sizeKnown: its size was measured (an APPEND's bytes),
// not only reported. When the server did not say the UID (no UIDPLUS) or
// the UIDVALIDITY differs, the next access lists again instead.
func (m *Mailbox) _added(p Placed, msg Message, sizeKnown bool) (Entry, bool) {
	if p.UID == 0 || m.listing == nil || m.listing.UIDValidity != p.UIDValidity {
		m.fetched = time.Time{}
		return Entry{}, false
	}
	msg.UID = p.UID
	m.seq++
	m.touch()
	m.ours[p.UID] = addedMsg{msg: msg, seq: m.seq}
	delete(m.gone, p.UID)
	if sizeKnown {
		m.sizes[p.UID] = msg.Size
	}
	if i, dup := m._at(p.UID); dup {
		return m._entry(i), true
	}
	m.listing.Messages = append(m.listing.Messages, msg)
	m._indexAdded()
	return m._entry(len(m.listing.Messages) - 1), true
}

// _indexAdded keeps finding by UID right after a message was appended
// to the listing; m.mu held.
func (m *Mailbox) _indexAdded() {
	msgs := m.listing.Messages
	last := len(msgs) - 1
	switch {
	case m.byUID != nil:
		m.byUID[msgs[last].UID] = last
	case last > 0 && msgs[last-1].UID >= msgs[last].UID:
		m._index() // out of UID order: a map from now on
	}
}

// added is _added with the lock taken. Without a listing, the entry is
// built from what the caller knows.
func (m *Mailbox) added(p Placed, msg Message, sizeKnown bool) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m._added(p, msg, sizeKnown); ok {
		return e, true
	}
	if p.UID == 0 {
		return Entry{}, false
	}
	msg.UID = p.UID
	e := Entry{Message: msg, UIDValidity: p.UIDValidity, SizeKnown: sizeKnown}
	if m.listing == nil {
		m.singles[p.UID] = single{e: e, at: time.Now()}
	}
	return e, true
}

// removed forgets a message this mount deleted or moved away.
func (m *Mailbox) removed(r Ref) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.singles, r.UID)
	if m.listing == nil || m.listing.UIDValidity != r.UIDValidity {
		return
	}
	m.seq++
	m.touch()
	m.gone[r.UID] = m.seq
	delete(m.ours, r.UID)
}

// flagsStored records flags this mount stored.
func (m *Mailbox) flagsStored(r Ref, flags []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touch()
	if s, ok := m.singles[r.UID]; ok && s.e.UIDValidity == r.UIDValidity {
		s.e.Flags = flags
		m.singles[r.UID] = s
	}
	if m.listing == nil || m.listing.UIDValidity != r.UIDValidity {
		return
	}
	if i, ok := m._at(r.UID); ok {
		m.listing.Messages[i].Flags = flags
	}
}

// changed marks the listing stale (the server said so): the next access
// revalidates. flags: flags changed.
// It reports whether the mailbox has a listing to revalidate; without
// one, the messages looked up singly are forgotten instead (the next
// lookup asks the server), and the first access lists the mailbox.
func (m *Mailbox) changed(flags bool) (listed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetched = time.Time{}
	m.marks++
	if flags {
		m.flagsDirty = true
	}
	if m.listing == nil {
		m.singles = map[uint32]single{}
	}
	return m.listing != nil
}

// rename gives the mailbox its new name after a RENAME; it revalidates on
// next use.
func (m *Mailbox) rename(name string) {
	m.mu.Lock()
	m.name, m.fetched = name, time.Time{}
	m.mu.Unlock()
}
