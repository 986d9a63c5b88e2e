package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/internal/testenv"
)

// TestCLIUnmountWithFilesNotStored: a file the server never got (here:
// not a message) makes `mailfs umount` and the mount process exit 1,
// naming it; the mount writes its bytes below
// $XDG_STATE_HOME/mailfs/unsaved/ (0600) and logs where.
func TestCLIUnmountWithFilesNotStored(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		state := t.TempDir()
		dir := t.TempDir()
		args := append([]string{"mount"}, "imap+insecure://"+s.user+"@"+s.addr, dir)
		cmd, stderr := startMount(t, dir, []string{"MAILFS_PASSWORD=" + s.pass, "XDG_STATE_HOME=" + state}, args...)
		bad := []byte("this is not a mail message\n")
		path := filepath.Join(dir, "Drafts", "bad.eml")
		// The shell's close error is not checked: the write happened.
		exec.Command("sh", "-c", `printf 'this is not a mail message\n' > "$0"`, path).Run()
		um := exec.Command(mailfsBin, "umount", dir)
		um.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
		out, err := um.CombinedOutput()
		if code := um.ProcessState.ExitCode(); err == nil || code != 1 || !strings.Contains(string(out), "Drafts/bad.eml") {
			t.Errorf("mailfs umount: exit %d, %q; want 1 naming Drafts/bad.eml", code, out)
		}
		if code := waitExit(t, cmd, stderr); code != 1 {
			t.Errorf("the mount exited %d, want 1; stderr: %s", code, stderr)
		}
		saved := filepath.Join(state, "mailfs", "unsaved", s.user+"@127.0.0.1", "Drafts", "bad.eml")
		b, err := os.ReadFile(saved)
		if err != nil || string(b) != string(bad) {
			t.Fatalf("saved file: %q %v; log: %s", b, err, stderr)
		}
		if fi, _ := os.Stat(saved); fi.Mode().Perm() != 0o600 {
			t.Errorf("saved with mode %v", fi.Mode().Perm())
		}
		if !strings.Contains(stderr.String(), saved) {
			t.Errorf("no log line names %s: %s", saved, stderr)
		}
	})
}

// TestCLIWatchUnknownMailbox: --watch naming a mailbox the account does
// not have is a clear error before mounting (exit 2), not a watcher
// reconnecting in a loop.
func TestCLIWatchUnknownMailbox(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	dir := t.TempDir()
	code, stderr := runCLI(t, s.pass, "mount", "--watch", "No/Such", "imap+insecure://"+s.user+"@"+s.addr, dir)
	if code != exitUsage || !strings.Contains(stderr, `"No/Such"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if testenv.IsMounted(dir) {
		t.Fatal("mounted anyway")
	}
}

// TestCLIUnmountWaitsForFilesOnTheirWay: `mailfs umount` of a mount
// with a file still on its way (the link frozen) waits for the mount to
// store it and exit, then says it went well (exit 0): the message is on
// the server once, and the cache directory is free for a remount at
// once. It used to report the file as not on the server (exit 1) while
// the mount went on to store it, and a remount found the cache in use.
func TestCLIUnmountWaitsForFilesOnTheirWay(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		proxy := testenv.StartProxy(t, s.addr)
		state, cacheDir, dir := t.TempDir(), filepath.Join(t.TempDir(), "cache"), t.TempDir()
		env := []string{"MAILFS_PASSWORD=" + s.pass, "XDG_STATE_HOME=" + state}
		args := []string{"mount", "--disk-cache", "64MiB", "--cache-dir", cacheDir, "imap+insecure://" + s.user + "@" + proxy.Addr, dir}
		cmd, stderr := startMount(t, dir, env, args...)
		if _, err := os.ReadDir(filepath.Join(dir, "Drafts")); err != nil {
			t.Fatal(err)
		}
		proxy.Freeze()
		body := "From: a@example.com\r\nSubject: on its way\r\nMessage-ID: <on-its-way@x>\r\n\r\nbody\r\n"
		if err := os.WriteFile(filepath.Join(dir, "Drafts", "way.eml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		um := exec.Command(mailfsBin, "umount", dir)
		um.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
		umErr, err := um.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := um.Start(); err != nil {
			t.Fatal(err)
		}
		said := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(umErr)
			said <- string(b)
		}()
		// umount says it waits once the kernel's mount is gone; then
		// the link comes back.
		waitFor(t, 30*time.Second, "the mount point unmounted", func() error {
			if testenv.IsMounted(dir) {
				return errors.New("still mounted")
			}
			return nil
		})
		proxy.Thaw()
		out := <-said
		um.Wait()
		if code := um.ProcessState.ExitCode(); code != 0 {
			t.Errorf("mailfs umount: exit %d, %q; want 0 (the file was stored)", code, out)
		}
		if code := waitExit(t, cmd, stderr); code != 0 {
			t.Errorf("the mount exited %d; stderr: %s", code, stderr)
		}
		// The cache directory is free: the same mount again works.
		cmd2, stderr2 := startMount(t, dir, env, args...)
		if n := countWithID(t, filepath.Join(dir, "Drafts"), "on-its-way@x"); n != 1 {
			t.Errorf("%d copies of the file on the server, want 1", n)
		}
		exec.Command(mailfsBin, "umount", dir).Run()
		waitExit(t, cmd2, stderr2)
	})
}

// countWithID counts the files of dir holding Message-ID id.
func countWithID(t *testing.T, dir, id string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && strings.Contains(string(b), "<"+id+">") {
			n++
		}
	}
	return n
}
