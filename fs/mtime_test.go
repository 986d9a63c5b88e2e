package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/imapback"
)

// TestDirectoryMtimeFollowsChanges: a mailbox directory's mtime is the
// last change the mount saw in it, so tools that keep an index (notmuch
// new, mutt's new-mail check, find -newer) notice: new mail from another
// client, a flag change, an rm here; the root's when a mailbox is made.
func TestDirectoryMtimeFollowsChanges(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		inbox := filepath.Join(m.dir, "INBOX")
		mtime := func(path string) time.Time {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			return fi.ModTime()
		}
		newer := func(what, path string, than time.Time, poke func()) time.Time {
			t.Helper()
			var now time.Time
			eventually(t, 20*time.Second, what, func() error {
				poke()
				if now = mtime(path); !now.After(than) {
					return os.ErrDeadlineExceeded
				}
				return nil
			})
			return now
		}
		revalidate := func(mailbox string) func() {
			return func() {
				m.acct.Changed(mailbox, true) // as a watcher or NOTIFY says
				os.ReadDir(filepath.Join(m.dir, mailbox))
			}
		}
		os.ReadDir(inbox)
		t0 := mtime(inbox)
		appendRaw(t, p, "INBOX", newRaw("mtime-1@x", "mtime"))
		t1 := newer("new mail moves INBOX's mtime", inbox, t0, revalidate("INBOX"))

		msgs := p.messages("INBOX")
		p.setFlags("INBOX", msgs[0].UID, imap.FlagFlagged)
		t2 := newer("a flag change moves INBOX's mtime", inbox, t1, revalidate("INBOX"))

		if err := os.Remove(fileWith(t, inbox, "<mtime-1@x>")); err != nil {
			t.Fatal(err)
		}
		newer("rm here moves INBOX's mtime", inbox, t2, func() {})

		r0 := mtime(m.dir)
		if err := os.Mkdir(filepath.Join(m.dir, "Fresh"), 0o700); err != nil {
			t.Fatal(err)
		}
		newer("mkdir moves the root's mtime", m.dir, r0, func() {})
	})
}

// TestMailboxRenamedElsewhereGoesAtOnce: a mailbox another client renamed
// is gone under its old name as soon as the mount lists the tree again
// (the kernel is told), and the new name is there.
func TestMailboxRenamedElsewhereGoesAtOnce(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.TTL = time.Second })
		p := s.peek(t)
		if _, err := os.Stat(filepath.Join(m.dir, "Drafts")); err != nil {
			t.Fatal(err)
		}
		if err := p.c.Rename("Drafts", "Drafts2", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the old name goes and the new one comes", func() error {
			os.ReadDir(m.dir) // lists the tree once its TTL has passed
			if _, err := os.Stat(filepath.Join(m.dir, "Drafts")); !os.IsNotExist(err) {
				return fmt.Errorf("Drafts: %v", err)
			}
			if _, err := os.Stat(filepath.Join(m.dir, "Drafts2")); err != nil {
				return err
			}
			return nil
		})
	})
}
