package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
