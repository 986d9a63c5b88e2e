package files

import (
	"context"
	"strings"
	"time"

	"mailfs/mail"
)

// Item is what a name of a mailbox directory opens: a file of this mount,
// a message, or both (a file that stands for a message: its current
// version, whose inode the view keeps).
type Item struct {
	Name    string
	File    *File
	Entry   mail.Entry
	Message bool // Entry is set
}

// _fileItem is the item of file f; m.mu held.
func (m *Model) _fileItem(f *File) Item {
	it := Item{Name: f.name, File: f}
	if cur := f._current(); cur != nil && cur.mb == f.dir.mb {
		it.Entry, it.Message = cur.entry, true
		if e, ok := cur.mb.Current(cur.entry.Ref()); ok {
			it.Entry = e
		}
	}
	return it
}

// _hidden reports whether message r of mb shows under a file's name
// rather than its own; m.mu held.
func (m *Model) _hidden(d *Dir, r mail.Ref) bool {
	if f := m.byRef[vkey{d.mb.ID(), r}]; f != nil && !f.dropped {
		return true
	}
	return false
}

// Lookup finds what name opens in mailbox mb: a file, a name kept for
// the mount's life, or a message under its own name (the UID in it finds
// the message; the whole name must match).
func (m *Model) Lookup(ctx context.Context, mb *mail.Mailbox, name string) (Item, bool, error) {
	m.mu.Lock()
	d := m._dir(mb)
	if f := d.files[name]; f != nil {
		it := m._fileItem(f)
		m.mu.Unlock()
		return it, true, nil
	}
	ref, kept := d.kept[name]
	if kept && m._hidden(d, ref) {
		kept = false
	}
	m.mu.Unlock()
	if kept {
		e, ok, err := mb.Lookup(ctx, ref.UID)
		if err != nil {
			return Item{}, false, err
		}
		if ok && e.UIDValidity == ref.UIDValidity {
			return Item{Name: name, Entry: e, Message: true}, true, nil
		}
		m.mu.Lock()
		if d.kept[name] == ref {
			delete(d.kept, name)
			delete(d.keptAs, ref)
		}
		m.mu.Unlock()
	}
	uid, ok := m.o.ParseUID(name)
	if !ok {
		return Item{}, false, nil
	}
	e, found, err := mb.Lookup(ctx, uid)
	if err != nil || !found || m.o.Name(e) != name {
		return Item{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m._hidden(d, e.Ref()) || d.keptAs[e.Ref()] != "" {
		return Item{}, false, nil
	}
	return Item{Name: name, Entry: e, Message: true}, true, nil
}

// List lists a mailbox directory: its files, then its messages under
// their names (kept ones, else their own), none twice.
func (m *Model) List(ctx context.Context, mb *mail.Mailbox) ([]Item, error) {
	s, err := m.Stream(ctx, mb)
	if err != nil {
		return nil, err
	}
	var out []Item
	for {
		n := len(out)
		if out = s.Next(out, 1024); len(out) == n {
			return out, nil
		}
	}
}

// Stream is a mailbox directory's listing read a part at a time, as the
// kernel reads a directory: its files as they were when it began, then
// its messages as they are when their part is read (one that went
// meanwhile is left out). It holds 4 bytes a message, where a listing of
// Items holds more than a hundred, so that a mailbox of a million
// messages can be read without a copy of it.
type Stream struct {
	m     *Model
	mb    *mail.Mailbox
	files []Item
	v     uint32   // the UIDVALIDITY of uids
	uids  []uint32 // the messages not read yet
}

// Stream starts reading mailbox mb's directory.
func (m *Model) Stream(ctx context.Context, mb *mail.Mailbox) (*Stream, error) {
	v, uids, err := mb.UIDs(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	s := &Stream{m: m, mb: mb, v: v, uids: uids}
	for name, f := range d.files {
		if !strings.HasPrefix(name, "\x00") { // tmp/ of .maildir, local directories
			s.files = append(s.files, m._fileItem(f))
		}
	}
	return s, nil
}

// Next appends up to max more items to out; none once the directory has
// been read.
func (s *Stream) Next(out []Item, max int) []Item {
	for max > 0 && len(s.files) > 0 {
		out = append(out, s.files[0])
		s.files, max = s.files[1:], max-1
	}
	if max == 0 || len(s.uids) == 0 {
		return out
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(s.mb)
	for max > 0 && len(s.uids) > 0 {
		r := mail.Ref{UIDValidity: s.v, UID: s.uids[0]}
		s.uids = s.uids[1:]
		if m._hidden(d, r) {
			continue
		}
		e, ok := s.mb.Current(r)
		if !ok {
			continue
		}
		name, ok := d.keptAs[r]
		if !ok {
			name = m.o.Name(e)
			if other, taken := d.kept[name]; taken && other != r {
				continue // the name is kept for another message (Lookup finds that one)
			}
		}
		if d.files[name] == nil {
			out = append(out, Item{Name: name, Entry: e, Message: true})
			max--
		}
	}
	return out
}

// NameOf is the name message e of mb has in mb's directory: the one this
// mount keeps for it (the name it was written or moved under), else its
// own. Views that list the message elsewhere (a search result) use it, so
// that a path they show is one the mailbox has.
func (m *Model) NameOf(mb *mail.Mailbox, e mail.Entry) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m._dir(mb).keptAs[e.Ref()]; ok {
		return n
	}
	return m.o.Name(e)
}

// HasFiles reports whether mb's directory holds files or local
// directories of this mount.
func (m *Model) HasFiles(mb *mail.Mailbox) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	return len(d.files) > 0 || len(d.local) > 0
}

// _newFile makes a file called name in d; m.mu held.
func (m *Model) _newFile(d *Dir, name string) *File {
	m.nextID++
	m.live.Add(1)
	f := &File{m: m, id: m.nextID, dir: d, name: name, mtime: time.Now()}
	d.files[name] = f
	d.touched = f.mtime
	m.all[f] = true
	if r, ok := d.kept[name]; ok {
		// The file holds the name now; the message it opened, if the
		// file stands for it, shows through the file.
		delete(d.kept, name)
		delete(d.keptAs, r)
	}
	return f
}

// Create makes a file in mailbox mb, open for writing: a message once
// its last descriptor is closed, if it has a message name, or a scratch
// file of this mount.
func (m *Model) Create(mb *mail.Mailbox, name string) (*Handle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	if d.files[name] != nil {
		return nil, mail.ErrExists
	}
	f := m._newFile(d, name)
	f.loaded = true
	// An editor that renamed the message to a backup name first (vim:
	// f to f~, then a new f): the new file is its new version.
	for _, b := range d.files {
		if b == f || IsMessageName(b.name) || len(b.versions) == 0 {
			continue
		}
		if m.o.Name(b.versions[len(b.versions)-1].entry) == name {
			b.successor = f
			f.base, f.hasBase = b.versions[len(b.versions)-1].entry, true
			if b.hasBase {
				f.base = b.base
			}
			break
		}
	}
	f.handles++
	return &Handle{f: f}, nil
}

// Open opens a file of this mount for writing (trunc: O_TRUNC). A file
// let go already answers ErrGone: its name opens its message now.
func (m *Model) Open(f *File, trunc bool) (*Handle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.dropped || f.name == "" {
		return nil, ErrGone
	}
	f.handles++
	if trunc {
		f._truncate0()
	}
	return &Handle{f: f}, nil
}

// Edit opens message r of mb for writing: an editor saving in place,
// `>>`, `cp` over it. Every descriptor shares one file, whichever version
// of it the kernel reached it through; nothing is fetched until it is
// written or read through the file. A message no longer there answers
// ErrGone.
func (m *Model) Edit(mb *mail.Mailbox, r mail.Ref, trunc bool) (*Handle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.byRef[vkey{mb.ID(), r}]
	if f == nil || f.dropped {
		e, ok := mb.Current(r)
		if !ok {
			return nil, ErrGone
		}
		d := m._dir(mb)
		name, kept := d.keptAs[r]
		if !kept {
			name = m.o.Name(e)
		}
		if d.files[name] != nil {
			return nil, ErrGone // the name holds another file now
		}
		f = m._newFile(d, name)
		v := version{mb: mb, entry: e}
		v.ours = m.ours[v.key()]
		m._adopt(f, v)
		f.base, f.hasBase = e, true
		f.mtime = e.InternalDate
	}
	if f.name == "" {
		return nil, ErrGone
	}
	f.handles++
	if trunc {
		f._truncate0()
	}
	return &Handle{f: f}, nil
}

// Editing returns the file that message r of mb is a version of, nil
// when there is none: a read of the message's node then reads the file.
func (m *Model) Editing(mb *mail.Mailbox, r mail.Ref) *File {
	if m.live.Load() == 0 {
		return nil // the common case, on every read: no lock taken
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.byRef[vkey{mb.ID(), r}]; f != nil && !f.dropped {
		return f
	}
	return nil
}

// Observe learns of changes the mail model found: a new UIDVALIDITY voids
// the names kept for the mailbox. It returns the kept names to tell the
// kernel about, beside the messages' own.
func (m *Model) Observe(c mail.Change) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(c.Mailbox)
	m.maildirObserve(d, c)
	var names []string
	for _, e := range append(c.Gone, c.Added...) {
		if n, ok := d.keptAs[e.Ref()]; ok {
			names = append(names, n)
		}
	}
	if c.Reset {
		for n := range d.kept {
			names = append(names, n)
		}
		d.kept, d.keptAs = map[string]mail.Ref{}, map[mail.Ref]string{}
	}
	return names
}

// Replacing reports whether a file created under name in mb would be the
// new version of a message an editor renamed to a backup name (the
// successor of that backup).
func (m *Model) Replacing(mb *mail.Mailbox, name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m._dir(mb).files {
		if !IsMessageName(b.name) && len(b.versions) > 0 && m.o.Name(b.versions[len(b.versions)-1].entry) == name {
			return true
		}
	}
	return false
}
