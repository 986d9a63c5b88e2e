package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/testenv"
)

// TestCLIChangesWithoutWatch: where the server has NOTIFY (Dovecot), new
// mail in a mailbox nobody watches shows within seconds though listings
// are kept for ten minutes, and a mailbox another client renames is gone
// under its old name at once; status says which way changes arrive.
// Without NOTIFY (the in-memory server) status says mailboxes are polled.
func TestCLIChangesWithoutWatch(t *testing.T) {
	testenv.RequireFUSE(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		dir := t.TempDir()
		cmd, stderr := startCLI(t, s, dir, "--poll-interval", "10m")
		defer func() {
			exec.Command(mailfsBin, "umount", dir).Run()
			waitExit(t, cmd, stderr)
		}()
		out, err := exec.Command(mailfsBin, "status", dir).Output()
		if err != nil {
			t.Fatalf("mailfs status: %v", err)
		}
		want := "changes:        no NOTIFY on the server; IDLE on INBOX, the others polled (--poll-interval 10m0s)"
		if s.kind == "dovecot" {
			want = "changes:        NOTIFY: every mailbox and the mailbox tree, on one connection"
		}
		if !strings.Contains(string(out), want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
		if s.kind != "dovecot" {
			return
		}
		work := filepath.Join(dir, "Work")
		before, err := os.ReadDir(work)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(work)
		if err != nil {
			t.Fatal(err)
		}
		other, err := imapclient.DialInsecure(s.addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.Login(s.user, s.pass).Wait(); err != nil {
			t.Fatal(err)
		}
		body := []byte("From: b@example.com\r\nSubject: pushed\r\nMessage-ID: <pushed@example.com>\r\n\r\nnew\r\n")
		app := other.Append("Work", int64(len(body)), nil)
		app.Write(body)
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "new mail in Work listed", func() error {
			now, err := os.ReadDir(work)
			if err != nil {
				return err
			}
			if len(now) != len(before)+1 {
				return fmt.Errorf("%d entries, want %d", len(now), len(before)+1)
			}
			st, err := os.Stat(work)
			if err != nil {
				return err
			}
			if !st.ModTime().After(fi.ModTime()) {
				return fmt.Errorf("mtime still %v", st.ModTime())
			}
			return nil
		})
		if err := other.Rename("Work", "Office", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the renamed mailbox under its new name only", func() error {
			if _, err := os.Stat(work); !os.IsNotExist(err) {
				return fmt.Errorf("old name: %v", err)
			}
			_, err := os.Stat(filepath.Join(dir, "Office"))
			return err
		})
	})
}
