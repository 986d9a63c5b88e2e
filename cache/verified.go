package cache

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"syscall"

	"mailfs/internal/private"
)

// A remount need not read and hash every kept body again before the
// kernel may read it: at Close the entries checked (or written) by this
// run are recorded with their file identity (inode, size, change time),
// and the next run takes an entry whose file still has that identity as
// checked. Any write to a file, or its replacement, changes its inode or
// change time (which no program can set), so an entry touched since is
// checked again before it is served; the directory is the user's alone
// (internal/private).
const verifiedFile = "verified"

// fileID is what identifies a file's unchanged contents.
type fileID struct {
	Ino   uint64
	Size  int64
	Ctime int64 // nanoseconds
}

func idOf(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{Ino: st.Ino, Size: st.Size, Ctime: st.Ctim.Nano()}, true
}

// loadVerified reads the record of the last run (path relative to the
// cache directory → identity); nothing when there is none.
func (d *Disk) loadVerified() map[string]fileID {
	data, err := private.ReadFile(filepath.Join(d.dir, verifiedFile))
	if err != nil {
		return nil
	}
	var m map[string]fileID
	if gob.NewDecoder(bytes.NewReader(data)).Decode(&m) != nil {
		return nil
	}
	return m
}

// saveVerified records the checked entries for the next run; d.mu held.
func (d *Disk) _saveVerified() {
	m := map[string]fileID{}
	for _, e := range d.lru.Values() {
		if !e.verified {
			continue
		}
		fi, err := os.Lstat(e.path)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.size {
			continue
		}
		if id, ok := idOf(fi); ok {
			if rel, err := filepath.Rel(d.dir, e.path); err == nil {
				m[rel] = id
			}
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		return
	}
	if err := writeFileAtomic(d.dir, filepath.Join(d.dir, verifiedFile), buf.Bytes()); err != nil {
		d.log.Debug("disk cache: could not record the checked entries", "err", err)
	}
}
