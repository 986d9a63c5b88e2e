package fs_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sys/unix"

	"mailfs/fs"
	"mailfs/imapback"
)

// TestNodeOfAMessageThatWent: a message's node keeps no state of its own
// until it is opened (ls -l of a big mailbox makes one per message), and
// still answers as it did when it kept the last listing's: a descriptor
// open on a message that went answers fstat with its size; a listed
// message that went is ENOENT to stat; a message looked up alone in a
// mailbox never listed is still there after the mailbox changed (the
// model forgets such lookups then).
func TestNodeOfAMessageThatWent(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) {
			o.TTL = time.Millisecond // every stat asks mailfs
			o.Names = fs.NamesUID
		})
		p := s.peek(t)

		work := p.messages("Work")[0]
		workPath := filepath.Join(m.dir, "Work", fmt.Sprintf("%d.eml", work.UID))
		for _, when := range []string{"looked up alone", "after the mailbox changed"} {
			st, err := os.Stat(workPath)
			if err != nil || st.Size() != int64(len(work.Body)) {
				t.Fatalf("stat of a message of an unlisted mailbox, %s: %v, %v (want %d bytes)", when, st, err, len(work.Body))
			}
			m.acct.Changed("Work", false)
		}

		inbox := filepath.Join(m.dir, "INBOX")
		names(t, inbox)
		msgs := p.messages("INBOX")
		opened, listed := msgs[0], msgs[1]
		openedPath := filepath.Join(inbox, fmt.Sprintf("%d.eml", opened.UID))
		listedPath := filepath.Join(inbox, fmt.Sprintf("%d.eml", listed.UID))
		f, err := os.Open(openedPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.ReadAll(f); err != nil {
			t.Fatal(err)
		}

		expungeElsewhere(t, p, "INBOX", opened.UID, listed.UID)
		m.acct.Changed("INBOX", false)

		eventually(t, 10*time.Second, "the expunge seen", func() error {
			if names(t, inbox)[filepath.Base(listedPath)] {
				return fmt.Errorf("still listed")
			}
			if _, err := os.Stat(listedPath); !os.IsNotExist(err) {
				return fmt.Errorf("stat of the listed message that went: %v, want ENOENT", err)
			}
			return nil
		})
		st, err := f.Stat()
		if err != nil || st.Size() != int64(len(opened.Body)) {
			t.Fatalf("fstat of a descriptor open on a message that went: %v, %v (want %d bytes)", st, err, len(opened.Body))
		}
	})
}

// TestViewsOfAMessageThatWent (found by a breaking session: .text and
// .parts of a message expunged elsewhere went on serving its cached text
// until the kernel forgot their names): once the mount knows a message
// went, its .txt and its parts are ENOENT too, though the kernel still
// has their names.
func TestViewsOfAMessageThatWent(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) {
			o.TTL = time.Hour // the kernel keeps every name
			o.Names = fs.NamesUID
		})
		p := s.peek(t)
		inbox := filepath.Join(m.dir, "INBOX")
		names(t, inbox)
		victim := p.messages("INBOX")[0]
		name := fmt.Sprintf("%d", victim.UID)
		text := filepath.Join(m.dir, ".text", "INBOX", name+".txt")
		parts := filepath.Join(m.dir, ".parts", "INBOX", name)
		if _, err := os.ReadFile(text); err != nil {
			t.Fatal(err)
		}
		ps, err := os.ReadDir(parts)
		if err != nil || len(ps) == 0 {
			t.Fatalf("parts %v, %v", ps, err)
		}
		part := filepath.Join(parts, ps[0].Name())

		expungeElsewhere(t, p, "INBOX", victim.UID)
		m.acct.Changed("INBOX", false)
		eventually(t, 10*time.Second, "the expunge seen", func() error {
			if names(t, inbox)[name+".eml"] {
				return fmt.Errorf("still listed")
			}
			return nil
		})
		for _, path := range []string{text, part} {
			if _, err := os.ReadFile(path); !os.IsNotExist(err) {
				t.Errorf("read %s of a message that went: %v, want ENOENT", path, err)
			}
		}
		if _, err := os.ReadDir(parts); !os.IsNotExist(err) {
			t.Errorf("readdir %s of a message that went: %v, want ENOENT", parts, err)
		}
	})
}

// expungeElsewhere expunges messages of mailbox as another client would.
func expungeElsewhere(t *testing.T, p *peek, mailbox string, uids ...uint32) {
	t.Helper()
	if _, err := p.c.Select(mailbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	for _, uid := range uids {
		set.AddNum(imap.UID(uid))
	}
	if err := p.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.c.UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestFlagsThroughADescriptorAfterRm (found by a breaking session: the
// flags were set on the UID the message had left, which the server
// ignores, and the call said it worked): a descriptor open on a message
// that rm moved to Trash sets its flags on the copy in Trash; after an
// expunging rm it is ENOENT.
func TestFlagsThroughADescriptorAfterRm(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		for _, expunge := range []bool{false, true} {
			s.seedSample(t)
			m := s.mount(t, imapback.Config{}, func(o *options) {
				o.Names = fs.NamesUID
				if expunge {
					expunging(o)
				}
			})
			p := s.peek(t)
			victim := p.messages("Work")[0]
			path := filepath.Join(m.dir, "Work", fmt.Sprintf("%d.eml", victim.UID))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			err = unix.Fsetxattr(int(f.Fd()), "user.mail.flags", []byte(`\Flagged`), 0)
			f.Close()
			if expunge {
				if err != unix.ENOENT {
					t.Fatalf("flags through a descriptor on an expunged message: %v, want ENOENT", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("flags through a descriptor on a message in Trash: %v", err)
			}
			found := false
			for _, msg := range p.messages("Trash") {
				if bytes.Equal(msg.Body, victim.Body) {
					found = true
					if !strings.Contains(msg.Flags, `\flagged`) {
						t.Fatalf("the copy in Trash has flags %q, want \\Flagged", msg.Flags)
					}
				}
			}
			if !found {
				t.Fatal("the message is not in Trash")
			}
		}
	})
}

// TestFlagsReadBackWhileWritten (found by a breaking session): while a
// message is open for writing, flags set on it are kept for the new
// version, and getxattr now reads them back (it showed the old ones).
func TestFlagsReadBackWhileWritten(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Names = fs.NamesUID })
		p := s.peek(t)
		victim := p.messages("Work")[0]
		path := filepath.Join(m.dir, "Work", fmt.Sprintf("%d.eml", victim.UID))
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close() // before the unmount, also when the test fails
		if _, err := w.Write([]byte("X-More: 1\r\n")); err != nil {
			t.Fatal(err)
		}
		for _, set := range []string{`\Answered \Seen`, `\Seen`} {
			if err := unix.Setxattr(path, "user.mail.flags", []byte(set), 0); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			n, err := unix.Getxattr(path, "user.mail.flags", buf)
			if err != nil || string(buf[:n]) != set {
				t.Fatalf("flags read back while written: %q, %v; want %q", buf[:n], err, set)
			}
		}
	})
}
