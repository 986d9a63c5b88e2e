package fs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailfs/imapback"
)

// TestMaildirWithPython: Python's mailbox.Maildir uses .maildir/INBOX as
// its own: it lists every message, reads one (not \Seen by reading), sets
// flags (a rename: UID STORE of the difference), adds one (tmp/, then a
// link that is refused with EPERM, then a rename: one APPEND) and removes
// it (as rm does). A second client checks the server after each.
func TestMaildirWithPython(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		inbox := p.messages("INBOX")
		victim := inbox[0]
		script := `
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], create=False)
keys = sorted(md.keys())
print("count", len(keys))
want = sys.argv[2]
key = [k for k in keys if md.get_message(k)["Message-ID"] == want][0]
msg = md.get_message(key)
print("read", msg["Message-ID"])
msg.set_flags("FS")
sub = msg.get_subdir()
import os
old = md._lookup(key)
os.rename(os.path.join(md._path, old), os.path.join(md._path, sub, key + ":2,FS"))
added = md.add(mailbox.MaildirMessage(b"From: a@example.com\r\nSubject: added\r\nMessage-ID: <added@py>\r\n\r\nhello\r\n"))
print("added", added in md.keys())
md.remove(added)
print("removed", added not in md.keys())
`
		cmd := exec.Command("python3", "-c", script, filepath.Join(m.dir, ".maildir", "INBOX"), messageIDOf(victim.Body))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		got := string(out)
		for _, want := range []string{"count " + itoa(len(inbox)), "read " + messageIDOf(victim.Body), "added True", "removed True"} {
			if !strings.Contains(got, want) {
				t.Errorf("python said %q, want %q in it", got, want)
			}
		}
		m.settled(t)
		v, ok := p.find("INBOX", messageIDOf(victim.Body))
		if !ok || !strings.Contains(v.Flags, `\flagged`) || !strings.Contains(v.Flags, `\seen`) {
			t.Errorf("flags on the server after the rename: %q (found %v)", v.Flags, ok)
		}
		if _, ok := p.find("INBOX", "<added@py>"); ok {
			t.Error("the message added and removed is still in INBOX")
		}
		if n := len(p.messages("INBOX")); n != len(inbox) {
			t.Errorf("INBOX holds %d, want %d", n, len(inbox))
		}
		if _, err := os.Stat(filepath.Join(m.dir, ".maildir", "INBOX", "tmp")); err != nil {
			t.Error(err)
		}
	})
}
