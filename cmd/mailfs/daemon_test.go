package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"mailfs/internal/testenv"
)

// TestCLIDaemonLogPerMount: two --daemon mounts log each to a file of its
// own, named from its mount point (/ as -, - as %2D) under
// $XDG_STATE_HOME/mailfs/log/, private (0600, ours), which mailfs status
// prints; each log holds its own mount's lines and none of the other's.
func TestCLIDaemonLogPerMount(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	s.seedSample(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "mail-one"), filepath.Join(base, "two")}
	logs := map[string]string{}
	for _, dir := range dirs {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { exec.Command(mailfsBin, "umount", "--lazy", dir).Run() })
		if code, stderr := runCLI(t, s.pass, "mount", "--daemon", "imap+insecure://"+s.user+"@"+s.addr, dir); code != 0 {
			t.Fatalf("mount --daemon %s: exit %d: %s", dir, code, stderr)
		}
		name := strings.NewReplacer("-", "%2D", "/", "-").Replace(strings.TrimPrefix(dir, "/")) + ".log"
		logs[dir] = filepath.Join(state, "mailfs", "log", name)
	}
	for _, dir := range dirs {
		if l := lineWith(statusOf(t, dir), "log:"); strings.TrimSpace(strings.TrimPrefix(l, "log:")) != logs[dir] {
			t.Errorf("status of %s: %q, want the log %s", dir, l, logs[dir])
		}
		st, err := os.Lstat(logs[dir])
		if err != nil {
			t.Fatalf("the log of %s: %v", dir, err)
		}
		if st.Mode() != 0o600 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() {
			t.Errorf("the log of %s: mode %v, uid %d; want -rw------- and ours", dir, st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
		}
		if _, err := os.ReadFile(firstMessage(t, dir)); err != nil {
			t.Fatalf("reading through %s: %v", dir, err)
		}
		if code, msg := runCLI(t, "", "umount", dir); code != 0 {
			t.Fatalf("umount %s: %d %s", dir, code, msg)
		}
	}
	for i, dir := range dirs {
		other := dirs[1-i]
		waitFor(t, 20*time.Second, "a clean end in the log of "+dir, func() error {
			b, _ := os.ReadFile(logs[dir])
			if !strings.Contains(string(b), "logging out") {
				return fmt.Errorf("%s: %q", logs[dir], b)
			}
			return nil
		})
		b, _ := os.ReadFile(logs[dir])
		if !strings.Contains(string(b), "mounted") || !strings.Contains(string(b), "mountpoint="+dir) {
			t.Errorf("the log of %s does not say what it is the log of:\n%s", dir, b)
		}
		if strings.Contains(string(b), other) {
			t.Errorf("the log of %s has lines of %s:\n%s", dir, other, b)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "mailfs", "mailfs.log")); !os.IsNotExist(err) {
		t.Errorf("a shared log was written too: %v", err)
	}
}

// TestLogName: a mount point's log name reads back as its path, differs
// for every path, and fits a file name.
func TestLogName(t *testing.T) {
	for dir, want := range map[string]string{
		"/":                  "-.log",
		"/home/alice/Mail":   "home-alice-Mail.log",
		"/srv/my-mail":       "srv-my%2Dmail.log",
		"/srv/my/mail":       "srv-my-mail.log",
		"/srv/100%/a\tb":     "srv-100%25-a%09b.log",
		"/home/zoë/Courrier": "home-zoë-Courrier.log",
	} {
		if got := logName(dir); got != want {
			t.Errorf("logName(%q) = %q, want %q", dir, got, want)
		}
	}
	long := "/" + strings.Repeat("é", 150)
	a, b := logName(long+"/a"), logName(long+"/b")
	if a == b || len(a) > 255 || len(b) > 255 || !utf8.ValidString(a) {
		t.Errorf("long paths: %q and %q", a, b)
	}
}
