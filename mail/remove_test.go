package mail

import (
	"errors"
	"testing"
	"time"
)

func trashAccount(f *fake) *Account {
	return NewAccount(Options{ID: "test", Backend: f, TTL: time.Hour, Delete: DeleteTrash})
}

func TestFindTrash(t *testing.T) {
	for _, tc := range []struct {
		list []MailboxInfo
		want string
	}{
		{[]MailboxInfo{{Name: "INBOX"}, {Name: "Deleted Items", Delim: '/'}}, "Deleted Items"},
		{[]MailboxInfo{{Name: "INBOX"}, {Name: "INBOX.Trash", Delim: '.'}}, "INBOX.Trash"},
		{[]MailboxInfo{{Name: "INBOX"}, {Name: "[Gmail]/Bin", Delim: '/'}}, "[Gmail]/Bin"},
		{[]MailboxInfo{{Name: "INBOX"}, {Name: "papierkorb", Delim: '/'}}, "papierkorb"},
		// The special-use attribute wins over a name.
		{[]MailboxInfo{{Name: "Trash", Delim: '/'}, {Name: "Junk-Old", Delim: '/', SpecialUse: `\Trash`}}, "Junk-Old"},
		// A \Noselect parent is no place for mail.
		{[]MailboxInfo{{Name: "Trash", Delim: '/', NoSelect: true}}, ""},
		{[]MailboxInfo{{Name: "INBOX"}, {Name: "Trashcan-like", Delim: '/'}, {Name: "Work/Trash", Delim: '/'}}, ""},
	} {
		if got := findTrash(tc.list); got != tc.want {
			t.Errorf("findTrash(%v) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

// rm moves to a mailbox with a trash name when there is no special-use
// one, and the Trash listing shows the message at once.
func TestRemoveMovesToTrashByName(t *testing.T) {
	f := newFake("INBOX", "Deleted Items")
	f.add("INBOX", "a", "A", 1)
	a := trashAccount(f)
	in, trash := a.Mailbox("INBOX"), a.Mailbox("Deleted Items")
	if got := len(mustEntries(t, trash)); got != 0 {
		t.Fatalf("trash holds %d", got)
	}
	e := mustEntries(t, in)[0]
	if err := in.Remove(bg, e.Ref()); err != nil {
		t.Fatal(err)
	}
	if f.count("EXPUNGE") != 0 {
		t.Fatal("rm expunged although a Trash mailbox exists")
	}
	if got := len(mustEntries(t, in)); got != 0 {
		t.Fatalf("INBOX still shows %d", got)
	}
	statuses := f.count("STATUS")
	got := mustEntries(t, trash)
	if len(got) != 1 || got[0].Subject != "a" {
		t.Fatalf("Trash shows %+v", got)
	}
	if f.count("STATUS") != statuses {
		t.Fatal("the Trash listing needed the server to show the moved message")
	}
	// In Trash itself, rm expunges.
	if err := trash.Remove(bg, got[0].Ref()); err != nil {
		t.Fatal(err)
	}
	if f.count("EXPUNGE") != 1 || len(mustEntries(t, trash)) != 0 {
		t.Fatal("rm in Trash did not expunge")
	}
	if p := a.RemovePolicy(bg); p != "moves to Deleted Items (expunges in Deleted Items itself)" {
		t.Errorf("policy %q", p)
	}
}

// Without a Trash mailbox rm is refused and nothing changes; once one is
// created, rm moves there.
func TestRemoveWithoutTrashIsRefused(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "A", 1)
	a := trashAccount(f)
	in := a.Mailbox("INBOX")
	e := mustEntries(t, in)[0]
	err := in.Remove(bg, e.Ref())
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("rm without Trash: %v, want ErrUnsafe", err)
	}
	if f.count("EXPUNGE") != 0 || len(mustEntries(t, in)) != 1 {
		t.Fatal("a refused rm changed the mailbox")
	}
	if err := a.CreateMailbox(bg, "Trash"); err != nil {
		t.Fatal(err)
	}
	if err := in.Remove(bg, e.Ref()); err != nil {
		t.Fatal(err)
	}
	if got := len(mustEntries(t, a.Mailbox("Trash"))); got != 1 {
		t.Fatalf("Trash holds %d", got)
	}
}

// An old version superseded by a saved one is expunged where there is no
// Trash: the mail lives on in the new version.
func TestReplaceWithoutTrashExpungesTheOldVersion(t *testing.T) {
	f := newFake("INBOX")
	f.add("INBOX", "a", "Subject: a\r\n\r\nold", 1)
	a := trashAccount(f)
	mb := a.Mailbox("INBOX")
	old := mustEntries(t, mb)[0]
	r := old.Ref()
	e, err := mb.Store(bg, &Commit{Data: []byte("Subject: a\r\n\r\nnew"), Date: old.InternalDate, Replaces: &r})
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.Supersede(bg, r); err != nil {
		t.Fatal(err)
	}
	if got := uids(mustEntries(t, mb)); !equalUIDs(got, e.UID) || f.count("EXPUNGE") != 1 {
		t.Fatalf("after replace: %v, %d expunges", got, f.count("EXPUNGE"))
	}
}
