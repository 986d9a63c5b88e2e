package files

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"mailfs/mail"
)

// Regressions of the .maildir view found by a breaking session.

// maildirNames lists a Maildir subdirectory's names.
func maildirNames(t *testing.T, e *env, box, sub string) []string {
	t.Helper()
	items, err := e.m.MaildirList(bg, e.mb(box), sub)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	return names
}

// deliver writes body in tmp/ and renames it to sub/name.
func maildirDeliver(t *testing.T, e *env, box, sub, name, body string) {
	t.Helper()
	h, err := e.m.MaildirCreate(e.mb(box), MaildirTmp, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte(body), 0); err != nil {
		t.Fatal(err)
	}
	h.Release()
	if _, err := e.m.MaildirRename(bg, e.mb(box), MaildirTmp, "t", e.mb(box), sub, name); err != nil {
		t.Fatal(err)
	}
	e.settle()
}

// TestMaildirRenameToNameItCannotKeep: a rename to flag letters the server
// cannot store, to flags out of order, or to another info (":1,") is
// refused with EINVAL and changes nothing; it used to answer success and
// leave the file under its old name.
func TestMaildirRenameToNameItCannotKeep(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	maildirDeliver(t, e, "INBOX", MaildirCur, "B:2,", "Subject: b\r\n\r\nb\r\n")
	for _, to := range []string{"B:2,Z", "B:2,a", "B:2,SF", "B:2,SS", "B:1,S", "B:1,S:2,S"} {
		_, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, "B:2,", e.mb("INBOX"), MaildirCur, to)
		if !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("rename to %s: %v, want ErrInvalid", to, err)
		}
	}
	e.settle()
	if got := maildirNames(t, e, "INBOX", MaildirCur); !slices.Equal(got, []string{"B:2,"}) {
		t.Fatalf("cur/ after refused renames: %v", got)
	}
	if _, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, "B:2,", e.mb("INBOX"), MaildirCur, "B:2,FS"); err != nil {
		t.Fatalf("a good rename after them: %v", err)
	}
}

// TestMdeliverNameKeptInNew: mdeliver names its file new/NAME:2, (an
// empty info); the view showed it as new/NAME, so the path mdeliver
// printed did not exist and mflag on it did nothing.
func TestMdeliverNameKeptInNew(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	maildirDeliver(t, e, "INBOX", MaildirNew, "1700000000.123_1.host:2,", "Subject: md\r\n\r\nb\r\n")
	if got := maildirNames(t, e, "INBOX", MaildirNew); !slices.Equal(got, []string{"1700000000.123_1.host:2,"}) {
		t.Fatalf("new/: %v", got)
	}
	if _, ok, err := e.m.MaildirLookup(bg, e.mb("INBOX"), MaildirNew, "1700000000.123_1.host:2,"); !ok || err != nil {
		t.Fatalf("lookup of the name mdeliver gave: %v %v", ok, err)
	}
	// mflag -S renames it in place.
	if _, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirNew, "1700000000.123_1.host:2,", e.mb("INBOX"), MaildirNew, "1700000000.123_1.host:2,S"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := maildirNames(t, e, "INBOX", MaildirNew); !slices.Equal(got, []string{"1700000000.123_1.host:2,S"}) {
		t.Fatalf("new/ after mflag -S: %v", got)
	}
}

// TestMaildirMoveOfAMessageBeingWritten: a message open for writing on
// this mount is not moved to another mailbox through .maildir (EBUSY): it
// was moved, and the new version then stored in the mailbox it left,
// with the old bytes in the new one. After the writer closes it, the
// move takes the new version.
func TestMaildirMoveOfAMessageBeingWritten(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	h, name := maildirWriting(t, e, "B:2,S")
	if _, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, name, e.mb("Drafts"), MaildirCur, name); !errors.Is(err, ErrBusy) {
		t.Fatalf("move of a message being written: %v, want ErrBusy", err)
	}
	h.Release()
	e.settle()
	e.wantHeld("INBOX", msg("b", "new"))
	name = maildirNames(t, e, "INBOX", MaildirCur)[0]
	if _, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, name, e.mb("Drafts"), MaildirCur, name); err != nil {
		t.Fatalf("move once it is stored: %v", err)
	}
	e.settle()
	e.wantHeld("INBOX")
	e.wantHeld("Drafts", msg("b", "new"))
}

// maildirWriting delivers a message to INBOX's cur/ as name, opens it
// for writing in the mail tree and writes a new version ("new") over its
// bytes ("old"); it returns the open handle and the message's name in
// cur/.
func maildirWriting(t *testing.T, e *env, name string) (*Handle, string) {
	t.Helper()
	maildirDeliver(t, e, "INBOX", MaildirCur, name, msg("b", "old"))
	h, err := e.open("INBOX", maildirMessageName(t, e, "INBOX"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.File().Write(bg, []byte(msg("b", "new")), 0); err != nil {
		t.Fatal(err)
	}
	return h, maildirNames(t, e, "INBOX", MaildirCur)[0]
}

// maildirMessageName is the .eml tree's name of box's only message.
func maildirMessageName(t *testing.T, e *env, box string) string {
	t.Helper()
	items, err := e.m.List(bg, e.mb(box))
	if err != nil || len(items) != 1 {
		t.Fatalf("%s lists %d items, %v; want 1", box, len(items), err)
	}
	return items[0].Name
}

// TestMaildirMoveForgetsTheMailTreeName: a message moved or removed
// through .maildir has its name in the mail tree's directory notified
// (the kernel held it for the TTL: stat, open and setxattr of the old
// name went on working, on the moved message).
func TestMaildirMoveForgetsTheMailTreeName(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	var mu sync.Mutex
	notified := map[string]bool{}
	e.m.SetNotify(func(mb *mail.Mailbox, names ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range names {
			notified[mb.Name()+"/"+n] = true
		}
	})
	for _, remove := range []bool{false, true} {
		maildirDeliver(t, e, "INBOX", MaildirCur, "B:2,S", msg("b", "body"))
		eml := "INBOX/" + maildirMessageName(t, e, "INBOX")
		name := maildirNames(t, e, "INBOX", MaildirCur)[0]
		clear(notified)
		var err error
		if remove {
			err = e.m.MaildirUnlink(bg, e.mb("INBOX"), MaildirCur, name)
		} else {
			_, err = e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, name, e.mb("Drafts"), MaildirCur, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
		mu.Lock()
		if !notified[eml] {
			t.Errorf("removed %v: %s not notified (notified %v)", remove, eml, notified)
		}
		mu.Unlock()
	}
}

// TestMaildirFlagsWhileWritten (found by a breaking session: the new
// version was stored with the flags of when the writing began, and the
// rename's flags went to the old version only): a flag change through a
// .maildir rename while the message is being written goes with the new
// version.
func TestMaildirFlagsWhileWritten(t *testing.T) {
	e := newEnv(t, mail.DeleteExpunge, nil, nil)
	h, name := maildirWriting(t, e, "B:2,F")
	if _, err := e.m.MaildirRename(bg, e.mb("INBOX"), MaildirCur, name, e.mb("INBOX"), MaildirCur, strings.TrimSuffix(name, "F")+"FS"); err != nil {
		t.Fatal(err)
	}
	if got := h.File().Flags(); !slices.Equal(got, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("flags the new version will have: %q", got)
	}
	h.Release()
	e.settle()
	e.wantHeld("INBOX", msg("b", "new"))
	l, err := e.fake.Messages(bg, "INBOX")
	if err != nil || len(l.Messages) != 1 {
		t.Fatalf("INBOX: %v, %v", l, err)
	}
	if got := l.Messages[0].Flags; !slices.Equal(mail.SettableFlags(got), []string{`\Flagged`, `\Seen`}) {
		t.Fatalf("the stored version has flags %q, want \\Flagged \\Seen", got)
	}
}
