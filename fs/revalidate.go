package fs

import (
	"context"
	"errors"
	"sort"
	"time"
)

// Keeping a listing current: the first access lists the mailbox, later
// ones ask the server what changed (Backend.Changes) and merge the delta,
// telling the kernel which names appeared or went away.

// refresh brings the listing up to date when it is older than the TTL:
// the first time with a full listing, afterwards by asking what changed
// (one STATUS when nothing did). When the server cannot be reached, the
// last listing is kept and served.
func (m *mailbox) refresh(ctx context.Context) error {
	if m.fresh() {
		return nil
	}
	m.load.Lock()
	defer m.load.Unlock()
	if m.fresh() {
		return nil
	}
	m.mu.Lock()
	have, state, known, allFlags := m.listing != nil, m.state, m._visible(), m.flagsDirty
	m.mu.Unlock()
	if !have {
		return m.relist(ctx, false)
	}
	d, err := m.backend.Changes(ctx, m.name, state, known, allFlags)
	if err != nil {
		if !isInterrupt(err) && !errors.Is(err, ErrNotFound) {
			m.log.Debug("revalidation failed; serving the last listing", "mailbox", m.name, "err", err)
			return nil // keep serving what we know while offline
		}
		return err
	}
	m.log.Debug("revalidated", "mailbox", m.name, "reset", d.Reset, "unchanged", d.Unchanged, "new", len(d.New), "present", len(d.Present), "flags", len(d.Flags), "state", d.State)
	if d.Reset {
		return m.relist(ctx, true)
	}
	m.apply(d)
	return nil
}

// relist fetches the whole listing. reset: the UIDVALIDITY changed, so
// everything known under the old one is dropped, and the kernel is told
// to forget every old name.
func (m *mailbox) relist(ctx context.Context, reset bool) error {
	l, err := m.backend.Messages(ctx, m.name)
	if err != nil {
		m.mu.Lock()
		have := m.listing != nil
		m.mu.Unlock()
		if have && !isInterrupt(err) && !errors.Is(err, ErrNotFound) {
			m.log.Debug("listing failed; serving the last one", "mailbox", m.name, "err", err)
			return nil
		}
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var stale []string
	if m.listing != nil && (reset || m.listing.UIDValidity != l.UIDValidity) {
		// A new UIDVALIDITY means every UID we knew is meaningless.
		stale = append(stale, m.names...)
		for alias := range m.aliases {
			stale = append(stale, alias)
		}
		m.sizes, m.aliases, m.hidden = map[uint32]int64{}, map[string]uint32{}, map[uint32]string{}
		m.renamed = map[string]uidRef{}
		m.epoch++
	}
	for uid, s := range m.singles {
		if s.e.sizeKnown && s.e.uidValidity == l.UIDValidity {
			m.sizes[uid] = s.e.Size
		}
	}
	m.singles = map[uint32]single{}
	m.listing, m.state, m.fetched, m.gone, m.flagsDirty = l, l.State, time.Now(), map[uint32]bool{}, false
	m._index()
	m._notify(stale)
	return nil
}

// apply merges a delta into the listing and tells the kernel which names
// went away or appeared.
func (m *mailbox) apply(d *Delta) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state, m.fetched, m.flagsDirty = d.State, time.Now(), false
	if d.Unchanged || m.listing == nil {
		return
	}
	var changed []string
	msgs := make([]Message, 0, len(m.listing.Messages)+len(d.New))
	for i, msg := range m.listing.Messages {
		if m.gone[msg.UID] {
			continue
		}
		if d.Present != nil && !d.Present[msg.UID] {
			changed = append(changed, m.names[i])
			if alias, ok := m.hidden[msg.UID]; ok {
				changed = append(changed, alias)
			}
			continue
		}
		if f, ok := d.Flags[msg.UID]; ok {
			msg.Flags = f
		}
		msgs = append(msgs, msg)
	}
	for _, msg := range d.New {
		if _, known := m.byUID[msg.UID]; known {
			continue
		}
		if f, ok := d.Flags[msg.UID]; ok {
			msg.Flags = f
		}
		msgs = append(msgs, msg)
		changed = append(changed, MessageName(m.style, msg.InternalDate, msg.Subject, msg.UID))
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	m.listing = &Listing{UIDValidity: m.listing.UIDValidity, State: d.State, Messages: msgs}
	m.gone = map[uint32]bool{}
	m._index()
	m._notify(changed)
}

// _visible counts the messages below the state's UIDNEXT that the server
// should still have (what Changes compares with MESSAGES); m.mu held.
func (m *mailbox) _visible() int {
	if m.listing == nil {
		return 0
	}
	n := 0
	for _, msg := range m.listing.Messages {
		if msg.UID < m.state.UIDNext && !m.gone[msg.UID] {
			n++
		}
	}
	return n
}

// _notify tells the kernel to look names up again (in the background:
// refresh runs inside LOOKUP and READDIR of this very directory); m.mu
// held.
func (m *mailbox) _notify(names []string) {
	if m.dir == nil || len(names) == 0 {
		return
	}
	notifyEntries(m.dir, names...)
}

// changed is called when the server says the mailbox changed (IDLE): the
// next access revalidates, and flagsOnly asks for every flag without
// CONDSTORE.
func (m *mailbox) changed(flags bool) {
	m.mu.Lock()
	m.fetched = time.Time{}
	if flags {
		m.flagsDirty = true
	}
	m.mu.Unlock()
}
