package mail

import (
	"sync"
	"sync/atomic"
)

// A message this mount moves to another mailbox (mv, rm to Trash, a
// move in .maildir) gets a new identity there: another mailbox, another
// UID. It is still the same file to the user, as after rename(2) on any
// file system, so the account remembers, for its life, the identities
// each moved message has had: the view numbers its inode by the first,
// and a node still naming an older one is pointed at the newest. A
// message another client moves is, to this mount, one that went and
// one that came.

// ident is one identity of a message: its mailbox object and Ref.
type ident struct {
	mb  uint64
	ref Ref
}

// moveChain is every identity a moved message has had, first to last.
type moveChain []ident

// moves are the account's moved messages.
type moves struct {
	n  atomic.Int64 // len(by): none is the common case, read without the lock
	mu sync.Mutex   // protects the following
	by map[ident]*moveChain
}

// moved records that this mount moved message r of src to dst, where it
// is now moved.
func (mv *moves) moved(src *Mailbox, r Ref, dst *Mailbox, moved Ref) {
	if moved.UID == 0 {
		return // the server did not say where: a message that went and one that came
	}
	from, to := ident{src.ID(), r}, ident{dst.ID(), moved}
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if mv.by == nil {
		mv.by = map[ident]*moveChain{}
	}
	c := mv.by[from]
	if c == nil {
		c = &moveChain{from}
		mv.by[from] = c
	}
	*c = append(*c, to)
	mv.by[to] = c
	mv.n.Store(int64(len(mv.by)))
}

// forget drops the moves of messages c says are gone: a message gone
// from where it was last moved, or every one last moved to a mailbox
// whose UIDVALIDITY changed.
func (mv *moves) forget(c Change) {
	if mv.n.Load() == 0 || (!c.Reset && len(c.Gone) == 0) {
		return
	}
	mb := c.Mailbox.ID()
	mv.mu.Lock()
	defer mv.mu.Unlock()
	drop := func(ch *moveChain) {
		for _, id := range *ch {
			delete(mv.by, id)
		}
	}
	for _, e := range c.Gone {
		id := ident{mb, e.Ref()}
		if ch := mv.by[id]; ch != nil && (*ch)[len(*ch)-1] == id {
			drop(ch)
		}
	}
	if c.Reset {
		for id, ch := range mv.by {
			if last := (*ch)[len(*ch)-1]; id == last && last.mb == mb {
				drop(ch)
			}
		}
	}
	mv.n.Store(int64(len(mv.by)))
}

// first is the identity message r of mailbox mb had before this mount
// first moved it (mb's ID and r themselves when it did not).
func (mv *moves) first(mb *Mailbox, r Ref) (uint64, Ref) {
	if mv.n.Load() == 0 {
		return mb.ID(), r
	}
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if ch := mv.by[ident{mb.ID(), r}]; ch != nil {
		return (*ch)[0].mb, (*ch)[0].ref
	}
	return mb.ID(), r
}

// movedAway reports whether this mount moved message r of mb elsewhere
// since (it is not there any more, under that UID).
func (mv *moves) movedAway(mb *Mailbox, r Ref) bool {
	if mv.n.Load() == 0 {
		return false
	}
	mv.mu.Lock()
	defer mv.mu.Unlock()
	ch := mv.by[ident{mb.ID(), r}]
	return ch != nil && (*ch)[len(*ch)-1] != ident{mb.ID(), r}
}

// FirstIdentity is the mailbox (by ID) and Ref message r of mb had
// before this mount first moved it to another mailbox; mb's ID and r
// when it never did. A view numbers a message's inode by it, so a moved
// message keeps its number.
func (a *Account) FirstIdentity(mb *Mailbox, r Ref) (mailboxID uint64, first Ref) {
	return a.moves.first(mb, r)
}

// MovedAway reports whether this mount has moved message r of mb to
// another mailbox since: a node naming it should name where it went.
func (a *Account) MovedAway(mb *Mailbox, r Ref) bool {
	return a.moves.movedAway(mb, r)
}

// Latest is where this mount last moved message r of mb (ok false: it
// did not move it on from there): a view's node found again by the
// message's first identity (its inode number) follows it there.
func (a *Account) Latest(mb *Mailbox, r Ref) (*Mailbox, Ref, bool) {
	mv := &a.moves
	if mv.n.Load() == 0 {
		return nil, Ref{}, false
	}
	here := ident{mb.ID(), r}
	mv.mu.Lock()
	ch := mv.by[here]
	var last ident
	if ch != nil {
		last = (*ch)[len(*ch)-1]
	}
	mv.mu.Unlock()
	if ch == nil || last == here {
		return nil, Ref{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.mailboxes {
		if m.ID() == last.mb {
			return m, last.ref, true
		}
	}
	return nil, Ref{}, false
}
