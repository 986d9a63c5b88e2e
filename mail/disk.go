package mail

import (
	"bytes"
	"encoding/gob"
	"sort"

	"mailfs/cache"
)

// The disk tier (Options.Disk): bodies are looked for there before the
// server and written there after it; a mailbox's listing is kept there
// after every change, and the first access after a remount revalidates
// it instead of listing again.

// diskBox is the disk cache's name for this mailbox's entries.
func (m *Mailbox) diskBox() string { return cache.BoxKey(m.acct.id, m.Name()) }

func (m *Mailbox) fromDisk(r Ref) ([]byte, bool) {
	if m.acct.disk == nil {
		return nil, false
	}
	return m.acct.disk.Get(m.diskBox(), r.UIDValidity, r.UID)
}

// verifyOnDisk checks the disk cache's entry of a body without loading
// it, and returns its size.
func (m *Mailbox) verifyOnDisk(r Ref) (int64, bool) {
	if m.acct.disk == nil {
		return 0, false
	}
	return m.acct.disk.Verify(m.diskBox(), r.UIDValidity, r.UID)
}

func (m *Mailbox) toDisk(r Ref, body []byte) {
	if m.acct.disk != nil {
		m.acct.disk.Put(m.diskBox(), r.UIDValidity, r.UID, body)
	}
}

// DiskFile is the file of the disk cache holding a message's body, once
// checked, for the kernel to read directly (FUSE passthrough).
func (m *Mailbox) DiskFile(r Ref) (path string, size int64, ok bool) {
	if m.acct.disk == nil {
		return "", 0, false
	}
	return m.acct.disk.Path(m.diskBox(), r.UIDValidity, r.UID)
}

// listingOnDisk reports whether an earlier mount kept this mailbox's
// listing (a lookup then loads and revalidates it rather than ask the
// server for one message).
func (m *Mailbox) listingOnDisk() bool {
	return m.acct.disk != nil && m.acct.disk.HasListing(m.diskBox())
}

// keptListing is what the disk holds of a listing.
type keptListing struct {
	Version int
	Dates   bool // its messages' Date headers were fetched (Options.Dates)
	Listing Listing
}

const keptListingVersion = 1

// listingFromDisk installs the listing an earlier mount kept, when there
// is one and none is loaded; it returns the state to revalidate from and
// the messages it holds below UIDNEXT. m.load held.
func (m *Mailbox) listingFromDisk() (State, int, bool) {
	if m.acct.disk == nil {
		return State{}, 0, false
	}
	data, ok := m.acct.disk.LoadListing(m.diskBox())
	if !ok {
		return State{}, 0, false
	}
	var k keptListing
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&k); err != nil || k.Version != keptListingVersion || k.Listing.UIDValidity == 0 {
		m.acct.log.Debug("a listing in the disk cache could not be read; listing again", "mailbox", m.Name(), "err", err)
		return State{}, 0, false
	}
	if m.acct.dates && !k.Dates {
		m.acct.log.Debug("the listing in the disk cache has no Date headers, which names need now; listing again", "mailbox", m.Name())
		return State{}, 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listing != nil {
		return State{}, 0, false
	}
	l := k.Listing
	m.listing, m.state = &l, l.State
	m._index()
	m.acct.log.Debug("listing from the disk cache", "mailbox", m.name, "messages", len(l.Messages))
	return m.state, m._visible(), true
}

// persist writes the listing to the disk cache in the background, one
// write at a time per mailbox (a change during a write writes again).
func (m *Mailbox) persist() {
	d := m.acct.disk
	if d == nil {
		return
	}
	m.mu.Lock()
	if m.persisting {
		m.persistAgain = true
		m.mu.Unlock()
		return
	}
	m.persisting = true
	m.mu.Unlock()
	started := m.acct.goSafe("keep listing", func() {
		for {
			m.mu.Lock()
			m.persistAgain = false
			box := cache.BoxKey(m.acct.id, m.name)
			var k *keptListing
			if m.listing != nil {
				k = &keptListing{Version: keptListingVersion, Dates: m.acct.dates, Listing: Listing{UIDValidity: m.listing.UIDValidity, State: m.state}}
				k.Listing.Messages = make([]Message, 0, len(m.listing.Messages))
				for _, msg := range m.listing.Messages {
					if _, gone := m.gone[msg.UID]; !gone {
						k.Listing.Messages = append(k.Listing.Messages, msg)
					}
				}
			}
			m.mu.Unlock()
			var buf bytes.Buffer
			var err error
			if k != nil {
				err = gob.NewEncoder(&buf).Encode(k)
			}
			if err == nil && buf.Len() > 0 {
				err = d.SaveListing(box, buf.Bytes())
			}
			if err != nil {
				m.acct.log.Debug("could not keep the listing in the disk cache", "mailbox", m.Name(), "err", err)
			}
			m.mu.Lock()
			if !m.persistAgain {
				m.persisting = false
				m.mu.Unlock()
				return
			}
			m.mu.Unlock()
		}
	})
	if !started {
		m.mu.Lock()
		m.persisting = false
		m.mu.Unlock()
	}
}

func treeKey(id string) string { return cache.BoxKey(id, "\x00tree") }

// HasKeptTree reports whether disk holds the mailbox tree of the account
// of this ID (Options.ID): a mount of it can show that much with the
// server unreachable.
func HasKeptTree(disk *cache.Disk, id string) bool {
	return disk != nil && disk.HasListing(treeKey(id))
}

// keepTree wires the mailbox tree to the disk cache.
func (a *Account) keepTree() {
	d := a.disk
	if d == nil {
		return
	}
	box := treeKey(a.id)
	var last []byte // what was kept last: the same tree is not written again
	a.tree.keep = func(list []MailboxInfo) {
		sorted := append([]MailboxInfo(nil), list...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(sorted); err != nil || bytes.Equal(buf.Bytes(), last) {
			return
		}
		if err := d.SaveListing(box, buf.Bytes()); err != nil {
			a.log.Debug("could not keep the mailbox tree in the disk cache", "err", err)
			return
		}
		last = buf.Bytes()
	}
	a.tree.kept = func() ([]MailboxInfo, bool) {
		data, ok := d.LoadListing(box)
		if !ok {
			return nil, false
		}
		var list []MailboxInfo
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&list); err != nil {
			return nil, false
		}
		a.log.Info("server unreachable; showing the mailbox tree of the disk cache", "mailboxes", len(list))
		return list, true
	}
}
