package testenv

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestMain fails the package if any Dovecot process started by this test
// binary is still alive after all tests (every StartDovecot cleanup must
// have stopped its instance).
func TestMain(m *testing.M) {
	code := m.Run()
	if procs := leftoverProcesses(); len(procs) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: Dovecot processes left over after tests: %v\n", procs)
		code = 1
	}
	os.Exit(code)
}

const testMessage = "From: Bob <bob@example.org>\r\n" +
	"To: Alice <alice@example.org>\r\n" +
	"Subject: hello\r\n" +
	"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n" +
	"Message-Id: <hello-1@example.org>\r\n" +
	"\r\n" +
	"Hi Alice,\r\n\r\nthis is a test.\r\n"

func dial(t *testing.T, d *Dovecot) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v\n%s", d.Addr, err, d.LogTail(20))
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v\n%s", err, d.LogTail(20))
	}
	return c
}

func appendMessage(t *testing.T, c *imapclient.Client, mailbox, raw string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatalf("APPEND write: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND close: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND %s: %v", mailbox, err)
	}
	return data
}

// fetchAll selects mailbox and fetches flags, size, internal date and the
// whole message of every message in it.
func fetchAll(t *testing.T, c *imapclient.Client, mailbox string) []*imapclient.FetchMessageBuffer {
	t.Helper()
	sel, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:          true,
		Flags:        true,
		RFC822Size:   true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH %s: %v", mailbox, err)
	}
	return msgs
}

func body(m *imapclient.FetchMessageBuffer) []byte {
	return m.FindBodySection(&imap.FetchItemBodySection{Peek: true})
}

func list(t *testing.T, c *imapclient.Client, opts *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	l, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	m := map[string]*imap.ListData{}
	for _, d := range l {
		m[d.Mailbox] = d
	}
	return m
}

func TestDovecotIMAP(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	if !strings.HasPrefix(d.Addr, "127.0.0.1:") || d.User == "" || d.Password == "" {
		t.Fatalf("bad instance: %+v", d)
	}
	c := dial(t, d)

	if err := c.Create("Work/Projects", nil).Wait(); err != nil {
		t.Fatalf("CREATE: %v", err)
	}
	boxes := list(t, c, nil)
	for _, name := range []string{"INBOX", "Work", "Work/Projects"} {
		lb, ok := boxes[name]
		if !ok {
			t.Fatalf("LIST lacks %q: %v", name, boxes)
		}
		if lb.Delim != '/' {
			t.Errorf("LIST %q: delimiter %q, want '/'", name, lb.Delim)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Home(), ".Work.Projects", "cur")); err != nil {
		t.Errorf("Maildir++ folder of Work/Projects: %v", err)
	}

	date := time.Date(2025, 6, 2, 12, 34, 56, 0, time.FixedZone("", 2*3600))
	ad := appendMessage(t, c, "Work/Projects", testMessage, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: date})
	if ad.UID == 0 || ad.UIDValidity == 0 {
		t.Errorf("APPEND returned no APPENDUID: %+v", ad)
	}
	msgs := fetchAll(t, c, "Work/Projects")
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got := body(m); string(got) != testMessage {
		t.Errorf("BODY[] differs:\n got %q\nwant %q", got, testMessage)
	}
	if m.UID != ad.UID {
		t.Errorf("UID %d, APPENDUID said %d", m.UID, ad.UID)
	}
	if m.RFC822Size != int64(len(testMessage)) {
		t.Errorf("RFC822.SIZE %d, want %d", m.RFC822Size, len(testMessage))
	}
	if !m.InternalDate.Equal(date) {
		t.Errorf("INTERNALDATE %v, want %v", m.InternalDate, date)
	}
	if !slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("flags %v lack \\Seen", m.Flags)
	}
}

func TestDovecotWrongPassword(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(d.User, d.Password+"x").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	} else {
		t.Logf("wrong password: %v", err)
	}
	c2, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Login("mallory", d.Password).Wait(); err == nil {
		t.Fatal("LOGIN as an unknown user succeeded")
	}
}

func TestDovecotWriteMaildirMessage(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	c := dial(t, d)

	date1 := time.Date(2024, 12, 24, 18, 0, 1, 0, time.UTC)
	if err := d.WriteMaildirMessage("INBOX", []byte(testMessage), "SF", date1); err != nil {
		t.Fatal(err)
	}
	// LF-only message: RFC822.SIZE counts CRLF line ends, BODY[] is
	// returned with CRLF.
	lf := strings.ReplaceAll(testMessage, "\r\n", "\n")
	date2 := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := d.WriteMaildirMessage("inbox", []byte(lf), "", date2); err != nil {
		t.Fatal(err)
	}
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages, want 2", len(msgs))
	}
	// Dovecot assigns UIDs in file name order, i.e. by the date prefix.
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return a.InternalDate.Compare(b.InternalDate) })
	lfMsg, crlfMsg := msgs[0], msgs[1]

	if got := body(crlfMsg); string(got) != testMessage {
		t.Errorf("BODY[] differs:\n got %q\nwant %q", got, testMessage)
	}
	if crlfMsg.RFC822Size != int64(len(testMessage)) {
		t.Errorf("RFC822.SIZE %d, want %d", crlfMsg.RFC822Size, len(testMessage))
	}
	if !crlfMsg.InternalDate.Equal(date1) {
		t.Errorf("INTERNALDATE %v, want %v", crlfMsg.InternalDate, date1)
	}
	if !slices.Contains(crlfMsg.Flags, imap.FlagSeen) || !slices.Contains(crlfMsg.Flags, imap.FlagFlagged) {
		t.Errorf("flags %v, want \\Seen \\Flagged", crlfMsg.Flags)
	}

	if got := body(lfMsg); string(got) != testMessage {
		t.Errorf("LF message BODY[]:\n got %q\nwant %q", got, testMessage)
	}
	if lfMsg.RFC822Size != int64(len(testMessage)) {
		t.Errorf("LF message RFC822.SIZE %d, want %d (CRLF size; file has %d bytes)", lfMsg.RFC822Size, len(testMessage), len(lf))
	}
	if !lfMsg.InternalDate.Equal(date2) {
		t.Errorf("INTERNALDATE %v, want %v", lfMsg.InternalDate, date2)
	}
	// \Recent is a session flag: files in cur/ are still "recent" to the
	// first session that sees them.
	if len(slices.DeleteFunc(lfMsg.Flags, func(f imap.Flag) bool { return f == "\\Recent" })) != 0 {
		t.Errorf("flags %v, want none", lfMsg.Flags)
	}

	// Sub-folders, including one Dovecot has never seen and non-ASCII names.
	for _, mbox := range []string{"A/B", "Grüße/Über & Co"} {
		if err := d.WriteMaildirMessage(mbox, []byte(testMessage), "S", date1); err != nil {
			t.Fatal(err)
		}
		msgs := fetchAll(t, c, mbox)
		if len(msgs) != 1 || string(body(msgs[0])) != testMessage || !msgs[0].InternalDate.Equal(date1) {
			t.Errorf("%s: unexpected messages %+v", mbox, msgs)
		}
	}
	boxes := list(t, c, nil)
	for _, name := range []string{"A/B", "Grüße/Über & Co"} {
		if _, ok := boxes[name]; !ok {
			t.Errorf("LIST lacks %q: %v", name, slices.Sorted(maps.Keys(boxes)))
		}
	}
	if _, err := os.Stat(filepath.Join(d.Home(), ".A.B", "maildirfolder")); err != nil {
		t.Error(err)
	}

	// Our modified UTF-7 folder names must match Dovecot's own.
	if err := c.Create("Café/Ärger", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	dir, _, err := d.maildirFolder("Café/Ärger")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("Dovecot's folder for Café/Ärger is not where we would write it: %v", err)
	}

	// Files are owned by dovecot.
	ents, _ := filepath.Glob(filepath.Join(d.Home(), "cur", "*"))
	for _, e := range ents {
		fi, err := os.Stat(e)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != d.uid {
			t.Errorf("%s owned by uid %d, want %d", e, uid, d.uid)
		}
	}

	// A new message written while the mailbox is selected shows up at NOOP.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMaildirMessage("INBOX", []byte(testMessage), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 3 {
		t.Errorf("after NOOP INBOX has %d messages, want 3", n)
	}

	for _, bad := range []string{"", "a.b", "A//B", "/A"} {
		if err := d.WriteMaildirMessage(bad, []byte(testMessage), "", date1); err == nil {
			t.Errorf("WriteMaildirMessage(%q) succeeded", bad)
		}
	}
	if err := d.WriteMaildirMessage("INBOX", []byte(testMessage), "S:", date1); err == nil {
		t.Error("invalid flags accepted")
	}
}

func TestEncodeMUTF7(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX":     "INBOX",
		"Café":      "Caf&AOk-",
		"A & B":     "A &- B",
		"~peter":    "~peter",
		"台北":        "&U,BTFw-",
		"😀":         "&2D3eAA-",
		"Grüße":     "Gr&APwA3w-e",
		"tab\there": "tab&AAk-here",
	} {
		if got := encodeMUTF7(in); got != want {
			t.Errorf("encodeMUTF7(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaildirFlags(t *testing.T) {
	for in, want := range map[string]string{"": "", "S": "S", "TSFS": "FST", "a": "a", "Sa": "Sa"} {
		if got, err := maildirFlags(in); err != nil || got != want {
			t.Errorf("maildirFlags(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDovecotStopStart(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	c := dial(t, d)
	ad := appendMessage(t, c, "INBOX", testMessage, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	addr := d.Addr

	t0 := time.Now()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(t0))
	if portOpen(addr) {
		t.Fatal("port still open after Stop")
	}
	if p := d.processes(); len(p) > 0 {
		t.Fatalf("processes %v alive after Stop", p)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	// Stop drops sessions that were logged in (Dovecot itself would keep
	// serving them until the client leaves).
	if err := c.Noop().Wait(); err == nil {
		t.Fatal("NOOP on a session of a stopped server succeeded")
	}

	t0 = time.Now()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %v", time.Since(t0))
	if d.Addr != addr {
		t.Fatalf("Addr changed from %s to %s", addr, d.Addr)
	}
	c = dial(t, d)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity != ad.UIDValidity {
		t.Errorf("UIDVALIDITY changed across restart: %d -> %d", ad.UIDValidity, sel.UIDValidity)
	}
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 || msgs[0].UID != ad.UID || string(body(msgs[0])) != testMessage {
		t.Fatalf("mail after restart: %+v", msgs)
	}
}

func TestDovecotKill(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t)
	c := dial(t, d)
	appendMessage(t, c, "INBOX", testMessage, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if len(d.processes()) < 3 {
		t.Fatalf("expected master + children, got %v", d.processes())
	}

	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	if p := d.processes(); len(p) > 0 {
		t.Fatalf("processes %v alive after Kill", p)
	}
	if err := c.Noop().Wait(); err == nil {
		t.Fatal("NOOP on a connection to a killed server succeeded")
	}
	if _, err := net.DialTimeout("tcp", d.Addr, time.Second); err == nil {
		t.Fatal("connect to a killed server succeeded")
	}
	if err := d.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}

	// Crash recovery: the mail survives.
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	c = dial(t, d)
	if msgs := fetchAll(t, c, "INBOX"); len(msgs) != 1 || string(body(msgs[0])) != testMessage {
		t.Fatalf("mail after crash: %+v", msgs)
	}
}

func TestDovecotConcurrentInstances(t *testing.T) {
	t.Parallel()
	// (The other tests run in parallel, so instances also start concurrently;
	// StartDovecot may skip the test, so it runs on the test goroutine here.)
	t0 := time.Now()
	ds := [2]*Dovecot{StartDovecot(t), StartDovecot(t)}
	t.Logf("starting two instances took %v", time.Since(t0))
	if ds[0].Addr == ds[1].Addr || ds[0].Dir == ds[1].Dir || ds[0].instance == ds[1].instance {
		t.Fatalf("instances share state: %+v %+v", ds[0], ds[1])
	}
	c0, c1 := dial(t, ds[0]), dial(t, ds[1])
	appendMessage(t, c0, "INBOX", testMessage, nil)
	if n := len(fetchAll(t, c0, "INBOX")); n != 1 {
		t.Errorf("instance 0 has %d messages, want 1", n)
	}
	if n := len(fetchAll(t, c1, "INBOX")); n != 0 {
		t.Errorf("instance 1 has %d messages, want 0", n)
	}
	// Each password only works on its own instance.
	c, err := imapclient.DialInsecure(ds[1].Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ds[0].User, ds[0].Password).Wait(); err == nil {
		t.Error("password of instance 0 accepted by instance 1")
	}
	// Stopping one leaves the other running.
	if err := ds[0].Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c1.Noop().Wait(); err != nil {
		t.Errorf("instance 1 died with instance 0: %v", err)
	}
}

// TestDovecotCleanup checks that the test cleanup stops all processes and
// removes the directory.
func TestDovecotCleanup(t *testing.T) {
	t.Parallel()
	var d *Dovecot
	t.Run("inner", func(t *testing.T) {
		d = StartDovecot(t)
		dial(t, d).Select("INBOX", nil).Wait()
	})
	if d == nil {
		t.Skip("inner test skipped")
	}
	if p := d.processes(); len(p) > 0 {
		t.Errorf("processes %v left after cleanup", p)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Errorf("dir %s not removed: %v", d.Dir, err)
	}
	if portOpen(d.Addr) {
		t.Errorf("port %s still open", d.Addr)
	}
}

// TestDovecotBehaviour pins down Dovecot behaviour mailfs relies on or must
// cope with.
func TestDovecotBehaviour(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	d := StartDovecot(t)
	t.Logf("StartDovecot took %v", time.Since(t0))
	c := dial(t, d)

	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range caps {
		names = append(names, string(k))
	}
	slices.Sort(names)
	t.Logf("CAPABILITY after login: %s", strings.Join(names, " "))
	for _, want := range []imap.Cap{imap.CapMove, imap.CapUIDPlus, imap.CapSpecialUse, imap.CapCondStore, imap.CapIdle, "LIST-EXTENDED", "CHILDREN", "NAMESPACE", "UNSELECT", "ESEARCH", "QRESYNC", "LITERAL+"} {
		if _, ok := caps[want]; !ok {
			t.Errorf("CAPABILITY lacks %s", want)
		}
	}
	if _, ok := caps[imap.CapIMAP4rev2]; ok {
		t.Errorf("Dovecot 2.3 unexpectedly announces IMAP4rev2")
	}

	// Only the child was created: the parent is listed as \Noselect.
	if err := c.Create("Archive/2025", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes := list(t, c, nil)
	parent := boxes["Archive"]
	if parent == nil || !slices.Contains(parent.Attrs, imap.MailboxAttrNoSelect) || !slices.Contains(parent.Attrs, imap.MailboxAttrHasChildren) {
		t.Errorf("LIST Archive = %+v, want \\Noselect \\HasChildren", parent)
	} else {
		t.Logf("LIST \"\" \"*\": Archive %v, Archive/2025 %v", parent.Attrs, boxes["Archive/2025"].Attrs)
	}
	if _, err := c.Select("Archive", nil).Wait(); err == nil {
		t.Error("SELECT of the \\Noselect parent succeeded")
	}
	// Creating the parent afterwards makes it selectable.
	if err := c.Create("Archive", nil).Wait(); err != nil {
		t.Errorf("CREATE Archive after Archive/2025: %v", err)
	}
	if _, err := c.Select("Archive", nil).Wait(); err != nil {
		t.Errorf("SELECT Archive after CREATE: %v", err)
	}

	// '.' cannot be used in names (Maildir++ uses it on disk).
	if err := c.Create("a.b", nil).Wait(); err == nil {
		t.Error("CREATE a.b succeeded")
	} else {
		t.Logf("CREATE a.b: %v", err)
	}

	// Special-use mailboxes are configured but not auto-created.
	if _, ok := boxes["Trash"]; ok {
		t.Error("Trash exists before CREATE")
	}
	if err := c.Create("Trash", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes = list(t, c, nil)
	if tr := boxes["Trash"]; tr == nil || !slices.Contains(tr.Attrs, imap.MailboxAttrTrash) {
		t.Errorf("LIST Trash = %+v, want \\Trash", tr)
	}

	// MOVE and UIDPLUS work.
	ad := appendMessage(t, c, "INBOX", testMessage, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	md, err := c.Move(imap.UIDSetNum(ad.UID), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.DestUIDs == nil {
		t.Error("MOVE returned no COPYUID")
	}
}

func TestRequire(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			if strict {
				t.Setenv(StrictEnv, "1")
			} else {
				t.Setenv(StrictEnv, "0")
			}
			if Strict() != strict {
				t.Fatalf("Strict() = %v", Strict())
			}
			f := &fakeTB{TB: t}
			Require(f, true, "fine")
			if f.skipped != "" || f.fatal != "" {
				t.Fatalf("Require(true) skipped %q / failed %q", f.skipped, f.fatal)
			}
			Require(f, false, "no %s", "thing")
			got := f.skipped
			if strict {
				got = f.fatal
			}
			if !strings.Contains(got, "no thing") {
				t.Errorf("skipped %q, failed %q", f.skipped, f.fatal)
			}
		})
	}
}

// TestRequireFUSE: on this machine (CI installs fuse3) FUSE is usable, so
// RequireFUSE neither skips nor fails; a missing prerequisite fails unless
// the opt-out is set, and then skips.
func TestRequireFUSE(t *testing.T) {
	f := &fakeTB{TB: t}
	RequireFUSE(f)
	if f.skipped != "" || f.fatal != "" {
		t.Fatalf("RequireFUSE on a machine with FUSE: skipped=%q failed=%q", f.skipped, f.fatal)
	}
	t.Setenv(StrictEnv, "")
	f = &fakeTB{TB: t}
	Require(f, false, "thing missing")
	if !strings.Contains(f.fatal, "thing missing") {
		t.Errorf("by default a missing prerequisite must fail: skipped=%q failed=%q", f.skipped, f.fatal)
	}
	t.Setenv(StrictEnv, "0")
	f = &fakeTB{TB: t}
	Require(f, false, "thing missing")
	if f.skipped == "" || f.fatal != "" {
		t.Errorf("with %s=0 a missing prerequisite must skip: skipped=%q failed=%q", StrictEnv, f.skipped, f.fatal)
	}
}

// fakeTB records Skipf/Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	if f.skipped == "" {
		f.skipped = fmt.Sprintf(format, args...)
	}
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	if f.fatal == "" {
		f.fatal = fmt.Sprintf(format, args...)
	}
}
