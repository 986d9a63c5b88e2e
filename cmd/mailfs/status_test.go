package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/demoserver"
	"mailfs/internal/testenv"
)

// statusOf runs mailfs status on dir and returns its output.
func statusOf(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command(mailfsBin, "status", dir).Output()
	if err != nil {
		t.Fatalf("mailfs status: %v", err)
	}
	return string(out)
}

// lineWith is the line of text that starts with prefix ("" if none).
func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

// TestCLIStatusSaysWhoRefused: mailfs status says on one line each who
// refused a file: mailfs, with why, for one that is not a message (whose
// parse error quotes the file's CRLF line); the server, with its words,
// for one it answered NO. Neither the list nor the last error breaks a
// line or leaves a blank one.
func TestCLIStatusSaysWhoRefused(t *testing.T) {
	testenv.RequireFUSE(t)
	const words = "Message refused: it looks like spam"
	var refusing atomic.Bool
	srv, err := demoserver.Start(demoserver.Options{User: "alice", Password: "mem-pass-4711", Refuse: func(cmd, mailbox string, _ int64) *imap.Error {
		if refusing.Load() && cmd == "APPEND" && mailbox == "Drafts" {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: words}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s := &server{kind: "mem", addr: srv.Addr, user: "alice", pass: "mem-pass-4711"}
	s.seedSample(t)
	refusing.Store(true)
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the refused files are saved there at unmount
	dir := t.TempDir()
	cmd, stderr := startCLI(t, s, dir)
	oneLineEach := func(st string) {
		t.Helper()
		if strings.Contains(st, "\r") || strings.Contains(strings.TrimRight(st, "\n"), "\n\n") {
			t.Errorf("status breaks a line or leaves a blank one:\n%q", st)
		}
	}

	os.WriteFile(filepath.Join(dir, "INBOX", "junk.eml"), []byte("not a message\r\nat all\r\n"), 0o600)
	var st string
	waitFor(t, 20*time.Second, "status lists the file mailfs refused", func() error {
		if st = statusOf(t, dir); !strings.Contains(st, "INBOX/junk.eml") {
			return fmt.Errorf("status:\n%s", st)
		}
		return nil
	})
	oneLineEach(st)
	if l := lineWith(st, "INBOX/junk.eml:"); !strings.Contains(l, "INBOX/junk.eml: refused by mailfs: not an RFC 5322 message") {
		t.Errorf("the line of the file that is not a message: %q", l)
	}
	if l := lineWith(st, "last error:"); !strings.Contains(l, "refused by mailfs: not an RFC 5322 message") {
		t.Errorf("last error does not say mailfs refused: %q", l)
	}

	msg := "From: a@example.com\r\nSubject: kept\r\nMessage-ID: <kept@status>\r\n\r\nhello\r\n"
	os.WriteFile(filepath.Join(dir, "Drafts", "kept.eml"), []byte(msg), 0o600)
	waitFor(t, 20*time.Second, "status lists the file the server refused", func() error {
		if st = statusOf(t, dir); !strings.Contains(st, "Drafts/kept.eml") {
			return fmt.Errorf("status:\n%s", st)
		}
		return nil
	})
	oneLineEach(st)
	if l, want := lineWith(st, "Drafts/kept.eml:"), fmt.Sprintf("Drafts/kept.eml: refused by the server: %q", words); strings.TrimSpace(l) != want {
		t.Errorf("the line of the file the server refused:\n got %q\nwant %q", strings.TrimSpace(l), want)
	}
	if l := lineWith(st, "last error:"); !strings.Contains(l, fmt.Sprintf("refused by the server: %q", words)) {
		t.Errorf("last error does not quote the server: %q", l)
	}
	if l := lineWith(st, "INBOX/junk.eml:"); !strings.Contains(l, "refused by mailfs") {
		t.Errorf("the file mailfs refused, after the server refused another: %q", l)
	}
	exec.Command(mailfsBin, "umount", dir).Run()
	waitExit(t, cmd, stderr)
}

// TestCLIStatusDeadMount: after the mount's process is killed (kill -9),
// mailfs status gives the hint mailfs mount gives there (the dead mount,
// and the command that clears it) in one line and exit 5, not a bare
// "transport endpoint is not connected".
func TestCLIStatusDeadMount(t *testing.T) {
	testenv.RequireFUSE(t)
	s := startMem(t)
	dir := killedMount(t, s)
	_, mountMsg := runCLI(t, s.pass, "mount", "imap+insecure://"+s.user+"@"+s.addr, dir)
	code, msg := runCLI(t, "", "status", dir)
	if code != exitMountPoint {
		t.Errorf("status of a dead mount: exit %d, want %d: %s", code, exitMountPoint, msg)
	}
	for _, want := range []string{dir + " holds a dead mount", "umount " + dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("status of a dead mount does not say %q: %q", want, msg)
		}
	}
	if strings.Contains(msg, "not connected") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("status of a dead mount: want one line with the hint, got %q", msg)
	}
	if msg != mountMsg {
		t.Errorf("status and mount give different hints:\nstatus: %q\nmount:  %q", msg, mountMsg)
	}
}

// killedMount mounts s with the binary, reads INBOX, and kills the mount's
// process (kill -9): the directory returned holds a dead mount, cleared
// when the test ends.
func killedMount(t *testing.T, s *server) string {
	t.Helper()
	s.seedSample(t)
	dir := t.TempDir()
	cmd, _ := startCLI(t, s, dir)
	if _, err := os.ReadDir(filepath.Join(dir, "INBOX")); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Cleanup(func() {
		if exec.Command("umount", "-l", dir).Run() != nil {
			exec.Command("fusermount3", "-u", "-z", dir).Run()
		}
	})
	if _, err := os.Stat(dir); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("stat of the killed mount: %v, want ENOTCONN", err)
	}
	return dir
}
