package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
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
