package files

import (
	"errors"
	"slices"
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
