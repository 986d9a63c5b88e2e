package files

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailfs/mail"
)

// The one commit path. _kick plans the next step of a file from what it
// should be and what the server holds of it; step runs it with no lock
// held; apply records the answer and plans again. One step per file is
// on its way at a time.

type stepKind int

const (
	stepStore  stepKind = iota // store the bytes in the file's mailbox
	stepMove                   // move the current version to the file's mailbox
	stepRemove                 // remove a version that no longer stands for the file
	stepLook                   // look for an APPEND whose answer was lost
	stepFlags                  // give the current version the flags chosen since it was stored
)

type step struct {
	kind stepKind
	gen  uint64
	// store
	mb     *mail.Mailbox
	commit mail.Commit
	since  uint32 // UIDNEXT before this store
	// look
	look *unknownAppend
	// move and remove
	v       version
	to      *mail.Mailbox
	discard bool // a version of this mount's: expunge it
	rm      bool // the file was removed: as rm does (--delete)
	// own: a version taken over by a rename is removed only if it is a
	// version of what the file holds: own (the file's bytes), or else
	// the body of cur.
	own []byte
	cur *version
}

// _kick plans and starts the file's next step, if any; m.mu held.
func (m *Model) _kick(f *File) {
	if f.busy || f.waiting {
		return
	}
	st, ok := m._plan(f)
	if !ok {
		m._settle(f)
		return
	}
	f.busy = true
	m._stepStarted()
	m.o.Run.Go(func() { m.run(f, st) })
}

// _plan decides the next step; m.mu held.
func (m *Model) _plan(f *File) (step, bool) {
	if f.unknown != nil {
		// An APPEND went unanswered: whatever the file is to become, that
		// message may be on the server, and is one of its versions then.
		return step{kind: stepLook, look: f.unknown}, true
	}
	if f.heir != nil {
		m._bequeath(f, f.heir)
		return step{}, false
	}
	if f.name == "" {
		if s := f.successor; s != nil && s.name != "" && !s.dropped && len(f.versions) > 0 {
			m._bequeath(f, s)
			return step{}, false
		}
		if len(f.versions) == 0 {
			return step{}, false
		}
		v := f.versions[0]
		return step{kind: stepRemove, v: v, discard: v.ours, rm: !v.ours}, true
	}
	if !IsMessageName(f.name) {
		// Under a scratch name (an editor's backup): it stores nothing,
		// and keeps the message it stands for; what it took over from a
		// file it was renamed over goes, as that file went.
		if len(f.versions) > 1 {
			v := f.versions[0]
			return step{kind: stepRemove, v: v, discard: v.ours, rm: !v.ours}, true
		}
		return step{}, false
	}
	mb := f.dir.mb
	cur := f._current()
	// Its bytes go to the server once no descriptor can write them, and
	// only when they can be a message.
	canStore := f.handles == 0 && f.broken == nil && (f.refused == nil || f.refusedAt != f.gen)
	if cur != nil && cur.mb != mb && (f.gen == f.storedGen || !canStore) && f.stuck != mb {
		// Moved to another mailbox: what the server holds of it follows.
		return step{kind: stepMove, v: *cur, to: mb, gen: f.gen}, true
	}
	if canStore && (f.gen != f.storedGen || cur == nil) {
		if cur == nil && f.gen == 0 {
			return step{}, false // created and never written: stays here
		}
		flags, date := f._flagsDate()
		c := mail.Commit{Data: append([]byte(nil), f.data...), Flags: flags, Date: date,
			FlagsChosen: f.flagsSet, DateChosen: f.mtimeSet}
		for i := len(f.versions) - 1; i >= 0; i-- {
			if f.versions[i].mb == mb {
				r := f.versions[i].entry.Ref()
				c.Replaces = &r
				break
			}
		}
		return step{kind: stepStore, gen: f.gen, mb: mb, commit: c, since: mb.UIDNext()}, true
	}
	if cur != nil && cur.mb == mb && f.gen == f.storedGen && f.flagsSet && canStore && !sameFlags(cur.entry.Flags, f.flags) {
		// Flags chosen after the bytes went (setfattr, a Maildir rename
		// of a delivery still on its way).
		return step{kind: stepFlags, v: *cur, gen: f.gen}, true
	}
	if cur == nil || cur.mb != mb || len(f.versions) < 2 {
		return step{}, false
	}
	// The newest version stored is in place: the older ones go, even
	// while newer bytes are written or were refused.
	v := f.versions[0]
	st := step{kind: stepRemove, v: v, discard: v.ours}
	if v.over && f.storedGen == f.gen && f.loaded {
		st.own = append([]byte(nil), f.data...)
	} else if v.over {
		c := *cur
		st.cur = &c
	}
	return st, true
}

// errTryAgain marks a step that could not decide, to be tried again.
var errTryAgain = errors.New("could not tell yet")

// run takes one step, with no lock held, then records how it went.
func (m *Model) run(f *File, st step) {
	ctx := m.ctx
	var (
		stored mail.Stored
		err    error
	)
	switch st.kind {
	case stepLook:
		var found bool
		stored.Entry, found, err = st.look.mb.FindStored(ctx, st.look.data, st.look.since)
		if err == nil && !found {
			stored.Entry = mail.Entry{}
		}
	case stepStore:
		c := st.commit
		stored, err = st.mb.Store(ctx, &c)
	case stepMove:
		var e mail.Entry
		e, err = st.v.mb.Move(ctx, st.v.entry, st.to)
		stored = mail.Stored{Entry: e}
	case stepFlags:
		m.mu.Lock()
		flags := append([]string(nil), f.flags...)
		m.mu.Unlock()
		err = st.v.mb.SetFlags(ctx, st.v.entry, flags)
		stored.Flags = mail.SettableFlags(flags)
	case stepRemove:
		if st.v.over {
			var other bool
			other, err = m.otherMessage(ctx, st)
			if err != nil {
				// Until it is known whether it is another message, it
				// is neither removed nor given up.
				err = fmt.Errorf("%w: %w", errTryAgain, err)
			} else if other {
				stored.KeptOld = true
				break
			}
		}
		switch {
		case err != nil:
		case st.discard:
			err = st.v.mb.Discard(ctx, st.v.entry.Ref())
		case st.rm:
			err = st.v.mb.Remove(ctx, st.v.entry.Ref())
			if errors.Is(err, mail.ErrNotFound) || errors.Is(err, mail.ErrStale) {
				err = nil
			}
		default:
			err = st.v.mb.Supersede(ctx, st.v.entry.Ref())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f.busy = false
	m.apply(f, st, stored, err)
	m._stepDone()
}

// otherMessage reports whether a version taken over by a rename is a
// different message from what the file holds.
func (m *Model) otherMessage(ctx context.Context, st step) (bool, error) {
	own := st.own
	if own == nil && st.cur != nil {
		b, _, err := st.cur.mb.Body(ctx, st.cur.entry.Ref())
		if err != nil {
			return false, err
		}
		own = b
	}
	return st.v.mb.OtherMessage(ctx, st.v.entry.Ref(), own)
}

// apply records the answer to a step and plans the next; m.mu held.
func (m *Model) apply(f *File, st step, s mail.Stored, err error) {
	label := f._label()
	if err != nil && (mail.Transient(err) || st.kind == stepLook || errors.Is(err, errTryAgain)) && m.ctx.Err() == nil {
		// Tried again later. A look that the server refused too: until
		// it can say whether the message is there, storing again could
		// store it twice.
		if st.kind == stepStore {
			// The APPEND may have been stored before the answer was lost.
			f.unknown = &unknownAppend{mb: st.mb, since: st.since, data: st.commit.Data, gen: st.gen}
		}
		m._retry(f, label, err)
		return
	}
	f.delay = 0
	switch st.kind {
	case stepLook:
		f.unknown = nil
		if err != nil {
			m.log.Error("could not tell whether a file whose answer was lost is on the server; it may be there twice", "file", label, "err", err)
			break
		}
		if s.UID != 0 {
			v := version{mb: st.look.mb, entry: s.Entry, ours: true}
			m.ours[v.key()] = true
			m._adopt(f, v)
			f.storedGen = st.look.gen
		}
	case stepStore:
		if err != nil {
			f.refused, f.refusedAt = err, st.gen
			m.acct.NoteError("store "+label, err)
			m.log.Error("could not store a file; it stays in this mount, and is tried again when it is written and closed again", "file", label, "err", err)
			break
		}
		f.unknown, f.refused = nil, nil
		if s.Same {
			// The bytes are the replaced version's own: it is current.
			k := vkey{st.mb.ID(), *st.commit.Replaces}
			for i, v := range f.versions {
				if v.key() == k {
					f.versions = append(append(f.versions[:i:i], f.versions[i+1:]...), v)
					break
				}
			}
		}
		if s.KeptOld {
			// Another message was written over: it is not a version of
			// this file, and shows under its own name again.
			m._forget(f, vkey{st.mb.ID(), *st.commit.Replaces})
		}
		if s.UID != 0 && !s.Same {
			v := version{mb: st.mb, entry: s.Entry, ours: true}
			m.ours[v.key()] = true
			m._adopt(f, v)
		}
		f.storedGen = st.gen
	case stepMove:
		if err != nil {
			m.log.Error("could not move a file's message to its new mailbox; trying again when it is written or moved again", "file", label, "err", err)
			f.stuck = st.to
			break
		}
		m._forget(f, st.v.key())
		if s.UID != 0 {
			v := version{mb: st.to, entry: s.Entry, ours: st.v.ours}
			if v.ours {
				m.ours[v.key()] = true
			}
			m._adopt(f, v)
		}
	case stepFlags:
		if err != nil {
			m.log.Error("could not set a file's flags on the server", "file", label, "err", err)
			f.flags = st.v.entry.Flags // given up: what the server has
			break
		}
		for i := range f.versions {
			if f.versions[i].key() == st.v.key() {
				f.versions[i].entry.Flags = s.Flags
			}
		}
	case stepRemove:
		if s.KeptOld {
			m.log.Warn("a file was renamed over a different message (another Message-ID); kept that message", "file", label,
				"mailbox", st.v.mb.Name(), "kept uid", st.v.entry.UID)
		} else if errors.Is(err, mail.ErrNotFound) {
			m.log.Info("an old version of a file was gone from the server already (another client moved or removed it)", "file", label, "mailbox", st.v.mb.Name(), "uid", st.v.entry.UID)
		} else if err != nil {
			m.log.Error("could not remove an old version of a file; it stays on the server", "file", label, "mailbox", st.v.mb.Name(), "uid", st.v.entry.UID, "err", err)
		}
		m._forget(f, st.v.key())
	}
	m._kick(f)
}

// _retry tries the file's next step again later; m.mu held.
func (m *Model) _retry(f *File, label string, err error) {
	if f.delay == 0 {
		f.delay = m.o.RetryMin
	} else {
		f.delay = min(f.delay*2, m.o.RetryMax)
	}
	m.log.Warn("could not store a file yet; trying again", "file", label, "in", f.delay, "err", err)
	f.waiting = true
	m.waiters[f] = true
	m._stepStarted()
	m.o.Run.After(f.delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m._endWait(f) {
			return // Close gave up on it
		}
		m._kick(f)
	})
}

// _endWait ends a file's wait before its next try; it reports false when
// the wait was ended already. m.mu held.
func (m *Model) _endWait(f *File) bool {
	if !f.waiting {
		return false
	}
	f.waiting = false
	delete(m.waiters, f)
	m._stepDone()
	return true
}

// _adopt makes v the file's newest version; m.mu held.
func (m *Model) _adopt(f *File, v version) {
	f.versions = append(f.versions, v)
	m.byRef[v.key()] = f
}

// _forget drops a version from the file (removed, moved, or not the
// file's); m.mu held. byRef keeps it while the file lives, so a node of
// that version still reaches the file.
func (m *Model) _forget(f *File, k vkey) {
	for i, v := range f.versions {
		if v.key() == k {
			f.versions = append(f.versions[:i:i], f.versions[i+1:]...)
			return
		}
	}
}

// _bequeath gives from's versions to to (which took its name or stands
// for what it stood for): to removes them once its own bytes are stored.
// m.mu held.
func (m *Model) _bequeath(from, to *File) {
	if len(from.versions) > 0 {
		if len(to.versions) == 0 && to.loaded && to.gen == to.storedGen {
			// to's bytes are its own (created, never stored): they, not
			// the versions it takes on, are what its name holds.
			to.gen++
		}
		for i := range from.versions {
			from.versions[i].over = true
			m.byRef[from.versions[i].key()] = to
		}
		to.versions = append(append([]version(nil), from.versions...), to.versions...)
		if !to.hasBase {
			first := from.versions[0]
			to.base, to.hasBase = first.entry, true
			if from.hasBase {
				to.base = from.base
			}
		}
		from.versions = nil
	}
	from.heir, from.successor = nil, nil
	m._settle(from)
	m._kick(to)
}

// _settle lets a file go when nothing is left to do: a removed one
// entirely, a stored one to the message its name now opens; m.mu held.
func (m *Model) _settle(f *File) {
	if f.busy || f.waiting || f.dropped {
		return
	}
	for g := range m.all {
		if g.heir == f {
			return // what g holds comes to f yet
		}
	}
	if f.name == "" {
		if len(f.versions) == 0 && f.handles == 0 {
			m._drop(f)
		}
		return
	}
	cur := f._current()
	if f.handles > 0 || f.broken != nil || f.refused != nil || !IsMessageName(f.name) ||
		cur == nil || len(f.versions) != 1 || cur.mb != f.dir.mb || f.gen != f.storedGen {
		return
	}
	d, name := f.dir, f.name
	if d.files[name] == f {
		delete(d.files, name)
	}
	ref := cur.entry.Ref()
	for k, r := range d.kept {
		if r == ref {
			delete(d.kept, k)
		}
	}
	delete(d.keptAs, ref)
	m._settleDelivery(f, *cur)
	if own := m.o.Name(cur.entry); own != name {
		d.kept[name], d.keptAs[ref] = ref, name
	}
	m._drop(f)
	m._notify(d.mb, name, m.o.Name(cur.entry))
}

// _drop lets the file go; m.mu held.
func (m *Model) _drop(f *File) {
	if f.dropped {
		return
	}
	f.dropped = true
	delete(m.all, f)
	f._free()
	for k, g := range m.byRef {
		if g == f {
			delete(m.byRef, k)
		}
	}
	m.live.Add(-1)
}

// _notify tells the view that names of mb resolve anew; m.mu held (the
// view sends its notifications from a goroutine of its own).
func (m *Model) _notify(mb *mail.Mailbox, names ...string) {
	m._dir(mb).touched = time.Now()
	if m.notify != nil && len(names) > 0 {
		m.notify(mb, names...)
	}
}

func (m *Model) _stepStarted() {
	if m.steps == 0 {
		m.quiet = make(chan struct{})
	}
	m.steps++
}

func (m *Model) _stepDone() {
	m.steps--
	if m.steps == 0 {
		close(m.quiet)
	}
}

// sameFlags reports whether two flag lists hold the same settable flags,
// in any order and case.
func sameFlags(a, b []string) bool {
	set := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, f := range mail.SettableFlags(l) {
			m[strings.ToLower(f)] = true
		}
		return m
	}
	x, y := set(a), set(b)
	if len(x) != len(y) {
		return false
	}
	for f := range x {
		if !y[f] {
			return false
		}
	}
	return true
}
