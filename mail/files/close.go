package files

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mailfs/internal/private"
	"mailfs/mail"
)

// Pending names the files with a step on its way or waiting to be tried
// again.
func (m *Model) Pending() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for f := range m.all {
		if f.busy || f.waiting {
			out = append(out, f._label())
		}
	}
	sort.Strings(out)
	return out
}

// NotStored is a file that is not on the server as it is here, and why.
type NotStored struct {
	Label string
	// By is who refused: "mailfs" (not a message, a write that failed)
	// or "the server".
	By  string
	Why string
}

// NotStored lists the files refused or broken, by label.
func (m *Model) NotStored() []NotStored {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []NotStored
	for _, d := range m.dirs {
		for _, f := range d.files {
			switch {
			case f.broken != nil:
				out = append(out, NotStored{f._label(), "mailfs", "a write failed: " + mail.OneLine(f.broken.Error())})
			case f.refused != nil:
				by, why := mail.WhoRefused(f.refused)
				out = append(out, NotStored{f._label(), by, why})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// RetryNow tries at once every file waiting to be tried again: the
// server answers again (a file written offline is stored as soon as it
// can be, not at its next try, which may be 30 s away).
func (m *Model) RetryNow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	waiting := make([]*File, 0, len(m.waiters))
	for f := range m.waiters {
		waiting = append(waiting, f)
	}
	for _, f := range waiting {
		if m._endWait(f) {
			f.delay = 0
			m._kick(f)
		}
	}
}

// Settle waits until no step is on its way or waiting, or ctx ends
// (rmdir of a mailbox whose last file is still being removed).
func (m *Model) Settle(ctx context.Context) { m.awaitQuiet(ctx) }

// awaitQuiet waits until no step is on its way or waiting, or ctx ends;
// it reports whether the model is quiet. The quiet channel also closes
// for an instant between a file's steps (a retry's wait ends, then its
// next try starts, under one hold of m.mu): only a model found quiet
// under m.mu is.
func (m *Model) awaitQuiet(ctx context.Context) bool {
	for {
		select {
		case <-m.Quiet():
		case <-ctx.Done():
			return false
		}
		m.mu.Lock()
		quiet := m.steps == 0
		m.mu.Unlock()
		if quiet {
			return true
		}
	}
}

// Quiet returns a channel closed while no step is on its way or waiting.
func (m *Model) Quiet() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.quiet
}

// Close waits until every file is stored (or refused), until ctx ends.
// Then steps still on their way are given up, and every file whose bytes
// the server does not hold is written below Options.Unsaved, each named
// in the log; the error names them.
func (m *Model) Close(ctx context.Context) error {
	m.awaitQuiet(ctx)
	m.cancel()
	m.mu.Lock()
	for f := range m.waiters {
		m._endWait(f)
	}
	m.mu.Unlock()
	m.awaitQuiet(context.Background()) // what was on its way ends at once now
	m.mu.Lock()
	defer m.mu.Unlock()
	var lost, labels []string
	for _, d := range m.dirs {
		for _, f := range d.files {
			if f.handles > 0 {
				m.log.Warn("unmounted while this file was still open for writing", "file", f._label())
			}
			if !IsMessageName(f.name) && f.loaded {
				m.log.Info("a scratch file of this mount is gone with it (only *.eml files are stored)", "file", f._label())
			}
			if !IsMessageName(f.name) || !f.loaded || f.broken != nil || f.gen == f.storedGen {
				continue
			}
			if len(f.data) == 0 && len(f.versions) == 0 {
				continue
			}
			lost = append(lost, m._saveUnsaved(f))
			labels = append(labels, f._label())
		}
	}
	sort.Strings(lost)
	m.unsaved = labels
	if len(lost) > 0 {
		return fmt.Errorf("%d files not stored: %s", len(lost), strings.Join(lost, "; "))
	}
	return nil
}

// Unsaved names the files Close found not stored.
func (m *Model) Unsaved() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.unsaved...)
}

// _saveUnsaved writes a file the server does not hold below the unsaved
// directory and says where; m.mu held.
func (m *Model) _saveUnsaved(f *File) string {
	label := f._label()
	if m.o.Unsaved == "" {
		m.log.Error("this file was NOT stored, and is lost", "file", label)
		return label + " (lost)"
	}
	dir := filepath.Join(m.o.Unsaved, filepath.FromSlash(safePath(f.dir.mb.Name())))
	path := filepath.Join(dir, safePath(f.name))
	err := private.Dir(dir)
	if err == nil {
		for i := 1; ; i++ {
			var fh *os.File
			fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
			if errors.Is(err, os.ErrExist) {
				path = filepath.Join(dir, fmt.Sprintf("%s.%d", safePath(f.name), i))
				continue
			}
			if err == nil {
				_, err = fh.Write(f.data)
				if cerr := fh.Close(); err == nil {
					err = cerr
				}
			}
			break
		}
	}
	if err != nil {
		m.log.Error("this file was NOT stored and could not be saved to disk; it is lost", "file", label, "err", err)
		return label + " (lost: " + err.Error() + ")"
	}
	m.log.Error("this file was NOT stored; its bytes are saved on disk", "file", label, "saved", path)
	return label + " (saved as " + path + ")"
}

// safePath makes a mailbox name or file name a relative path of plain
// parts (no "..", no empty parts).
func safePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			parts[i] = "_" + p + "_"
		}
	}
	return strings.Join(parts, "/")
}
