package fs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"mailfs/fs"
	"mailfs/imapback"
)

// TestMessageNodesForgotten: message nodes live outside go-fuse's tree,
// counted by the kernel's lookups. Each listed message has one node while
// the kernel holds it; when the kernel drops its inodes (drop_caches
// here, memory pressure in life) every node is forgotten, except the one
// of a message held open, and a message looked up again afterwards reads
// as before.
func TestMessageNodesForgotten(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Names = fs.NamesUID })
		p := s.peek(t)
		inbox := filepath.Join(m.dir, "INBOX")
		msgs := p.messages("INBOX")
		if len(msgs) < 2 {
			t.Fatalf("the sample has %d messages in INBOX", len(msgs))
		}
		path := func(uid uint32) string { return filepath.Join(inbox, fmt.Sprintf("%d.eml", uid)) }
		for _, msg := range msgs {
			if _, err := os.Stat(path(msg.UID)); err != nil {
				t.Fatal(err)
			}
		}
		if n := m.fs.MessageNodes(); n != len(msgs) {
			t.Fatalf("after stat of %d messages the kernel holds %d message nodes", len(msgs), n)
		}
		held, err := os.Open(path(msgs[0].UID))
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()

		eventually(t, 30*time.Second, "the kernel forgets the nodes of messages not open", func() error {
			if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
				t.Fatalf("this test needs root to drop the kernel's inodes: %v", err)
			}
			if n := m.fs.MessageNodes(); n != 1 {
				return fmt.Errorf("%d message nodes held", n)
			}
			return nil
		})
		for _, msg := range msgs {
			got, err := os.ReadFile(path(msg.UID))
			if err != nil || !bytes.Equal(got, msg.Body) {
				t.Fatalf("%d.eml looked up again: %d bytes, %v (want %d)", msg.UID, len(got), err, len(msg.Body))
			}
		}
		got := make([]byte, len(msgs[0].Body)+1)
		if n, err := held.ReadAt(got, 0); n != len(msgs[0].Body) || !bytes.Equal(got[:n], msgs[0].Body) {
			t.Fatalf("read of the message held open: %d bytes, %v", n, err)
		}
		if n := m.fs.MessageNodes(); n != len(msgs) {
			t.Fatalf("after reading %d messages again the kernel holds %d message nodes", len(msgs), n)
		}
	})
}

// TestNoHardLinks: link(2) is EPERM for a message, a scratch file and
// in .maildir (a scratch file's was ENOTSUP), and makes nothing.
func TestNoHardLinks(t *testing.T) {
	s := startMem(t)
	s.seedSample(t)
	m := s.mount(t, imapback.Config{}, nil)
	inbox := filepath.Join(m.dir, "INBOX")
	scratch := filepath.Join(inbox, "scratch.txt")
	if err := os.WriteFile(scratch, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(inbox)
	if err != nil {
		t.Fatal(err)
	}
	var message string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".eml" {
			message = filepath.Join(inbox, e.Name())
			break
		}
	}
	cur := filepath.Join(m.dir, ".maildir", "INBOX", "cur")
	mails, err := os.ReadDir(cur)
	if err != nil || len(mails) == 0 || message == "" {
		t.Fatalf("INBOX %q, cur %d entries, %v", message, len(mails), err)
	}
	for _, c := range []struct{ from, to string }{
		{message, filepath.Join(inbox, "linked.eml")},
		{scratch, filepath.Join(inbox, "linked.txt")},
		{filepath.Join(cur, mails[0].Name()), filepath.Join(m.dir, ".maildir", "INBOX", "tmp", "linked")},
	} {
		err := os.Link(c.from, c.to)
		if !errors.Is(err, syscall.EPERM) {
			t.Errorf("link %s: %v, want EPERM", c.from, err)
		}
		if _, err := os.Lstat(c.to); !os.IsNotExist(err) {
			t.Errorf("after a refused link, %s: %v", c.to, err)
		}
	}
}
