package fs

import (
	"context"
	"errors"
	"sync"
	"time"
)

// mailbox caches one mailbox's listing and the file names derived from it.
type mailbox struct {
	name    string
	backend Backend
	style   NameStyle
	ttl     time.Duration

	load sync.Mutex // serialises refreshes

	mu      sync.Mutex // protects the following
	listing *Listing
	fetched time.Time
	byUID   map[uint32]int    // UID -> index in listing.Messages
	names   []string          // file name of listing.Messages[i]
	sizes   map[uint32]int64  // sizes measured from fetched bodies
	byName  map[string]uint32 // file name -> UID
}

// entry is a snapshot of one message, enough for attributes and reads.
type entry struct {
	Message
	uidValidity uint32
	name        string
	sizeKnown   bool // Size was measured from the body, not RFC822.SIZE
}

// snapshot returns the listing, refreshing it when older than the TTL.
func (m *mailbox) refresh(ctx context.Context) error {
	if m.fresh() {
		return nil
	}
	m.load.Lock()
	defer m.load.Unlock()
	if m.fresh() {
		return nil
	}
	l, err := m.backend.Messages(ctx, m.name)
	if err != nil {
		m.mu.Lock()
		have := m.listing != nil
		m.mu.Unlock()
		if have && !isInterrupt(err) && !errors.Is(err, ErrNotFound) {
			return nil // keep serving what we know while offline
		}
		return err
	}
	names := make([]string, len(l.Messages))
	byUID := make(map[uint32]int, len(l.Messages))
	byName := make(map[string]uint32, len(l.Messages))
	for i, msg := range l.Messages {
		names[i] = MessageName(m.style, msg.InternalDate, msg.Subject, msg.UID)
		byUID[msg.UID] = i
		byName[names[i]] = msg.UID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil || m.listing.UIDValidity != l.UIDValidity {
		// A new UIDVALIDITY means every UID we knew is meaningless.
		m.sizes = map[uint32]int64{}
	}
	m.listing, m.fetched, m.names, m.byUID, m.byName = l, time.Now(), names, byUID, byName
	return nil
}

func (m *mailbox) fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listing != nil && time.Since(m.fetched) < m.ttl
}

// lookup finds a message by file name.
func (m *mailbox) lookup(ctx context.Context, name string) (entry, bool, error) {
	if _, ok := ParseMessageUID(name); !ok {
		return entry{}, false, nil
	}
	if err := m.refresh(ctx); err != nil {
		return entry{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	uid, ok := m.byName[name]
	if !ok {
		return entry{}, false, nil
	}
	return m._entry(m.byUID[uid]), true, nil
}

// entries lists every message.
func (m *mailbox) entries(ctx context.Context) ([]entry, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]entry, len(m.listing.Messages))
	for i := range out {
		out[i] = m._entry(i)
	}
	return out, nil
}

// current returns the latest known state of a message; ok is false when
// it is no longer listed under that UIDVALIDITY.
func (m *mailbox) current(uidValidity, uid uint32) (entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing == nil || m.listing.UIDValidity != uidValidity {
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
	if m.listing == nil || m.listing.UIDValidity != uidValidity {
		return false
	}
	m.sizes[uid] = n
	i, ok := m.byUID[uid]
	return ok && m.listing.Messages[i].Size != n
}

func isInterrupt(err error) bool {
	return errors.Is(err, context.Canceled)
}
