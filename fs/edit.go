package fs

import (
	"time"

	"mailfs/mail"
)

// edit is a file being written over a message: its bytes (one draft,
// shared by every descriptor), the version they replace next, and the
// flags and date they are stored with. There is one per file, not one per
// version. Once a snapshot is stored, the file's name opens the stored
// version, and that version's node joins the same edit while bytes are
// still to be stored; so every `>>`, whichever node the kernel reached it
// through, adds to the same bytes, and each version stored replaces the
// one stored just before it. Its fields other than d are protected by the
// mu of its mailbox's dirState.
type edit struct {
	d  *draft
	mb *mail.Mailbox

	versions []mail.Ref // every version it stood for, the one the next snapshot replaces last; each a key of dirState.edits
	last     mail.Entry // the message first written over: default flags, date, name
	flags    []string
	flagsSet bool // set while writing (setfattr, cp -a)
	mtime    time.Time
	dateSet  bool // set while writing (touch -d, cp -a)
}

// base is the version the next snapshot replaces; the dirState's mu held.
func (ed *edit) base() mail.Ref { return ed.versions[len(ed.versions)-1] }

// editOf returns the edit of the file whose version r is or was, while it
// is being written or stored. A node of an earlier version reaches it too:
// the kernel may still hold that node for the name, and a write through
// it must add to the same bytes, not start from the old ones.
func (ds *dirState) editOf(r mail.Ref) *edit {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.edits[r]
}

// joinEdit counts one more writer of the edit of version r, starting
// fresh (whose version is r) as that edit when there is none (fresh nil:
// only join). The
// writer is counted under ds.mu, which the end of a store holds while it
// decides whether the edit is over, so an edit found here is never let go
// before this writer is in.
func (ds *dirState) joinEdit(r mail.Ref, fresh *edit) *edit {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ed := ds.edits[r]
	switch {
	case ed == nil && fresh == nil:
		return nil
	case ed == nil:
		ed = fresh
		ds.edits[r] = ed
		ds.live.Add(1)
	case fresh != nil:
		fresh.d.free()
	}
	ed.d.opened()
	return ed
}

// editEntry is how a version of a file being written shows while the
// model may already have let it go (a later version is stored, the store
// is not finished yet): the message first written over, under r.
func (ds *dirState) editEntry(r mail.Ref) (mail.Entry, bool) {
	return ds.findEdit(func(k mail.Ref) bool { return k == r })
}

// editEntryByUID is editEntry for a UID under any UIDVALIDITY.
func (ds *dirState) editEntryByUID(uid uint32) (mail.Entry, bool) {
	return ds.findEdit(func(k mail.Ref) bool { return k.UID == uid })
}

func (ds *dirState) findEdit(match func(mail.Ref) bool) (mail.Entry, bool) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for r, ed := range ds.edits {
		if match(r) {
			e := ed.last
			e.UID, e.UIDValidity = r.UID, r.UIDValidity
			return e, true
		}
	}
	return mail.Entry{}, false
}

// commitEdit stores one snapshot of an edit as the message's new version;
// once stored, the file's name opens it and the edit replaces it next.
func (v *view) commitEdit(ed *edit, data []byte) {
	ds := v.dir(ed.mb)
	ds.mu.Lock()
	base, last := ed.base(), ed.last
	c := mail.Commit{Mailbox: ed.mb, Data: data, Flags: last.Flags, Date: last.InternalDate, Replaces: &base,
		FlagsChosen: ed.flagsSet, DateChosen: ed.dateSet}
	if ed.flagsSet {
		c.Flags = append([]string{}, ed.flags...)
	}
	if ed.dateSet {
		c.Date = ed.mtime
	}
	ds.mu.Unlock()
	ownName := v.name(last)
	c.Label = ed.mb.Name() + "/" + ownName
	label := c.Label
	v.acct.Submit(c, func(s mail.Stored, err error) {
		if err != nil {
			v.log.Error("could not store the new version of a message; the original is unchanged", "file", label, "err", err)
		}
		replaced := err == nil && !s.KeptOld
		shownAs := ownName
		ds.mu.Lock()
		if replaced && s.UID != 0 {
			// The name keeps opening the stored version.
			shownAs = ds._succeed(base, s.Ref(), shownAs)
		}
		if replaced && s.Ref() != base {
			ed.versions = append(ed.versions, s.Ref())
			ds.edits[s.Ref()] = ed
		}
		next, again := ed.d.finished(err)
		// Written again meanwhile, or refused: the edit goes on. Else every
		// version's name opens the last one from now on.
		over := !again && ed.d.idle()
		if over {
			for _, r := range ed.versions {
				if ds.edits[r] == ed {
					delete(ds.edits, r)
				}
			}
			ds.live.Add(-1)
		}
		dir := ds.inode
		ds.mu.Unlock()
		if over {
			ed.d.free()
		}
		if again {
			v.commitEdit(ed, next)
			return
		}
		v.notify(dir, shownAs, ownName)
	})
}
