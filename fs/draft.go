package fs

import (
	"fmt"
	"sync"

	"mailfs/mail"
)

// Files being written live in memory until their last descriptor is
// closed (RELEASE); only then are their final bytes handed to the model to
// store. A close(2) is only a FLUSH: a shell redirect, a dup or a forked
// child closes the same open file many times, and the first close is not
// the last. So FLUSH and FSYNC only check that the bytes are a message,
// for an early EINVAL; nothing reaches the server before RELEASE.

// budget bounds the memory of every file being written, together.
type budget struct {
	mu   sync.Mutex // protects used
	used int64
	max  int64
}

func (b *budget) grow(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > 0 && b.used+n > b.max {
		return fmt.Errorf("%w (%d bytes in files being written; the bound is %d)", mail.ErrNoSpace, b.used, b.max)
	}
	b.used += n
	return nil
}

// draft is the bytes of a file being written, shared by every handle
// open on it, and the state of getting them stored.
type draft struct {
	b *budget

	mu         sync.Mutex // protects the following
	data       []byte
	dirty      bool  // changed since the last snapshot handed over
	writers    int   // open handles that may write
	committing bool  // a snapshot is on its way to the server
	refused    error // the server's last refusal (kept for status)
	freed      bool
}

func newDraft(b *budget, data []byte) (*draft, error) {
	if err := b.grow(int64(len(data))); err != nil {
		return nil, err
	}
	return &draft{b: b, data: data}, nil
}

// _resize sets the length; d.mu held.
func (d *draft) _resize(size int64) error {
	if size > mail.MaxMessageBytes {
		return fmt.Errorf("%w: a message is at most %d bytes", errTooBig, mail.MaxMessageBytes)
	}
	if d.freed { // written again after it was stored
		if err := d.b.grow(int64(len(d.data))); err != nil {
			return err
		}
		d.freed = false
	}
	if err := d.b.grow(size - int64(len(d.data))); err != nil {
		return err
	}
	if size <= int64(len(d.data)) {
		d.data = d.data[:size]
	} else {
		d.data = append(d.data, make([]byte, size-int64(len(d.data)))...)
	}
	d.dirty = true
	return nil
}

func (d *draft) write(p []byte, off int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	end := off + int64(len(p))
	if err := d._resize(max(end, int64(len(d.data)))); err != nil {
		return err
	}
	copy(d.data[off:], p)
	d.dirty = true
	return nil
}

func (d *draft) truncate(size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d._resize(size)
}

func (d *draft) size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int64(len(d.data))
}

// read copies bytes at off (the reply is sent after the lock is gone).
func (d *draft) read(dest []byte, off int64) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), span(d.data, dest, off)...)
}

func (d *draft) opened() {
	d.mu.Lock()
	d.writers++
	d.mu.Unlock()
}

// check is FLUSH and FSYNC: the bytes written so far must be a message
// (empty is fine: a shell opens, dups and closes before anything is
// written).
func (d *draft) check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.dirty || len(d.data) == 0 {
		return nil
	}
	_, _, err := mail.PrepareMessage(d.data)
	return err
}

// released is the RELEASE of a handle that could write. When it was the
// last one and the bytes changed, it returns a snapshot to store now.
func (d *draft) released() ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writers--
	return d._next()
}

// _next hands over a snapshot when nothing is open for writing, the bytes
// changed and no earlier snapshot is still on its way; d.mu held.
func (d *draft) _next() ([]byte, bool) {
	if d.writers > 0 || !d.dirty || d.committing {
		return nil, false
	}
	d.dirty, d.committing = false, true
	return append([]byte(nil), d.data...), true
}

// finished is told how the last snapshot went; it returns the next one
// when the file was written again meanwhile.
func (d *draft) finished(err error) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.committing = false
	if err != nil {
		d.refused = err
		d.dirty = true // a later close tries again; reads never do
		return nil, false
	}
	d.refused = nil
	return d._next()
}

// idle reports whether the draft is stored and nothing holds it open.
func (d *draft) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writers == 0 && !d.dirty && !d.committing
}

// busy reports whether bytes are still to be stored.
func (d *draft) busy() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writers > 0 || d.dirty || d.committing
}

// writing reports whether a handle that may write is open.
func (d *draft) writing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writers > 0
}

// free gives its memory back.
func (d *draft) free() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.freed {
		d.freed = true
		d.b.grow(-int64(len(d.data)))
	}
}
