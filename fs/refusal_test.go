package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/imapback"
	"mailfs/internal/demoserver"
	"mailfs/internal/testenv"
	"mailfs/mail/files"
)

// A server's NO gets the errno that says what happened, with or without a
// response code, and the server's own words in the log and in status;
// never "server unavailable".
func TestServerRefusalsGetTheirErrno(t *testing.T) {
	no := func(code imap.ResponseCode, text string) *imap.Error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	cases := []struct {
		mailbox string
		answer  *imap.Error
		want    syscall.Errno
	}{
		{"q1", no(imap.ResponseCodeOverQuota, "Quota exceeded q1"), syscall.EDQUOT},
		{"q2", no("", "Quota exceeded (mailbox for user is full) q2"), syscall.EDQUOT},
		{"p1", no(imap.ResponseCodeNoPerm, "You may not p1"), syscall.EACCES},
		{"p2", no("", "Permission denied p2"), syscall.EACCES},
		{"e1", no(imap.ResponseCodeAlreadyExists, "Taken e1"), syscall.EEXIST},
		{"n1", no(imap.ResponseCodeNonExistent, "No such parent n1"), syscall.ENOENT},
		{"l1", no(imap.ResponseCodeLimit, "Too many mailboxes l1"), syscall.EIO},
		// [CANNOT], or a NO without a code in words not known above, to
		// CREATE refuses the name (see TestMailboxNameRefusedWithoutCode
		// and TestMailboxNameRefusedCannot).
		{"c1", no(imap.ResponseCodeCannot, "Cannot do that l1"), syscall.EINVAL},
		{"u1", no("", "Odd failure u1"), syscall.EINVAL},
	}
	s := startMemOpts(t, demoserver.Options{Refuse: func(cmd, mailbox string, _ int64) *imap.Error {
		for _, c := range cases {
			if cmd == "CREATE" && mailbox == c.mailbox {
				return c.answer
			}
		}
		return nil
	}})
	s.seedSample(t)
	log, rec := recordLog(t)
	m := s.mount(t, imapback.Config{}, func(o *options) { o.Logger = log })
	for _, c := range cases {
		err := os.Mkdir(filepath.Join(m.dir, c.mailbox), 0o700)
		wantErrno(t, "mkdir "+c.mailbox+" answered "+c.answer.Text, err, c.want)
		if !rec.has(c.answer.Text) {
			t.Errorf("no log line carries the server's words %q", c.answer.Text)
		}
		if c.want != syscall.EEXIST && c.want != syscall.ENOENT {
			if st := statusOf(t, m); !strings.Contains(st, c.answer.Text) {
				t.Errorf("status does not show the last error %q:\n%s", c.answer.Text, st)
			}
		}
	}
	if rec.has("server unavailable") {
		t.Errorf("a NO was logged as the server being unavailable:\n%s", rec)
	}
}

// Over quota, a file copied in is refused at its last close; it stays in
// the mount only (listed in status as not stored), and no read, stat or
// xattr call ever sends it again. Removing it forgets it. On the
// in-memory server with and without a response code, and on Dovecot's
// quota plugin.
func TestOverQuotaWriteStaysLocal(t *testing.T) {
	const limit = 20000
	quota := func(code imap.ResponseCode) func(cmd, mailbox string, size int64) *imap.Error {
		return func(cmd, mailbox string, size int64) *imap.Error {
			if cmd == "APPEND" && size > limit {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: "Quota exceeded (mailbox for user is full)"}
			}
			return nil
		}
	}
	for _, kind := range []string{"mem-code", "mem-nocode", "dovecot"} {
		t.Run(kind, func(t *testing.T) {
			var s *server
			switch kind {
			case "mem-code":
				s = startMemOpts(t, demoserver.Options{Refuse: quota(imap.ResponseCodeOverQuota)})
			case "mem-nocode":
				s = startMemOpts(t, demoserver.Options{Refuse: quota("")})
			default:
				d := testenv.StartDovecotWith(t, testenv.DovecotOptions{QuotaBytes: limit})
				s = &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
				p := s.peek(t)
				if err := p.c.Create("Drafts", nil).Wait(); err != nil {
					t.Fatal(err)
				}
			}
			if s.kind == "mem" {
				p := s.peek(t)
				if err := p.c.Create("Drafts", nil).Wait(); err != nil {
					t.Fatal(err)
				}
			}
			log, rec := recordLog(t)
			m := s.mount(t, imapback.Config{}, func(o *options) { o.Logger = log })
			big := newRaw("big@quota", "big") + strings.Repeat("0123456789abcdef\r\n", 2*limit/18)
			path := filepath.Join(m.dir, "Drafts", "big.eml")
			if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
				t.Fatalf("write: %v", err)
			}
			label := "Drafts/big.eml"
			eventually(t, 20*time.Second, "the refusal is known", func() error {
				if r, ok := notStored(m.files)[label]; !ok || !strings.Contains(r, "over quota") {
					return fmt.Errorf("refused: %v", m.files.NotStored())
				}
				return nil
			})
			if !rec.has("could not store", "Quota exceeded") {
				t.Errorf("no log line with the server's words:\n%s", rec)
			}
			if rec.has("server unavailable") {
				t.Errorf("a NO was logged as the server being unavailable")
			}
			if st := statusOf(t, m); !strings.Contains(st, label) || !strings.Contains(st, "Quota exceeded") {
				t.Errorf("status does not name the file not stored:\n%s", st)
			}
			appends := m.client.Stats().Appends
			for range 3 {
				if b, err := os.ReadFile(path); err != nil || string(b) != big {
					t.Fatalf("the refused file is not readable in the mount: %d bytes, %v", len(b), err)
				}
				os.Stat(path)
				syscall.Getxattr(path, "user.mail.flags", make([]byte, 64))
				syscall.Listxattr(path, make([]byte, 256))
			}
			if got := m.client.Stats().Appends; got != appends {
				t.Fatalf("reading a refused file sent it again (%d APPENDs, then %d)", appends, got)
			}
			if n := len(s.peek(t).messages("Drafts")); n != 0 {
				t.Fatalf("Drafts holds %d messages on the server", n)
			}
			// A small message is still stored.
			small := newRaw("small@quota", "small")
			if err := os.WriteFile(filepath.Join(m.dir, "Drafts", "small.eml"), []byte(small), 0o600); err != nil {
				t.Fatal(err)
			}
			s.peek(t).await(t, "Drafts", "<small@quota>")
			if err := os.Remove(path); err != nil {
				t.Fatalf("rm of the refused file: %v", err)
			}
			if _, ok := notStored(m.files)[label]; ok {
				t.Error("a removed refused file is still listed as not stored")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("removed refused file still there: %v", err)
			}
		})
	}
}

// rm never expunges by surprise: without a Trash mailbox it is EPERM with
// a log line saying what to do, and nothing changes; a mailbox with a
// well-known trash name is used when there is no special-use one, and it
// shows the message at once.
func TestRemoveWithoutSpecialUseTrash(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		s := startMem(t)
		s.seedSample(t)
		p := s.peek(t)
		if err := p.c.Delete("Trash").Wait(); err != nil {
			t.Fatal(err)
		}
		log, rec := recordLog(t)
		m := s.mount(t, imapback.Config{}, func(o *options) { o.Logger = log })
		inbox := p.messages("INBOX")
		id := messageIDOf(inbox[0].Body)
		path := inboxFile(t, m, id)
		wantErrno(t, "rm without Trash", os.Remove(path), syscall.EPERM)
		if !rec.has("--delete=expunge", "Trash") {
			t.Errorf("no log line says to create a Trash mailbox or use --delete=expunge:\n%s", rec)
		}
		if _, ok := p.find("INBOX", id); !ok || len(p.messages("INBOX")) != len(inbox) {
			t.Fatal("a refused rm changed INBOX")
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the message is gone from the mount after a refused rm: %v", err)
		}
		if st := statusOf(t, m); !strings.Contains(st, "refused: no Trash mailbox") {
			t.Errorf("status does not say rm is refused:\n%s", st)
		}
		trash := filepath.Join(m.dir, "Deleted Items")
		if err := os.Mkdir(trash, 0o700); err != nil {
			t.Fatal(err)
		}
		if n := len(names(t, trash)); n != 0 {
			t.Fatalf("new Deleted Items shows %d files", n)
		}
		if err := os.Remove(path); err != nil {
			t.Fatalf("rm with a Deleted Items mailbox: %v", err)
		}
		if !rec.has("moved message to Trash", "Deleted Items") {
			t.Errorf("the log does not say the message was moved to Trash:\n%s", rec)
		}
		// The mount's TTL is 30 s: only the model's own knowledge can
		// show the message in Deleted Items now.
		if !hasFileWith(trash, strings.Trim(id, "<>")) {
			t.Error("Deleted Items does not show the removed message at once")
		}
		if _, ok := p.find("Deleted Items", id); !ok {
			t.Error("the message is not in Deleted Items on the server")
		}
		if st := statusOf(t, m); !strings.Contains(st, "moves to Deleted Items") {
			t.Errorf("status does not say where rm sends mail:\n%s", st)
		}
	})
	t.Run("dovecot", func(t *testing.T) {
		d := testenv.StartDovecotWith(t, testenv.DovecotOptions{NoSpecialUse: true})
		s := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		id := messageIDOf(p.messages("INBOX")[0].Body)
		trash := filepath.Join(m.dir, "Trash")
		before := len(names(t, trash))
		if err := os.Remove(inboxFile(t, m, id)); err != nil {
			t.Fatalf("rm: %v", err)
		}
		if _, ok := p.find("Trash", id); !ok {
			t.Error("the message did not go to Trash (found by name)")
		}
		if !hasFileWith(trash, strings.Trim(id, "<>")) || len(names(t, trash)) != before+1 {
			t.Error("Trash does not show the removed message at once")
		}
	})
}

// statusOf reads MOUNTPOINT/.mailfs/status.
func statusOf(t testing.TB, m *mounted) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.dir, ".mailfs", "status"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// On a server whose personal mailboxes live under a prefix (NAMESPACE
// "INBOX." with separator "."), mkdir at the root sends CREATE of the bare
// name; the server's refusal is in the log in its own words, and mkdir
// under INBOX/ works.
func TestMkdirOutsideThePersonalNamespace(t *testing.T) {
	d := testenv.StartDovecotWith(t, testenv.DovecotOptions{Separator: ".", Prefix: "INBOX."})
	s := &server{kind: "dovecot", addr: d.Addr, user: d.User, pass: d.Password, dovecot: d}
	log, rec := recordLog(t)
	m := s.mount(t, imapback.Config{}, func(o *options) { o.Logger = log })
	err := os.Mkdir(filepath.Join(m.dir, "Projects"), 0o700)
	if err == nil {
		t.Fatal("mkdir outside the personal namespace succeeded")
	}
	t.Logf("mkdir at the root: %v", err)
	if !rec.has("level=WARN", "refused to create", "prefixed with") {
		t.Errorf("no log line with the server's answer:\n%s", rec)
	}
	if err := os.Mkdir(filepath.Join(m.dir, "INBOX", "Projects"), 0o700); err != nil {
		t.Fatalf("mkdir under INBOX: %v", err)
	}
	if !s.peek(t).mailboxes()["INBOX.Projects"] {
		t.Error("INBOX.Projects not created on the server")
	}
}

// A server that refuses a mailbox name with a NO without a response code
// (Courier-IMAP's NO "Invalid mailbox name." for a top-level mkdir outside
// its INBOX. namespace) gets EINVAL for mkdir and for mv of a mailbox, the
// server's words in a warning, and nothing changes; such a NO to DELETE
// (a name the server listed, so not an invalid one) is EACCES. Never EIO,
// which reads as a broken connection.
func TestMailboxNameRefusedWithoutCode(t *testing.T) {
	const words = "Invalid mailbox name."
	s := startMemOpts(t, demoserver.Options{Refuse: func(cmd, mailbox string, _ int64) *imap.Error {
		if (cmd == "CREATE" && mailbox == "Projects") || (cmd == "RENAME" && mailbox == "Work") || (cmd == "DELETE" && mailbox == "Keep") {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: words}
		}
		return nil
	}})
	s.seedSample(t)
	p := s.peek(t)
	if err := p.c.Create("Keep", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	before := p.mailboxes()
	log, rec := recordLog(t)
	m := s.mount(t, imapback.Config{}, func(o *options) { o.Logger = log })
	dirs := func() string {
		ents, err := os.ReadDir(m.dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return strings.Join(out, " ")
	}
	listed := dirs()
	wantErrno(t, "mkdir refused without a code", os.Mkdir(filepath.Join(m.dir, "Projects"), 0o700), syscall.EINVAL)
	if !rec.has("level=WARN", "Projects", words) {
		t.Errorf("no warning carries the server's words for mkdir:\n%s", rec)
	}
	wantErrno(t, "mv of a mailbox refused without a code", os.Rename(filepath.Join(m.dir, "Work"), filepath.Join(m.dir, "Job")), syscall.EINVAL)
	if !rec.has("level=WARN", "Work", words) {
		t.Errorf("no warning carries the server's words for mv:\n%s", rec)
	}
	wantErrno(t, "rmdir refused without a code", os.Remove(filepath.Join(m.dir, "Keep")), syscall.EACCES)
	if !rec.has("level=WARN", "Keep", words) {
		t.Errorf("no warning carries the server's words for rmdir:\n%s", rec)
	}
	if rec.has("server unavailable") {
		t.Errorf("a NO was logged as the server being unavailable:\n%s", rec)
	}
	if after := p.mailboxes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the server's mailboxes changed:\n before %v\n after  %v", before, after)
	}
	if got := dirs(); got != listed {
		t.Errorf("the mount's root changed: %q, was %q", got, listed)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "Work", "Projects")); err != nil {
		t.Errorf("Work/Projects after a refused mv: %v", err)
	}
}

// notStored is the file model's files not stored, label -> why.
func notStored(fm *files.Model) map[string]string {
	out := map[string]string{}
	for _, n := range fm.NotStored() {
		out[n.Label] = n.Why
	}
	return out
}

// TestMailboxNameRefusedCannot: a name the server refuses with [CANNOT]
// (Dovecot: a name ending in the hierarchy separator's neighbour ".",
// invalid for its Maildir layout) is EINVAL to mkdir, not EIO.
func TestMailboxNameRefusedCannot(t *testing.T) {
	d := startDovecot(t)
	d.seedSample(t)
	m := d.mount(t, imapback.Config{}, nil)
	err := os.Mkdir(filepath.Join(m.dir, "trailing."), 0o700)
	wantErrno(t, "mkdir of a name Dovecot cannot take", err, syscall.EINVAL)
	if _, ok := d.peek(t).mailboxes()["trailing."]; ok {
		t.Error("the mailbox was made")
	}
}

// TestTruncatedMessageIsNotStored (found by a breaking session):
// truncate -s 10 of a message leaves a file cut short in its header; it
// is refused (listed as not stored), and the message stays where it was
// on the server instead of going to Trash for a 10-byte "message".
func TestTruncatedMessageIsNotStored(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.seedSample(t)
		m := s.mount(t, imapback.Config{}, nil)
		p := s.peek(t)
		inbox := filepath.Join(m.dir, "INBOX")
		victim := p.messages("INBOX")[0]
		path := fileWith(t, inbox, messageIDOf(victim.Body))
		if err := os.Truncate(path, 10); err != nil {
			t.Fatal(err)
		}
		m.settled(t)
		if len(m.files.NotStored()) != 1 {
			t.Errorf("not stored: %v, want the truncated file", m.files.NotStored())
		}
		held := 0
		for _, msg := range p.messages("INBOX") {
			if len(msg.Body) <= 10 {
				t.Errorf("INBOX holds a %d-byte message %q", len(msg.Body), msg.Body)
			}
			if string(msg.Body) == string(victim.Body) {
				held++
			}
		}
		if held != 1 {
			t.Errorf("INBOX holds the message %d times, want once", held)
		}
		for _, msg := range p.messages("Trash") {
			if string(msg.Body) == string(victim.Body) {
				t.Error("the message went to Trash")
			}
		}
	})
}
