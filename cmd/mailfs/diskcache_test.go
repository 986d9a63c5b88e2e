package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/cache"
	"mailfs/internal/sample"
	"mailfs/internal/testenv"
)

// serverBodies reads every message of mailbox with a client of its own:
// UID -> bytes, and the UIDVALIDITY.
func serverBodies(t *testing.T, s *server, mailbox string) (uint32, map[uint32][]byte, bool) {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return 0, nil, false // \Noselect
	}
	out := map[uint32][]byte{}
	if sel.NumMessages == 0 {
		return sel.UIDValidity, out, true
	}
	all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		for _, b := range m.BodySection {
			out[uint32(m.UID)] = b.Bytes
		}
	}
	return sel.UIDValidity, out, true
}

// TestCLIDiskCache: mailfs mount --disk-cache keeps bodies under
// $XDG_CACHE_HOME/mailfs (0700 directories, 0600 files), says so in
// status, refuses a second mount on the same directory with one line,
// and a kill -9 while bodies are being written leaves no entry that
// would be served wrong.
func TestCLIDiskCache(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	xdg := t.TempDir()
	env := []string{"MAILFS_PASSWORD=" + s.pass, "XDG_CACHE_HOME=" + xdg}
	url := "imap+insecure://" + s.user + "@" + s.addr
	dir := t.TempDir()
	cmd, _ := startMount(t, dir, env, "mount", "--disk-cache", "64MiB", url, dir)
	st, err := exec.Command(mailfsBin, "status", dir).Output()
	if err != nil || !strings.Contains(string(st), "disk cache:     ") || !strings.Contains(string(st), filepath.Join(xdg, "mailfs")) || !strings.Contains(string(st), "passthrough:") {
		t.Errorf("status: %v\n%s", err, st)
	}
	// A second mount on the same cache directory: one line, exit 1.
	other := exec.Command(mailfsBin, "mount", "--disk-cache", "64MiB", url, t.TempDir())
	other.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	other.Stderr = &errb
	if err := other.Run(); err == nil || !strings.Contains(errb.String(), "in use by another mailfs mount") ||
		strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
		t.Errorf("second mount on the cache: %v, %q", err, errb.String())
	}
	// Read INBOX, wait until bodies are on disk, then read the rest and
	// kill -9 while those are being written.
	readAll := func(sub string) {
		filepath.Walk(filepath.Join(dir, sub), func(path string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				os.ReadFile(path)
			}
			return nil
		})
	}
	readAll("INBOX")
	cacheDir := filepath.Join(xdg, "mailfs")
	waitFor(t, 30*time.Second, "bodies written to the disk cache", func() error {
		files, _ := filepath.Glob(filepath.Join(cacheDir, "bodies", "*", "*-*-*-*"))
		if len(files) == 0 {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	for _, mb := range sample.Mailboxes() {
		readAll(mb)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	exec.Command(mailfsBin, "umount", "--lazy", dir).Run()

	filepath.WalkDir(cacheDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, _ := de.Info()
		want := fs.FileMode(0o600)
		if de.IsDir() {
			want = 0o700
		}
		if fi != nil && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	d, err := cache.OpenDisk(cacheDir, 64<<20, nil)
	if err != nil {
		t.Fatalf("the cache after kill -9: %v", err)
	}
	defer d.Close()
	served, total := 0, 0
	for _, mb := range append([]string{"INBOX"}, sample.Mailboxes()...) {
		validity, bodies, ok := serverBodies(t, s, mb)
		if !ok {
			continue
		}
		box := cache.BoxKey(s.user+"@"+s.addr, mb)
		for uid, want := range bodies {
			total++
			if got, ok := d.Get(box, validity, uid); ok {
				served++
				if !bytes.Equal(got, want) {
					t.Errorf("%s UID %d: the cache serves %d bytes that are not the message's %d", mb, uid, len(got), len(want))
				}
			}
		}
	}
	if served == 0 {
		t.Error("nothing reached the disk cache before the kill: the test proves little")
	}
	t.Logf("%d of %d bodies on disk after kill -9", served, total)
}
