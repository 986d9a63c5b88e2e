package files

import (
	"context"
	"errors"
	"time"

	"mailfs/mail"
)

// Unlink removes name from mailbox mb. A message goes as rm sends it
// (--delete: to Trash, or expunged); a file of this mount stops standing
// for anything: its bytes are never stored, a store of it on its way is
// undone once it lands, and a message it was written over goes as rm
// sends it (an editor's backup whose new version is still on its way
// leaves that to the new version).
func (m *Model) Unlink(ctx context.Context, mb *mail.Mailbox, name string) error {
	it, ok, err := m.Lookup(ctx, mb, name)
	if err != nil {
		return err
	}
	if !ok {
		return mail.ErrNotFound
	}
	if f := it.File; f != nil {
		return m.unlinkFile(ctx, f, name)
	}
	if err := mb.Remove(ctx, it.Entry.Ref()); err != nil && !errors.Is(err, mail.ErrNotFound) {
		return err
	}
	m.mu.Lock()
	d := m._dir(mb)
	d.touched = time.Now()
	if d.kept[name] == it.Entry.Ref() {
		delete(d.kept, name)
		delete(d.keptAs, it.Entry.Ref())
	}
	m.mu.Unlock()
	return nil
}

func (m *Model) unlinkFile(ctx context.Context, f *File, name string) error {
	m.mu.Lock()
	var pre []version
	succeeded := f.successor != nil && f.successor.name != "" && !f.successor.dropped
	if !f.busy && !f.waiting && !succeeded {
		// Messages that were there before this mount wrote over them are
		// removed now, so rm answers (EPERM without a Trash, say) and a
		// refusal changes nothing.
		for _, v := range f.versions {
			if !v.ours {
				pre = append(pre, v)
			}
		}
	}
	m.mu.Unlock()
	for _, v := range pre {
		if err := v.mb.Remove(ctx, v.entry.Ref()); err != nil && !errors.Is(err, mail.ErrNotFound) && !errors.Is(err, mail.ErrStale) {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range pre {
		m._forget(f, v.key())
	}
	if f.name == name && f.dir.files[name] == f {
		delete(f.dir.files, name)
		f.name = ""
		f.dir.touched = time.Now()
	}
	m._kick(f)
	m._settle(f)
	return nil
}

// Rename renames name in mailbox src to newName in dst (mailboxes are the
// view's business):
//   - anything to another mailbox: the name must be free there (a move
//     never replaces, shows or removes another message: EEXIST);
//   - a message to another mailbox: UID MOVE, now; the name then opens
//     the moved message;
//   - a message to another name in its mailbox: only this mount shows
//     it under that name (a scratch name is an editor's backup: removing
//     it removes the message, renaming it back restores it);
//   - a message over a file or message of its mailbox: it takes that
//     name's place (the message there is removed once this one is in
//     place);
//   - a file of this mount: it takes the new name, in whichever mailbox,
//     and is stored there once; over a file, it takes that file's place
//     and what was stored of it; over a message, it is that message's new
//     version (sed -i, editors' write-then-rename).
//
// A message moved to another mailbox is returned as dst holds it (UID 0
// when the server did not say).
func (m *Model) Rename(ctx context.Context, src *mail.Mailbox, name string, dst *mail.Mailbox, newName string, noReplace bool) (mail.Entry, error) {
	if src == dst && name == newName {
		_, ok, err := m.Lookup(ctx, src, name)
		if err == nil && !ok {
			err = mail.ErrNotFound
		}
		return mail.Entry{}, err
	}
	it, ok, err := m.Lookup(ctx, src, name)
	if err != nil {
		return mail.Entry{}, err
	}
	if !ok {
		return mail.Entry{}, mail.ErrNotFound
	}
	target, exists, err := m.Lookup(ctx, dst, newName)
	if err != nil {
		return mail.Entry{}, err
	}
	if exists && (noReplace || dst != src) {
		// A move to another mailbox never replaces what is there.
		return mail.Entry{}, mail.ErrExists
	}
	if it.File != nil {
		return mail.Entry{}, m.renameFile(it.File, name, dst, newName, target, exists)
	}
	e := it.Entry
	if dst != src {
		moved, err := src.Move(ctx, e, dst)
		if err != nil {
			return mail.Entry{}, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		sd, dd := m._dir(src), m._dir(dst)
		if sd.kept[name] == e.Ref() {
			delete(sd.kept, name)
			delete(sd.keptAs, e.Ref())
		}
		if moved.UID != 0 && m.o.Name(moved) != newName {
			dd.kept[newName], dd.keptAs[moved.Ref()] = moved.Ref(), newName
		}
		if k := (vkey{src.ID(), e.Ref()}); m.ours[k] && moved.UID != 0 {
			m.ours[vkey{dst.ID(), moved.Ref()}] = true
		}
		m._notify(dst, newName, m.o.Name(moved))
		return moved, nil
	}
	// Otherwise the message becomes a file of this mount that stands for
	// it, and that file is renamed: to a scratch name (an editor's
	// backup), over another file or message, or to another name.
	m.mu.Lock()
	d := m._dir(src)
	if d.files[name] != nil {
		m.mu.Unlock()
		return mail.Entry{}, ErrGone
	}
	b := m._newFile(d, name)
	v := version{mb: src, entry: e}
	v.ours = m.ours[v.key()]
	m._adopt(b, v)
	b.base, b.hasBase, b.mtime = e, true, e.InternalDate
	delete(d.kept, name)
	delete(d.keptAs, e.Ref())
	m.mu.Unlock()
	return mail.Entry{}, m.renameFile(b, name, dst, newName, target, exists)
}

// _replaced takes file g off its name: another file was renamed over it;
// m.mu held.
func (m *Model) _replaced(g *File) {
	if g.dir.files[g.name] == g {
		delete(g.dir.files, g.name)
	}
	g.name = ""
}

func (m *Model) renameFile(f *File, name string, dst *mail.Mailbox, newName string, target Item, exists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.name != name || f.dropped {
		return mail.ErrNotFound
	}
	if exists && target.File == f {
		return nil
	}
	if IsMessageName(newName) && !IsMessageName(name) && f.handles == 0 && f.loaded && f.gen != f.storedGen && len(f.data) > 0 {
		// A scratch file given a message name (sed -i's save) is checked
		// now, so rename(2) says EINVAL and the message stays as it was.
		if _, _, err := mail.PrepareMessage(f.data); err != nil {
			m.log.Warn("file is not a message; not renamed, and nothing is stored", "file", f._label(), "to", newName, "err", err)
			return err
		}
	}
	src := f.dir
	dd := m._dir(dst)
	var g *File
	if exists {
		if target.File != nil {
			g = target.File
			m._replaced(g)
		} else if target.Message && m.byRef[vkey{dst.ID(), target.Entry.Ref()}] != f {
			// Over a message: the file is its new version.
			if len(f.versions) == 0 && f.loaded && f.gen == f.storedGen {
				f.gen++
			}
			v := version{mb: dst, entry: target.Entry, over: true}
			v.ours = m.ours[v.key()]
			f.versions = append([]version{v}, f.versions...)
			m.byRef[v.key()] = f
			if !f.hasBase {
				f.base, f.hasBase = target.Entry, true
			}
			delete(dd.kept, newName)
			delete(dd.keptAs, target.Entry.Ref())
		}
	}
	if src.files[name] == f {
		delete(src.files, name)
	}
	f.dir, f.name = dd, newName
	dd.files[newName] = f
	if f.refused != nil && f.refusedAt == f.gen {
		f.refused = nil // tried again where it is now
	}
	f.stuck = nil
	if g != nil {
		g.heir = f
		m._kick(g)
	}
	m._kick(f)
	m._notify(src.mb, name)
	m._notify(dst, newName)
	return nil
}
