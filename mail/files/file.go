package files

import (
	"context"
	"fmt"
	"time"

	"mailfs/mail"
)

// File is a file of this mount: its bytes, the versions of it the server
// holds, and what is on its way. Every field is guarded by Model.mu.
type File struct {
	m  *Model
	id uint64

	dir  *Dir
	name string // "" once removed or renamed over
	// data holds the bytes once loaded; until then they are those of the
	// current version (a message opened for writing is fetched only when
	// written or read through the file).
	data    []byte
	loaded  bool
	charged int64 // bytes of data counted in the budget

	gen       uint64 // bumped by every change of the bytes
	storedGen uint64 // the gen the current version holds
	handles   int    // open descriptors that may write
	broken    error  // a write or truncate failed: nothing is stored until rewritten from 0
	refused   error  // the last store's refusal, for refusedAt
	refusedAt uint64
	stuck     *mail.Mailbox // a move of the current version there was refused

	// versions are the messages on the server that stand for this file,
	// oldest first; the last one in the file's mailbox is the current
	// one once storedGen == gen. Every other one is removed once the
	// file's bytes are stored.
	versions []version
	// base: the message first written over, whose flags, date and name
	// a new version takes unless chosen.
	base     mail.Entry
	hasBase  bool
	flags    []string
	flagsSet bool
	mtime    time.Time
	mtimeSet bool

	busy    bool          // a step is on its way
	waiting bool          // a step failed for now and is tried again later
	delay   time.Duration // before the next try
	// unknown: an APPEND into that mailbox timed out; before storing
	// again, look for it at or above UID since.
	unknown *unknownAppend
	// heir took this file's name (renamed over it): the versions go to
	// it. successor is a file created under the name this one (a backup
	// under a scratch name) stood for: when this one is removed before
	// the successor is stored, the successor takes its versions.
	heir, successor *File
	dropped         bool // let go: its name opens its stored message now
	// delivery: renamed from a Maildir's tmp/ into new/ or cur/.
	delivery *delivery
}

// unknownAppend is an APPEND whose answer was lost: of data (the file's
// bytes at gen), into mb, whose UIDNEXT was since before it.
type unknownAppend struct {
	mb    *mail.Mailbox
	since uint32
	data  []byte
	gen   uint64
}

// Handle is a descriptor that may write a file.
type Handle struct {
	f      *File
	closed bool
}

// File is the file the handle writes.
func (h *Handle) File() *File { return h.f }

// label is the file's path for logs and status; m.mu held.
func (f *File) _label() string {
	if f.name == "" {
		return f.dir.mb.Name() + "/(removed)"
	}
	return f.dir.mb.Name() + "/" + f.name
}

// _current is the version the file's bytes are stored as (nil: none yet).
func (f *File) _current() *version {
	if len(f.versions) == 0 {
		return nil
	}
	return &f.versions[len(f.versions)-1]
}

// Attr is what a stat of a file shows.
type Attr struct {
	Size  int64
	Mtime time.Time
}

// Attr returns the file's size and time.
func (f *File) Attr() Attr {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	a := Attr{Size: int64(len(f.data)), Mtime: f.mtime}
	if !f.loaded {
		if cur := f._current(); cur != nil {
			a.Size = cur.entry.Size
			if e, ok := cur.mb.Current(cur.entry.Ref()); ok {
				a.Size = e.Size
			}
		}
	}
	return a
}

// ID is the file's number, unique in the model (for inode numbers).
func (f *File) ID() uint64 { return f.id }

// Name is the file's name now ("" once removed).
func (f *File) Name() string {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return f.name
}

// Loaded reports whether the file holds bytes of its own (false: its
// bytes are its current version's, read from the mail model).
func (f *File) Loaded() bool {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return f.loaded
}

// load fetches the current version's bytes into the file, once.
func (f *File) load(ctx context.Context) error {
	m := f.m
	m.mu.Lock()
	if f.loaded {
		m.mu.Unlock()
		return nil
	}
	cur := f._current()
	m.mu.Unlock()
	var body []byte
	if cur != nil {
		b, _, err := cur.mb.Body(ctx, cur.entry.Ref())
		if err != nil {
			return err
		}
		body = b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.loaded {
		return nil
	}
	if err := f._charge(int64(len(body))); err != nil {
		return err
	}
	f.data, f.loaded = append([]byte(nil), body...), true
	return nil
}

// _charge makes the budget count n bytes of data; m.mu held.
func (f *File) _charge(n int64) error {
	if err := f.m.o.Budget.grow(n - f.charged); err != nil {
		return err
	}
	f.charged = n
	return nil
}

// _free gives the file's memory back; m.mu held.
func (f *File) _free() {
	f.m.o.Budget.grow(-f.charged)
	f.charged, f.data, f.loaded = 0, nil, false
}

// Read copies bytes at off.
func (f *File) Read(ctx context.Context, dest []byte, off int64) ([]byte, error) {
	if err := f.load(ctx); err != nil {
		return nil, err
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if off >= int64(len(f.data)) {
		return nil, nil
	}
	return append([]byte(nil), f.data[off:min(off+int64(len(dest)), int64(len(f.data)))]...), nil
}

// ReadAt copies bytes at off for a reader that opened the file while
// it was being written: its bytes while the model holds them, then those
// of the message they were stored as (the file let go), so that reader
// never goes back to the version written over.
func (f *File) ReadAt(ctx context.Context, dest []byte, off int64) ([]byte, error) {
	m := f.m
	m.mu.Lock()
	if f.loaded {
		defer m.mu.Unlock()
		if off >= int64(len(f.data)) {
			return nil, nil
		}
		return append([]byte(nil), f.data[off:min(off+int64(len(dest)), int64(len(f.data)))]...), nil
	}
	cur := f._current()
	m.mu.Unlock()
	if cur == nil {
		return nil, nil
	}
	b, _, err := cur.mb.Body(ctx, cur.entry.Ref())
	if err != nil {
		return nil, err
	}
	if off >= int64(len(b)) {
		return nil, nil
	}
	return b[off:min(off+int64(len(dest)), int64(len(b)))], nil
}

// Write writes p at off. A write that fails breaks the file: nothing of
// it is stored until it is rewritten from the start.
func (f *File) Write(ctx context.Context, p []byte, off int64) error {
	if err := f.load(ctx); err != nil {
		return err
	}
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.broken != nil {
		return fmt.Errorf("%w: %w", ErrBroken, f.broken)
	}
	end := off + int64(len(p))
	if err := f._resize(max(end, int64(len(f.data)))); err != nil {
		return err
	}
	copy(f.data[off:], p)
	f._changed()
	return nil
}

// Truncate sets the size. Truncating to 0 makes a broken file usable
// again.
func (f *File) Truncate(ctx context.Context, size int64) error {
	m := f.m
	if size == 0 {
		m.mu.Lock()
		defer m.mu.Unlock()
		f._truncate0()
		return nil
	}
	if err := f.load(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.broken != nil {
		return fmt.Errorf("%w: %w", ErrBroken, f.broken)
	}
	if err := f._resize(size); err != nil {
		return err
	}
	f._changed()
	return nil
}

// _truncate0 empties the file, and mends a broken one; m.mu held.
func (f *File) _truncate0() {
	f._charge(0)
	f.data, f.loaded, f.broken = f.data[:0], true, nil
	f._changed()
}

// _resize sets the length; a failure breaks the file. m.mu held.
func (f *File) _resize(size int64) error {
	if size > mail.MaxMessageBytes {
		f.broken = fmt.Errorf("%w: a message is at most %d bytes", ErrTooLarge, mail.MaxMessageBytes)
		f._changed()
		return f.broken
	}
	if err := f._charge(size); err != nil {
		f.broken = err
		f._changed()
		return err
	}
	if size <= int64(len(f.data)) {
		f.data = f.data[:size]
	} else {
		f.data = append(f.data, make([]byte, size-int64(len(f.data)))...)
	}
	return nil
}

// _changed marks the bytes changed; m.mu held.
func (f *File) _changed() {
	f.gen++
	if !f.mtimeSet {
		f.mtime = time.Now()
	}
}

// Check is FLUSH and FSYNC: nothing is stored (a later write would make
// the stored version an intermediate one), but bytes that cannot become
// a message are refused early (EINVAL), and a broken file says so.
func (f *File) Check() error {
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.broken != nil {
		return fmt.Errorf("%w: %w", ErrBroken, f.broken)
	}
	if !f.loaded || f.gen == f.storedGen || !IsMessageName(f.name) {
		return nil
	}
	if len(f.data) == 0 && len(f.versions) == 0 {
		return nil // a shell opens, dups and closes before it writes
	}
	_, _, err := mail.PrepareMessage(f.data)
	return err
}

// Release is the release of a descriptor that could write: the last one
// lets the file's bytes go to the server.
func (h *Handle) Release() {
	f := h.f
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	f.handles--
	m._kick(f)
}

// Flags returns the flags a file is stored with.
func (f *File) Flags() []string {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	flags, _ := f._flagsDate()
	return flags
}

// SetFlags chooses the flags the file is stored with (setfattr, cp -a
// while it is written).
func (f *File) SetFlags(flags []string) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.flags, f.flagsSet = flags, true
}

// SetMtime chooses the date the file is stored with (touch -d, cp -p).
func (f *File) SetMtime(t time.Time) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.mtime, f.mtimeSet = t, true
}

// _flagsDate are the flags and INTERNALDATE of the next store: chosen
// ones, else those of the message first written over; m.mu held.
func (f *File) _flagsDate() ([]string, time.Time) {
	flags, date := f.flags, time.Time{}
	if f.mtimeSet {
		date = f.mtime
	}
	if f.hasBase {
		if !f.flagsSet {
			flags = f.base.Flags
		}
		if !f.mtimeSet {
			date = f.base.InternalDate
		}
	}
	if f.flagsSet && flags == nil {
		flags = []string{}
	}
	return flags, date
}

// Pending reports whether bytes of the file are still to be stored: it is
// open for writing, changed since its last store, or a step is on its
// way.
func (f *File) Pending() bool {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return f.handles > 0 || f.busy || f.waiting || f.gen != f.storedGen
}
