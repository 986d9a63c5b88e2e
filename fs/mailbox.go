package fs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// mailbox caches one mailbox's listing and the file names derived from it,
// plus the changes this mount made since (so they show at once), and the
// scratch files that live only in this mount.
type mailbox struct {
	name    string
	log     *slog.Logger
	backend Backend
	style   NameStyle
	ttl     time.Duration

	load sync.Mutex // serialises refreshes

	mu      sync.Mutex // protects the following
	listing *Listing
	fetched time.Time
	byUID   map[uint32]int    // UID -> index in listing.Messages
	names   []string          // file name of listing.Messages[i]
	byName  map[string]uint32 // file name -> UID, for listed, visible messages
	gone    map[uint32]bool   // removed by this mount since the listing
	sizes   map[uint32]int64  // sizes measured from fetched bodies
	aliases map[string]uint32 // scratch name -> UID of a message renamed to it
	hidden  map[uint32]string // UID -> its alias while renamed away
	renamed map[string]uidRef // old name -> the version that replaced it
	local   map[string]*localNode
	state   MailboxState // STATUS the listing corresponds to
	// singles are messages looked up by name before any listing: a
	// lookup by name needs one UID FETCH, not a listing of the mailbox.
	singles map[uint32]single
	// flagsDirty: the server said flags changed; without CONDSTORE the
	// next revalidation fetches every message's flags.
	flagsDirty bool
	epoch      int         // bumped when UIDVALIDITY changes
	dir        *gofs.Inode // the directory, for kernel notifications

	ra readahead // has its own lock
}

func newMailbox(name string, b Backend, style NameStyle, ttl time.Duration, log *slog.Logger) *mailbox {
	return &mailbox{name: name, log: log, backend: b, style: style, ttl: ttl,
		sizes: map[uint32]int64{}, aliases: map[string]uint32{}, hidden: map[uint32]string{},
		gone: map[uint32]bool{}, local: map[string]*localNode{}, renamed: map[string]uidRef{}, singles: map[uint32]single{}, ra: readahead{last: -1}}
}

// single is a message fetched alone, with when.
type single struct {
	e  entry
	at time.Time
}

// entry is a snapshot of one message, enough for attributes and reads.
type entry struct {
	Message
	uidValidity uint32
	name        string
	sizeKnown   bool // Size was measured from the body, not RFC822.SIZE
}

// _index rebuilds the name and UID maps; m.mu must be held.
func (m *mailbox) _index() {
	msgs := m.listing.Messages
	m.names = make([]string, len(msgs))
	m.byUID = make(map[uint32]int, len(msgs))
	m.byName = make(map[string]uint32, len(msgs))
	for i, msg := range msgs {
		m.names[i] = MessageName(m.style, msg.InternalDate, msg.Subject, msg.UID)
		m.byUID[msg.UID] = i
		if _, hidden := m.hidden[msg.UID]; !hidden {
			m.byName[m.names[i]] = msg.UID
		}
	}
	for alias, uid := range m.aliases {
		if _, ok := m.byUID[uid]; !ok {
			delete(m.aliases, alias)
			delete(m.hidden, uid)
		}
	}
	for old, ref := range m.renamed {
		if _, ok := m.byUID[ref.uid]; !ok || ref.uidValidity != m.listing.UIDValidity {
			delete(m.renamed, old)
		}
	}
}

func (m *mailbox) fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listing != nil && time.Since(m.fetched) < m.ttl
}

// lookup finds a message by file name: its derived name, or the scratch
// name it was renamed to.
func (m *mailbox) lookup(ctx context.Context, name string) (entry, bool, error) {
	m.mu.Lock()
	uid, aliased := m.aliases[name]
	_, replaced := m.renamed[name]
	listed := m.listing != nil
	m.mu.Unlock()
	if !aliased && !replaced {
		parsed, ok := ParseMessageUID(name)
		if !ok {
			return entry{}, false, nil
		}
		if !listed {
			return m.lookupSingle(ctx, name, parsed)
		}
	}
	if err := m.refresh(ctx); err != nil {
		return entry{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if aliased {
		uid, aliased = m.aliases[name]
	}
	if !aliased {
		var ok bool
		if uid, ok = m.byName[name]; !ok {
			// A name an editor just saved over resolves to the new
			// version, so "sed -i … f; cat f" works.
			ref, ok := m.renamed[name]
			if !ok || ref.uidValidity != m.listing.UIDValidity {
				return entry{}, false, nil
			}
			uid = ref.uid
		}
	}
	i, ok := m.byUID[uid]
	if !ok || m.gone[uid] {
		return entry{}, false, nil
	}
	e := m._entry(i)
	if aliased {
		e.name = name
	}
	return e, true, nil
}

// lookupSingle finds a message by the UID in its name with one UID FETCH,
// before the mailbox was ever listed.
func (m *mailbox) lookupSingle(ctx context.Context, name string, uid uint32) (entry, bool, error) {
	m.mu.Lock()
	s, ok := m.singles[uid]
	m.mu.Unlock()
	if !ok || time.Since(s.at) >= m.ttl {
		v, msg, found, err := m.backend.Message(ctx, m.name, uid)
		if err != nil {
			return entry{}, false, err
		}
		if !found {
			return entry{}, false, nil
		}
		s = single{e: entry{Message: msg, uidValidity: v, name: MessageName(m.style, msg.InternalDate, msg.Subject, msg.UID)}, at: time.Now()}
		m.mu.Lock()
		if old, had := m.singles[uid]; had && old.e.uidValidity == v && old.e.sizeKnown {
			s.e.Size, s.e.sizeKnown = old.e.Size, true
		}
		m.singles[uid] = s
		m.mu.Unlock()
	}
	if s.e.name != name {
		return entry{}, false, nil
	}
	return s.e, true, nil
}

// entries lists every visible message, under the name it has now.
func (m *mailbox) entries(ctx context.Context) ([]entry, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]entry, 0, len(m.listing.Messages))
	for i, msg := range m.listing.Messages {
		if m.gone[msg.UID] {
			continue
		}
		e := m._entry(i)
		if alias, ok := m.hidden[msg.UID]; ok {
			e.name = alias
		}
		out = append(out, e)
	}
	return out, nil
}

// current returns the latest known state of a message; ok is false when
// it is no longer listed under that UIDVALIDITY.
func (m *mailbox) current(uidValidity, uid uint32) (entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil {
		s, ok := m.singles[uid]
		return s.e, ok && s.e.uidValidity == uidValidity
	}
	if m.listing.UIDValidity != uidValidity || m.gone[uid] {
		return entry{}, false
	}
	i, ok := m.byUID[uid]
	if !ok {
		return entry{}, false
	}
	return m._entry(i), true
}

// _entry builds an entry; m.mu must be held.
func (m *mailbox) _entry(i int) entry {
	msg := m.listing.Messages[i]
	e := entry{Message: msg, uidValidity: m.listing.UIDValidity, name: m.names[i]}
	if n, ok := m.sizes[msg.UID]; ok {
		e.Size, e.sizeKnown = n, true
	}
	return e
}

// measured records a body's true length. It reports whether the listed
// size was wrong.
func (m *mailbox) measured(uidValidity, uid uint32, n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.singles[uid]; ok && s.e.uidValidity == uidValidity {
		wrong := s.e.Size != n
		s.e.Size, s.e.sizeKnown = n, true
		m.singles[uid] = s
		if m.listing == nil {
			return wrong
		}
	}
	if m.listing == nil || m.listing.UIDValidity != uidValidity {
		return false
	}
	m.sizes[uid] = n
	i, ok := m.byUID[uid]
	return ok && m.listing.Messages[i].Size != n
}

// added shows a message this mount stored, without listing again. When
// the server did not report the UID (no UIDPLUS) or the validity differs,
// the next access lists instead.
func (m *mailbox) added(p Placed, msg Message) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.UID == 0 || m.listing == nil || m.listing.UIDValidity != p.UIDValidity {
		m.fetched = time.Time{}
		return ""
	}

	if _, dup := m.byUID[p.UID]; dup {
		return m.names[m.byUID[p.UID]]
	}
	msg.UID = p.UID
	m.listing.Messages = append(m.listing.Messages, msg)
	name := MessageName(m.style, msg.InternalDate, msg.Subject, msg.UID)
	m.names = append(m.names, name)
	m.byUID[msg.UID] = len(m.listing.Messages) - 1
	m.byName[name] = msg.UID
	m.sizes[msg.UID] = msg.Size
	return name
}

// removed forgets a message this mount deleted or moved away.
func (m *mailbox) removed(uidValidity, uid uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.singles, uid)
	if m.listing == nil || m.listing.UIDValidity != uidValidity {
		return
	}
	m.gone[uid] = true
	if i, ok := m.byUID[uid]; ok {
		delete(m.byName, m.names[i])
	}
	if alias, ok := m.hidden[uid]; ok {
		delete(m.aliases, alias)
		delete(m.hidden, uid)
	}
}

// setFlags records flags this mount stored.
func (m *mailbox) setFlags(uidValidity, uid uint32, flags []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.singles[uid]; ok && s.e.uidValidity == uidValidity {
		s.e.Flags = flags
		m.singles[uid] = s
	}
	if m.listing == nil || m.listing.UIDValidity != uidValidity {
		return
	}
	if i, ok := m.byUID[uid]; ok {
		m.listing.Messages[i].Flags = flags
	}
}

// hide shows a message under a scratch name (an editor renaming it to its
// backup name); the server is not involved.
func (m *mailbox) hide(uid uint32, alias string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.byUID[uid]; ok {
		delete(m.byName, m.names[i])
	}
	if old, ok := m.hidden[uid]; ok {
		delete(m.aliases, old)
	}
	m.hidden[uid], m.aliases[alias] = alias, uid
}

// unhide gives a message its own name back.
func (m *mailbox) unhide(uid uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if alias, ok := m.hidden[uid]; ok {
		delete(m.aliases, alias)
		delete(m.hidden, uid)
	}
	if i, ok := m.byUID[uid]; ok && !m.gone[uid] {
		m.byName[m.names[i]] = uid
	}
}

// currentAny returns a message of the current listing by UID.
func (m *mailbox) currentAny(uid uint32) (entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil || m.gone[uid] {
		return entry{}, false
	}
	i, ok := m.byUID[uid]
	if !ok {
		return entry{}, false
	}
	return m._entry(i), true
}

// uidRef names a message: a UID means nothing without its UIDVALIDITY.
type uidRef struct{ uidValidity, uid uint32 }

// replacedBy makes an old name resolve to the message that replaced it.
func (m *mailbox) replacedBy(oldName string, p Placed) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.UID != 0 {
		m.renamed[oldName] = uidRef{p.UIDValidity, p.UID}
	}
}

// hiddenUIDByName returns the UID of a message renamed away whose own name
// is name (vim: rename f to f~, then create f).
func (m *mailbox) hiddenUIDByName(name string) uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid := range m.hidden {
		if i, ok := m.byUID[uid]; ok && m.names[i] == name {
			return uid
		}
	}
	return 0
}

// setDir remembers the directory inode, for kernel notifications.
func (m *mailbox) setDir(in *gofs.Inode) {
	m.mu.Lock()
	m.dir = in
	m.mu.Unlock()
}

// forgetLocal drops a scratch file by name if it is still n.
func (m *mailbox) forgetLocal(name string, n *localNode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.local[name] == n {
		delete(m.local, name)
	}
}

// localFile returns a scratch file by name.
func (m *mailbox) localFile(name string) *localNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local[name]
}

func (m *mailbox) localNames() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.local))
	for n := range m.local {
		names = append(names, n)
	}
	return names
}

func isInterrupt(err error) bool {
	return errors.Is(err, context.Canceled)
}
