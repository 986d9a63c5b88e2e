package fs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
# Replacing a message keeps its key (a new message renamed over it).
repl = md.get_message(added)
repl.set_flags("S")
md[added] = repl
print("replaced", md.get_message(added)["Subject"] == "added", len(md.keys()))
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
		for _, want := range []string{"count " + itoa(len(inbox)), "read " + messageIDOf(victim.Body), "added True",
			"replaced True " + itoa(len(inbox)+1), "removed True"} {
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

// run runs a program (never from inside the mount: see
// TestWriteSequencesAtLatency) with env added, and returns its output.
func run(t *testing.T, env []string, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// TestMaildirWithClients: mblaze, notmuch and mu use .maildir as their
// own, and the server (seen by a second client) gets what they did.
func TestMaildirWithClients(t *testing.T) {
	testenvRequireClients(t)
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		m.watch(t, "INBOX")
		p := s.peek(t)
		md := filepath.Join(m.dir, ".maildir")
		home := []string{"HOME=" + t.TempDir()}
		inbox := p.messages("INBOX")

		// mblaze: take new mail in (new/ to cur/), list, scan headers,
		// flag, refile, deliver.
		run(t, home, "", "minc", filepath.Join(md, "INBOX"))
		if left, _ := os.ReadDir(filepath.Join(md, "INBOX", "new")); len(left) != 0 {
			t.Errorf("minc left %d messages in new/", len(left))
		}
		files := strings.Fields(run(t, home, "", "mlist", filepath.Join(md, "INBOX")))
		if len(files) != len(inbox) {
			t.Fatalf("mlist lists %d, INBOX holds %d", len(files), len(inbox))
		}
		if scan := run(t, home, "", "mscan", files...); strings.Count(scan, "\n") < len(inbox) {
			t.Errorf("mscan:\n%s", scan)
		}
		letters := func(f string) string {
			if i := strings.LastIndex(f, ":2,"); i >= 0 {
				return f[i+3:]
			}
			return ""
		}
		var unseen, flaggable string
		for _, f := range files {
			if unseen == "" && !strings.Contains(letters(f), "S") {
				unseen = f
			} else if flaggable == "" && !strings.Contains(letters(f), "F") {
				flaggable = f
			}
		}
		if unseen == "" || flaggable == "" || unseen == flaggable {
			t.Fatalf("setup: no unseen and unflagged messages in %v", files)
		}
		idOf := func(path string) string {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return messageIDOf(b)
		}
		seenID, flagID := idOf(unseen), idOf(flaggable)
		if v, _ := p.find("INBOX", seenID); strings.Contains(v.Flags, `\seen`) {
			t.Fatal("reading through .maildir set \\Seen")
		}
		run(t, home, "", "mflag", "-S", unseen)
		run(t, home, "", "mflag", "-F", flaggable)
		if v, _ := p.find("INBOX", seenID); !strings.Contains(v.Flags, `\seen`) {
			t.Errorf("mflag -S of %s: server flags %q; now %s", unseen, v.Flags, run(t, home, "", "mlist", filepath.Join(md, "INBOX")))
		}
		if v, _ := p.find("INBOX", flagID); !strings.Contains(v.Flags, `\flagged`) {
			t.Errorf("mflag -F: server flags %q", v.Flags)
		}
		refiled := strings.Fields(run(t, home, "", "mlist", filepath.Join(md, "INBOX")))[0]
		refiledID := idOf(refiled)
		run(t, home, "", "mrefile", refiled, filepath.Join(md, "Work"))
		m.settled(t)
		if _, ok := p.find("Work", refiledID); !ok {
			t.Error("mrefile: not in Work on the server")
		}
		if _, ok := p.find("INBOX", refiledID); ok {
			t.Error("mrefile: still in INBOX on the server")
		}
		run(t, home, "From: a@example.com\nSubject: delivered\nMessage-ID: <deliv@mblaze>\n\nhello\n", "mdeliver", filepath.Join(md, "Drafts"))
		m.settled(t)
		if _, ok := p.find("Drafts", "<deliv@mblaze>"); !ok {
			t.Error("mdeliver: not in Drafts on the server")
		}

		// notmuch with flag synchronisation: indexes the view, a tag
		// change is a flag on the server, new mail is picked up by a
		// plain `notmuch new`.
		nm := t.TempDir()
		config := filepath.Join(nm, "config")
		os.WriteFile(config, []byte("[database]\npath="+filepath.Join(nm, "db")+"\nmail_root="+md+
			"\n[maildir]\nsynchronize_flags=true\n[new]\ntags=unread;inbox;\n"), 0o600)
		os.MkdirAll(filepath.Join(nm, "db"), 0o700)
		nmEnv := append(home, "NOTMUCH_CONFIG="+config)
		run(t, nmEnv, "", "notmuch", "new")
		if n := strings.TrimSpace(run(t, nmEnv, "", "notmuch", "count", "*")); n == "0" {
			t.Fatal("notmuch indexed nothing")
		}
		target := inbox[len(inbox)-1]
		tid := strings.Trim(messageIDOf(target.Body), "<>")
		run(t, nmEnv, "", "notmuch", "tag", "+flagged", "--", "id:"+tid)
		eventually(t, 20*time.Second, "notmuch's +flagged reaches the server", func() error {
			if v, _ := p.find("INBOX", messageIDOf(target.Body)); !strings.Contains(v.Flags, `\flagged`) {
				return fmt.Errorf("server flags %q", v.Flags)
			}
			return nil
		})
		appendRaw(t, p, "INBOX", newRaw("arrived@nm", "arrived"))
		eventually(t, 20*time.Second, "a plain notmuch new finds new mail", func() error {
			run(t, nmEnv, "", "notmuch", "new")
			if n := strings.TrimSpace(run(t, nmEnv, "", "notmuch", "count", "id:arrived@nm")); n != "1" {
				return fmt.Errorf("notmuch count id:arrived@nm = %s", n)
			}
			return nil
		})

		// mu: index and find over the view.
		mu := t.TempDir()
		run(t, home, "", "mu", "init", "--muhome="+mu, "--maildir="+filepath.Join(md, "INBOX"))
		run(t, home, "", "mu", "index", "--muhome="+mu)
		if out := run(t, home, "", "mu", "find", "--muhome="+mu, "--fields=i", "msgid:arrived@nm"); !strings.Contains(out, "arrived@nm") {
			t.Errorf("mu find: %q", out)
		}
	})
}

// testenvRequireClients fails (in CI) or skips when a mail client the
// Maildir view is tested with is missing.
func testenvRequireClients(t *testing.T) {
	for _, prog := range []string{"minc", "mlist", "mscan", "mflag", "mrefile", "mdeliver", "notmuch", "mu"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("MAILFS_TEST_STRICT") != "0" {
				t.Fatalf("%s not found: apt-get install mblaze notmuch maildir-utils", prog)
			}
			t.Skipf("%s not found (MAILFS_TEST_STRICT=0)", prog)
		}
	}
}
