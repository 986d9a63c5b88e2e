package fs_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sys/unix"

	"mailfs/fs"
	"mailfs/imapback"
	"mailfs/internal/testenv"
	"mailfs/mail"
)

func wantErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

// noEINTR retries a raw system call interrupted by a signal, as Go's os
// package does: the Go runtime preempts a thread with SIGURG, and the
// kernel passes that on to the FUSE request of a thread blocked in the
// mount (an interrupt, answered EINTR).
func noEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func TestMailboxOps(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)

		if err := os.Mkdir(filepath.Join(m.dir, "Box"), 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mkdir", "-p", filepath.Join(m.dir, "A", "B", "C")).CombinedOutput(); err != nil {
			t.Fatalf("mkdir -p: %v %s", err, out)
		}
		boxes := p.mailboxes()
		for _, want := range []string{"Box", "A", "A/B", "A/B/C"} {
			if !boxes[want] {
				t.Errorf("server lacks %q after mkdir: %v", want, boxes)
			}
		}
		wantErrno(t, "mkdir existing", os.Mkdir(filepath.Join(m.dir, "Box"), 0o700), syscall.EEXIST)
		wantErrno(t, "mkdir wildcard name", os.Mkdir(filepath.Join(m.dir, "a*b"), 0o700), syscall.EINVAL)
		if p.mailboxes()["a*b"] {
			t.Error("invalid name reached the server")
		}

		// rmdir: empty works; messages or children refuse; INBOX never.
		if err := os.Remove(filepath.Join(m.dir, "Box")); err != nil {
			t.Fatalf("rmdir empty: %v", err)
		}
		wantErrno(t, "rmdir with messages", noEINTR(func() error { return syscall.Rmdir(filepath.Join(m.dir, "Work")) }), syscall.ENOTEMPTY)
		wantErrno(t, "rmdir with children", noEINTR(func() error { return syscall.Rmdir(filepath.Join(m.dir, "A")) }), syscall.ENOTEMPTY)
		wantErrno(t, "rmdir INBOX", noEINTR(func() error { return syscall.Rmdir(filepath.Join(m.dir, "INBOX")) }), syscall.EBUSY)
		boxes = p.mailboxes()
		if boxes["Box"] || !boxes["Work"] || !boxes["A"] || !boxes["INBOX"] {
			t.Errorf("after rmdirs the server has %v", boxes)
		}
		if n := len(p.messages("Work")); n != len(sampleByMailbox()["Work"]) {
			t.Errorf("Work lost messages: %d left", n)
		}

		// Rename across parents; children follow.
		if err := os.Mkdir(filepath.Join(m.dir, "Other"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(m.dir, "A"), filepath.Join(m.dir, "Other", "NewName")); err != nil {
			t.Fatalf("rename: %v", err)
		}
		boxes = p.mailboxes()
		if !boxes["Other/NewName"] || boxes["A"] {
			t.Errorf("after rename the server has %v", boxes)
		}
		// go-imap's in-memory server does not rename inferior mailboxes
		// (RFC 3501 says it MUST); Dovecot does, and the mount follows.
		if s.kind == "dovecot" {
			if !boxes["Other/NewName/B/C"] || boxes["A/B"] {
				t.Errorf("children did not follow: %v", boxes)
			}
			if _, err := os.Stat(filepath.Join(m.dir, "Other", "NewName", "B", "C")); err != nil {
				t.Errorf("renamed tree not visible: %v", err)
			}
			if _, err := os.Stat(filepath.Join(m.dir, "A")); !os.IsNotExist(err) {
				t.Errorf("old name still visible: %v", err)
			}
		}
		wantErrno(t, "rename INBOX", os.Rename(filepath.Join(m.dir, "INBOX"), filepath.Join(m.dir, "X")), syscall.EPERM)
		// A renamed mailbox keeps its messages.
		if err := os.Rename(filepath.Join(m.dir, "Work"), filepath.Join(m.dir, "Job")); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(filepath.Join(m.dir, "Job"))
		if err != nil || len(ents) < len(sampleByMailbox()["Work"]) {
			t.Fatalf("renamed mailbox lists %d entries, %v", len(ents), err)
		}
		if got := len(p.messages("Job")); got != len(sampleByMailbox()["Work"]) {
			t.Errorf("server Job has %d messages", got)
		}
	})
}

// inboxFile returns the path of the INBOX message whose body contains needle.
func inboxFile(t *testing.T, m *mounted, needle string) string {
	t.Helper()
	return fileWith(t, filepath.Join(m.dir, "INBOX"), needle)
}

// fileWith returns the path of the file in dir whose Message-ID is id
// (or, for an id without <>, whose content contains it).
func fileWith(t *testing.T, dir, needle string) string {
	t.Helper()
	all := filesMatching(t, dir, needle)
	if len(all) == 0 {
		t.Fatalf("no file in %s contains %q", dir, needle)
	}
	return all[0]
}

// filesWith counts the files of dir that fileWith would find.
func filesWith(t *testing.T, dir, needle string) int {
	t.Helper()
	return len(filesMatching(t, dir, needle))
}

func filesMatching(t *testing.T, dir, needle string) []string {
	t.Helper()
	match := func(b []byte) bool {
		if strings.HasPrefix(needle, "<") {
			return messageIDOf(b) == needle
		}
		return strings.Contains(string(b), needle)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && match(b) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// messageIDOf returns the Message-ID header value of raw.
func messageIDOf(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "message-id:") {
			return strings.TrimSpace(line[len("message-id:"):])
		}
		if line == "" {
			break
		}
	}
	return ""
}

func TestRemove(t *testing.T) {
	for _, mode := range []mail.DeleteMode{mail.DeleteTrash, mail.DeleteExpunge} {
		t.Run(fmt.Sprint(map[mail.DeleteMode]string{0: "trash", 1: "expunge"}[mode]), func(t *testing.T) {
			eachServer(t, func(t *testing.T, s *server) {
				s.seedSample(t)
				p := s.peek(t)
				inbox := p.messages("INBOX")
				// Another client marked a message \Deleted: it must survive.
				other := inbox[len(inbox)-1]
				p.setFlags("INBOX", other.UID, imap.FlagDeleted)
				m := s.mount(t, imapback.Config{}, func(o *options) { o.Delete = mode })
				victim := inbox[0]
				id := messageIDOf(victim.Body)
				path := inboxFile(t, m, id)
				if err := os.Remove(path); err != nil {
					t.Fatalf("rm: %v", err)
				}
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("removed file still visible: %v", err)
				}
				if _, ok := p.find("INBOX", id); ok {
					t.Error("message still in INBOX on the server")
				}
				if _, ok := p.find("INBOX", messageIDOf(other.Body)); !ok {
					t.Error("another client's \\Deleted message was expunged")
				}
				_, inTrash := p.find("Trash", id)
				// The memserver has no special-use: its Trash is found by name.
				wantTrash := mode == mail.DeleteTrash
				if inTrash != wantTrash {
					t.Errorf("in Trash: %v, want %v", inTrash, wantTrash)
				}
				if len(p.messages("INBOX")) != len(inbox)-1 {
					t.Errorf("INBOX has %d messages, want %d", len(p.messages("INBOX")), len(inbox)-1)
				}
			})
		})
	}
}

func TestMoveMessage(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		victim := p.messages("INBOX")[1]
		id := messageIDOf(victim.Body)
		path := inboxFile(t, m, id)
		if err := os.Rename(path, filepath.Join(m.dir, "Work", filepath.Base(path))); err != nil {
			t.Fatalf("mv: %v", err)
		}
		moved, ok := p.find("Work", id)
		if !ok || string(moved.Body) != string(victim.Body) {
			t.Fatal("message not in Work on the server, or changed")
		}
		if _, ok := p.find("INBOX", id); ok {
			t.Error("message still in INBOX")
		}
		// The mount lists it in Work at once, under the name it was
		// moved in as (once: not also under its own new name).
		got := fileWith(t, filepath.Join(m.dir, "Work"), id)
		if filepath.Base(got) != filepath.Base(path) {
			t.Errorf("listed as %s, want %s", filepath.Base(got), filepath.Base(path))
		}
		if n := filesWith(t, filepath.Join(m.dir, "Work"), id); n != 1 {
			t.Errorf("listed %d times in Work", n)
		}
	})
}

func TestMoveWithoutMOVE(t *testing.T) {
	caps := func(drop ...imap.Cap) imap.CapSet {
		c := imap.CapSet{}
		for k := range demoCaps() {
			c[k] = struct{}{}
		}
		for _, d := range drop {
			delete(c, d)
		}
		return c
	}
	t.Run("copy-then-expunge", func(t *testing.T) {
		s := startMemWith(t, caps(imap.CapMove))
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		id := messageIDOf(p.messages("INBOX")[0].Body)
		if err := os.Rename(inboxFile(t, m, id), filepath.Join(m.dir, "Work", "x.eml")); err != nil {
			t.Fatalf("mv: %v", err)
		}
		if _, ok := p.find("Work", id); !ok {
			t.Error("not in Work")
		}
		if _, ok := p.find("INBOX", id); ok {
			t.Error("still in INBOX")
		}
	})
	t.Run("no-MOVE-no-UIDPLUS-refused", func(t *testing.T) {
		s := startMemWith(t, caps(imap.CapMove, imap.CapUIDPlus))
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		id := messageIDOf(p.messages("INBOX")[0].Body)
		path := inboxFile(t, m, id)
		wantErrno(t, "mv without MOVE/UIDPLUS", os.Rename(path, filepath.Join(m.dir, "Work", "x.eml")), syscall.EPERM)
		wantErrno(t, "rm without UIDPLUS", os.Remove(path), syscall.EPERM)
		if _, ok := p.find("INBOX", id); !ok {
			t.Error("message left INBOX")
		}
		if _, ok := p.find("Work", id); ok {
			t.Error("message copied although refused")
		}
	})
}

func TestCopyIn(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		before := len(p.messages("Work"))
		src := filepath.Join(t.TempDir(), "note.eml")
		raw := "From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: Copied in =?UTF-8?Q?=C3=A0_la_main?=\r\nMessage-ID: <copy-in-1@example.org>\r\n\r\nHello from cp.\r\n"
		if err := os.WriteFile(src, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		os.Chtimes(src, when, when)
		if out, err := exec.Command("cp", "-p", src, filepath.Join(m.dir, "Work")+"/").CombinedOutput(); err != nil {
			t.Fatalf("cp -p: %v %s", err, out)
		}
		got := p.await(t, "Work", "<copy-in-1@example.org>")
		if string(got.Body) != raw {
			t.Errorf("server bytes differ:\n%q\n%q", got.Body, raw)
		}
		if !got.Date.Equal(when) {
			t.Errorf("INTERNALDATE %v, want %v (cp -p)", got.Date, when)
		}
		if n := len(p.messages("Work")); n != before+1 {
			t.Errorf("Work has %d messages, want %d", n, before+1)
		}
		// For the life of the mount it is listed under the name it was
		// copied as (so cp and rsync find what they wrote, and a later
		// file of theirs never meets its UID name); a remount lists it
		// under its own name.
		name := fs.MessageName(fs.NamesReadable, when, "Copied in à la main", got.UID)
		listed := names(t, filepath.Join(m.dir, "Work"))
		if !listed["note.eml"] || listed[name] {
			t.Errorf("listed as note.eml: %v, as %s: %v", listed["note.eml"], name, listed[name])
		}
		if b, err := os.ReadFile(filepath.Join(m.dir, "Work", "note.eml")); err != nil || string(b) != raw {
			t.Errorf("reading the copied-to name: %v", err)
		}
		m2 := s.mount(t, imapback.Config{}, nil)
		if b, err := os.ReadFile(filepath.Join(m2.dir, "Work", name)); err != nil || string(b) != raw {
			t.Errorf("another mount does not list it as %s: %v", name, err)
		}

		// A file with flags set before close keeps them.
		f, err := os.Create(filepath.Join(m.dir, "Work", "flagged.eml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Fsetxattr(int(f.Fd()), "user.mail.flags", []byte(`\Flagged $Work`), 0); err != nil {
			t.Fatalf("setxattr on new file: %v", err)
		}
		f.WriteString("From: a@b\r\nSubject: flagged\r\nMessage-ID: <flagged-1@x>\r\n\r\nbody\r\n")
		if err := f.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if fl := p.await(t, "Work", "<flagged-1@x>"); fl.Flags != `$work \flagged` {
			t.Errorf("flags on server: %q", fl.Flags)
		}

		// Junk is refused at close and never reaches the server.
		count := len(p.messages("Work"))
		f, err = os.Create(filepath.Join(m.dir, "Work", "junk.eml"))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("this is not a mail message\nat all\n")
		wantErrno(t, "close of junk", f.Close(), syscall.EINVAL)
		if n := len(p.messages("Work")); n != count {
			t.Errorf("junk reached the server: %d messages, want %d", n, count)
		}
		if out, err := exec.Command("cp", "/etc/services", filepath.Join(m.dir, "Work", "services.eml")).CombinedOutput(); err == nil {
			t.Errorf("cp of a non-message succeeded: %s", out)
		}
		if n := len(p.messages("Work")); n != count {
			t.Errorf("junk reached the server via cp")
		}
	})
}

// TestRefusedAppend: the server refuses the APPEND (its mailbox was
// deleted behind the mount's back). close(2) has returned by then (the
// bytes are stored at the last release); the file stays in the mount,
// readable under its name, the refusal is in the status, and no read,
// stat or getxattr of it ever sends it again.
func TestRefusedAppend(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		if err := os.Mkdir(filepath.Join(m.dir, "Doomed"), 0o700); err != nil {
			t.Fatal(err)
		}
		p := s.peek(t)
		if err := p.c.Delete("Doomed").Wait(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(m.dir, "Doomed", "m.eml")
		raw := "From: a@b\r\nSubject: x\r\n\r\nbody\r\n"
		if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
			t.Fatalf("write: %v", err)
		}
		eventually(t, 20*time.Second, "the refusal is settled", func() error {
			if n := m.client.Stats().Appends; n == 0 {
				return fmt.Errorf("no APPEND yet")
			}
			if p := m.files.Pending(); len(p) > 0 {
				return fmt.Errorf("still pending: %v", p)
			}
			return nil
		})
		appends := m.client.Stats().Appends
		for range 3 {
			if b, err := os.ReadFile(path); err != nil || string(b) != raw {
				t.Fatalf("the refused file is not readable in the mount: %q %v", b, err)
			}
			os.Stat(path)
			syscall.Getxattr(path, "user.mail.flags", make([]byte, 64))
		}
		if got := m.client.Stats().Appends; got != appends {
			t.Fatalf("reading a refused file sent it again (%d APPENDs, then %d)", appends, got)
		}
	})
}

func TestFlagsWrite(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		victim := p.messages("INBOX")[2]
		path := inboxFile(t, m, messageIDOf(victim.Body))
		if err := syscall.Setxattr(path, "user.mail.flags", []byte(`\Seen \Flagged $Todo`), 0); err != nil {
			t.Fatalf("setxattr: %v", err)
		}
		got, _ := p.find("INBOX", messageIDOf(victim.Body))
		if got.Flags != `$todo \flagged \seen` {
			t.Errorf("server flags %q", got.Flags)
		}
		buf := make([]byte, 128)
		n, err := syscall.Getxattr(path, "user.mail.flags", buf)
		if err != nil || string(buf[:n]) != `\Seen \Flagged $Todo` {
			t.Errorf("getxattr after set: %q %v", buf[:n], err)
		}
		for _, bad := range []string{`\Deleted`, `\Bogus`, `bad(flag`, "a\x01b"} {
			wantErrno(t, "setxattr "+bad, noEINTR(func() error { return syscall.Setxattr(path, "user.mail.flags", []byte(bad), 0) }), syscall.EINVAL)
		}
		if again, _ := p.find("INBOX", messageIDOf(victim.Body)); again.Flags != got.Flags {
			t.Errorf("invalid flags changed the server: %q", again.Flags)
		}
	})
}

// TestEditorSaves: sed -i and ex replace a message: the new bytes are on
// the server with the old flags and date, the old version is gone from the
// mailbox, and no temp or swap file ever reached the server.
func TestEditorSaves(t *testing.T) {
	_, err := exec.LookPath("ex")
	testenv.Require(t, err == nil, "ex (vim) not installed: apt-get install vim-tiny") // .ci/run installs it
	for _, editor := range []string{"sed", "ex"} {
		t.Run(editor, func(t *testing.T) {
			eachServer(t, func(t *testing.T, s *server) {
				s.seedSample(t)
				m := s.mount(t, imapback.Config{}, expunging)
				p := s.peek(t)
				inbox := p.messages("INBOX")
				victim := inbox[3]
				id := messageIDOf(victim.Body)
				path := inboxFile(t, m, id)
				var cmd *exec.Cmd
				if editor == "sed" {
					cmd = exec.Command("sed", "-i", "s/^Subject: /Subject: Edited /", path)
				} else {
					cmd = exec.Command("ex", "-s", "-u", "NONE", "-c", "%s/^Subject: /Subject: Edited /", "-c", "wq", path)
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v %s", editor, err, out)
				}
				// The save is stored once the editor's last descriptor is
				// closed, just after it exits: wait for its end state.
				var edited peekMsg
				eventually(t, 20*time.Second, "the new version stored and the old one removed", func() error {
					after := p.messages("INBOX")
					var found bool
					for _, msg := range after {
						if msg.UID == victim.UID {
							return fmt.Errorf("the old version (uid %d) is still there", victim.UID)
						}
						if messageIDOf(msg.Body) == id {
							edited, found = msg, true
						}
					}
					if !found {
						return fmt.Errorf("no version of %s", id)
					}
					if len(after) != len(inbox) {
						return fmt.Errorf("INBOX has %d messages, want %d (temp files on the server?)", len(after), len(inbox))
					}
					return nil
				})
				if !strings.Contains(string(edited.Body), "Subject: Edited ") || edited.UID == victim.UID {
					t.Errorf("server holds the old version (uid %d)", edited.UID)
				}
				if edited.Flags != victim.Flags || !edited.Date.Equal(victim.Date) {
					t.Errorf("flags/date %q %v, want %q %v", edited.Flags, edited.Date, victim.Flags, victim.Date)
				}
				if want := strings.Replace(string(victim.Body), "Subject: ", "Subject: Edited ", 1); string(edited.Body) != want {
					t.Errorf("edited bytes differ from the expected edit")
				}
				// The name that was edited still reads the new version.
				if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "Subject: Edited ") {
					t.Errorf("reading %s after the save: %v", filepath.Base(path), err)
				}
				for _, box := range []string{"INBOX", "Trash"} {
					for _, msg := range p.messages(box) {
						if !strings.Contains(string(msg.Body), "Message-I") && !strings.Contains(string(msg.Body), "Message-Id") {
							t.Errorf("%s holds a non-message (temp file?): %.60q", box, msg.Body)
						}
					}
				}
			})
		})
	}
}

func TestReadOnlyMount(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{ReadOnly: true}, func(o *options) { o.ReadOnly = true })
		p := s.peek(t)
		before := len(p.messages("INBOX"))
		path := inboxFile(t, m, "Message-I")
		wantErrno(t, "mkdir", os.Mkdir(filepath.Join(m.dir, "X"), 0o700), syscall.EROFS)
		wantErrno(t, "rm", os.Remove(path), syscall.EROFS)
		wantErrno(t, "mv", os.Rename(path, filepath.Join(m.dir, "Work", "x.eml")), syscall.EROFS)
		wantErrno(t, "setxattr", noEINTR(func() error { return syscall.Setxattr(path, "user.mail.flags", []byte(`\Seen`), 0) }), syscall.EROFS)
		_, err := os.Create(filepath.Join(m.dir, "INBOX", "new.eml"))
		wantErrno(t, "create", err, syscall.EROFS)
		_, err = os.OpenFile(path, os.O_WRONLY, 0)
		wantErrno(t, "open for writing", err, syscall.EROFS)
		if after := len(p.messages("INBOX")); after != before || p.mailboxes()["X"] {
			t.Error("read-only mount changed the server")
		}
		if b, err := os.ReadFile(path); err != nil || len(b) == 0 {
			t.Errorf("read on a read-only mount: %v", err)
		}
	})
}

// TestDotDelimiter: on a server whose hierarchy delimiter is ".", mkdir -p
// nests with "." and a name holding a "." is refused, not mangled.
func TestDotDelimiter(t *testing.T) {
	d := testenv.StartDovecotSeparator(t, ".")
	s := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
	m := s.mount(t, imapback.Config{}, nil)
	if out, err := exec.Command("mkdir", "-p", filepath.Join(m.dir, "Projects", "2026", "Q1")).CombinedOutput(); err != nil {
		t.Fatalf("mkdir -p: %v %s", err, out)
	}
	boxes := s.peek(t).mailboxes()
	for _, want := range []string{"Projects", "Projects.2026", "Projects.2026.Q1"} {
		if !boxes[want] {
			t.Errorf("server lacks %q: %v", want, boxes)
		}
	}
	wantErrno(t, "mkdir a.b", os.Mkdir(filepath.Join(m.dir, "a.b"), 0o700), syscall.EINVAL)
	if boxes := s.peek(t).mailboxes(); boxes["a.b"] || boxes["a"] {
		t.Errorf("a name holding the delimiter reached the server: %v", boxes)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "Projects", "2026", "Q1")); err != nil {
		t.Errorf("nested mailbox not shown nested: %v", err)
	}
	// Files go into the nested mailbox.
	if err := os.WriteFile(filepath.Join(m.dir, "Projects", "2026", "Q1", "n.eml"), []byte("From: a@b\r\nSubject: dot\r\nMessage-ID: <dot-1@x>\r\n\r\nhi\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.peek(t).find("Projects.2026.Q1", "<dot-1@x>"); !ok {
		t.Error("message not in Projects.2026.Q1")
	}
}
