package cache

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func openDisk(t *testing.T, dir string, max int64) *Disk {
	t.Helper()
	d, err := OpenDisk(dir, max, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func bodyOf(i int, n int) []byte {
	return bytes.Repeat([]byte{byte('a' + i%26)}, n)
}

// A body written by one run is served by the next byte for byte; the
// directory and files are private.
func TestDiskSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	box := BoxKey("alice@host", "INBOX")
	d.Put(box, 7, 42, []byte("the body"))
	d.Flush()
	d.Close()
	d = openDisk(t, dir, 1<<20)
	defer d.Close()
	got, ok := d.Get(box, 7, 42)
	if !ok || string(got) != "the body" {
		t.Fatalf("after reopen: %q %v", got, ok)
	}
	if _, ok := d.Get(box, 8, 42); ok {
		t.Error("served under another UIDVALIDITY")
	}
	filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		fi, _ := de.Info()
		want := fs.FileMode(0o600)
		if de.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
}

// An entry changed on disk between runs (same length) fails its checksum
// and is removed; a truncated one and a temporary are removed at start.
func TestDiskRejectsDamage(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	box := BoxKey("a", "INBOX")
	d.Put(box, 1, 1, []byte("first body"))
	d.Put(box, 1, 2, []byte("second body"))
	d.Flush()
	d.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "bodies", box, "1-*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "1-1-") {
			os.WriteFile(f, []byte("FIRST BODY"), 0o600) // same length, other bytes
		} else {
			os.WriteFile(f, []byte("second"), 0o600) // cut short
		}
	}
	tmp := filepath.Join(dir, "bodies", box, ".tmp-123")
	os.WriteFile(tmp, []byte("half a body"), 0o600)
	d = openDisk(t, dir, 1<<20)
	defer d.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("a temporary survived the start")
	}
	if got, ok := d.Get(box, 1, 1); ok {
		t.Errorf("a changed entry was served: %q", got)
	}
	if got, ok := d.Get(box, 1, 2); ok {
		t.Errorf("a truncated entry was served: %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "bodies", box, "1-*")); len(left) != 0 {
		t.Errorf("damaged entries left on disk: %v", left)
	}
	if st := d.Stats(); st.Rejected != 2 {
		t.Errorf("rejected %d, want 2", st.Rejected)
	}
}

// A second mount on the same directory is refused with ErrLocked.
func TestDiskLock(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	if _, err := OpenDisk(dir, 1<<20, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	d.Close()
	d2 := openDisk(t, dir, 1<<20)
	d2.Close()
}

// The byte bound holds at every moment of a burst, least recently used
// out first.
func TestDiskBoundUnderBurst(t *testing.T) {
	dir := t.TempDir()
	const max, size = 64 << 10, 4 << 10
	d := openDisk(t, dir, max)
	defer d.Close()
	box := BoxKey("a", "INBOX")
	var stop atomic.Bool
	var over atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // watch the directory while the burst is written
		defer wg.Done()
		for !stop.Load() {
			var total int64
			filepath.WalkDir(filepath.Join(dir, "bodies"), func(path string, de fs.DirEntry, err error) error {
				if err == nil && !de.IsDir() && !strings.HasPrefix(de.Name(), ".tmp") {
					if fi, err := de.Info(); err == nil {
						total += fi.Size()
					}
				}
				return nil
			})
			if total > max {
				over.Store(total)
			}
		}
	}()
	for i := range 200 {
		d.Put(box, 1, uint32(i+1), bodyOf(i, size))
		if i%16 == 0 {
			d.Flush() // the queue bounds what waits; let it drain
		}
	}
	d.Flush()
	stop.Store(true)
	wg.Wait()
	if n := over.Load(); n > 0 {
		t.Errorf("the cache held %d bytes, bound %d", n, max)
	}
	if st := d.Stats(); st.Bytes > max || st.Entries != max/size {
		t.Errorf("stats %+v", st)
	}
	if _, ok := d.Get(box, 1, 1); ok {
		t.Error("the oldest entry is still there")
	}
	if got, ok := d.Get(box, 1, 200); !ok || !bytes.Equal(got, bodyOf(199, size)) {
		t.Error("the newest entry is not there")
	}
}

// A new UIDVALIDITY drops the mailbox's older entries, not others'.
func TestDiskValidityPurges(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	defer d.Close()
	inbox, work := BoxKey("a", "INBOX"), BoxKey("a", "Work")
	d.Put(inbox, 1, 1, []byte("old"))
	d.Put(inbox, 2, 1, []byte("new"))
	d.Put(work, 1, 1, []byte("other"))
	d.Flush()
	d.Validity(inbox, 2)
	if _, ok := d.Get(inbox, 1, 1); ok {
		t.Error("an entry of the old UIDVALIDITY survived")
	}
	if _, ok := d.Get(inbox, 2, 1); !ok {
		t.Error("the current entry went")
	}
	if _, ok := d.Get(work, 1, 1); !ok {
		t.Error("another mailbox's entry went")
	}
}

// An entry replaced by a symlink (to a file of the same bytes and name
// checksum, which another user could make if the directory were theirs
// to write) is removed at start, never served; nor is a listing that is
// a symlink.
func TestDiskSymlinkEntriesNotServed(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	box := BoxKey("alice@host", "INBOX")
	d.Put(box, 7, 42, []byte("the body"))
	d.Flush()
	if err := d.SaveListing(box, []byte("listing")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	var entry string
	filepath.WalkDir(filepath.Join(dir, "bodies"), func(path string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			entry = path
		}
		return nil
	})
	elsewhere := filepath.Join(t.TempDir(), "same")
	if err := os.WriteFile(elsewhere, []byte("the body"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(entry)
	if err := os.Symlink(elsewhere, entry); err != nil {
		t.Fatal(err)
	}
	listing := filepath.Join(dir, "listings", box)
	os.Remove(listing)
	if err := os.Symlink(elsewhere, listing); err != nil {
		t.Fatal(err)
	}
	d = openDisk(t, dir, 1<<20)
	defer d.Close()
	if got, ok := d.Get(box, 7, 42); ok {
		t.Fatalf("a symlinked entry was served: %q", got)
	}
	if _, err := os.Lstat(entry); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlinked entry is still there: %v", err)
	}
	if got, ok := d.LoadListing(box); ok {
		t.Fatalf("a symlinked listing was read: %q", got)
	}
}

// A remount after a clean close takes the entries checked before as
// checked (no read and hash); an entry whose file was written since (same
// length, other bytes) is hashed again and refused.
func TestDiskRemountTrustsCheckedEntries(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	box := BoxKey("alice@host", "INBOX")
	d.Put(box, 7, 1, []byte("first body"))
	d.Put(box, 7, 2, []byte("second body"))
	d.Flush()
	d.Close()
	d = openDisk(t, dir, 1<<20)
	if _, ok := d.Verify(box, 7, 1); !ok {
		t.Fatal("entry 1 not served")
	}
	if _, ok := d.Verify(box, 7, 2); !ok {
		t.Fatal("entry 2 not served")
	}
	if h := d.Stats().Hashed; h != 0 {
		t.Errorf("a remount after a clean close hashed %d entries", h)
	}
	d.Close()
	// Another program writes into entry 2's file, keeping its length.
	var second string
	filepath.WalkDir(filepath.Join(dir, "bodies"), func(path string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if b, _ := os.ReadFile(path); string(b) == "second body" {
				second = path
			}
		}
		return nil
	})
	if err := os.WriteFile(second, []byte("SECOND BODY"), 0o600); err != nil {
		t.Fatal(err)
	}
	d = openDisk(t, dir, 1<<20)
	defer d.Close()
	if got, ok := d.Get(box, 7, 2); ok {
		t.Fatalf("an entry changed since the last run was served: %q", got)
	}
	if got, ok := d.Get(box, 7, 1); !ok || string(got) != "first body" {
		t.Fatalf("entry 1: %q %v", got, ok)
	}
	if h := d.Stats().Hashed; h != 1 {
		t.Errorf("hashed %d entries, want the changed one only", h)
	}
}
