package fs_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/testenv"
	"mailfs/mail"
)

// diskMount is a mount with a disk cache that a test unmounts itself.
type diskMount struct {
	t    *testing.T
	dir  string
	fs   *fs.Mounted
	acct *mail.Account
	c    *imapback.Client
	disk *cache.Disk
}

// mountWithDisk mounts the account at addr with a disk cache in
// cacheDir; the server may be unreachable (the client keeps trying).
func mountWithDisk(t *testing.T, s *server, addr, cacheDir string) *diskMount {
	return mountWithDiskBound(t, s, addr, cacheDir, 256<<20)
}

func mountWithDiskBound(t *testing.T, s *server, addr, cacheDir string, bound int64) *diskMount {
	t.Helper()
	disk, err := cache.OpenDisk(cacheDir, bound, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := imapback.ParseURL("imap+insecure://" + s.user + "@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := imapback.DialOrWait(context.Background(), imapback.Config{Endpoint: ep, Password: s.pass, Timeout: 5 * time.Second, Logger: testLogger(t)})
	if c == nil {
		t.Fatal("no client")
	}
	acct := mail.NewAccount(mail.Options{ID: s.user + "@" + s.addr, Backend: c, Bodies: cache.New(64 << 20),
		TTL: 30 * time.Second, Logger: testLogger(t), ReadAhead: 2, Disk: disk})
	dir := t.TempDir()
	m, err := fs.Mount(dir, fs.Options{Account: acct, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	dm := &diskMount{t: t, dir: dir, fs: m, acct: acct, c: c, disk: disk}
	t.Cleanup(dm.stop)
	return dm
}

func (m *diskMount) stop() {
	if m.fs == nil {
		return
	}
	testenv.Unmount(m.t, m.fs, m.dir)
	m.acct.Close()
	m.c.Close()
	m.disk.Close()
	m.fs = nil
}

// readTree reads every message file under dir: relative path -> bytes.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if int64(len(b)) != fi.Size() {
				t.Errorf("%s: read %d bytes, st_size %d", path, len(b), fi.Size())
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = b
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

// TestDiskCacheRemount: on both servers, mail read through one mount is
// read byte for byte by the next mount on the same cache with the server
// unreachable; with the server back, a new message shows beside the
// cached ones; passthrough is used where the kernel allows it; a new
// UIDVALIDITY purges the mailbox's entries; a second mount on the cache
// directory is refused.
func TestDiskCacheRemount(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		proxy := testenv.StartProxy(t, s.addr)
		cacheDir := filepath.Join(t.TempDir(), "cache")

		first := mountWithDisk(t, s, proxy.Addr, cacheDir)
		before := readTree(t, first.dir)
		if len(before) < 10 {
			t.Fatalf("only %d messages read: the test proves little", len(before))
		}
		if _, err := cache.OpenDisk(cacheDir, 1<<30, nil); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Errorf("a second mount on the cache directory: %v", err)
		}
		first.disk.Flush()
		first.stop()

		// The server goes away; the next mount reads everything from disk.
		proxy.Close()
		offline := mountWithDisk(t, s, proxy.Addr, cacheDir)
		after := readTree(t, offline.dir)
		for path, b := range before {
			if !bytes.Equal(after[path], b) {
				t.Errorf("%s: %d bytes offline, %d before", path, len(after[path]), len(b))
			}
		}
		if len(after) != len(before) {
			t.Errorf("%d files offline, %d before", len(after), len(before))
		}
		status := offline.fs.PassthroughStatus()
		t.Logf("passthrough: %s", status)
		if os.Geteuid() == 0 && strings.HasPrefix(status, "on") && !strings.Contains(status, "0 of them read through mailfs") {
			t.Errorf("passthrough on, but reads reached mailfs: %s", status)
		}
		offline.stop()

		// Back online: only what changed is fetched; a new message shows.
		p := s.peek(t)
		appendRaw(t, p, "INBOX", newRaw("after-remount@x", "arrived while unmounted"))
		proxy2 := testenv.StartProxy(t, s.addr)
		online := mountWithDisk(t, s, proxy2.Addr, cacheDir)
		if !hasFileWith(filepath.Join(online.dir, "INBOX"), "after-remount@x") {
			t.Error("the message appended while unmounted does not show")
		}
		st := online.c.Stats()
		if st.ListFetches != 0 {
			t.Errorf("%d full listings after a remount with the disk cache, want 0 (revalidation only)", st.ListFetches)
		}
		online.stop()

		// A new UIDVALIDITY (the mailbox recreated) drops its entries.
		if err := p.c.Create("Fresh", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		appendRaw(t, p, "Fresh", newRaw("fresh-1@x", "first life"))
		m := mountWithDisk(t, s, proxy2.Addr, cacheDir)
		readTree(t, filepath.Join(m.dir, "Fresh"))
		m.disk.Flush()
		m.stop()
		if err := p.c.Delete("Fresh").Wait(); err != nil {
			t.Fatal(err)
		}
		if err := p.c.Create("Fresh", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		appendRaw(t, p, "Fresh", newRaw("fresh-2@x", "second life"), imap.FlagSeen)
		m = mountWithDisk(t, s, proxy2.Addr, cacheDir)
		got := readTree(t, filepath.Join(m.dir, "Fresh"))
		if len(got) != 1 {
			t.Errorf("Fresh after its recreation: %d files", len(got))
		}
		for _, b := range got {
			if !bytes.Contains(b, []byte("fresh-2@x")) {
				t.Errorf("Fresh shows a message of its first life: %q", b)
			}
		}
		box := cache.BoxKey(s.user+"@"+s.addr, "Fresh")
		files, _ := filepath.Glob(filepath.Join(cacheDir, "bodies", box, "*"))
		if len(files) > 1 {
			t.Errorf("entries of the old UIDVALIDITY left: %v", files)
		}
	})
}

// dirBytes is the size of the body files under dir.
func dirBytes(dir string) (total int64, files int) {
	total, names := walkEntries(dir)
	return total, len(names)
}

// walkEntries sums the sizes of the entry files under dir (not the
// temporaries) and names them.
func walkEntries(dir string) (total int64, names map[string]bool) {
	names = map[string]bool{}
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasPrefix(fi.Name(), ".tmp") {
			total += fi.Size()
			names[path] = true
		}
		return nil
	})
	return total, names
}

// heldBytes is dirBytes at one moment while the cache is being written: a
// walk is not atomic (it can count a mailbox's files, then another's that
// arrived after the first ones were evicted), so it is taken again until
// a second walk finds the same files. Entry files never change once
// there, and an evicted one does not come back within a walk.
func heldBytes(dir string) int64 {
	for {
		total, names := walkEntries(dir)
		_, again := walkEntries(dir)
		if maps.Equal(names, again) {
			return total
		}
	}
}

// TestDiskCacheDamageAndBound: on both servers, an entry changed or cut
// short on disk between mounts is detected and the body fetched again
// (the file shows the server's bytes); a small disk cache stays within
// its bound while a whole mailbox is read at once.
func TestDiskCacheDamageAndBound(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		cacheDir := filepath.Join(t.TempDir(), "cache")
		m := mountWithDisk(t, s, s.addr, cacheDir)
		want := readTree(t, filepath.Join(m.dir, "INBOX"))
		m.disk.Flush()
		m.stop()
		box := cache.BoxKey(s.user+"@"+s.addr, "INBOX")
		files, _ := filepath.Glob(filepath.Join(cacheDir, "bodies", box, "*"))
		if len(files) < 2 {
			t.Fatalf("%d bodies on disk", len(files))
		}
		changed, _ := os.ReadFile(files[0])
		for i := range changed {
			changed[i] ^= 0x20
		}
		os.WriteFile(files[0], changed, 0o600)
		os.Truncate(files[1], 10)
		m = mountWithDisk(t, s, s.addr, cacheDir)
		got := readTree(t, filepath.Join(m.dir, "INBOX"))
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("%s: %d bytes after the damage, %d before", name, len(got[name]), len(b))
			}
		}
		if st := m.disk.Stats(); st.Rejected != 2 {
			t.Errorf("damaged entries found: %d, want 2", st.Rejected)
		}
		m.disk.Flush()
		m.stop()

		// A bound far below the mailbox: never exceeded, during or after.
		small := filepath.Join(t.TempDir(), "small")
		const bound = 8 << 10
		m = mountWithDiskBound(t, s, s.addr, small, bound)
		done := make(chan struct{})
		var over int64
		go func() {
			defer close(done)
			readTree(t, filepath.Join(m.dir, "INBOX"))
			readTree(t, filepath.Join(m.dir, "Work"))
		}()
		for watching := true; watching; {
			select {
			case <-done:
				watching = false
			default:
				if n := heldBytes(filepath.Join(small, "bodies")); n > bound {
					over = n
				}
			}
		}
		m.disk.Flush()
		n, files2 := dirBytes(filepath.Join(small, "bodies"))
		if over > 0 || n > bound || files2 == 0 {
			t.Errorf("bound %d: held %d at most during the burst, %d in %d files after", bound, over, n, files2)
		}
	})
}
