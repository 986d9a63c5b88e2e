package mail

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"
)

// Keeping a listing current: the first access lists the mailbox, later
// ones ask the server what changed (Backend.Changes) and merge the delta;
// what appeared or went away is reported as a Change.

// refresh brings the listing up to date when it is older than the TTL.
// When the server cannot be reached, the last listing is kept and served.
func (m *Mailbox) refresh(ctx context.Context) error {
	if m.fresh() {
		return nil
	}
	if err := m.load.lock(ctx); err != nil {
		return err
	}
	defer m.load.unlock()
	if m.fresh() {
		return nil
	}
	m.mu.Lock()
	have, state, known, name, start := m.listing != nil, m.state, m._visible(), m.name, m.seq
	m.refreshing = m.marks
	// Without CONDSTORE (no HIGHESTMODSEQ) flag changes cannot be asked
	// for; fetch every message's flags instead.
	allFlags := m.flagsDirty || state.HighestModSeq == 0
	m.mu.Unlock()
	if !have {
		if state, known, ok := m.listingFromDisk(); ok {
			// Kept by an earlier mount: revalidate it like any listing
			// (one STATUS when nothing changed; with CONDSTORE only the
			// flags changed since).
			allFlags = allFlags && state.HighestModSeq == 0
			started := time.Now()
			d, err := m.acct.backend.Changes(ctx, name, state, known, allFlags)
			if err != nil {
				if IsInterrupt(err) || errors.Is(err, ErrNotFound) {
					return err
				}
				m.acct.log.Debug("revalidation failed; serving the listing of the disk cache", "mailbox", name, "err", err)
				return nil
			}
			m.acct.log.Debug("revalidated the listing of the disk cache", "mailbox", name, "unchanged", d.Unchanged, "took", time.Since(started).Round(time.Millisecond))
			if d.Reset {
				return m.relist(ctx, name, start, true)
			}
			c, changed := m.apply(d, start)
			m.acct.notify(c)
			if changed {
				m.persist()
			}
			return nil
		}
		return m.relist(ctx, name, start, false)
	}
	d, err := m.acct.backend.Changes(ctx, name, state, known, allFlags)
	if err != nil {
		if !IsInterrupt(err) && !errors.Is(err, ErrNotFound) {
			m.acct.log.Debug("revalidation failed; serving the last listing", "mailbox", name, "err", err)
			return nil // keep serving what we know while offline
		}
		return err
	}
	m.acct.log.Debug("revalidated", "mailbox", name, "reset", d.Reset, "unchanged", d.Unchanged, "new", len(d.New), "present", len(d.Present), "flags", len(d.Flags))
	if d.Reset {
		return m.relist(ctx, name, start, true)
	}
	c, changed := m.apply(d, start)
	m.acct.notify(c)
	if changed {
		m.persist() // an unchanged mailbox is not written again every TTL
	}
	return nil
}

// _refreshed records that the listing is current as of the refresh
// that began at marks m.refreshing, unless the server gave notice of a
// change meanwhile: then it stays stale, so that the revalidation that
// notice started (waiting for this one) asks the server again instead
// of finding the listing fresh. m.mu held.
func (m *Mailbox) _refreshed() {
	if m.marks == m.refreshing {
		m.fetched, m.flagsDirty = time.Now(), false
	}
}

// relist fetches the whole listing. reset: the UIDVALIDITY changed, so
// everything known under the old one is dropped.
func (m *Mailbox) relist(ctx context.Context, name string, start uint64, reset bool) error {
	l, err := m.acct.backend.Messages(ctx, name)
	if err != nil {
		m.mu.Lock()
		have := m.listing != nil
		m.mu.Unlock()
		if have && !IsInterrupt(err) && !errors.Is(err, ErrNotFound) {
			m.acct.log.Debug("listing failed; serving the last one", "mailbox", name, "err", err)
			return nil
		}
		return err
	}
	m.mu.Lock()
	c := Change{Mailbox: m}
	if m.listing != nil && (reset || m.listing.UIDValidity != l.UIDValidity) {
		// A new UIDVALIDITY: every UID known before means nothing now.
		c.Reset = true
		for i := range m.listing.Messages {
			c.Gone = append(c.Gone, m._entry(i))
		}
		m.sizes, m.gone, m.ours = map[uint32]int64{}, map[uint32]uint64{}, map[uint32]addedMsg{}
		m.epoch++
		m.touch()
	}
	for uid, s := range m.singles {
		if s.e.SizeKnown && s.e.UIDValidity == l.UIDValidity {
			m.sizes[uid] = s.e.Size
		}
	}
	m.singles = map[uint32]single{}
	m.listing, m.state = l, l.State
	m._refreshed()
	m._settle(start)
	m._index()
	m.mu.Unlock()
	if d := m.acct.disk; d != nil {
		d.Validity(m.diskBox(), l.UIDValidity)
	}
	m.persist()
	m.acct.notify(c)
	return nil
}

// _settle reconciles this mount's own changes with a listing or delta that
// was asked for at seq start: removals and APPENDs that completed before
// it are in the server's answer; later ones are kept on top of it. m.mu
// held.
func (m *Mailbox) _settle(start uint64) {
	for uid, seq := range m.gone {
		if seq <= start {
			delete(m.gone, uid)
		}
	}
	have := make(map[uint32]bool, len(m.listing.Messages))
	for _, msg := range m.listing.Messages {
		have[msg.UID] = true
	}
	extra := false
	for uid, a := range m.ours {
		if a.seq <= start {
			delete(m.ours, uid)
		} else if !have[uid] {
			m.listing.Messages = append(m.listing.Messages, a.msg)
			extra = true
		}
	}
	if extra {
		sort.Slice(m.listing.Messages, func(i, j int) bool { return m.listing.Messages[i].UID < m.listing.Messages[j].UID })
	}
}

// apply merges a delta asked for at seq start into the listing and returns
// what appeared and went away.
// It reports whether the listing or its state changed.
func (m *Mailbox) apply(d *Delta, start uint64) (Change, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := Change{Mailbox: m}
	changed := m.state != d.State
	m.state = d.State
	m._refreshed()
	if d.Unchanged || m.listing == nil {
		return c, changed
	}
	msgs := make([]Message, 0, len(m.listing.Messages)+len(d.New))
	for i, msg := range m.listing.Messages {
		if seq, gone := m.gone[msg.UID]; gone && seq <= start {
			continue
		}
		a, ours := m.ours[msg.UID]
		if d.Present != nil && !d.Present[msg.UID] && !(ours && a.seq > start) {
			if _, gone := m.gone[msg.UID]; !gone {
				c.Gone = append(c.Gone, m._entry(i))
			}
			continue
		}
		if f, ok := d.Flags[msg.UID]; ok {
			if !slices.Equal(msg.Flags, f) {
				changed = true
				e := m._entry(i)
				e.Flags = f
				c.Flagged = append(c.Flagged, e)
			}
			msg.Flags = f
		}
		msgs = append(msgs, msg)
	}
	for _, msg := range d.New {
		if _, known := m._at(msg.UID); known {
			continue
		}
		if f, ok := d.Flags[msg.UID]; ok {
			msg.Flags = f
		}
		msgs = append(msgs, msg)
		c.Added = append(c.Added, Entry{Message: msg, UIDValidity: m.listing.UIDValidity})
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	changed = changed || len(c.Gone) > 0 || len(c.Added) > 0 || len(msgs) != len(m.listing.Messages)
	m.listing = &Listing{UIDValidity: m.listing.UIDValidity, State: d.State, Messages: msgs}
	m._settle(start)
	m._index()
	if len(c.Gone) > 0 || len(c.Added) > 0 || len(c.Flagged) > 0 {
		m.touch()
	}
	return c, changed
}

// _visible counts the listed messages below the state's UIDNEXT that the
// server should still have (what Changes compares with MESSAGES); m.mu
// held.
func (m *Mailbox) _visible() int {
	if m.listing == nil {
		return 0
	}
	n := 0
	for _, msg := range m.listing.Messages {
		if _, gone := m.gone[msg.UID]; msg.UID < m.state.UIDNext && !gone {
			n++
		}
	}
	return n
}

// Invalidate makes the next access revalidate.
func (m *Mailbox) Invalidate() { m.changed(false) }
