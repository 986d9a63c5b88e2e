package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Copies inside the account. A file written into a mailbox whose bytes
// are exactly those of a message this mount recently opened (cp, cp -a,
// rsync -a, cat >) is stored with UID COPY from that message instead of
// APPEND: no upload, and the copy keeps the source's flags and
// INTERNALDATE, which rsync -a (no xattrs) and cat cannot carry.
//
// A file written over an existing message replaces it only when it is a
// version of it (an edit). When its bytes are the message's own, nothing
// is stored again; when it is a different message (both have a
// Message-ID and they differ: cp or rsync onto a name that happens to be
// another message's), it is stored as a new message and the one it was
// written over is kept.

// recentOpens bounds the messages remembered as copy sources.
const recentOpens = 1024

type opened struct {
	m   *Mailbox
	uid uint32
}

// opens remembers the messages last opened for reading.
type opens struct {
	mu   sync.Mutex // protects the following
	ring [recentOpens]opened
	next int
}

func (o *opens) note(m *Mailbox, uid uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev := o.ring[(o.next+recentOpens-1)%recentOpens]
	if prev.m == m && prev.uid == uid {
		return
	}
	o.ring[o.next] = opened{m, uid}
	o.next = (o.next + 1) % recentOpens
}

func (o *opens) list() []opened {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]opened, 0, recentOpens)
	for i := 1; i <= recentOpens; i++ { // newest first
		if op := o.ring[(o.next+recentOpens-i)%recentOpens]; op.m != nil {
			out = append(out, op)
		}
	}
	return out
}

// copySource finds a recently opened message whose cached bytes are
// exactly msg.
func (a *Account) copySource(msg []byte) (*Mailbox, Entry, bool) {
	seen := map[opened]bool{}
	for _, op := range a.opens.list() {
		if seen[op] {
			continue
		}
		seen[op] = true
		e, ok := op.m.currentUID(op.uid)
		if !ok || (e.SizeKnown && e.Size != int64(len(msg))) {
			continue
		}
		body, ok := op.m.CachedBody(e.Ref())
		if !ok && e.SizeKnown {
			// Opened on its disk cache file: its bytes are there.
			body, ok = op.m.fromDisk(e.Ref())
		}
		if ok && bytes.Equal(body, msg) {
			return op.m, e, true
		}
	}
	return nil, Entry{}, false
}

// currentUID is Current by UID alone, from what the model holds.
func (m *Mailbox) currentUID(uid uint32) (Entry, bool) {
	m.mu.Lock()
	var v uint32
	if m.listing != nil {
		v = m.listing.UIDValidity
	} else if s, ok := m.singles[uid]; ok {
		v = s.e.UIDValidity
	}
	m.mu.Unlock()
	if v == 0 {
		return Entry{}, false
	}
	return m.Current(Ref{v, uid})
}

// Stored is how a commit went: the message as the server now holds it
// (UID 0 when the server did not say where it went), and what became of
// the message the commit replaced. The file model moves a file's name to
// the stored version by this answer, never by what a listing shows at the
// time: a revalidation in between can still list the old version.
type Stored struct {
	Entry
	// Same: the bytes were the replaced message's own; nothing was
	// stored and Entry is that message.
	Same bool
	// KeptOld: the file turned out to be a different message (another
	// Message-ID); the one it was written over is not to be removed.
	KeptOld bool
}

// Commit is one file's bytes to store in a mailbox.
type Commit struct {
	Data  []byte
	Flags []string
	Date  time.Time // INTERNALDATE; zero: now
	// FlagsChosen and DateChosen: the user set them (setfattr, touch,
	// cp -a) rather than their being the defaults or the replaced
	// message's.
	FlagsChosen, DateChosen bool
	// Replaces, when set, is the message of this mailbox this version
	// replaces. Store never removes it: the caller does, once Store has
	// succeeded and unless Stored says Same or KeptOld.
	Replaces *Ref
}

// Store is one attempt at storing a commit, now. It never removes
// anything: a store that half-succeeded leaves only a removal to retry.
func (m *Mailbox) Store(ctx context.Context, c *Commit) (Stored, error) {
	if m.acct.readOnly {
		return Stored{}, ErrReadOnly
	}
	msg, _, err := PrepareMessage(c.Data)
	if err != nil {
		return Stored{}, err
	}
	if c.Replaces == nil {
		e, err := m.storeNew(ctx, msg, c.Flags, c.FlagsChosen, c.Date)
		return Stored{Entry: e}, err
	}
	old := *c.Replaces
	oldBody, whole, err := m.compareWith(ctx, old, len(msg))
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrStale):
		// What it replaced is gone already: the file is a new message.
		e, err := m.storeNew(ctx, msg, c.Flags, c.FlagsChosen, c.Date)
		return Stored{Entry: e}, err
	case err != nil:
		return Stored{}, err
	case whole && bytes.Equal(oldBody, msg):
		e, ok := m.Current(old)
		if !ok {
			e, err := m.storeNew(ctx, msg, c.Flags, c.FlagsChosen, c.Date)
			return Stored{Entry: e}, err
		}
		if c.FlagsChosen {
			if err := m.SetFlags(ctx, e, c.Flags); err != nil {
				return Stored{}, err
			}
			e.Flags = SettableFlags(c.Flags)
		}
		m.acct.log.Info("file written with the bytes the message has; nothing to store", "mailbox", m.Name(), "uid", old.UID)
		return Stored{Entry: e, Same: true}, nil
	case otherMessage(oldBody, msg):
		m.acct.log.Warn("a file was written over a different message (another Message-ID); stored it as a new message and kept the one it was written over",
			"mailbox", m.Name(), "kept uid", old.UID)
		var flags []string
		if c.FlagsChosen {
			flags = c.Flags
		}
		date := time.Time{}
		if c.DateChosen {
			date = c.Date
		}
		e, err := m.storeNew(ctx, msg, flags, c.FlagsChosen, date)
		return Stored{Entry: e, KeptOld: true}, err
	}
	e, err := m.Append(ctx, msg, c.Flags, c.Date)
	return Stored{Entry: e}, err
}

// compareWith returns what a file of n bytes written over message old is
// compared with: its whole body when it is cached or could equal the file
// (same size), else only its first chunk (enough for its Message-ID),
// so that a write over a large message does not fetch all of it.
func (m *Mailbox) compareWith(ctx context.Context, old Ref, n int) (b []byte, whole bool, err error) {
	if body, ok := m.CachedBody(old); ok {
		return body, true, nil
	}
	if e, ok := m.Current(old); ok && e.Size != int64(n) {
		b, _, err = m.Chunk(ctx, old, 0)
		return b, false, err
	}
	b, _, err = m.Body(ctx, old)
	return b, true, err
}

// storeNew stores msg as a new message: a server-side copy when it is a
// message the mount just read and the date asked for is that message's,
// else an APPEND.
func (m *Mailbox) storeNew(ctx context.Context, msg []byte, flags []string, flagsChosen bool, date time.Time) (Entry, error) {
	src, e, ok := m.acct.copySource(msg)
	// Not within one mailbox: some servers refuse a COPY onto its own
	// mailbox ("Source and destination mailboxes are identical").
	if ok && src != m && (date.IsZero() || date.Truncate(time.Second).Equal(e.InternalDate.Truncate(time.Second))) {
		p, err := m.acct.backend.Copy(ctx, src.Name(), e.UIDValidity, e.UID, m.Name())
		if err != nil {
			return Entry{}, err
		}
		m.acct.log.Info("stored a copy of a message with UID COPY (same bytes; keeps its flags and date)",
			"from", src.Name(), "uid", e.UID, "to", m.Name(), "new uid", p.UID)
		moved := e.Message
		moved.Size = int64(len(msg))
		if hasFlag(moved.Flags, `\Deleted`) && p.UID != 0 {
			// Another client's \Deleted is not part of the copy: an
			// EXPUNGE there would remove it.
			if err := m.acct.backend.StoreFlags(ctx, m.Name(), p.UIDValidity, p.UID, nil, []string{`\Deleted`}); err != nil {
				return Entry{}, err
			}
			moved.Flags = dropFlag(moved.Flags, `\Deleted`)
		}
		copied, ok := m.added(p, moved, true)
		if ok && flagsChosen {
			if err := m.SetFlags(ctx, copied, flags); err != nil {
				return copied, err
			}
			copied.Flags = SettableFlags(flags)
		}
		return copied, nil
	}
	return m.Append(ctx, msg, flags, date)
}

// otherMessage reports whether b is a different message from a: both
// carry a Message-ID and they differ. Without one, a file written over a
// message is taken for a version of it.
func otherMessage(a, b []byte) bool {
	ida, idb := messageID(a), messageID(b)
	return ida != "" && idb != "" && ida != idb
}

func messageID(b []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return textproto.TrimString(h.Get("Message-Id"))
}

// OtherMessage reports whether message r is a different message from
// data (both carry a Message-ID and they differ), reading only the first
// chunk of r (or its cached body). A file renamed over a message that is
// another message does not replace it.
func (m *Mailbox) OtherMessage(ctx context.Context, r Ref, data []byte) (bool, error) {
	head, ok := m.CachedBody(r)
	if !ok {
		var err error
		if head, _, err = m.Chunk(ctx, r, 0); err != nil {
			return false, err
		}
	}
	return otherMessage(head, data), nil
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

func dropFlag(flags []string, f string) []string {
	var out []string
	for _, g := range flags {
		if !strings.EqualFold(g, f) {
			out = append(out, g)
		}
	}
	return out
}
