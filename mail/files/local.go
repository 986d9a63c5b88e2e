package files

import (
	"context"
	"sort"
	"strings"

	"mailfs/mail"
)

// Local directories: a directory whose name starts with a dot made inside
// a mailbox (git init's .git, a tool's .cache) lives in this mount only,
// like a scratch file: never a CREATE, and nothing in it is ever stored.
// Its files are files of the mailbox's Dir under names no file of the
// .eml view can have ("\x00local/PATH/NAME"), so they share the file
// model's one state machine (which stores nothing under such names).

const localPrefix = "\x00local/"

// IsLocalDirName reports whether a directory of this name made in a
// mailbox lives in this mount only.
func IsLocalDirName(name string) bool {
	return strings.HasPrefix(name, ".") && name != "." && name != ".."
}

func localKey(dir, name string) string {
	if dir == "" {
		return localPrefix + name
	}
	return localPrefix + dir + "/" + name
}

func (d *Dir) _localDirs() map[string]bool {
	if d.local == nil {
		d.local = map[string]bool{}
	}
	return d.local
}

// LocalMkdir makes directory name in local directory dir ("" for the
// mailbox itself) of mailbox mb.
func (m *Model) LocalMkdir(mb *mail.Mailbox, dir, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	path := joinLocal(dir, name)
	if d._localDirs()[path] || d.files[localKey(dir, name)] != nil {
		return mail.ErrExists
	}
	d.local[path] = true
	return nil
}

func joinLocal(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// LocalEntry is a name of a local directory: a subdirectory or a file.
type LocalEntry struct {
	Name string
	Dir  bool
	File *File
}

// LocalLookup finds name in local directory dir of mb.
func (m *Model) LocalLookup(mb *mail.Mailbox, dir, name string) (LocalEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	if d._localDirs()[joinLocal(dir, name)] {
		return LocalEntry{Name: name, Dir: true}, true
	}
	if f := d.files[localKey(dir, name)]; f != nil && dir != "" {
		return LocalEntry{Name: name, File: f}, true
	}
	return LocalEntry{}, false
}

// LocalList lists local directory dir of mb ("" lists only the local
// directories made in the mailbox itself).
func (m *Model) LocalList(mb *mail.Mailbox, dir string) []LocalEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	var out []LocalEntry
	prefix := joinLocal(dir, "")
	if dir == "" {
		prefix = ""
	}
	for path := range d._localDirs() {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			out = append(out, LocalEntry{Name: rest, Dir: true})
		}
	}
	if dir != "" {
		fp := localKey(dir, "")
		for key, f := range d.files {
			if rest, ok := strings.CutPrefix(key, fp); ok && !strings.Contains(rest, "/") {
				out = append(out, LocalEntry{Name: rest, File: f})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LocalCreate makes a file in local directory dir of mb.
func (m *Model) LocalCreate(mb *mail.Mailbox, dir, name string) (*Handle, error) {
	return m.Create(mb, localKey(dir, name))
}

// LocalUnlink removes a file of a local directory.
func (m *Model) LocalUnlink(ctx context.Context, mb *mail.Mailbox, dir, name string) error {
	return m.Unlink(ctx, mb, localKey(dir, name))
}

// LocalRmdir removes an empty local directory.
func (m *Model) LocalRmdir(mb *mail.Mailbox, dir, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m._dir(mb)
	path := joinLocal(dir, name)
	if !d._localDirs()[path] {
		return mail.ErrNotFound
	}
	for p := range d.local {
		if strings.HasPrefix(p, path+"/") {
			return mail.ErrNotEmpty
		}
	}
	for key := range d.files {
		if strings.HasPrefix(key, localKey(path, "")) {
			return mail.ErrNotEmpty
		}
	}
	delete(d.local, path)
	return nil
}

// LocalRename renames within the local directories of one mailbox (git
// writes a lock file and renames it into place): a file over a file, or
// a directory to a free name.
func (m *Model) LocalRename(ctx context.Context, mb *mail.Mailbox, dir, name, newDir, newName string) error {
	m.mu.Lock()
	d := m._dir(mb)
	from := joinLocal(dir, name)
	if d._localDirs()[from] {
		defer m.mu.Unlock()
		to := joinLocal(newDir, newName)
		if d.local[to] || d.files[localKey(newDir, newName)] != nil {
			return mail.ErrExists
		}
		moved := map[string]bool{}
		for p := range d.local {
			if p == from || strings.HasPrefix(p, from+"/") {
				moved[p] = true
			}
		}
		for p := range moved {
			delete(d.local, p)
			d.local[to+strings.TrimPrefix(p, from)] = true
		}
		for key, f := range d.files {
			if rest, ok := strings.CutPrefix(key, localKey(from, "")); ok {
				delete(d.files, key)
				nk := localKey(to, rest)
				d.files[nk], f.name = f, nk
			}
		}
		return nil
	}
	m.mu.Unlock()
	_, err := m.Rename(ctx, mb, localKey(dir, name), mb, localKey(newDir, newName), false)
	return err
}
